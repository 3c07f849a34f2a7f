"""ESC/POS for Chinese ticket printers, pure: ticket/checklist bytes, status queries and their decoding, a scanner.

Recipe (DEVICES.md): `ESC @`, `FS &` (Kanji mode), text encoded per printer (GBK by default, never a 4-byte
sequence in GBK mode, `¥` → `￥`, control characters removed so user text cannot inject commands), `FS ! n`
for Chinese double size; python-escpos (`Dummy`) only for set/qr(native)/barcode/cut.
"""
from __future__ import annotations

import contextlib
import io
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

ESC_INIT = b"\x1b@"
FS_KANJI_ON = b"\x1c&"
FS_KANJI_OFF = b"\x1c."
ENCODINGS = ("gbk", "gb18030", "utf-8")
PAPER_COLUMNS = {80: 48, 58: 32}  # font A, 12-dot-wide half-width cells: 576 / 384 printable dots

# FS ! n bits: 0x04 double width, 0x08 double height (Chinese characters only; ESC ! styles only ASCII)
KANJI_NORMAL = 0x00
KANJI_DOUBLE = 0x0C
KANJI_TALL = 0x08


def fs_size(n: int) -> bytes:
    return b"\x1c!" + bytes([n & 0xFF])


def check_encoding(encoding: str) -> str:
    enc = encoding.lower().replace("_", "-")
    enc = {"cp936": "gbk", "gb2312": "gbk", "utf8": "utf-8"}.get(enc, enc)
    if enc not in ENCODINGS:
        raise ValueError(f"printer encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    return enc


def check_paper(paper_mm: int) -> int:
    if paper_mm not in PAPER_COLUMNS:
        raise ValueError(f"paper width {paper_mm!r} mm is not one of {', '.join(map(str, PAPER_COLUMNS))}")
    return paper_mm


_SUBSTITUTES = {"¥": "￥", "€": "EUR", "\t": " ", "\r": ""}


def clean_text(text: str) -> str:
    """Map characters printers get wrong and drop control characters (user text must never carry ESC/GS)."""
    out = []
    for ch in text:
        ch = _SUBSTITUTES.get(ch, ch)
        if ch == "\n" or (ch and not (ord(ch[0]) < 0x20 or 0x7F <= ord(ch[0]) <= 0x9F)):
            out.append(ch)
    return "".join(out)


def encode_text(text: str, encoding: str = "gbk") -> bytes:
    """Encode for the printer: unknown characters become '?'; in GBK mode only 1- or 2-byte codes come out."""
    enc = check_encoding(encoding)
    text = clean_text(text)
    if enc == "gbk":
        out = bytearray()
        for ch in text:
            try:
                code = ch.encode("gbk")
            except UnicodeEncodeError:
                code = b"?"
            out += code if len(code) <= 2 else b"?"
        return bytes(out)
    return text.encode(enc, errors="replace")


def text_width(text: str) -> int:
    """Printed width in half-width cells: ASCII 1, everything else (a two-byte code in Kanji mode) 2."""
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """Break text into lines of at most `columns` cells; ASCII words are kept whole when they fit."""
    lines: list[str] = []
    for paragraph in clean_text(text).split("\n"):
        line, width = "", 0
        tokens: list[str] = []
        word = ""
        for ch in paragraph:
            if ord(ch) < 0x80 and ch != " ":
                word += ch
                continue
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        if word:
            tokens.append(word)
        for tok in tokens:
            w = text_width(tok)
            if width + w > columns and line:
                lines.append(line.rstrip())
                line, width = "", 0
                if tok == " ":
                    continue
            while w > columns:  # a word longer than the line: hard break
                lines.append(tok[:columns])
                tok = tok[columns:]
                w = text_width(tok)
            line += tok
            width += w
        lines.append(line.rstrip())
    return lines


_escpos_lock = threading.Lock()


class _Builder:
    """Collects ticket bytes: our own text path plus python-escpos for set/qr/barcode/cut."""

    def __init__(self, encoding: str, paper_mm: int) -> None:
        self.encoding = check_encoding(encoding)
        self.columns = PAPER_COLUMNS[check_paper(paper_mm)]
        self.buf = bytearray()

    def raw(self, data: bytes) -> None:
        self.buf += data

    def escpos(self, method: str, *args, **kwargs) -> None:
        from escpos.printer import Dummy  # ~0.4 s import: paid when rendering, not by status-only users

        d = Dummy()
        # python-escpos prints "Using hardware barcode renderer" on stdout; the CLI's stdout is JSON.
        with _escpos_lock, contextlib.redirect_stdout(io.StringIO()):
            getattr(d, method)(*args, **kwargs)
        self.buf += d.output

    def start(self) -> None:
        self.raw(ESC_INIT)
        self.raw(FS_KANJI_OFF if self.encoding == "utf-8" else FS_KANJI_ON)

    def line(self, text: str = "") -> None:
        self.raw(encode_text(text, self.encoding) + b"\n")

    def wrapped(self, text: str, columns: int | None = None) -> None:
        for part in wrap(text, columns or self.columns):
            self.line(part)

    def align(self, where: str) -> None:
        self.escpos("set", align=where)

    def big(self, text: str, kanji: int = KANJI_DOUBLE) -> None:
        """One line in Chinese double size (FS ! n) with ASCII doubled to match (GS ! via set)."""
        self.raw(fs_size(kanji))
        self.escpos("set", custom_size=True, width=2 if kanji & 0x04 else 1, height=2 if kanji & 0x08 else 1)
        self.line(text)
        self.escpos("set", custom_size=True, width=1, height=1)
        self.raw(fs_size(KANJI_NORMAL))

    def bytes(self) -> bytes:
        return bytes(self.buf)


# --- tickets -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketData:
    """What one printed queue ticket (排队小票) shows; names already in the ticket's language."""

    hall_name: str
    zone_name: str
    service_name: str
    number: str  # e.g. "A023"
    ahead: int  # people waiting before this ticket
    est_wait_s: int | None
    issued_at: datetime
    verify: str = ""  # short code staff can check against the system
    status_url: str = ""  # printed as a native QR code when given
    notice: str = ""
    lang: str = "zh"  # "zh" or "en"
    priority: bool = False  # 优先 (elderly, disabled, ...)

    def __post_init__(self) -> None:
        if self.lang not in ("zh", "en"):
            raise ValueError(f"ticket lang {self.lang!r} is not zh or en")


_LABELS = {
    "zh": {
        "priority": "优先办理", "ahead": "前面还有 {n} 人等候", "next": "请留意叫号，马上到您",
        "wait": "预计等待约 {m} 分钟", "issued": "取号时间 {t}", "verify": "验证码 {v}",
        "scan": "扫码查看排队进度", "keep": "请妥善保管此票，过号需重新取号",
    },
    "en": {
        "priority": "PRIORITY", "ahead": "{n} ahead of you", "next": "You are next, please watch the screen",
        "wait": "Estimated wait: about {m} min", "issued": "Issued {t}", "verify": "Code {v}",
        "scan": "Scan to follow your place", "keep": "Keep this ticket. If missed, take a new one.",
    },
}
NOTICE_MAX_LINES = 3  # keeps a standard ticket within the 400-byte budget


def render_ticket(data: TicketData, paper_mm: int = 80, encoding: str = "gbk", *, qr_size: int | None = None) -> bytes:
    """The bytes of one queue ticket: text in Kanji mode, native QR (never a raster image), cut."""
    b = _Builder(encoding, paper_mm)
    t = _LABELS[data.lang]
    b.start()
    b.align("center")
    b.wrapped(data.hall_name)
    b.wrapped(data.zone_name)
    if data.priority:
        b.big(f"[{t['priority']}]", KANJI_DOUBLE)
    b.escpos("set", custom_size=True, width=4 if paper_mm == 80 else 3, height=4 if paper_mm == 80 else 3)
    b.line(data.number)
    b.escpos("set", custom_size=True, width=1, height=1)
    name_fits = text_width(data.service_name) * 2 <= b.columns
    b.big(data.service_name if name_fits else wrap(data.service_name, b.columns)[0],
          KANJI_DOUBLE if name_fits else KANJI_TALL)
    b.line(t["ahead"].format(n=data.ahead) if data.ahead > 0 else t["next"])
    if data.est_wait_s is not None and data.ahead > 0:
        b.line(t["wait"].format(m=max(1, math.ceil(data.est_wait_s / 60))))
    b.line(t["issued"].format(t=data.issued_at.strftime("%Y-%m-%d %H:%M")))
    if data.verify:
        b.line(t["verify"].format(v=data.verify))
    if data.status_url:
        b.escpos("qr", data.status_url, native=True, size=qr_size or (5 if paper_mm == 80 else 4))
        b.line(t["scan"])
    notice = data.notice or t["keep"]
    for part in wrap(notice, b.columns)[:NOTICE_MAX_LINES]:
        b.line(part)
    b.escpos("cut")
    return b.bytes()


# --- materials checklist (办事指南 所需材料) -----------------------------------------------------------------

@dataclass(frozen=True)
class ChecklistItem:
    name: str
    copies: int = 1
    original: bool = False


def _as_item(item: ChecklistItem | Mapping | str, lang: str) -> ChecklistItem:
    if isinstance(item, ChecklistItem):
        return item
    if isinstance(item, str):
        return ChecklistItem(item)
    name = item.get("name_en") if lang == "en" and item.get("name_en") else item.get("name", "")
    return ChecklistItem(str(name), int(item.get("copies", 1) or 1), bool(item.get("original", False)))


def render_checklist(title: str, items: Iterable[ChecklistItem | Mapping | str], *, paper_mm: int = 80,
                     encoding: str = "gbk", lang: str = "zh", hall_name: str = "", footer: str = "",
                     steps: Sequence[str] = ()) -> bytes:
    """A materials checklist for a service (items: ChecklistItem, catalog material dicts, or plain names)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"checklist lang {lang!r} is not zh or en")
    b = _Builder(encoding, paper_mm)
    b.start()
    b.align("center")
    if hall_name:
        b.wrapped(hall_name)
    fits = text_width(title) * 2 <= b.columns
    for part in wrap(title, b.columns // 2 if fits else b.columns)[:3]:
        b.big(part, KANJI_DOUBLE if fits else KANJI_TALL)
    b.align("left")
    b.line("所需材料：" if lang == "zh" else "Materials:")
    for i, raw in enumerate(items, 1):
        item = _as_item(raw, lang)
        if lang == "zh":
            kind = "原件" if item.original else "复印件"
            text = f"{i}. {item.name}（{kind}{item.copies}份）"
        else:
            kind = "original" if item.original else "copy"
            text = f"{i}. {item.name} ({item.copies} {kind}{'' if item.copies == 1 or item.original else 's'})"
        text = clean_text(text)
        first = wrap(text, b.columns)[0]
        b.line(first)
        rest = text[len(first):].lstrip()
        if rest:
            for cont in wrap(rest, b.columns - 3):
                b.line("   " + cont)
    if steps:
        b.line("办理流程：" if lang == "zh" else "Steps:")
        for i, step in enumerate(steps, 1):
            b.wrapped(f"{i}. {step}")
    if footer:
        b.line()
        b.wrapped(footer)
    b.escpos("cut")
    return b.bytes()


# --- real-time status (DLE EOT n) ----------------------------------------------------------------------------

STATUS_QUERIES: dict[int, bytes] = {n: bytes([0x10, 0x04, n]) for n in (1, 2, 3, 4)}


class PrinterState(Enum):
    OK = "ok"
    WARNING = "warning"  # prints, but someone should look (paper near end)
    ERROR = "error"  # will not print
    UNKNOWN = "unknown"  # no (valid) answer: never assume fine


FAULT_TEXT_ZH = {
    "offline": "打印机离线", "cover_open": "打印机盖未关好", "paper_end": "打印纸已用完",
    "paper_near_end": "打印纸即将用完", "cutter_error": "切刀故障", "error": "打印机故障",
    "no_reply": "打印机无响应", "bad_reply": "打印机应答异常", "disconnected": "打印机未连接",
    "write_only": "打印机连接不回报状态",
}


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterState
    online: bool | None = None
    cover_open: bool | None = None
    paper_near_end: bool | None = None
    paper_end: bool | None = None
    cutter_error: bool | None = None
    error: bool | None = None  # any other error the printer flags (DLE EOT 2 bit 0x40 / DLE EOT 3)
    detail: str = ""
    raw: bytes = field(default=b"", repr=False)

    @property
    def faults(self) -> tuple[str, ...]:
        """Machine words for what is wrong, worst first (keys of FAULT_TEXT_ZH)."""
        out = [name for name, on in (("paper_end", self.paper_end), ("cover_open", self.cover_open),
                                     ("cutter_error", self.cutter_error), ("error", self.error),
                                     ("offline", self.online is False),
                                     ("paper_near_end", self.paper_near_end and not self.paper_end))
               if on]
        if self.state is PrinterState.UNKNOWN:
            out.append(self.detail if self.detail in FAULT_TEXT_ZH else "no_reply")
        return tuple(out)

    def to_dict(self) -> dict:
        return {"state": self.state.value, "online": self.online, "cover_open": self.cover_open,
                "paper_near_end": self.paper_near_end, "paper_end": self.paper_end,
                "cutter_error": self.cutter_error, "error": self.error, "faults": list(self.faults),
                "detail": self.detail, "raw": self.raw.hex(" ")}


def is_status_byte(b: int) -> bool:
    """DLE EOT replies have fixed bits: bit 1 and bit 4 set, bits 0 and 7 clear."""
    return b & 0x93 == 0x12


def decode_status(replies: Mapping[int, bytes | None]) -> PrinterStatus:
    """Decode the replies to DLE EOT 1..4 (one byte each; missing or malformed → UNKNOWN)."""
    raw = b"".join(replies.get(n) or b"" for n in (1, 2, 3, 4))
    values: dict[int, int] = {}
    for n in (1, 2, 3, 4):
        reply = replies.get(n)
        if not reply:
            return PrinterStatus(PrinterState.UNKNOWN, detail="no_reply", raw=raw)
        if len(reply) != 1 or not is_status_byte(reply[0]):
            return PrinterStatus(PrinterState.UNKNOWN, detail="bad_reply", raw=raw)
        values[n] = reply[0]
    online = not values[1] & 0x08
    cover_open = bool(values[2] & 0x04)
    paper_end = bool(values[2] & 0x20) or bool(values[4] & 0x60)
    near_end = bool(values[4] & 0x0C)
    cutter = bool(values[3] & 0x08)
    error = bool(values[2] & 0x40 and not (cover_open or paper_end or cutter)) or bool(values[3] & 0x60)
    if not online or cover_open or paper_end or cutter or error:
        state = PrinterState.ERROR
    elif near_end:
        state = PrinterState.WARNING
    else:
        state = PrinterState.OK
    return PrinterStatus(state, online=online, cover_open=cover_open, paper_near_end=near_end,
                         paper_end=paper_end, cutter_error=cutter, error=error, raw=raw)


def encode_status(*, offline: bool = False, cover_open: bool = False, paper: str = "ok",
                  cutter_error: bool = False) -> dict[int, bytes]:
    """The reply bytes a printer in this condition sends to DLE EOT 1..4 (used by the simulator and tests)."""
    if paper not in ("ok", "near_end", "out"):
        raise ValueError(f"paper={paper!r} is not ok, near_end or out")
    out = paper == "out"
    offline = offline or cover_open or out or cutter_error
    b1 = 0x12 | (0x08 if offline else 0)
    b2 = 0x12 | (0x04 if cover_open else 0) | (0x20 if out else 0) | (0x40 if (cover_open or out or cutter_error) else 0)
    b3 = 0x12 | (0x08 if cutter_error else 0)
    b4 = 0x12 | (0x0C if paper in ("near_end", "out") else 0) | (0x60 if out else 0)
    return {1: bytes([b1]), 2: bytes([b2]), 3: bytes([b3]), 4: bytes([b4])}


# --- scanning a byte stream back into text and commands (simulator, tests, diagnostics) ------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "text" or "command"
    data: bytes


_ESC_2 = frozenset(b"@2<")
_FS_2 = frozenset(b"&.")


def _command_length(buf: bytes | bytearray, i: int) -> int | None:
    """Length of the command starting at buf[i], or None if more bytes are needed to know/complete it."""
    avail = len(buf) - i
    if avail < 2:
        return None
    lead, c = buf[i], buf[i + 1]
    need: int
    if lead == 0x1B:  # ESC
        if c in _ESC_2:
            need = 2
        elif c in b"$":
            need = 4
        elif c == ord("p"):
            need = 5
        elif c == ord("c"):
            need = 4
        elif c == ord("*"):
            if avail < 5:
                return None
            m, nl, nh = buf[i + 2], buf[i + 3], buf[i + 4]
            need = 5 + (nl + nh * 256) * (3 if m in (32, 33) else 1)
        else:
            need = 3
    elif lead == 0x1D:  # GS
        if c == ord("("):
            if avail < 5:
                return None
            need = 5 + buf[i + 3] + buf[i + 4] * 256
        elif c == ord("V"):
            if avail < 3:
                return None
            need = 4 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 3
        elif c == ord("k"):
            if avail < 3:
                return None
            m = buf[i + 2]
            if m <= 6:
                end = buf.find(b"\x00", i + 3)
                return None if end < 0 else end - i + 1
            if avail < 4:
                return None
            need = 4 + buf[i + 3]
        elif c == ord("v"):
            if avail < 8:
                return None
            need = 8 + (buf[i + 4] + buf[i + 5] * 256) * (buf[i + 6] + buf[i + 7] * 256)
        elif c in b"LPW":
            need = 4
        else:
            need = 3
    elif lead == 0x1C:  # FS
        if c in _FS_2:
            need = 2
        elif c == ord("("):
            if avail < 5:
                return None
            need = 5 + buf[i + 3] + buf[i + 4] * 256
        else:
            need = 3
    else:  # DLE
        need = 5 if c == 0x14 else 3 if c in (0x04, 0x05) else 2
    return need if avail >= need else None


_COMMAND_LEADS = frozenset((0x10, 0x1B, 0x1C, 0x1D))


class EscPosScanner:
    """Streaming split of ESC/POS bytes into text runs and whole commands (a partial command waits for more)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Token]:
        self._buf += data
        tokens: list[Token] = []
        buf = self._buf
        i = 0
        while i < len(buf):
            if buf[i] in _COMMAND_LEADS:
                n = _command_length(buf, i)
                if n is None:
                    break
                tokens.append(Token("command", bytes(buf[i:i + n])))
                i += n
            else:
                j = i
                while j < len(buf) and buf[j] not in _COMMAND_LEADS:
                    j += 1
                tokens.append(Token("text", bytes(buf[i:j])))
                i = j
        del buf[:i]
        return tokens


def scan(data: bytes) -> list[Token]:
    return EscPosScanner().feed(data)


def printed_text(data: bytes, encoding: str = "gbk") -> str:
    """The text a printer would print for these bytes (commands stripped), decoded."""
    text = b"".join(t.data for t in scan(data) if t.kind == "text")
    return text.decode(check_encoding(encoding), errors="replace")


def qr_payloads(data: bytes) -> list[str]:
    """Contents of native QR codes (GS ( k cn=49 fn=80 store data) in the byte stream."""
    out = []
    for t in scan(data):
        d = t.data
        if t.kind == "command" and d[:3] == b"\x1d(k" and len(d) > 8 and d[5] == 0x31 and d[6] == 0x50:
            out.append(d[8:].decode("utf-8", errors="replace"))
    return out


def sample_ticket(lang: str = "zh", issued_at: datetime | None = None) -> TicketData:
    """A standard ticket with realistic lengths (diagnostic print-test, tests, bench)."""
    when = issued_at or datetime(2026, 11, 27, 9, 31)
    if lang == "en":
        return TicketData("Daan District Government Service Center", "Social Security", "Pension insurance",
                          "A023", 3, 900, when, verify="7XK2", status_url="https://q.daan.gov.cn/t/A023?v=7XK2",
                          notice="Please go to the window within 5 minutes of your call.", lang="en")
    return TicketData("大安区政务服务中心", "社会保障服务区", "养老保险业务", "A023", 3, 900, when, verify="7XK2",
                      status_url="https://q.daan.gov.cn/t/A023?v=7XK2",
                      notice="叫号后请在5分钟内到窗口办理，过号需重新取号。")
