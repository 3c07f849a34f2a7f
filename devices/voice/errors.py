"""The one exception of the calling-voice package (a DeviceError, so `onewindow device say` reports it as JSON)."""
from __future__ import annotations

from devices.errors import DeviceError


class VoiceError(DeviceError):
    """Synthesis, clip pack or playback failure; the message names the voice, file or device and the bad value."""

    def __init__(self, message: str, where: str = "voice") -> None:
        super().__init__(where, message)
