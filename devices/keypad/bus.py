"""Host side of the FF 68 keypad bus: echo key reports, show numbers and beep with echo checks.

Keypads speak unasked when a key is pressed and repeat the report until the host echoes it. A
repeat therefore looks exactly like a second press: identical reports from one keypad within
`repeat_window` seconds are echoed again but delivered once (a real double press that fast is a
bounce anyway). Host commands are echoed by the keypad; a keypad that stops echoing after every
retry is reported offline (with `expect_echo=False`, for keypads that never echo, nothing is checked).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable

from devices.errors import DeviceError
from devices.frame7e.bus import BusClosed, DeviceOffline, DeviceState, Transport
from devices.keypad import protocol as k

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


_STOP = object()


class KeypadBus:
    """One RS-485 line of FF 68 keypads; one thread owns the port."""

    def __init__(self, transport: Transport, *, url: str = "keypads", expect_echo: bool = True,
                 echo_timeout: float = 0.2, retries: int = 2, repeat_window: float = 0.6,
                 idle_read: float = 0.05, clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.url = url
        self.expect_echo = expect_echo
        self.echo_timeout = echo_timeout
        self.retries = retries
        self.repeat_window = repeat_window
        self.idle_read = idle_read
        self._clock = clock
        self._keypads: dict[int, _Keypad] = {}
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._parser = k.FrameParser()
        self._key_listeners: list[KeyListener] = []
        self._state_listeners: list[StateListener] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport_problem: str | None = None
        self.stats = {"frames_sent": 0, "rejected": 0, "unknown_keypad": 0, "repeats_dropped": 0}

    def add_keypad(self, addr: int) -> None:
        if not 1 <= addr <= 0xFF:
            raise ValueError(f"{self.url}: keypad address {addr} outside 1..255")
        self._keypads.setdefault(addr, _Keypad(addr))

    def on_key(self, listener: KeyListener) -> None:
        """listener(addr, key code or None for a lone digit, digits) on the bus thread."""
        self._key_listeners.append(listener)

    def on_state(self, listener: StateListener) -> None:
        self._state_listeners.append(listener)

    def start(self) -> "KeypadBus":
        self._thread = threading.Thread(target=self._run, name=f"keypads {self.url}", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 3.0) -> None:
        self._stopping.set()
        self._jobs.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(job, tuple) and not job[2].done():
                job[2].set_exception(BusClosed(self.url, "bus closed"))
        try:
            self.transport.close()
        except Exception:
            log.debug("closing %s failed", self.url, exc_info=True)

    # ------------------------------------------------------------ commands (any thread)
    def show_number(self, addr: int, number: str | None) -> Future:
        return self._submit(addr, k.show_number(addr, number))

    def beep(self, addr: int, times: int = 1) -> Future:
        return self._submit(addr, k.beep(addr, times))

    def _submit(self, addr: int, raw: bytes) -> Future:
        fut: Future = Future()
        if self._stopping.is_set():
            fut.set_exception(BusClosed(self.url, "bus closed"))
        else:
            self._jobs.put((addr, raw, fut))
        return fut

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
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    job = None
                if job is _STOP:
                    break
                if job is not None:
                    self._run_job(*job)
                else:
                    self._read_until(self._clock() + self.idle_read, None)
                self._transport_problem = None
            except DeviceError as exc:
                self._transport_failed(str(exc))
                self._stopping.wait(1.0)
                self._try_reopen()

    def _run_job(self, addr: int, raw: bytes, fut: Future) -> None:
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
        for listener in list(self._key_listeners):
            try:
                listener(frame.addr, key, digits)
            except Exception:
                log.exception("keypad listener failed")

    def _write(self, raw: bytes) -> None:
        self.stats["frames_sent"] += 1
        self.transport.write(raw)

    def _set_state(self, pad: _Keypad, state: DeviceState) -> None:
        if pad.state is state:
            return
        pad.state = state
        detail = self.detail(pad.addr)
        for listener in list(self._state_listeners):
            try:
                listener(pad.addr, state, detail)
            except Exception:
                log.exception("keypad state listener failed")

    def _transport_failed(self, problem: str) -> None:
        if self._transport_problem == problem:
            return
        self._transport_problem = problem
        log.error("%s: %s", self.url, problem)
        for pad in self._keypads.values():
            pad.problem = problem
            self._set_state(pad, DeviceState.ERROR)

    def _try_reopen(self) -> None:
        reopen = getattr(self.transport, "reopen", None)
        if reopen is None or self._stopping.is_set():
            return
        try:
            reopen()
            self._parser = k.FrameParser()
        except DeviceError as exc:
            log.debug("%s: reopen failed: %s", self.url, exc)
