"""The device side of a pseudo-terminal: a base class every simulator builds on (bytes in → bytes out).

A simulator owns the master end of an `os.openpty()` pair in raw mode and serves it from a daemon thread;
drivers open the slave path with the ordinary serial transport, so they hear exactly the bytes real hardware
would send. `unplug()` closes the master (the driver's next read/write fails like a pulled USB cable) and
`replug()` serves a fresh pseudo-terminal (new `slave_path`).
"""
from __future__ import annotations

import logging
import os
import select
import threading
import time
import tty
from typing import Any, Callable, Self

log = logging.getLogger(__name__)


class SimulatedDevice:
    """Subclass and override `on_bytes(data)`; answer with `self.send(data)` (any thread may call send)."""

    kind = "device"

    def __init__(self) -> None:
        self.url = ""
        self.received = bytearray()  # every byte the host sent, for tests
        self.silent = False  # when True, send() drops everything (a device that stopped answering)
        self.baud = 115200  # set by the transport from sim://...?baud=N
        self.pace = False  # when True, send() takes as long as the bytes would need on a real 8N1 line
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_path: str | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._has_data = threading.Condition(self._lock)

    # --- lifecycle -------------------------------------------------------------------------------------------
    @property
    def slave_path(self) -> str | None:
        return self._slave_path

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._plug()
            self._thread = threading.Thread(target=self._serve, name=f"sim-{self.kind}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._unplug()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def unplug(self) -> None:
        """Pull the cable: the host's open port now fails on read/write; slave_path becomes None."""
        with self._lock:
            self._unplug()
        self._wake()

    def replug(self) -> None:
        """Plug back in on a new pseudo-terminal (reopening the transport finds it through slave_path)."""
        with self._lock:
            if self._stopped or self._master is not None:
                return
            self._plug()
        self._wake()

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        self._master, self._slave = master, slave
        self._slave_path = os.ttyname(slave)
        log.debug("%s plugged at %s", self.kind, self._slave_path)

    def _unplug(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None
        self._slave_path = None

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    # --- I/O -------------------------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Bytes from the device to the host (dropped while silent or unplugged)."""
        with self._lock:
            if self.silent or self._master is None or not data:
                return
            if self.pace:
                time.sleep(len(data) * 10 / self.baud)
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self._master, view)
                except BlockingIOError:
                    select.select([], [self._master], [], 0.5)
                    continue
                except OSError:
                    return
                view = view[written:]

    def on_bytes(self, data: bytes) -> None:  # pragma: no cover - overridden
        """Called on the simulator thread with each chunk the host wrote."""

    def wait_received(self, predicate, timeout: float = 5.0) -> bool:
        """Block until predicate(bytes(self.received)) is true (for tests and benches; no sleeping)."""
        with self._has_data:
            return self._has_data.wait_for(lambda: predicate(bytes(self.received)), timeout)

    def _serve(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    return
                master = self._master
            watch = [self._wake_r] + ([master] if master is not None else [])
            try:
                ready, _, _ = select.select(watch, [], [])
            except (OSError, ValueError):
                continue  # fd closed under us by unplug(); loop picks up the new state
            if self._wake_r in ready:
                try:
                    os.read(self._wake_r, 64)
                except OSError:
                    return
            if master is not None and master in ready:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    continue
                if not data:
                    continue
                with self._has_data:
                    self.received += data
                    self._has_data.notify_all()
                try:
                    self.on_bytes(data)
                except Exception:  # a simulator bug must show up in the log, not kill the pty silently
                    log.exception("%s simulator failed on %r", self.kind, data[:32])


class BusLineSimulator(SimulatedDevice):
    """A simulated RS-485 line of addressed devices: every frame the host sends goes to `_handle(frame)` under the
    lock, and `wait_for` lets tests block until the line reaches a state."""

    _MAX_RECORD = 1 << 20  # a long-running demo line must not grow `received` forever

    def __init__(self, parser: Any) -> None:
        super().__init__()
        self._parser = parser
        self._changed = threading.Condition(self._lock)

    def wait_for(self, predicate: Callable[[Self], bool], timeout: float = 5.0) -> bool:
        """Block until predicate(self) holds (checked after every frame the simulator handles)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def on_bytes(self, data: bytes) -> None:
        with self._lock:
            if len(self.received) > self._MAX_RECORD:
                del self.received[:self._MAX_RECORD // 2]
        for frame in self._parser.feed(data):
            with self._changed:
                self._handle(frame)
                self._changed.notify_all()

    def _handle(self, frame: Any) -> None:  # pragma: no cover - overridden
        """Act on one frame from the host (called with the lock held)."""


def parse_bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("1", "true", "yes", "on", ""):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r} is not a boolean (use 1/0)")


def check_params(params: dict[str, str], allowed: set[str], kind: str) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"unknown sim://{kind} parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
