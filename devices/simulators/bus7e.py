"""Simulated RS-485 line of 7E devices: `sim://bus7e?screens=1,2&evaluators=11,12&keypads=21`.

Each device answers polls like the real firmware should: ACK/NAK with the master's SEQ, repeats
answered again without acting twice, events held until the master ACKs them. Screens remember what
they show (until a power loss). Faults, all per device unless said otherwise: `silence(addr)`,
`garbage(data)` on the line, `corrupt_next_reply(addr)` (bad CRC once), `busy_next(addr)` (NAK busy
once), `lose_next_ack(addr)`, `power_loss(addr)` (blank screen, forgets everything, reports content lost).
A fault can also come from the URL, for a process that owns the line (the demo's device controller):
`silent_after=13:20,12:45` — device 13 stops answering 20 s after the line starts (a pulled cable, a dead
evaluator), device 12 after 45 s; `silence(addr, False)` brings one back.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from devices.frame7e import protocol as p
from devices.simulators.base import BusLineSimulator, check_params
from devices.transport import register_simulator

@dataclass
class SimDevice:
    addr: int
    kind: p.DeviceKind
    lines: dict[int, str] = field(default_factory=dict)
    number: str | None = None
    brightness: int | None = None
    beeps: int = 0
    content_lost: bool = True            # a device just powered on shows nothing
    silent: bool = False
    events: deque = field(default_factory=deque)     # (cmd, payload) not yet ACKed
    event_seq: int | None = None          # SEQ under which events[0] was offered
    next_event_id: int = 0
    last_rx: tuple[int, int, int, bytes] | None = None   # (src, seq, cmd, payload)
    last_reply: bytes = b""
    corrupt_next: int = 0
    busy_next: int = 0
    ignore_acks: int = 0
    executed: list[tuple[int, bytes]] = field(default_factory=list)   # commands acted on
    repeats: int = 0
    polls: int = 0

    @property
    def text(self) -> str:
        """Every line shown, top to bottom, joined by '|'."""
        return "|".join(self.lines[k] for k in sorted(self.lines))


def _addrs(params: dict[str, str], name: str) -> list[int]:
    raw = params.get(name, "")
    try:
        out = [int(a) for a in raw.split(",") if a.strip()]
    except ValueError:
        raise ValueError(f"sim://bus7e {name}={raw!r}: addresses must be integers") from None
    for a in out:
        if not 1 <= a <= 0xEF:
            raise ValueError(f"sim://bus7e {name}: address {a} outside 1..239")
    return out


class Bus7ESimulator(BusLineSimulator):
    kind = "bus7e"

    def __init__(self, params: dict[str, str]) -> None:
        super().__init__(p.FrameParser())
        check_params(params, {"screens", "evaluators", "keypads", "silent_after"}, "bus7e")
        self.devices: dict[int, SimDevice] = {}
        for name, kind in (("screens", p.DeviceKind.SCREEN), ("evaluators", p.DeviceKind.EVALUATOR),
                           ("keypads", p.DeviceKind.KEYPAD)):
            for addr in _addrs(params, name):
                if addr in self.devices:
                    raise ValueError(f"sim://bus7e: address {addr} used twice")
                self.devices[addr] = SimDevice(addr, kind)
        self._bcast_last: tuple[int, int, bytes] | None = None
        self._silent_after = _silent_after(params.get("silent_after", ""), self.devices)
        self._born = time.monotonic()

    # ------------------------------------------------------------ test / demo controls
    def device(self, addr: int) -> SimDevice:
        return self.devices[addr]

    def screen_text(self, addr: int) -> str:
        with self._lock:
            return self.devices[addr].text

    def press_grade(self, addr: int, grade: int) -> None:
        """A citizen presses a grade (5 非常满意 ... 1 非常不满意) on evaluator `addr`."""
        self._queue_event(addr, p.Cmd.EVALUATION, lambda eid: p.evaluation_payload(eid, grade))

    def press_key(self, addr: int, key: int | None, digits: tuple[int, ...] | list[int] = ()) -> None:
        """Keypad `addr` reports a key (with the digits typed before it)."""
        self._queue_event(addr, p.Cmd.KEY_EVENT, lambda eid: p.key_event_payload(eid, key, tuple(digits)))

    def silence(self, addr: int, on: bool = True) -> None:
        with self._lock:
            self.devices[addr].silent = on

    def garbage(self, data: bytes = b"\x7e\x01\x02\x7d\xff\x00\x7f\x55\xaa\x7e\x7e\x13") -> None:
        """Noise on the line right now (a motor starting next to the cable)."""
        self.send(data)

    def corrupt_next_reply(self, addr: int, times: int = 1) -> None:
        with self._lock:
            self.devices[addr].corrupt_next += times

    def busy_next(self, addr: int, times: int = 1) -> None:
        with self._lock:
            self.devices[addr].busy_next += times

    def lose_next_ack(self, addr: int, times: int = 1) -> None:
        """The master's ACK of an event is lost on the wire: the device offers the event again."""
        with self._lock:
            self.devices[addr].ignore_acks += times

    def power_loss(self, addr: int) -> None:
        """Power cycle: the screen goes blank and the device forgets every SEQ and pending event."""
        with self._changed:
            dev = self.devices[addr]
            self.devices[addr] = SimDevice(addr, dev.kind, executed=dev.executed, repeats=dev.repeats,
                                           silent=dev.silent)
            self._changed.notify_all()

    def _queue_event(self, addr: int, cmd: p.Cmd, build: Callable[[int], bytes]) -> None:
        with self._changed:
            dev = self.devices[addr]
            if dev.kind is p.DeviceKind.SCREEN:
                raise ValueError(f"sim://bus7e: device {addr} is a screen and has no keys")
            dev.events.append((int(cmd), build(dev.next_event_id)))
            dev.next_event_id = (dev.next_event_id + 1) & 0xFF
            self._changed.notify_all()

    # ------------------------------------------------------------ the wire
    def _handle(self, frame: p.Frame) -> None:
        if self._silent_after:
            self._strike_timed_faults()
        if frame.dst == p.BROADCAST:
            key = (frame.seq, frame.cmd, frame.payload)
            if key == self._bcast_last:
                return
            self._bcast_last = key
            for dev in self.devices.values():
                if not dev.silent:
                    self._act(dev, frame)
            return
        dev = self.devices.get(frame.dst)
        if dev is None or dev.silent:
            return
        if frame.cmd == p.Cmd.ACK:          # the master took our event
            if dev.ignore_acks:
                dev.ignore_acks -= 1
                return
            if dev.events and dev.event_seq == frame.seq:
                dev.events.popleft()
                dev.event_seq = None
            return
        key = (frame.src, frame.seq, frame.cmd, frame.payload)
        if key == dev.last_rx:
            dev.repeats += 1
            self._reply(dev, dev.last_reply)
            return
        if dev.busy_next:
            dev.busy_next -= 1
            self._reply(dev, p.encode_frame(frame.src, dev.addr, frame.seq, p.Cmd.NAK,
                                            bytes([p.NakReason.BUSY])))
            return
        reply = self._act(dev, frame)
        dev.last_rx, dev.last_reply = key, reply
        self._reply(dev, reply)

    def _reply(self, dev: SimDevice, raw: bytes) -> None:
        if dev.corrupt_next:
            dev.corrupt_next -= 1
            raw = _with_bad_crc(raw)
        self.send(raw)

    def _act(self, dev: SimDevice, frame: p.Frame) -> bytes:
        """Do what the frame asks; return the reply frame."""
        def ack(payload: bytes = b"") -> bytes:
            return p.encode_frame(frame.src, dev.addr, frame.seq, p.Cmd.ACK, payload)

        def nak(reason: p.NakReason) -> bytes:
            return p.encode_frame(frame.src, dev.addr, frame.seq, p.Cmd.NAK, bytes([reason]))

        cmd, payload = frame.cmd, frame.payload
        if cmd == p.Cmd.PING:
            dev.polls += 1
            if dev.events:
                dev.event_seq = frame.seq
                ev_cmd, ev_payload = dev.events[0]
                return p.encode_frame(frame.src, dev.addr, frame.seq, ev_cmd, ev_payload)
            return ack(bytes([dev.kind, p.FLAG_CONTENT_LOST if dev.content_lost else 0]))
        if cmd == p.Cmd.SHOW_TEXT:
            try:
                line, _scroll, text = p.parse_text(payload)
            except ValueError:
                return nak(p.NakReason.BAD_PAYLOAD)
            dev.lines[line] = text
            dev.content_lost = False
        elif cmd == p.Cmd.SHOW_NUMBER:
            try:
                dev.number = payload.decode("ascii")
            except UnicodeDecodeError:
                return nak(p.NakReason.BAD_PAYLOAD)
            dev.content_lost = False
        elif cmd == p.Cmd.CLEAR:
            dev.lines.clear()
            dev.number = None
        elif cmd == p.Cmd.BRIGHTNESS:
            if len(payload) != 1 or payload[0] > 100:
                return nak(p.NakReason.BAD_PAYLOAD)
            dev.brightness = payload[0]
        elif cmd == p.Cmd.BEEP:
            dev.beeps += payload[0] if payload else 1
        else:
            return nak(p.NakReason.UNKNOWN_COMMAND)
        dev.executed.append((cmd, payload))
        return ack()


    def _strike_timed_faults(self) -> None:
        age = time.monotonic() - self._born
        for addr, after in list(self._silent_after.items()):
            if age >= after:
                del self._silent_after[addr]
                self.devices[addr].silent = True


def _silent_after(raw: str, devices: dict[int, SimDevice]) -> dict[int, float]:
    """`13:20,12:45` -> {13: 20.0, 12: 45.0} (address: seconds after the line starts)."""
    out: dict[int, float] = {}
    for part in (x.strip() for x in raw.split(",")):
        if not part:
            continue
        addr_s, _, secs_s = part.partition(":")
        try:
            addr, secs = int(addr_s), float(secs_s)
        except ValueError:
            raise ValueError(f"sim://bus7e silent_after={raw!r}: use ADDR:SECONDS[,ADDR:SECONDS]") from None
        if addr not in devices:
            raise ValueError(f"sim://bus7e silent_after: no device at address {addr}")
        if secs < 0:
            raise ValueError(f"sim://bus7e silent_after: {secs} seconds is negative")
        out[addr] = secs
    return out


def _with_bad_crc(raw: bytes) -> bytes:
    """The same frame with its CRC off by one bit (a flipped bit on the wire)."""
    frame = p.FrameParser().feed(raw)[0]
    body = bytes([frame.ver, frame.dst, frame.src, frame.seq, frame.cmd]) + \
        len(frame.payload).to_bytes(2, "big") + frame.payload
    crc = p.crc16_modbus(body) ^ 0x0001
    return bytes([p.SOF]) + p.escape(body + crc.to_bytes(2, "little")) + bytes([p.EOF])


def _factory(params: dict[str, str]) -> Any:
    return Bus7ESimulator(params)


register_simulator("bus7e", _factory)
