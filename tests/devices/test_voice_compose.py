"""devices/voice/compose.py: what the hall hears for a call event (pure)."""
from __future__ import annotations

import pytest

from devices.voice.compose import (
    chinese_numeral, compose, normalize_languages, spoken_ticket, spoken_window,
)

_D = {c: i for i, c in enumerate("零一二三四五六七八九")}
_U = {"十": 10, "百": 100, "千": 1000}


def parse_zh(s: str) -> int:
    """Independent reader of Chinese cardinals (the inverse the listener performs)."""
    total, section, digit = 0, 0, None
    for ch in s:
        if ch in _D:
            digit = _D[ch]
        elif ch in _U:
            section += (1 if digit is None else digit) * _U[ch]
            digit = None
        elif ch == "万":
            section += digit or 0
            total += section * 10_000
            section, digit = 0, None
        else:
            raise AssertionError(f"unexpected {ch!r} in {s!r}")
    return total + section + (digit or 0)


@pytest.mark.parametrize(("n", "zh"), [
    (0, "零"), (1, "一"), (2, "二"), (9, "九"), (10, "十"), (11, "十一"), (15, "十五"), (19, "十九"),
    (20, "二十"), (21, "二十一"), (30, "三十"), (99, "九十九"), (100, "一百"), (101, "一百零一"),
    (102, "一百零二"), (110, "一百一十"), (111, "一百一十一"), (115, "一百一十五"), (120, "一百二十"),
    (200, "二百"), (305, "三百零五"), (999, "九百九十九"), (1000, "一千"), (1001, "一千零一"),
    (1010, "一千零一十"), (1100, "一千一百"), (2005, "二千零五"), (9999, "九千九百九十九"),
    (10000, "一万"), (10001, "一万零一"), (10010, "一万零一十"), (12345, "一万二千三百四十五"), (100000, "十万"),
])
def test_numeral_table(n: int, zh: str) -> None:
    assert chinese_numeral(n) == zh


def test_numerals_exhaustive_round_trip() -> None:
    seen = set()
    for n in range(0, 100_000):
        zh = chinese_numeral(n)
        assert parse_zh(zh) == n, (n, zh)
        assert "零零" not in zh and (n == 0 or not zh.endswith("零")), (n, zh)
        assert not zh.startswith("一十"), (n, zh)  # 十五, never 一十五
        seen.add(zh)
    assert len(seen) == 100_000


@pytest.mark.parametrize("bad", [-1, 100_000_000, 1.5, True, "3"])
def test_numeral_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        chinese_numeral(bad)  # type: ignore[arg-type]


def test_ticket_digits_one_by_one_all_digits_and_letters() -> None:
    zh = "零一二三四五六七八九"
    for d in range(10):
        assert spoken_ticket(f"A00{d}", "zh") == f"A 零 零 {zh[d]}"
        assert spoken_ticket(f"A00{d}", "en") == f"A 0 0 {d}"
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        assert spoken_ticket(f"{letter}023", "zh") == f"{letter} 零 二 三"
        assert spoken_ticket(f"{letter.lower()}023", "en") == f"{letter} 0 2 3"
    assert spoken_ticket("AB100", "zh") == "A B 一 零 零"
    for n in range(1, 1000):  # never 零二十三: every digit alone
        assert spoken_ticket(f"C{n:03d}", "zh").split()[1:] == [zh[int(c)] for c in f"{n:03d}"]


@pytest.mark.parametrize("bad", ["", "A-023", "A 023", "叫023"])
def test_bad_ticket_number(bad: str) -> None:
    with pytest.raises(ValueError):
        spoken_ticket(bad, "zh")


EVENT = {"v": 1, "seq": 7, "ticket_id": "t1", "number": "A023", "window": "w15", "window_name": "15号窗口",
         "zone": "z1", "service": "ss_pension", "recall": False}


def test_chinese_call_as_in_the_hall() -> None:
    ann = compose(EVENT, "zh")
    assert [p.text for p in ann.phrases] == ["请 A 零 二 三 号到 十五 号窗口办理"]
    assert (ann.seq, ann.number, ann.window, ann.recall) == (7, "A023", "w15", False)


def test_english_call() -> None:
    assert compose(EVENT, "en").phrases[0].text == "Ticket A 0 2 3, please go to window 15"


def test_both_languages_zh_first() -> None:
    ann = compose(EVENT, "both")
    assert [p.lang for p in ann.phrases] == ["zh", "en"]


def test_recall_prefix() -> None:
    ann = compose({**EVENT, "recall": True}, ["zh", "en"])
    assert ann.recall
    assert ann.phrases[0].text == "重呼，请 A 零 二 三 号到 十五 号窗口办理"
    assert ann.phrases[1].text.startswith("Repeat call: Ticket A 0 2 3")


def test_every_window_of_the_reference_hall() -> None:
    for n in range(1, 103):
        ev = {**EVENT, "window": f"w{n}", "window_name": f"{n}号窗口"}
        assert compose(ev, "zh").phrases[0].text.endswith(f"到 {chinese_numeral(n)} 号窗口办理")
        assert compose(ev, "en").phrases[0].text.endswith(f"window {n}")
    assert spoken_window({"window": "w102", "window_name": "102号窗口"}, "zh") == "一百零二 号窗口"
    assert spoken_window({"window": "w20", "window_name": "20号窗口"}, "zh") == "二十 号窗口"
    assert spoken_window({"window": "w10", "window_name": "10号窗口"}, "zh") == "十 号窗口"
    assert spoken_window({"window": "w1", "window_name": "1号窗口"}, "zh") == "一 号窗口"


def test_window_from_id_when_no_name_and_other_names() -> None:
    ev = {"number": "B001", "window": "w20"}
    assert compose(ev, "zh").phrases[0].text == "请 B 零 零 一 号到 二十 号窗口办理"
    odd = {"number": "B001", "window": "w3", "window_name": "A区3号窗口"}
    assert compose(odd, "zh").phrases[0].text == "请 B 零 零 一 号到 A 区 三 号窗口 办理"
    assert compose(odd, "en").phrases[0].text.endswith("window 3")
    named = {"number": "B001", "window": "w3", "window_name": "3号窗口", "window_name_en": "Window 3 (Tax)"}
    assert compose(named, "en").phrases[0].text.endswith("go to window 3 (Tax)")


def test_custom_templates_and_prefix() -> None:
    ann = compose({**EVENT, "recall": True}, "zh", templates={"zh": "{ticket} 号，请到 {window}"},
                  recall_prefix={"zh": "再次呼叫，"})
    assert ann.phrases[0].text == "再次呼叫，A 零 二 三 号，请到 十五 号窗口"


def test_languages() -> None:
    assert normalize_languages("both") == ("zh", "en")
    assert normalize_languages(["en", "zh", "en"]) == ("en", "zh")
    for bad in ("fr", [], ["zh", "jp"]):
        with pytest.raises(ValueError):
            normalize_languages(bad)


@pytest.mark.parametrize("bad", [{}, {"number": 23, "window": "w1"}, {"number": "A-1", "window": "w1"},
                                 {"number": "A001"}])
def test_bad_events_raise_value_error(bad: dict) -> None:
    with pytest.raises(ValueError):
        compose(bad, "zh")
