"""The 7E addressed frame protocol for hall RS-485 devices (LED screens, evaluators, new keypads).

Wire format (DEVICES.md)::

    7E | VER | DST | SRC | SEQ | CMD | LEN (2, BE) | PAYLOAD | CRC16/MODBUS | 7F

* The CRC covers VER..PAYLOAD before escaping and is sent low byte first (the Modbus RTU order).
* Between 7E and 7F every 7D, 7E or 7F byte (the CRC included) is sent as ``7D, byte ^ 0x20``.
* Addresses: 0 broadcast (no reply), 1..0xEF devices, 0xFE the bus master.
* Every non-broadcast frame gets ACK or NAK carrying the same SEQ. The master retries up to 3 times
  with the same SEQ; a receiver that sees the same frame again (same SRC, SEQ and content) answers
  again without acting twice.
* The bus is polled: devices speak only when asked. A device answers PING with ACK (payload
  ``[kind, flags]``) or, when it has something to report, with its oldest KEY_EVENT / EVALUATION
  frame under the PING's SEQ. The master ACKs the event (no reply to an ACK); an event not ACKed
  is offered again at the next poll with the same event id, and the master drops the repeat.

Payloads:

=============  =====  ==========================================================================
PING           0x01   empty; reply ACK ``[kind, flags]`` (flags bit 0: display lost its content)
SHOW_TEXT      0x10   ``[line, mode]`` + GBK text (mode 0 static, 1 scrolling)
SHOW_NUMBER    0x11   ASCII ticket number ("A023")
CLEAR          0x12   empty
BRIGHTNESS     0x13   ``[percent 0..100]``
BEEP           0x14   ``[times, tenths of a second]``
KEY_EVENT      0x20   ``[event id, key code, digits...]`` (key codes as on the FF 68 keypads)
EVALUATION     0x21   ``[event id, grade 1..5]``
ACK            0x06   reply payload (PING: ``[kind, flags]``; others: empty)
NAK            0x15   ``[reason]`` (see :class:`NakReason`)
=============  =====  ==========================================================================

Pure: bytes in, values out.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

SOF = 0x7E
EOF = 0x7F
ESC = 0x7D
VERSION = 1
BROADCAST = 0x00
MASTER = 0xFE
MAX_PAYLOAD = 1024
HEADER = 7          # VER DST SRC SEQ CMD LENhi LENlo


class Cmd(IntEnum):
    PING = 0x01
    ACK = 0x06
    NAK = 0x15
    SHOW_TEXT = 0x10
    SHOW_NUMBER = 0x11
    CLEAR = 0x12
    BRIGHTNESS = 0x13
    BEEP = 0x14
    KEY_EVENT = 0x20
    EVALUATION = 0x21


class NakReason(IntEnum):
    UNKNOWN_COMMAND = 0x01
    BAD_PAYLOAD = 0x02
    BUSY = 0x03          # the only reason worth a retry
    UNSUPPORTED = 0x04


class DeviceKind(IntEnum):
    SCREEN = 0x01
    EVALUATOR = 0x02
    KEYPAD = 0x03


FLAG_CONTENT_LOST = 0x01


@dataclass(frozen=True)
class Frame:
    dst: int
    src: int
    seq: int
    cmd: int
    payload: bytes = b""
    ver: int = VERSION

    def encode(self) -> bytes:
        return encode_frame(self.dst, self.src, self.seq, self.cmd, self.payload, ver=self.ver)

    @property
    def command(self) -> Cmd | None:
        try:
            return Cmd(self.cmd)
        except ValueError:
            return None


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in (ESC, SOF, EOF):
            out += bytes([ESC, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def encode_frame(dst: int, src: int, seq: int, cmd: int, payload: bytes = b"", *, ver: int = VERSION) -> bytes:
    for name, value in (("dst", dst), ("src", src), ("seq", seq), ("cmd", cmd), ("ver", ver)):
        if not 0 <= value <= 0xFF:
            raise ValueError(f"7E frame: {name} {value} outside 0..255")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"7E frame: payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes([ver, dst, src, seq, cmd]) + len(payload).to_bytes(2, "big") + bytes(payload)
    crc = crc16_modbus(body)
    return bytes([SOF]) + escape(body + crc.to_bytes(2, "little")) + bytes([EOF])


class FrameParser:
    """Feed bytes, get whole valid frames. Garbage outside 7E..7F is skipped; a frame with a bad CRC,
    a bad escape, a length that does not match or an unknown version is dropped and counted."""

    def __init__(self) -> None:
        self._buf: bytearray | None = None    # unescaped bytes of the frame being read
        self._escaped = False
        self.rejected = 0
        self.skipped = 0

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        for b in data:
            if b == SOF:                       # a new frame always starts here, even mid-frame
                if self._buf:
                    self.rejected += 1
                self._buf, self._escaped = bytearray(), False
            elif self._buf is None:
                self.skipped += 1
            elif b == EOF:
                frame = self._finish(bytes(self._buf), self._escaped)
                self._buf = None
                if frame is not None:
                    out.append(frame)
                else:
                    self.rejected += 1
            elif self._escaped:
                self._buf.append(b ^ 0x20)
                self._escaped = False
            elif b == ESC:
                self._escaped = True
            else:
                self._buf.append(b)
                if len(self._buf) > HEADER + MAX_PAYLOAD + 2:
                    self._buf = None
                    self.rejected += 1
        return out

    @staticmethod
    def _finish(raw: bytes, dangling_escape: bool) -> Frame | None:
        if dangling_escape or len(raw) < HEADER + 2:
            return None
        body, crc = raw[:-2], int.from_bytes(raw[-2:], "little")
        if crc16_modbus(body) != crc:
            return None
        ver, dst, src, seq, cmd = body[:5]
        length = int.from_bytes(body[5:7], "big")
        if ver != VERSION or length != len(body) - HEADER:
            return None
        return Frame(dst, src, seq, cmd, body[HEADER:], ver)


# ---------------------------------------------------------------- payload helpers
def text_payload(line: int, text: str, *, scroll: bool = False) -> bytes:
    """SHOW_TEXT payload; characters GBK cannot encode become '?'."""
    return bytes([line & 0xFF, 1 if scroll else 0]) + text.encode("gbk", errors="replace")


def parse_text(payload: bytes) -> tuple[int, bool, str]:
    if len(payload) < 2:
        raise ValueError("SHOW_TEXT payload shorter than 2 bytes")
    return payload[0], bool(payload[1]), payload[2:].decode("gbk", errors="replace")


def number_payload(number: str) -> bytes:
    if not number.isascii() or len(number) > 16:
        raise ValueError(f"SHOW_NUMBER: {number!r} is not a short ASCII number")
    return number.encode("ascii")


def brightness_payload(percent: int) -> bytes:
    if not 0 <= percent <= 100:
        raise ValueError(f"BRIGHTNESS: {percent} outside 0..100")
    return bytes([percent])


def beep_payload(times: int = 1, tenths: int = 2) -> bytes:
    return bytes([max(1, min(times, 9)), max(1, min(tenths, 50))])


@dataclass(frozen=True)
class PingReply:
    kind: int
    flags: int

    @property
    def content_lost(self) -> bool:
        return bool(self.flags & FLAG_CONTENT_LOST)


def parse_ping_reply(payload: bytes) -> PingReply:
    if len(payload) < 2:
        return PingReply(0, 0)
    return PingReply(payload[0], payload[1])


@dataclass(frozen=True)
class KeyEvent:
    event_id: int
    key: int | None            # None: a lone digit press
    digits: tuple[int, ...]


def parse_key_event(payload: bytes) -> KeyEvent:
    if len(payload) < 2:
        raise ValueError("KEY_EVENT payload shorter than 2 bytes")
    event_id, keys = payload[0], payload[1:]
    # The key code comes first, then any digits typed before it. A digit in first place is a lone digit.
    if keys[0] <= 9:
        return KeyEvent(event_id, None, tuple(keys))
    return KeyEvent(event_id, keys[0], tuple(keys[1:]))


def key_event_payload(event_id: int, key: int | None, digits: tuple[int, ...] | list[int] = ()) -> bytes:
    head = [] if key is None else [key]
    return bytes([event_id & 0xFF, *head, *digits])


@dataclass(frozen=True)
class Evaluation:
    event_id: int
    grade: int


def parse_evaluation(payload: bytes) -> Evaluation:
    if len(payload) != 2 or not 1 <= payload[1] <= 5:
        raise ValueError(f"EVALUATION payload {payload.hex(' ')} is not [event id, grade 1..5]")
    return Evaluation(payload[0], payload[1])


def evaluation_payload(event_id: int, grade: int) -> bytes:
    if not 1 <= grade <= 5:
        raise ValueError(f"grade {grade} outside 1..5")
    return bytes([event_id & 0xFF, grade])
