"""OneWindow window_panel package."""
