"""OneWindow devices package."""
