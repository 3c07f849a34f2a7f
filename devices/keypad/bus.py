"""Host side of the FF 68 keypad bus: echo key reports, show numbers and beep with echo checks.

Keypads speak unasked when a key is pressed and repeat the report until the host echoes it. A
repeat therefore looks exactly like a second press: identical reports from one keypad within
`repeat_window` seconds are echoed again but delivered once (a real double press that fast is a
bounce anyway). Host commands are echoed by the keypad; a keypad that stops echoing after every
retry is reported offline (with `expect_echo=False`, for keypads that never echo, nothing is checked).
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from devices.errors import DeviceError
from devices.frame7e.bus import DeviceOffline, DeviceState
from devices.keypad import protocol as k
from devices.line import SerialLine, Transport
from devices.listeners import Callbacks

log = logging.getLogger("onewindow.devices.keypad")

KeyListener = Callable[[int, int | None, tuple[int, ...]], None]
StateListener = Callable[[int, DeviceState, dict[str, Any]], None]


@dataclass
class _Keypad:
    addr: int
    state: DeviceState | None = None
    last_report: tuple[bytes, float] | None = None
    presses: int = 0
    repeats: int = 0
    failures: int = 0
    problem: str = ""


@dataclass
class _Job:
    addr: int
    raw: bytes
    future: Future = field(default_factory=Future)


class KeypadBus(SerialLine):
    """One RS-485 line of FF 68 keypads; one thread owns the port."""

    def __init__(self, transport: Transport, *, url: str = "keypads", expect_echo: bool = True,
                 echo_timeout: float = 0.2, retries: int = 2, repeat_window: float = 0.6,
                 idle_read: float = 0.05, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(transport, url=url, thread_name=f"keypads {url}", new_parser=k.FrameParser, log=log)
        self.expect_echo = expect_echo
        self.echo_timeout = echo_timeout
        self.retries = retries
        self.repeat_window = repeat_window
        self.idle_read = idle_read
        self._clock = clock
        self._keypads: dict[int, _Keypad] = {}
        self._key_listeners = Callbacks(log, "keypad listener")
        self._state_listeners = Callbacks(log, "keypad state listener")
        self.stats = {"frames_sent": 0, "rejected": 0, "unknown_keypad": 0, "repeats_dropped": 0}

    def add_keypad(self, addr: int) -> None:
        if not 1 <= addr <= 0xFF:
            raise ValueError(f"{self.url}: keypad address {addr} outside 1..255")
        self._keypads.setdefault(addr, _Keypad(addr))

    def on_key(self, listener: KeyListener) -> None:
        """listener(addr, key code or None for a lone digit, digits) on the bus thread."""
        self._key_listeners.add(listener)

    def on_state(self, listener: StateListener) -> None:
        self._state_listeners.add(listener)

    # ------------------------------------------------------------ commands (any thread)
    def show_number(self, addr: int, number: str | None) -> Future:
        return self._queue(_Job(addr, k.show_number(addr, number)))

    def beep(self, addr: int, times: int = 1) -> Future:
        return self._queue(_Job(addr, k.beep(addr, times)))

    def state(self, addr: int) -> DeviceState | None:
        return self._keypads[addr].state if addr in self._keypads else None

    def detail(self, addr: int) -> dict[str, Any]:
        pad = self._keypads[addr]
        out: dict[str, Any] = {"bus": self.url, "addr": addr, "presses": pad.presses, "failures": pad.failures,
                               "echo_checked": self.expect_echo}
        if pad.problem:
            out["problem"] = pad.problem
        return out

    # ------------------------------------------------------------ bus thread
    def _serve(self, job: _Job | None) -> None:
        if job is not None:
            self._run_job(job)
        else:
            self._read_until(self._clock() + self.idle_read, None)
        self._transport_ok()

    def _run_job(self, job: _Job) -> None:
        addr, raw, fut = job.addr, job.raw, job.future
        if fut.cancelled():
            return
        pad = self._keypads.get(addr)
        try:
            if pad is None:
                raise DeviceOffline(self.url, addr, "not configured on this bus")
            if not self.expect_echo:
                self._write(raw)
                self._set_state(pad, DeviceState.OK)
                fut.set_result(None)
                return
            attempts = 1 if pad.state is DeviceState.OFFLINE else 1 + self.retries
            for _ in range(attempts):
                self._write(raw)
                if self._read_until(self._clock() + self.echo_timeout, raw):
                    pad.problem = ""
                    self._set_state(pad, DeviceState.OK)
                    fut.set_result(None)
                    return
            pad.failures += 1
            pad.problem = f"no echo after {attempts} attempt(s)"
            if pad.state is not DeviceState.OFFLINE:
                log.warning("%s keypad %d is offline: %s", self.url, addr, pad.problem)
            self._set_state(pad, DeviceState.OFFLINE)
            raise DeviceOffline(self.url, addr, pad.problem)
        except DeviceOffline as exc:
            fut.set_exception(exc)
        except DeviceError as exc:
            fut.set_exception(exc)
            raise

    def _read_until(self, deadline: float, echo: bytes | None) -> bool:
        """Handle incoming frames until the deadline; True as soon as `echo` comes back."""
        want = k.FrameParser().feed(echo)[0] if echo else None
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            data = self.transport.read(256, remaining)
            if not data:
                continue
            before = self._parser.rejected
            frames = self._parser.feed(data)
            self.stats["rejected"] += self._parser.rejected - before
            got = False
            for frame in frames:
                if want is not None and frame == want:
                    got = True
                elif frame.cmd == k.CMD_KEY:
                    self._key_report(frame)
            if got:
                return True

    def _key_report(self, frame: k.Frame) -> None:
        pad = self._keypads.get(frame.addr)
        if pad is None:
            self.stats["unknown_keypad"] += 1
            log.info("%s: key report from unconfigured keypad %d ignored", self.url, frame.addr)
            return
        self._write(frame.encode())          # the acknowledgement is the frame itself
        now = self._clock()
        digits, key = k.key_of(frame)
        # Lone digits are never dropped: "0 0" is a real entry, and a doubled digit makes a number of the
        # wrong length, which KeyEntry refuses (the keypad beeps) instead of calling the wrong ticket.
        if key is not None and pad.last_report and pad.last_report[0] == frame.data \
                and now - pad.last_report[1] < self.repeat_window:
            pad.repeats += 1
            self.stats["repeats_dropped"] += 1
            pad.last_report = (frame.data, now)
            return
        pad.last_report = (frame.data, now)
        pad.presses += 1
        pad.problem = ""
        self._set_state(pad, DeviceState.OK)
        self._key_listeners(frame.addr, key, digits)

    def _write(self, raw: bytes) -> None:
        self.stats["frames_sent"] += 1
        self.transport.write(raw)

    def _set_state(self, pad: _Keypad, state: DeviceState) -> None:
        if pad.state is state:
            return
        pad.state = state
        self._state_listeners(pad.addr, state, self.detail(pad.addr))

    def _line_down(self, problem: str) -> None:
        for pad in self._keypads.values():
            pad.problem = problem
            self._set_state(pad, DeviceState.ERROR)
