"""OneWindow kiosk package."""
