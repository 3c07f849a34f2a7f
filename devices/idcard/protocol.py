"""SAM_V (GA/T 467) resident ID-card reader frames, pure: build commands/replies, parse a byte stream, decode text.

Frame: `AA AA AA 96 69 | LEN (2, BE; counts everything after it) | CMD PARA DATA | CHK` (replies: SW1 SW2 SW3
instead of CMD PARA); CHK = XOR of every byte from LEN to the last data byte.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2
MAX_LEN = 4096  # the largest real reply (text + photo + fingerprint) is ~2.3 KB

# (CMD, PARA)
RESET = (0x10, 0xFF)
STATUS = (0x11, 0xFF)
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_TEXT_PHOTO = (0x30, 0x01)
READ_WITH_FINGERPRINT = (0x30, 0x10)

# SW3
SW_OK = 0x90
SW_CARD_FOUND = 0x9F
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81
SW_ITEM_EMPTY = 0x91
SW_CHECKSUM_ERROR = 0x10
SW_LENGTH_ERROR = 0x11
SW_BAD_COMMAND = 0x21
SW_UNAUTHORISED = 0x23
SW_READ_FAILED = 0x41
SW_SAM_SELF_TEST_FAILED = 0x60
SW_SAM_NOT_AUTHORISED = 0x66

STATUS_WORDS = {
    SW_OK: "ok", SW_CARD_FOUND: "card found", SW_NO_CARD: "no card", SW_SELECT_FAILED: "select failed",
    SW_ITEM_EMPTY: "item empty", SW_CHECKSUM_ERROR: "checksum error", SW_LENGTH_ERROR: "length error",
    SW_BAD_COMMAND: "bad command", SW_UNAUTHORISED: "unauthorised", SW_READ_FAILED: "read failed",
    SW_SAM_SELF_TEST_FAILED: "SAM self-test failed", SW_SAM_NOT_AUTHORISED: "SAM not authorised",
}


def status_word_text(sw3: int) -> str:
    return STATUS_WORDS.get(sw3, f"unknown status 0x{sw3:02X}")


def checksum(data: bytes) -> int:
    """XOR of the bytes (callers pass LEN..last data byte)."""
    return reduce(lambda a, b: a ^ b, data, 0)


def build_frame(payload: bytes) -> bytes:
    """Preamble + LEN + payload + CHK, where payload is CMD PARA DATA or SW1 SW2 SW3 DATA."""
    length = len(payload) + 1
    if length > 0xFFFF:
        raise ValueError(f"SAM_V payload of {len(payload)} bytes is too long")
    body = length.to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


def build_command(command: tuple[int, int], data: bytes = b"") -> bytes:
    return build_frame(bytes(command) + data)


def build_reply(sw3: int, data: bytes = b"", sw1: int = 0x00, sw2: int = 0x00) -> bytes:
    return build_frame(bytes((sw1, sw2, sw3)) + data)


@dataclass(frozen=True)
class Frame:
    """One checked frame; `payload` is everything between LEN and CHK."""

    payload: bytes

    @property
    def command(self) -> tuple[int, int]:
        return self.payload[0], self.payload[1]

    @property
    def sw(self) -> tuple[int, int, int]:
        return self.payload[0], self.payload[1], self.payload[2]

    @property
    def sw3(self) -> int:
        return self.payload[2] if len(self.payload) >= 3 else -1

    @property
    def command_data(self) -> bytes:
        return self.payload[2:]

    @property
    def reply_data(self) -> bytes:
        return self.payload[3:]


@dataclass(frozen=True)
class BadFrame:
    """A frame-shaped run of bytes that failed its checksum or length; the parser has resynchronised past it."""

    reason: str  # "checksum" or "length"
    raw: bytes


class FrameParser:
    """Streaming parser: feed any chunks, get whole frames. Noise before a preamble is dropped; after a bad
    frame it rescans from the byte after the bad preamble; a frame is only returned when complete and checked."""

    def __init__(self, max_len: int = MAX_LEN) -> None:
        self._buf = bytearray()
        self.max_len = max_len
        self.discarded = 0  # noise bytes dropped while resynchronising

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        self._buf += data
        out: list[Frame | BadFrame] = []
        buf = self._buf
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                keep = next((k for k in range(len(PREAMBLE) - 1, 0, -1) if buf.endswith(PREAMBLE[:k])), 0)
                self.discarded += len(buf) - keep
                del buf[:len(buf) - keep]
                break
            if start:
                self.discarded += start
                del buf[:start]
            if len(buf) < HEADER_LEN:
                break
            length = int.from_bytes(buf[5:7], "big")
            if length < 3 or length > self.max_len:
                out.append(BadFrame("length", bytes(buf[:HEADER_LEN])))
                del buf[:1]
                continue
            total = HEADER_LEN + length
            if len(buf) < total:
                # A false preamble (noise) with a huge LEN must not swallow a real frame arriving behind it.
                later = buf.find(PREAMBLE, 1)
                if later > 0 and self._complete_valid_at(later):
                    self.discarded += later
                    del buf[:later]
                    continue
                break
            if checksum(buf[5:total - 1]) != buf[total - 1]:
                out.append(BadFrame("checksum", bytes(buf[:total])))
                del buf[:1]
                continue
            out.append(Frame(bytes(buf[HEADER_LEN:total - 1])))
            del buf[:total]
        return out

    def _complete_valid_at(self, i: int) -> bool:
        buf = self._buf
        if len(buf) - i < HEADER_LEN:
            return False
        length = int.from_bytes(buf[i + 5:i + 7], "big")
        total = HEADER_LEN + length
        return 3 <= length <= self.max_len and len(buf) - i >= total and \
            checksum(buf[i + 5:i + total - 1]) == buf[i + total - 1]

    def reset(self) -> None:
        self._buf.clear()


# --- the text block of a read reply ----------------------------------------------------------------------------

# (field, characters) in card order; 128 UCS-2 characters = 256 bytes
TEXT_LAYOUT = (("name", 15), ("sex", 1), ("nation", 2), ("birth", 8), ("address", 35), ("number", 18),
               ("authority", 15), ("valid_from", 8), ("valid_to", 8), ("reserved", 18))
TEXT_BYTES = 256
PHOTO_BYTES = 1024
READ_REPLY_LEN = 1295


@dataclass(frozen=True)
class CardText:
    """The card's text fields exactly as stored (space padding removed). Holds personal data: stays in this
    package; the outside world gets devices.idcard.card.IdCard."""

    name: str
    sex: str
    nation: str
    birth: str
    address: str
    number: str
    authority: str
    valid_from: str
    valid_to: str

    def __repr__(self) -> str:
        return "CardText(<personal data hidden>)"


def decode_text(text: bytes) -> CardText:
    if len(text) < TEXT_BYTES:
        raise ValueError(f"card text block is {len(text)} bytes, expected {TEXT_BYTES}")
    chars = text[:TEXT_BYTES].decode("utf-16-le", errors="replace")
    fields: dict[str, str] = {}
    pos = 0
    for name, width in TEXT_LAYOUT:
        fields[name] = chars[pos:pos + width].strip(" \u3000\x00")
        pos += width
    fields.pop("reserved")
    return CardText(**fields)


def encode_text(card: CardText) -> bytes:
    """The 256-byte text block for these fields (for the simulator and golden tests)."""
    parts = []
    for name, width in TEXT_LAYOUT:
        value = "" if name == "reserved" else getattr(card, name)
        if len(value) > width:
            raise ValueError(f"card field {name} is longer than {width} characters")
        parts.append(value.ljust(width))
    return "".join(parts).encode("utf-16-le")


def decode_read_reply(frame: Frame) -> CardText:
    """Decode a read (30 01) reply: SW, text length, photo length, text, photo (the WLT photo is ignored)."""
    if frame.sw3 != SW_OK:
        raise ValueError(f"read reply status is {status_word_text(frame.sw3)}")
    data = frame.reply_data
    if len(data) < 4:
        raise ValueError("read reply too short for its length fields")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len < TEXT_BYTES or len(data) < 4 + text_len + photo_len:
        raise ValueError(f"read reply lengths do not add up (text {text_len}, photo {photo_len}, have {len(data)})")
    return decode_text(data[4:4 + text_len])


def build_read_reply(card: CardText, photo: bytes = bytes(PHOTO_BYTES)) -> bytes:
    data = TEXT_BYTES.to_bytes(2, "big") + len(photo).to_bytes(2, "big") + encode_text(card) + photo
    return build_reply(SW_OK, data)
