"""Bus master for the 7E protocol: one thread owns the transport, polls every device, runs queued
commands with ACK/NAK, retries under the same SEQ, reports devices that stop answering as offline."""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable

from devices.errors import DeviceError
from devices.frame7e import protocol as p
from devices.line import SerialLine, Transport
from devices.listeners import Callbacks

log = logging.getLogger("onewindow.devices.bus7e")


class DeviceState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    OFFLINE = "offline"


class DeviceOffline(DeviceError):
    """A device did not answer (after every retry)."""

    def __init__(self, url: str, addr: int, message: str) -> None:
        super().__init__(url, f"device {addr}: {message}")
        self.addr = addr


class NakError(DeviceError):
    """A device refused a command with NAK."""

    def __init__(self, url: str, addr: int, cmd: int, reason: int) -> None:
        try:
            name = p.NakReason(reason).name.lower()
        except ValueError:
            name = f"0x{reason:02X}"
        super().__init__(url, f"device {addr} refused command 0x{cmd:02X}: {name}")
        self.addr, self.cmd, self.reason = addr, cmd, reason


BusEvent = p.KeyEvent | p.Evaluation
EventListener = Callable[[int, BusEvent], None]
StateListener = Callable[[int, DeviceState, dict[str, Any]], None]
PingListener = Callable[[int, p.PingReply], None]


@dataclass
class _Device:
    addr: int
    name: str
    seq: int = 0
    state: DeviceState | None = None          # None until the first answer or failure
    next_try: float = 0.0
    last_event: tuple[int, bytes] | None = None
    retries: int = 0
    naks: int = 0
    failures: int = 0
    problem: str = ""

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFF
        return self.seq


@dataclass
class _Job:
    addr: int
    cmd: int
    payload: bytes
    future: Future = field(default_factory=Future)


class Bus7E(SerialLine):
    """The master of one RS-485 line of 7E devices."""

    def __init__(self, transport: Transport, *, url: str = "bus7e", master: int = p.MASTER,
                 reply_timeout: float = 0.2, retries: int = 3, poll_interval: float = 0.1,
                 offline_retry_s: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(transport, url=url, thread_name=f"bus7e {url}", new_parser=p.FrameParser, log=log)
        self.master = master
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.poll_interval = poll_interval
        self.offline_retry_s = offline_retry_s
        self._clock = clock
        self._devices: dict[int, _Device] = {}
        self._event_listeners = Callbacks(log, "bus listener")
        self._state_listeners = Callbacks(log, "bus listener")
        self._ping_listeners = Callbacks(log, "bus listener")
        self._tickers = Callbacks(log, "bus listener")
        self._next_poll = 0.0                     # the first poll round runs at once
        self._bcast_seq = 0
        self.stats = {"frames_sent": 0, "retries": 0, "crc_or_shape_errors": 0, "stray_frames": 0,
                      "repeats_dropped": 0}

    # ------------------------------------------------------------ setup
    def add_device(self, addr: int, name: str = "") -> None:
        if not 1 <= addr <= 0xEF:
            raise ValueError(f"{self.url}: device address {addr} outside 1..239")
        self._devices.setdefault(addr, _Device(addr, name or f"addr-{addr}"))

    def on_event(self, listener: EventListener) -> None:
        self._event_listeners.add(listener)

    def on_state(self, listener: StateListener) -> None:
        self._state_listeners.add(listener)

    def on_ping(self, listener: PingListener) -> None:
        self._ping_listeners.add(listener)

    def add_ticker(self, fn: Callable[[], None]) -> None:
        """fn() runs on the bus thread after every poll round (keep it short and non-blocking)."""
        self._tickers.add(fn)

    # ------------------------------------------------------------ commands (any thread)
    def submit(self, addr: int, cmd: int, payload: bytes = b"") -> Future:
        """Queue a command; the future gives the ACK payload or raises DeviceOffline / NakError."""
        return self._queue(_Job(addr, int(cmd), bytes(payload)))

    def request(self, addr: int, cmd: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        """Blocking submit (not from a bus listener: that would wait for the bus thread itself)."""
        budget = timeout if timeout is not None else (self.reply_timeout * (self.retries + 1) + 5.0)
        return self.submit(addr, cmd, payload).result(budget)

    def broadcast(self, cmd: int, payload: bytes = b"") -> Future:
        return self.submit(p.BROADCAST, cmd, payload)

    def state(self, addr: int) -> DeviceState | None:
        dev = self._devices.get(addr)
        return dev.state if dev else None

    def detail(self, addr: int) -> dict[str, Any]:
        dev = self._devices[addr]
        out: dict[str, Any] = {"bus": self.url, "addr": addr, "retries": dev.retries, "naks": dev.naks,
                               "failures": dev.failures}
        if dev.problem:
            out["problem"] = dev.problem
        return out

    # ------------------------------------------------------------ the bus thread
    def _idle_wait(self) -> float:
        return max(0.0, self._next_poll - self._clock())

    def _serve(self, job: _Job | None) -> None:
        if job is not None:
            self._run_job(job)
            return
        self._poll_round()
        self._tickers()
        self._transport_ok()
        self._next_poll = self._clock() + self.poll_interval

    def _port_failed(self, problem: str) -> None:
        super()._port_failed(problem)
        self._next_poll = self._clock() + self.poll_interval

    def _drain_jobs(self) -> None:
        while not self._stopping.is_set():
            job = self._queued_job()
            if job is None:
                return
            self._run_job(job)

    def _run_job(self, job: _Job) -> None:
        if job.future.cancelled():
            return
        try:
            if job.addr == p.BROADCAST:
                self._bcast_seq = (self._bcast_seq + 1) & 0xFF
                self._write(p.encode_frame(p.BROADCAST, self.master, self._bcast_seq, job.cmd, job.payload))
                job.future.set_result(b"")
                return
            dev = self._devices.get(job.addr)
            if dev is None:
                raise DeviceOffline(self.url, job.addr, "not configured on this bus")
            reply = self._transact(dev, job.cmd, job.payload)
            job.future.set_result(reply.payload)
        except (DeviceOffline, NakError) as exc:
            job.future.set_exception(exc)
        except DeviceError as exc:
            job.future.set_exception(exc)
            raise

    def _poll_round(self) -> None:
        now = self._clock()
        for dev in list(self._devices.values()):
            if self._stopping.is_set():
                return
            if dev.state is DeviceState.OFFLINE and now < dev.next_try:
                continue
            try:
                reply = self._transact(dev, p.Cmd.PING, b"")
            except (DeviceOffline, NakError):
                continue
            if reply.cmd == p.Cmd.ACK:
                dev.last_event = None          # nothing pending: no repeat can follow
                info = p.parse_ping_reply(reply.payload)
                self._ping_listeners(dev.addr, info)
            self._drain_jobs()

    def _transact(self, dev: _Device, cmd: int, payload: bytes) -> p.Frame:
        seq = dev.next_seq()
        raw = p.encode_frame(dev.addr, self.master, seq, cmd, payload)
        # an offline device gets one try per visit so it cannot slow the others down
        attempts = 1 if dev.state is DeviceState.OFFLINE else 1 + self.retries
        problem = "no reply"
        for attempt in range(attempts):
            if attempt:
                self.stats["retries"] += 1
                dev.retries += 1
            self._write(raw)
            reply = self._await_reply(dev.addr, seq)
            if reply is None:
                continue
            if reply.cmd == p.Cmd.NAK:
                reason = reply.payload[0] if reply.payload else 0
                dev.naks += 1
                if reason == p.NakReason.BUSY:
                    problem = "busy"
                    continue
                self._alive(dev)
                raise NakError(self.url, dev.addr, cmd, reason)
            if reply.cmd in (p.Cmd.KEY_EVENT, p.Cmd.EVALUATION):
                self._write(p.encode_frame(dev.addr, self.master, seq, p.Cmd.ACK))
                self._alive(dev)
                self._deliver(dev, reply)
                return reply
            self._alive(dev)
            return reply
        dev.failures += 1
        self._offline(dev, f"{problem} after {attempts} attempt(s) (command 0x{cmd:02X})")
        raise DeviceOffline(self.url, dev.addr, problem)

    def _await_reply(self, addr: int, seq: int) -> p.Frame | None:
        deadline = self._clock() + self.reply_timeout
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return None
            data = self.transport.read(256, remaining)
            if not data:
                continue
            before = self._parser.rejected
            frames = self._parser.feed(data)
            self.stats["crc_or_shape_errors"] += self._parser.rejected - before
            for frame in frames:
                if frame.dst == self.master and frame.src == addr and frame.seq == seq:
                    return frame       # frames after it in this chunk are late junk of this exchange
                self.stats["stray_frames"] += 1

    def _write(self, raw: bytes) -> None:
        self.stats["frames_sent"] += 1
        self.transport.write(raw)

    def _deliver(self, dev: _Device, frame: p.Frame) -> None:
        key = (frame.cmd, frame.payload)
        if dev.last_event == key:              # our ACK was lost and the device offered it again
            self.stats["repeats_dropped"] += 1
            return
        dev.last_event = key
        try:
            event: BusEvent = (p.parse_key_event(frame.payload) if frame.cmd == p.Cmd.KEY_EVENT
                               else p.parse_evaluation(frame.payload))
        except ValueError as exc:
            log.warning("%s device %d: dropped malformed event: %s", self.url, dev.addr, exc)
            return
        self._event_listeners(dev.addr, event)

    # ------------------------------------------------------------ health
    def _alive(self, dev: _Device) -> None:
        dev.problem = ""
        self._set_state(dev, DeviceState.OK)

    def _offline(self, dev: _Device, problem: str) -> None:
        dev.problem = problem
        dev.next_try = self._clock() + self.offline_retry_s
        if dev.state is not DeviceState.OFFLINE:
            log.warning("%s device %d (%s) is offline: %s", self.url, dev.addr, dev.name, problem)
        self._set_state(dev, DeviceState.OFFLINE)

    def _set_state(self, dev: _Device, state: DeviceState) -> None:
        if dev.state is state:
            return
        dev.state = state
        self._state_listeners(dev.addr, state, self.detail(dev.addr))

    def _line_down(self, problem: str) -> None:
        for dev in self._devices.values():
            dev.problem = problem
            dev.state = DeviceState.ERROR
            self._state_listeners(dev.addr, DeviceState.ERROR, self.detail(dev.addr))
