"""The status screen's case (办件) tab: a case number + 6-digit query code on the kiosk's keypads, checked on the
kiosk before it is sent as `case.get`, and the public view of the case shown in the citizen's language."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from hall_bus import RequestError
from hall_bus.contract import validate_args
from kiosk.journey import Journey
from kiosk.model import CaseQuery, case_day, case_query, split_case_number
from tests.kiosk.conftest import hall_bus

CODE = "384912"


def public_case(**over: Any) -> dict[str, Any]:
    """A case's public view, as the server gives it to a kiosk."""
    case: dict[str, Any] = {
        "number": "DA-20261127-0007", "service": "ss_pension", "service_name": "养老保险待遇申领",
        "service_name_en": "Pension benefit claim", "department": "rsj", "status": "in_progress",
        "result": None, "accepted_at": "2026-11-27T10:12:00+08:00", "limit_unit": "working_days",
        "promised_days": 5, "legal_days": 20, "due_date": "2026-12-04", "legal_due_date": "2026-12-25",
        "days_left": 3, "clock": "running", "missing": [],
        "history": [{"status": "accepted", "change": "", "ts": "2026-11-27T10:12:00+08:00"},
                    {"status": "in_progress", "change": "in_progress", "ts": "2026-11-28T09:03:00+08:00"}]}
    case.update(over)
    return case


def case_desk(case: dict[str, Any], code: str = CODE):
    """The server's case.get for kiosks: the public view for the right number and code, unknown_case otherwise
    (the same for a wrong code and an unknown number)."""
    def answer(op: str, args: dict) -> dict:
        assert op == "case.get"
        validate_args(op, args)             # what the server would refuse as bad_request
        if args.get("number") != case["number"] or args.get("query_code") != code:
            raise RequestError("unknown_case", "no such case", "没有找到这个办件，请核对办件编号和查询码")
        return case
    return answer


def open_case_tab(k) -> None:
    k.wait_screen("home")
    k.press("action-status")
    k.wait_screen("status")
    k.press("tab-case")
    assert k.journey.status_mode == "case"


def type_keys(k, keys: str) -> None:
    for ch in keys:
        k.press(f"key-{ch}")


def case_requests(k) -> list[tuple[str, dict]]:
    return [(op, args) for op, args, _ in k.bus.requests if op == "case.get"]


# ---------------------------------------------------------------- the typed parts (no Qt)
def test_case_query_checks_each_part_before_anything_is_sent():
    assert case_query("DA", "20261127", "0007", CODE) == CaseQuery("DA-20261127-0007", CODE)
    assert case_query("bj", "20261127", "7", CODE) == CaseQuery("BJ-20261127-0007", CODE)   # 7 means 0007
    assert case_query("", "20261127", "0007", CODE) == ("prefix", "case_bad_prefix")
    assert case_query("D4", "20261127", "0007", CODE) == ("prefix", "case_bad_prefix")
    assert case_query("DA", "20261131", "0007", CODE) == ("day", "case_bad_day")            # no 31 November
    assert case_query("DA", "2026112", "0007", CODE) == ("day", "case_bad_day")
    assert case_query("DA", "20261127", "", CODE) == ("seq", "case_bad_seq")
    assert case_query("DA", "20261127", "0000", CODE) == ("seq", "case_bad_seq")
    assert case_query("DA", "20261127", "0007", "38491") == ("code", "case_bad_code")         # short
    assert case_query("DA", "20261127", "0007", "38A912") == ("code", "case_bad_code")        # a letter
    assert case_query("DA", "20261127", "0007", "3849120") == ("code", "case_bad_code")
    q = case_query("DA", "20261127", "0007", CODE)
    assert isinstance(q, CaseQuery)
    validate_args("case.get", q.as_args())


def test_whole_numbers_and_the_default_date():
    assert split_case_number("DA-20261127-0007") == ("DA", "20261127", "0007")
    assert split_case_number("bj202611270012") == ("BJ", "20261127", "0012")
    assert split_case_number("A023") is None and split_case_number("DA-2026-0007") is None
    assert case_day("2026-11-27") == "20261127"
    assert case_day("", today=dt.date(2026, 12, 1)) == "20261201"


def test_journey_types_letters_only_into_the_prefix_and_digits_elsewhere():
    j = Journey(case_prefix_default="BJ")
    assert (j.case_prefix, j.case_field) == ("BJ", "seq")
    j.type_case_key("A")
    assert j.case_seq == "" and j.case_error == "case_digits_only"
    for ch in "0007":
        j.type_case_key(ch)
    assert j.case_seq == "0007" and j.case_field == "code"      # a full sequence moves on to the code
    for ch in "1234567":
        j.type_case_key(ch)
    assert j.case_code == "123456"                               # a full code takes no more
    j.choose_case_field("prefix")
    j.type_case_key("1")
    assert j.case_prefix == "BJ" and j.case_error == "case_letters_only"
    j.type_case_key("D")                                          # a chosen part: the first key replaces it
    j.type_case_key("a")
    assert j.case_prefix == "DA"
    j.choose_case_field("day")
    for ch in "20261126":
        j.type_case_key(ch)
    assert j.case_day == "20261126" and j.case_field == "seq"
    j.type_case_key("DEL")
    assert j.case_seq == "000"
    assert j.type_case_key("OK") is True


# ---------------------------------------------------------------- on the kiosk window (fake bus)
def test_case_found_by_sequence_and_code_shows_status_and_days_left(make_kiosk):
    bus = hall_bus()
    bus.answer = case_desk(public_case())
    k = make_kiosk(bus=bus)
    open_case_tab(k)
    # the hall's prefix and business day (state/catalog) are filled in: only the sequence and the code are typed
    assert k.button("case-prefix").text() == "DA"
    assert k.button("case-day").text() == "20261127"
    type_keys(k, "0007")
    assert k.journey.case_field == "code"
    type_keys(k, CODE)
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.case_found is not None)
    [(op, args)] = case_requests(k)
    assert args == {"number": "DA-20261127-0007", "query_code": CODE}
    validate_args(op, args)
    assert k.text("case-number") == "DA-20261127-0007"
    assert k.text("case-service") == "养老保险待遇申领"
    assert k.text("case-status") == "办理中"
    assert k.text("case-due") == "承诺办结日期 2026-12-04"
    assert k.text("case-days-left") == "还剩 3 个工作日"
    text = k.all_text()
    assert "2026-11-27 10:12" in text and "已受理" in text and "2026-11-28 09:03" in text
    assert CODE not in text                                   # the code is not left on the screen
    k.press("language")
    assert k.text("case-status") == "In progress"
    assert k.text("case-days-left") == "3 working days left"
    assert k.text("case-service") == "Pension benefit claim"
    assert "Accepted" in k.all_text()
    k.press("case-again")
    assert k.journey.status_mode == "case" and k.journey.case_found is None and k.journey.case_seq == ""


def test_wrong_code_and_unknown_number_get_the_same_message(make_kiosk):
    bus = hall_bus()
    bus.answer = case_desk(public_case())
    k = make_kiosk(bus=bus)
    open_case_tab(k)
    messages = []
    for seq, code in (("0007", "000000"), ("0008", CODE)):     # wrong code; unknown number
        k.press("case-seq")
        type_keys(k, seq)
        k.press("case-code")
        k.press("key-CLR")
        type_keys(k, code)
        k.press("key-OK")
        k.qtbot.waitUntil(lambda: not k.journey.case_busy)
        messages.append(k.text("case-error"))
    assert messages[0] == messages[1] == "没有找到这个办件，请核对办件编号和查询码"
    assert len(case_requests(k)) == 2
    k.press("language")
    assert k.text("case-error") == "No case found. Please check the case number and the query code."


@pytest.mark.parametrize("code, why", [("38491", "case_bad_code"), ("", "case_bad_code")])
def test_a_short_code_is_refused_on_the_kiosk(make_kiosk, code, why):
    k = make_kiosk()
    open_case_tab(k)
    type_keys(k, "0007" + code)
    k.press("key-OK")
    assert k.text("case-error") == "查询码为 6 位数字，请核对"
    assert k.journey.case_field == "code"
    assert case_requests(k) == []


def test_letters_in_the_code_are_refused_on_the_kiosk(make_kiosk):
    k = make_kiosk()
    open_case_tab(k)
    type_keys(k, "0007")
    screen = k.window.stack.currentWidget()
    assert screen.findChild(QWidget, "case-pad-digits") is not None and screen.findChild(QWidget, "key-A") is None
    k.window.do_case_key("A")                  # however a letter gets there, it is not typed
    assert k.journey.case_code == "" and k.text("case-error") == "这里只能输入数字"
    k.journey.case_code = "38A912"             # nor sent, if it ever got into the code
    k.press("key-OK")
    assert k.text("case-error") == "查询码为 6 位数字，请核对"
    assert case_requests(k) == []


def test_a_full_number_with_another_prefix_and_date(make_kiosk):
    bus = hall_bus()
    bus.answer = case_desk(public_case(number="BJ-20261125-0012"))
    k = make_kiosk(bus=bus)
    open_case_tab(k)
    k.press("case-prefix")
    type_keys(k, "BJ")                         # letters on the letter pad; the first key replaces "DA"
    k.press("case-day")
    type_keys(k, "20261125")
    assert k.journey.case_field == "seq"
    type_keys(k, "12")                         # 12 means 0012
    k.press("case-code")
    type_keys(k, CODE)
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.case_found is not None)
    assert case_requests(k) == [("case.get", {"number": "BJ-20261125-0012", "query_code": CODE})]


def test_a_scanned_case_number_fills_the_number(make_kiosk):
    k = make_kiosk()
    open_case_tab(k)
    k.bridge.scanned.emit("BJ-20261125-0012")
    k.qtbot.waitUntil(lambda: k.journey.case_seq == "0012")
    assert (k.journey.case_prefix, k.journey.case_day, k.journey.case_field) == ("BJ", "20261125", "code")


def test_case_prefix_from_the_kiosk_config(make_kiosk):
    k = make_kiosk(case_prefix="SZ")
    open_case_tab(k)
    assert k.button("case-prefix").text() == "SZ"


def test_overdue_case_waiting_for_documents(make_kiosk):
    bus = hall_bus()
    bus.answer = case_desk(public_case(
        status="needs_materials", clock="stopped", days_left=-2, missing=["户口簿（原件）", "近期一寸免冠照片"],
        history=[{"status": "accepted", "ts": "2026-11-27T10:12:00+08:00"},
                 {"status": "needs_materials", "change": "needs_materials", "ts": "2026-11-28T15:40:00+08:00"}]))
    k = make_kiosk(bus=bus)
    open_case_tab(k)
    type_keys(k, "0007" + CODE)
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.case_found is not None)
    assert k.text("case-status") == "待补正"
    assert k.text("case-days-left") == "逾期 2 个工作日"
    assert "暂停计时" in k.text("case-clock")
    assert k.text("case-missing-1") == "1. 户口簿（原件）" and k.text("case-missing-2") == "2. 近期一寸免冠照片"
    assert "请补正以下材料" in k.all_text()
    k.press("language")
    assert k.text("case-days-left") == "2 working days overdue"


@pytest.mark.parametrize("status, result, zh, en", [
    ("accepted", None, "已受理", "Accepted"), ("suspended", None, "特别程序", "Special procedure"),
    ("done", "approved", "已办结", "Completed"), ("delivered", "approved", "已领取", "Collected"),
    ("incomplete", None, "一次性告知", "Incomplete: documents listed"), ("refused", None, "不予受理", "Not accepted"),
    ("withdrawn", None, "已撤回", "Withdrawn"), ("terminated", None, "已终止", "Terminated"),
])
def test_every_status_in_both_languages(make_kiosk, status, result, zh, en):
    bus = hall_bus()
    bus.answer = case_desk(public_case(status=status, result=result, days_left=None if result else 2))
    k = make_kiosk(bus=bus)
    open_case_tab(k)
    type_keys(k, "0007" + CODE)
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.case_found is not None)
    assert k.text("case-status") == zh
    if result:
        assert k.text("case-result") == "办理结果：准予办理"
    k.press("language")
    assert k.text("case-status") == en


def test_elderly_mode_keeps_the_case_screen_readable(make_kiosk):
    bus = hall_bus()
    bus.answer = case_desk(public_case())
    k = make_kiosk(bus=bus)
    open_case_tab(k)
    normal = k.button("case-seq").font().pixelSize()
    k.press("elderly")
    k.qtbot.waitUntil(lambda: k.button("case-seq").font().pixelSize() > normal)
    type_keys(k, "0007" + CODE)
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.case_found is not None)
    assert k.text("case-days-left") == "还剩 3 个工作日"


def test_server_lost_during_a_case_query_is_the_fault_screen(make_kiosk):
    bus = hall_bus()

    def timeout(op: str, args: dict) -> dict:
        raise RequestError("timeout", "no reply", "")
    bus.answer = timeout
    k = make_kiosk(bus=bus)
    open_case_tab(k)
    type_keys(k, "0007" + CODE)
    k.press("key-OK")
    k.wait_screen("fault")
