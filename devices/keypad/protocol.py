"""FF 68 call-keypad bus (呼叫器, 9600 8N1 RS-485 multidrop): frames, a resyncing parser, key entry.

Wire format (DEVICES.md)::

    FF 68 LEN LEN 68 ADDR CMD DATA... CS 16
    LEN = len(ADDR..DATA), sent twice;  CS = sum(ADDR..DATA) & 0xFF

Commands used here (the vendor set is not published; check on real hardware):

* keypad -> host ``CMD 01`` key report. DATA is zero or more digit bytes (00..09) followed by the
  key code, or a single digit byte when the keypad reports every key press on its own. The host
  acknowledges by echoing the frame byte for byte.
* host -> keypad ``CMD 02`` + 6 digit bytes (0x0A = blank) shows a number; ``CMD 03`` beeps
  (optional DATA: number of beeps). A keypad acknowledges a host frame by echoing it.

Key entry (what a staff member types; one :class:`KeyEntry` per keypad):

* ``0C`` call next, ``0D`` recall, ``0B`` evaluate (finish and invite a grade), ``12`` pause/resume,
  ``0E`` cancel (clears the digits typed so far).
* ``06 0F`` no-show (过号), ``00 0F`` hold (挂起).
* ``03 <number> 0F`` call back (回呼) a held / no-show / waiting ticket. ``<number>`` is either the
  3-digit daily counter (``03 0 2 3 0F`` = A023 when the keypad's window prefix is A), or a
  2-digit letter index (01 = A ... 26 = Z) per prefix letter followed by the counter
  (``03 0 2 0 2 3 0F`` = B023, ``03 0 1 0 2 0 4 5 0F`` = AB045).
* ``<window digits> 13`` transfer the serving ticket to that window (``1 5 13`` = window 15);
  ``13`` alone transfers to the keypad's configured default target.
* ``08 <staff number> 0F <PIN> 0F`` staff sign-in (签到) at the keypad's window, in two steps: after
  ``08 1 0 1 5 0F`` the entry waits up to :data:`PIN_TIMEOUT_S` for the PIN (4-12 digits) and ``0F``.
  ``0E`` abandons it; any other key interrupts it (refused, nothing else is done); a PIN that comes too
  late is dropped with its digits. ``08 0F`` (no staff number) signs out (签退). ``08`` was no sequence
  before, so no existing one changes meaning.

This module is pure: bytes in, values out; no I/O, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum

START = b"\xff\x68"
END = 0x16
MAX_DATA = 32          # keypads send a few digits at most; longer frames are treated as noise
MAX_DIGITS = 12        # digits typed before a key; more is a stuck key or noise
SIGN_IN = "08"         # the sign-in / sign-out prefix of a confirm sequence
PIN_TIMEOUT_S = 30.0   # the PIN must follow the staff number within this

CMD_KEY = 0x01
CMD_SHOW_NUMBER = 0x02
CMD_BEEP = 0x03

BLANK = 0x0A
DISPLAY_DIGITS = 6


class Key(IntEnum):
    """Key codes of the keypad (last data byte of a key report)."""
    EVALUATE = 0x0B
    CALL = 0x0C
    RECALL = 0x0D
    CANCEL = 0x0E
    CONFIRM = 0x0F
    PAUSE = 0x12
    TRANSFER = 0x13


@dataclass(frozen=True)
class Frame:
    addr: int
    cmd: int
    data: bytes = b""

    def encode(self) -> bytes:
        return encode_frame(self.addr, self.cmd, self.data)


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def encode_frame(addr: int, cmd: int, data: bytes = b"") -> bytes:
    if not 0 <= addr <= 0xFF or not 0 <= cmd <= 0xFF:
        raise ValueError(f"keypad frame: address {addr} / command {cmd} outside 0..255")
    body = bytes([addr, cmd]) + bytes(data)
    if len(body) > 0xFF:
        raise ValueError(f"keypad frame: {len(body)} bytes of body, at most 255")
    n = len(body)
    return START + bytes([n, n, 0x68]) + body + bytes([checksum(body), END])


def number_digits(number: str) -> bytes:
    """The 6 display digit bytes for a ticket number: its digits right-aligned, blanks before.
    Prefix letters cannot be shown on the 7-segment display and are left out ("A023" -> 023)."""
    digits = [int(c) for c in number if c.isdigit()][-DISPLAY_DIGITS:]
    return bytes([BLANK] * (DISPLAY_DIGITS - len(digits)) + digits)


def show_number(addr: int, number: str | None) -> bytes:
    """Host -> keypad: show a ticket number (None blanks the display)."""
    return encode_frame(addr, CMD_SHOW_NUMBER, number_digits(number or ""))


def beep(addr: int, times: int = 1) -> bytes:
    return encode_frame(addr, CMD_BEEP, bytes([max(1, min(times, 9))]))


def key_report(addr: int, key: int, digits: bytes | list[int] = b"") -> bytes:
    """Keypad -> host key report (used by the simulator and tests)."""
    return encode_frame(addr, CMD_KEY, bytes(digits) + bytes([key]))


def decode_display(data: bytes) -> str:
    """The text a keypad shows for CMD 02 data ("023" for 0A 0A 0A 00 02 03)."""
    return "".join(" " if b == BLANK else str(b) if b <= 9 else "?" for b in data).strip()


# ---------------------------------------------------------------- streaming parser
class FrameParser:
    """Feed bytes, get whole frames. Skips garbage before a start marker, drops frames with a bad
    checksum, mismatched lengths or a missing end byte and resynchronises on the next ``FF 68``."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected = 0          # frames dropped for a bad checksum or shape
        self.skipped = 0           # garbage bytes skipped

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        while True:
            start = self._buf.find(START)
            if start < 0:
                # keep a trailing FF that might begin the next marker
                keep = 1 if self._buf.endswith(b"\xff") else 0
                self.skipped += len(self._buf) - keep
                del self._buf[:len(self._buf) - keep]
                return out
            if start:
                self.skipped += start
                del self._buf[:start]
            if len(self._buf) < 5:
                return out
            n, n2, mark = self._buf[2], self._buf[3], self._buf[4]
            if n != n2 or mark != 0x68 or n < 2 or n > MAX_DATA + 2:
                self._reject(1)
                continue
            total = 5 + n + 2
            if len(self._buf) < total:
                return out
            body = bytes(self._buf[5:5 + n])
            cs, end = self._buf[5 + n], self._buf[6 + n]
            if end != END or cs != checksum(body):
                self._reject(1)
                continue
            del self._buf[:total]
            out.append(Frame(body[0], body[1], body[2:]))

    def _reject(self, skip: int) -> None:
        # drop only the FF of the false start so a real frame starting inside it is still found
        self.rejected += 1
        del self._buf[:skip]


# ---------------------------------------------------------------- key entry
class Action(Enum):
    CALL_NEXT = "call_next"
    RECALL = "recall"
    EVALUATE = "evaluate"
    NO_SHOW = "no_show"
    HOLD = "hold"
    CALL_BACK = "call_back"
    PAUSE_TOGGLE = "pause_toggle"
    TRANSFER = "transfer"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    PIN_WANTED = "pin_wanted"      # the staff number was taken; the PIN is awaited (not a request yet)
    CANCELLED = "cancelled"
    INVALID = "invalid"


@dataclass(frozen=True)
class Command:
    """What the staff member asked for. `number` for CALL_BACK (e.g. "A023"), `target` digits for
    TRANSFER (window number, "" for the default), `staff` and `pin` for SIGN_IN (the PIN is kept out of
    repr: a logged command never shows it), `reason` for INVALID (never digits of a PIN)."""
    action: Action
    number: str | None = None
    target: str | None = None
    reason: str | None = None
    staff: str | None = None
    pin: str | None = field(default=None, repr=False)


def key_of(frame: Frame) -> tuple[tuple[int, ...], int | None]:
    """Split a key report into (digits typed, key code). A lone digit report gives key None."""
    data = frame.data
    if not data:
        return (), None
    if data[-1] <= 9:
        return tuple(data), None
    return tuple(data[:-1]), data[-1]


def letters_from_index(digits: str) -> str | None:
    """"02" -> "B", "0102" -> "AB"; None when not pairs of 01..26."""
    if len(digits) % 2:
        return None
    out = ""
    for i in range(0, len(digits), 2):
        idx = int(digits[i:i + 2])
        if not 1 <= idx <= 26:
            return None
        out += chr(ord("A") + idx - 1)
    return out


@dataclass
class KeyEntry:
    """Digits typed on one keypad until a key completes a command. `prefix` is the letter prefix
    used when a call-back number is typed without letters (the window's own service prefix).
    `now` (seconds, any monotonic clock) times the sign-in's PIN step; without it the PIN never expires."""
    prefix: str | None = None
    digits: list[int] = field(default_factory=list)
    pin_timeout: float = PIN_TIMEOUT_S
    _staff: str | None = field(default=None, repr=False)         # awaiting the PIN for this staff number
    _staff_at: float | None = field(default=None, repr=False)
    _late: bool = field(default=False, repr=False)                 # digits typed after the PIN step expired

    @property
    def awaiting_pin(self) -> bool:
        return self._staff is not None

    def _forget_sign_in(self) -> None:
        self._staff = self._staff_at = None

    def press(self, key: int | None, digits: tuple[int, ...] = (), now: float | None = None) -> Command | None:
        if self._staff is not None and now is not None and self._staff_at is not None \
                and now - self._staff_at > self.pin_timeout:
            # Too late. Digits typed since the staff number (or with this press) are a late PIN: they are
            # refused with the key that ends them, never read as another sequence. A key alone acts as usual.
            self._forget_sign_in()
            self._late = bool(self.digits or digits)
        self.digits.extend(digits)
        limit = MAX_DIGITS + len(SIGN_IN) if self._staff is None and self._sign_in_typed() else MAX_DIGITS
        if len(self.digits) > limit:            # a stuck key or noise: start over
            self.digits.clear()
            self._forget_sign_in()
            self._late = False
            return Command(Action.INVALID, reason="too many digits")
        if key is None:
            return None
        typed = "".join(str(d) for d in self.digits)
        self.digits.clear()
        if self._late:
            self._late = False
            return Command(Action.INVALID, reason="sign-in: the PIN came too late")
        if self._staff is not None:
            return self._pin_step(key, typed)
        simple = {Key.CALL: Action.CALL_NEXT, Key.RECALL: Action.RECALL,
                  Key.EVALUATE: Action.EVALUATE, Key.PAUSE: Action.PAUSE_TOGGLE}
        if key in simple:
            return Command(simple[Key(key)])
        if key == Key.CANCEL:
            return Command(Action.CANCELLED)
        if key == Key.TRANSFER:
            return Command(Action.TRANSFER, target=typed.lstrip("0"))
        if key != Key.CONFIRM:
            return Command(Action.INVALID, reason=f"unknown key 0x{key:02X}")
        if typed == "06":
            return Command(Action.NO_SHOW)
        if typed == "00":
            return Command(Action.HOLD)
        if typed.startswith("03") and len(typed) > 2:
            number = self.call_back_number(typed[2:])
            if number is None:
                return Command(Action.INVALID, reason=f"cannot read a ticket number from {len(typed) - 2} digits")
            return Command(Action.CALL_BACK, number=number)
        if typed == SIGN_IN:
            return Command(Action.SIGN_OUT)
        if typed.startswith(SIGN_IN):
            self._staff, self._staff_at = typed[len(SIGN_IN):], now
            return Command(Action.PIN_WANTED, staff=self._staff)
        # the digits themselves are never named: a PIN typed in the wrong place must not reach a log
        return Command(Action.INVALID, reason=f"unknown confirm sequence ({len(typed)} digits)")

    def _sign_in_typed(self) -> bool:
        return "".join(str(d) for d in self.digits[:len(SIGN_IN)]) == SIGN_IN

    def _pin_step(self, key: int, pin: str) -> Command:
        """The key that ends the PIN: the PIN goes into the command and nowhere else (no reason names it)."""
        staff = self._staff
        self._forget_sign_in()
        if key == Key.CANCEL:
            return Command(Action.CANCELLED, reason="sign-in abandoned")
        if key != Key.CONFIRM:
            return Command(Action.INVALID, reason=f"sign-in interrupted by key 0x{key:02X}")
        if not 4 <= len(pin) <= 12:
            return Command(Action.INVALID, reason="sign-in: the PIN has 4 to 12 digits")
        return Command(Action.SIGN_IN, staff=staff, pin=pin)

    def call_back_number(self, digits: str) -> str | None:
        if len(digits) == 3:
            return f"{self.prefix}{digits}" if self.prefix else None
        if len(digits) in (5, 7):
            letters = letters_from_index(digits[:-3])
            return f"{letters}{digits[-3:]}" if letters else None
        return None
