"""ESC/POS ticket and checklist layout for Chinese ticket printers, pure: the bytes of a job, text encoded per printer.

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
from dataclasses import dataclass
from datetime import datetime

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


def wrap_clauses(text: str, columns: int) -> list[str]:
    """Like wrap, but a line too long breaks after its last clause that fits (after ，、；。：, or ", " ": ", or
    before （) rather than mid-phrase: "过号顺延3位，仅一次" / "（30分钟内有效）" — unless that takes more lines."""
    text = clean_text(text).strip()
    if not text:
        return []
    if text_width(text) <= columns:
        return [text]
    cut = 0
    for i, ch in enumerate(text):
        if text_width(text[:i + 1]) > columns:
            break
        if ch in "，、；。：" or (ch in ",:" and text[i + 1:i + 2] == " "):
            cut = i + 1
        elif ch == "（" and i:
            cut = i
    plain = wrap(text, columns)
    if cut == 0:
        return plain
    clauses = [text[:cut].rstrip(), *wrap_clauses(text[cut:], columns)]
    return clauses if len(clauses) <= len(plain) else plain


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
    no_show: str = ""  # the missed-number rule in force (过号, hall.toml [calling] no_show), printed last

    def __post_init__(self) -> None:
        if self.lang not in ("zh", "en"):
            raise ValueError(f"ticket lang {self.lang!r} is not zh or en")


_LABELS = {
    "zh": {
        "priority": "优先办理", "ahead": "前面还有 {n} 人等候", "next": "请留意叫号，马上到您",
        "wait": "预计等待约 {m} 分钟", "issued": "取号时间 {t}", "verify": "验证码 {v}",
        "scan": "扫码查看排队进度", "keep": "请妥善保管此票，过号需重新取号", "keep_only": "请妥善保管此票",
    },
    "en": {
        "priority": "PRIORITY", "ahead": "{n} ahead of you", "next": "You are next, please watch the screen",
        "wait": "Estimated wait: about {m} min", "issued": "Issued {t}", "verify": "Code {v}",
        "scan": "Scan to follow your place", "keep": "Keep this ticket. If missed, take a new one.",
        "keep_only": "Please keep this ticket.",
    },
}
NOTICE_MAX_LINES = 3  # keeps a standard ticket within the 400-byte budget
NO_SHOW_MAX_LINES = 2


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
    # the default notice speaks of the missed-number rule only when the ticket does not state the one in force
    notice = data.notice or (t["keep_only"] if data.no_show else t["keep"])
    for part in wrap(notice, b.columns)[:NOTICE_MAX_LINES]:
        b.line(part)
    for part in wrap_clauses(data.no_show, b.columns)[:NO_SHOW_MAX_LINES]:
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
