"""Small facts of the hall every role shares, each with one home: the call wording, the 好差评 grade labels,
a holder's age from a birth date, and the number staff say for a window."""
from __future__ import annotations

import re
from datetime import date
from typing import Literal

Lang = Literal["zh", "en"]

# 请A023号到15号窗口办理. {number}: the ticket number; {window}: the window as the hall names it (15号窗口 /
# window 15). The engine writes text_zh/text_en of every call event with these; the display, the LED screens
# and the voice use the same words (the voice speaks the pieces: 请 A 零 二 三 号 到 十五 号窗口办理).
CALL_WORDING: dict[str, str] = {
    "zh": "请{number}号到{window}办理",
    "en": "Ticket {number}, please go to {window}",
}
RECALL_PREFIX: dict[str, str] = {"zh": "重呼，", "en": "Repeat call: "}


def call_text(number: str, window: str, lang: Lang, *, recall: bool = False) -> str:
    """The words of one call in one language; `window` is the window's name in that language."""
    return (RECALL_PREFIX[lang] if recall else "") + CALL_WORDING[lang].format(number=number, window=window)


# 一次一评 grades, as the national 好差评 rules name them (1 = 非常不满意 … 5 = 非常满意).
GRADES: dict[int, tuple[str, str]] = {
    1: ("非常不满意", "Very dissatisfied"),
    2: ("不满意", "Dissatisfied"),
    3: ("基本满意", "Fairly satisfied"),
    4: ("满意", "Satisfied"),
    5: ("非常满意", "Very satisfied"),
}


def grade_label(grade: int, lang: Lang = "zh") -> str:
    zh, en = GRADES[grade]
    return en if lang == "en" else zh


def age_on(birth_date: str | date, day: date) -> int | None:
    """Full years on `day` of someone born on birth_date (YYYY-MM-DD); None when the date cannot be read."""
    try:
        b = birth_date if isinstance(birth_date, date) else date.fromisoformat(birth_date)
    except (TypeError, ValueError):
        return None
    return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


_WINDOW_NAME = re.compile(r"\s*(?:第\s*)?(\d+)\s*号?\s*窗口?\s*|\s*[Ww]indow\s*(\d+)\s*")
_WINDOW_ID = re.compile(r"[A-Za-z]*(\d+)")


def window_number(name: str | None, window_id: str | None = None) -> int | None:
    """The number staff say for a window: '15号窗口' / 'Window 15' → 15; else from an id such as 'w15'; else None."""
    m = _WINDOW_NAME.fullmatch(name or "")
    if m:
        return int(m.group(1) or m.group(2))
    if not name and window_id:
        m = _WINDOW_ID.fullmatch(window_id)
        if m:
            return int(m.group(1))
    return None


def window_title(name: str | None, name_en: str | None, window_id: str | None, lang: Lang) -> str:
    """A window as a citizen reads it in one language: its name, or 'Window 15' made from '15号窗口'."""
    if lang == "en":
        if name_en:
            return name_en
        n = window_number(name, window_id)
        if n is not None:
            return f"Window {n}"
    return name or window_id or ""


def window_in_sentence(name: str | None, name_en: str | None, window_id: str | None, lang: Lang) -> str:
    """The window inside a call sentence: '15号窗口' (zh), 'window 15' (en: lower case mid-sentence)."""
    title = window_title(name, name_en, window_id, lang)
    if lang == "en" and title.startswith("Window "):
        return "w" + title[1:]
    return title
