"""Announcement text from a call event (pure: no I/O, no time): 请 A 零 二 三 号 到 十五 号窗口办理."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping

from hall_bus.hall import CALL_WORDING, RECALL_PREFIX, window_number

Lang = Literal["zh", "en"]

_DIGITS_ZH = "零一二三四五六七八九"
_UNITS_ZH = ("", "十", "百", "千")



def spoken_wording(wording: str) -> str:
    """The hall's call wording (hall_bus.hall.CALL_WORDING) as a voice template: {ticket} is the number spoken
    piece by piece, and the spoken pieces stand apart from the Chinese words around them (a pause for the voice)."""
    text = wording.replace("{number}", "{ticket}")
    text = re.sub(r"(?<=[\u4e00-\u9fff])(\{\w+\})", r" \1", text)
    # the window's spoken name runs on into the next word (号窗口办理: one clip in a clip pack)
    return re.sub(r"\{ticket\}(?=[\u4e00-\u9fff])", "{ticket} ", text)


# {ticket}: the number spoken piecewise; {window}: the window spoken ("十五 号窗口" / "window 15"). The words are the
# hall's own (the same as the display, the LED screens and the call events), so changing them changes every one.
DEFAULT_TEMPLATES: dict[str, str] = {lang: spoken_wording(w) for lang, w in CALL_WORDING.items()}
DEFAULT_RECALL_PREFIX: dict[str, str] = dict(RECALL_PREFIX)


@dataclass(frozen=True)
class Phrase:
    """One sentence in one language, as text for the synthesizer."""
    lang: Lang
    text: str


@dataclass(frozen=True)
class Announcement:
    """What the hall hears for one call event, in speaking order."""
    seq: int | None
    number: str
    window: str
    recall: bool
    phrases: tuple[Phrase, ...]


def chinese_numeral(n: int) -> str:
    """0..99999999 as a Chinese cardinal: 10→十, 15→十五, 20→二十, 102→一百零二, 110→一百一十, 10005→一万零五."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n > 99_999_999:
        raise ValueError(f"chinese_numeral: need 0..99999999, got {n!r}")
    if n == 0:
        return "零"
    high, low = divmod(n, 10_000)
    if high:
        head = _below_10000(high, leading=True) + "万"
        if low == 0:
            return head
        return head + ("零" if low < 1000 else "") + _below_10000(low, leading=False)
    return _below_10000(low, leading=True)


def _below_10000(n: int, *, leading: bool) -> str:
    out: list[str] = []
    digits = [int(d) for d in f"{n:04d}"]  # thousands, hundreds, tens, ones
    zero_pending = False
    started = False
    for pos, d in enumerate(digits):
        unit = _UNITS_ZH[3 - pos]
        if d == 0:
            if started:
                zero_pending = True
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        # 十五 not 一十五 when ten is the leading unit of the whole number; 一百一十 inside
        if not (d == 1 and unit == "十" and not started and leading):
            out.append(_DIGITS_ZH[d])
        out.append(unit)
        started = True
    return "".join(out)


def spoken_ticket(number: str, lang: Lang) -> str:
    """'A023' → 'A 零 二 三' (zh) / 'A 0 2 3' (en): each digit alone, letters spoken as letters."""
    if not number or not re.fullmatch(r"[A-Za-z0-9]+", number):
        raise ValueError(f"ticket number must be letters and digits, got {number!r}")
    parts = []
    for ch in number.upper():
        if ch.isdigit() and lang == "zh":
            parts.append(_DIGITS_ZH[int(ch)])
        else:
            parts.append(ch)
    return " ".join(parts)


def _window_number(event: Mapping[str, object]) -> int | None:
    return window_number(str(event.get("window_name") or ""), str(event.get("window") or ""))


def spoken_window(event: Mapping[str, object], lang: Lang) -> str:
    """'15号窗口' → '十五 号窗口' (zh) / 'window 15' (en); other names keep their words, digits become numerals."""
    n = _window_number(event)
    if lang == "zh":
        if n is not None:
            return f"{chinese_numeral(n)} 号窗口"
        name = str(event.get("window_name") or event.get("window") or "")
        if not name:
            raise ValueError("call event has neither window_name nor window")
        name = re.sub(r"\d+", lambda m: f" {chinese_numeral(int(m.group()))} ", name)
        name = re.sub(r"[A-Za-z]", lambda m: f" {m.group().upper()} ", name)
        return re.sub(r"\s+", " ", name).strip() + " "
    name_en = str(event.get("window_name_en") or "")
    if name_en:
        return name_en[:1].lower() + name_en[1:] if name_en.lower().startswith("window") else name_en
    if n is None:
        m = re.fullmatch(r"[A-Za-z]*(\d+)", str(event.get("window") or ""))
        n = int(m.group(1)) if m else None
    if n is not None:
        return f"window {n}"
    return f"window {event.get('window') or event.get('window_name')}"


def normalize_languages(languages: str | Iterable[str]) -> tuple[Lang, ...]:
    """'zh' | 'en' | 'both' | ['zh','en'] → ('zh',) / ('en',) / ('zh','en')."""
    items = [languages] if isinstance(languages, str) else list(languages)
    out: list[Lang] = []
    for item in items:
        for lang in (("zh", "en") if item == "both" else (item,)):
            if lang not in ("zh", "en"):
                raise ValueError(f"voice language must be zh, en or both, got {item!r}")
            if lang not in out:
                out.append(lang)  # type: ignore[arg-type]
    if not out:
        raise ValueError("voice languages: empty list")
    return tuple(out)


def compose(
    event: Mapping[str, object],
    languages: str | Iterable[str] = ("zh",),
    templates: Mapping[str, str] | None = None,
    recall_prefix: Mapping[str, str] | None = None,
) -> Announcement:
    """Build the phrases of one call event (PROTOCOL.md "Call event"); raises ValueError on a bad event."""
    number = event.get("number")
    if not isinstance(number, str):
        raise ValueError(f"call event: 'number' must be a string, got {number!r}")
    tpl = {**DEFAULT_TEMPLATES, **(templates or {})}
    prefix = {**DEFAULT_RECALL_PREFIX, **(recall_prefix or {})}
    recall = bool(event.get("recall"))
    phrases = []
    for lang in normalize_languages(languages):
        text = tpl[lang].format(ticket=spoken_ticket(number, lang), window=spoken_window(event, lang),
                                number=number, window_name=event.get("window_name") or "")
        if recall:
            text = prefix[lang] + text
        phrases.append(Phrase(lang, re.sub(r"[ ]{2,}", " ", text).strip()))
    seq = event.get("seq")
    return Announcement(seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
                        number=number.upper(), window=str(event.get("window") or ""), recall=recall,
                        phrases=tuple(phrases))
