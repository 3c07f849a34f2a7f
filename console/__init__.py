"""OneWindow supervisor console (值班长 / 电子监察): a live web console for the hall office LAN."""
