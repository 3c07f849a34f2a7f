"""The one exception family of the devices package; every message names the port/URL it is about."""
from __future__ import annotations


class DeviceError(Exception):
    """Base of every device failure. `url` is the transport URL (or port) the failure is about."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.message = message


class TransportError(DeviceError):
    """The port/socket/file cannot be opened, or failed while in use (unplugged, closed, refused)."""


class PrinterError(DeviceError):
    """The ticket printer refused or failed a job; `faults` lists what the printer reported (e.g. ['paper_end'])."""

    def __init__(self, url: str, message: str, faults: tuple[str, ...] = ()) -> None:
        super().__init__(url, message)
        self.faults = tuple(faults)


class IdCardError(DeviceError):
    """The ID-card reader failed, or a card was read but rejected (`reason` is a short machine word)."""

    def __init__(self, url: str, message: str, reason: str = "error") -> None:
        super().__init__(url, message)
        self.reason = reason
