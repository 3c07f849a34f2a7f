"""OneWindow display_board package."""
