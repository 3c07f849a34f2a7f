"""A call keypad on the 7E bus (new keypads): KEY_EVENT reports in, number display and beep out.
Key codes and digit entry are those of the FF 68 keypads (devices.keypad.protocol)."""
from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Callable

from devices.frame7e import protocol as p
from devices.frame7e.bus import Bus7E, BusEvent

log = logging.getLogger("onewindow.devices.keypad")


class Keypad7E:
    def __init__(self, bus: Bus7E, addr: int) -> None:
        self.bus = bus
        self.addr = addr
        self._listeners: list[Callable[[int | None, tuple[int, ...]], None]] = []
        bus.add_device(addr)
        bus.on_event(self._on_event)

    def on_key(self, listener: Callable[[int | None, tuple[int, ...]], None]) -> None:
        """listener(key code or None for a lone digit, digits typed before it) on the bus thread."""
        self._listeners.append(listener)

    def show_number(self, number: str | None) -> Future:
        if number is None:
            return self.bus.submit(self.addr, p.Cmd.CLEAR)
        return self.bus.submit(self.addr, p.Cmd.SHOW_NUMBER, p.number_payload(number))

    def beep(self, times: int = 1) -> Future:
        return self.bus.submit(self.addr, p.Cmd.BEEP, p.beep_payload(times))

    def _on_event(self, addr: int, event: BusEvent) -> None:
        if addr != self.addr or not isinstance(event, p.KeyEvent):
            return
        for listener in list(self._listeners):
            try:
                listener(event.key, event.digits)
            except Exception:
                log.exception("keypad listener failed")
