"""Simulated FF 68 keypad line: `sim://keypads?addrs=1,2,3[&echo=1]`.

Each keypad reports key presses (repeating the report up to 3 times until the host echoes it),
echoes host commands (unless `echo=0`), and records what the host showed and how often it beeped.
Faults: `silence(addr)` (a dead keypad), `garbage(data)` on the line, `drop_next_echo(addr)`
(the host's echo is lost, so the keypad repeats its report).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from devices.keypad import protocol as k
from devices.simulators.base import BusLineSimulator, check_params, parse_bool
from devices.transport import register_simulator

REPORT_ATTEMPTS = 3
ECHO_WAIT_S = 0.3


@dataclass
class SimKeypad:
    addr: int
    display: str = ""
    beeps: int = 0
    silent: bool = False
    drop_echoes: int = 0
    shows: list[str] = field(default_factory=list)     # every number the host showed, in order
    reports_sent: int = 0
    awaiting: bytes | None = None
    echoed: threading.Event = field(default_factory=threading.Event)


class KeypadBusSimulator(BusLineSimulator):
    kind = "keypads"

    def __init__(self, params: dict[str, str]) -> None:
        super().__init__(k.FrameParser())
        check_params(params, {"addrs", "echo"}, "keypads")
        raw = params.get("addrs", "1")
        try:
            addrs = [int(a) for a in raw.split(",") if a.strip()]
        except ValueError:
            raise ValueError(f"sim://keypads addrs={raw!r}: addresses must be integers") from None
        if not addrs or any(not 1 <= a <= 0xFF for a in addrs):
            raise ValueError(f"sim://keypads addrs={raw!r}: give addresses in 1..255")
        self.echo = parse_bool(params.get("echo", "1"), "echo")
        self.keypads = {a: SimKeypad(a) for a in addrs}
        self._press_lock = threading.Lock()       # one keypad talks at a time on the line

    # ------------------------------------------------------------ controls
    def keypad(self, addr: int) -> SimKeypad:
        return self.keypads[addr]

    def press(self, addr: int, key: int | None, digits: tuple[int, ...] | list[int] = ()) -> bool:
        """Report a key (with the digits typed before it, in one frame) and wait for the host's echo,
        repeating the report like the real keypad. True if the host echoed it."""
        return self._report(addr, k.key_report(addr, key, list(digits)) if key is not None
                            else k.encode_frame(addr, k.CMD_KEY, bytes(digits)))

    def type_keys(self, addr: int, keys: list[int]) -> bool:
        """Keypads that report every key on its own: digits 0..9 and key codes, one frame each."""
        return all(self._report(addr, k.encode_frame(addr, k.CMD_KEY, bytes([code]))) for code in keys)

    def silence(self, addr: int, on: bool = True) -> None:
        with self._lock:
            self.keypads[addr].silent = on

    def drop_next_echo(self, addr: int, times: int = 1) -> None:
        with self._lock:
            self.keypads[addr].drop_echoes += times

    def garbage(self, data: bytes = b"\xff\x68\x05\x05\x68\x01\x01\x00\xff\x16\x16\x00\xff") -> None:
        self.send(data)

    def _report(self, addr: int, raw: bytes) -> bool:
        pad = self.keypads[addr]
        if pad.silent:
            return False
        with self._press_lock:
            with self._lock:
                pad.awaiting = raw
                pad.echoed.clear()
            for _ in range(REPORT_ATTEMPTS):
                with self._lock:
                    pad.reports_sent += 1
                self.send(raw)
                if pad.echoed.wait(ECHO_WAIT_S):
                    return True
            with self._lock:
                pad.awaiting = None
            return False

    # ------------------------------------------------------------ the wire
    def _handle(self, frame: k.Frame) -> None:
        pad = self.keypads.get(frame.addr)
        if pad is None or pad.silent:
            return
        raw = frame.encode()
        if frame.cmd == k.CMD_KEY:                # the host's echo of a report
            if pad.awaiting == raw:
                if pad.drop_echoes:
                    pad.drop_echoes -= 1
                    return
                pad.awaiting = None
                pad.echoed.set()
            return
        if frame.cmd == k.CMD_SHOW_NUMBER and len(frame.data) == k.DISPLAY_DIGITS:
            pad.display = k.decode_display(frame.data)
            pad.shows.append(pad.display)
        elif frame.cmd == k.CMD_BEEP:
            pad.beeps += frame.data[0] if frame.data else 1
        else:
            return                                 # unknown commands are ignored, not echoed
        if self.echo:
            self.send(raw)


def _factory(params: dict[str, str]) -> Any:
    return KeypadBusSimulator(params)


register_simulator("keypads", _factory)
