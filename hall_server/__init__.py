"""OneWindow hall_server package."""
