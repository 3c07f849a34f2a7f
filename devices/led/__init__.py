"""LED window screens and hall strip screens on the 7E bus."""
from devices.led.screen import LedScreen, ScreenContent, strip_content, window_content

__all__ = ["LedScreen", "ScreenContent", "strip_content", "window_content"]
