"""The case book (办件): the state machine of PROTOCOL part 2, deadlines on the hall calendar, what each view shows,
电子监察 cards once per level, 中途提醒, retention."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall_bus import payloads as bus
from hall_bus.contract import BusError, validate_args
from hall_server.calendar import HallCalendar
from hall_server.cases import FINAL, OPEN, TRANSITIONS, CaseBook, ServiceTerms

TZ = ZoneInfo("Asia/Shanghai")
SERVICES = {
    "permit": ServiceTerms("permit", "食品经营许可", "Food business permit", "samr", "working_days", 5, 20),
    "natural": ServiceTerms("natural", "户外广告设置", "Outdoor ads", "urban", "natural_days", 10, 30),
}
APPLICANT = {"name": "张三丰", "id_number": "11010519491231002X"}
PHONE = "13812345678"


def book(**kw) -> CaseBook:
    return CaseBook(HallCalendar(), SERVICES, number_prefix="DA", **kw)


def at(day: str, hh: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hh, tzinfo=TZ)


def accept(b: CaseBook, when: datetime, service: str = "permit", phone: str | None = PHONE, **kw):
    return b.accept(when, when.date(), service, "w31", ticket_id=f"t{len(b.cases) + 1}", applicant=dict(APPLICANT), phone=phone,
                    actor="panel-w31", staff=None, **kw)


def test_numbers_run_per_day_and_never_repeat() -> None:
    b = book()
    first = accept(b, at("2026-11-30"))
    second = b.refuse(at("2026-11-30", 10), date(2026, 11, 30), "permit", "w31", "incomplete", ticket_id=None,
                      reasons="", missing=["营业执照"], applicant=None, phone=None, actor="panel-w31", staff=None)
    assert [first.data["number"], second.data["number"]] == ["DA-20261130-0001", "DA-20261130-0002"]
    b.roll(date(2026, 12, 1))
    assert accept(b, at("2026-12-01")).data["number"] == "DA-20261201-0001"
    # a store that lost cases: the side file's mark keeps the sequence above what was given out
    b2 = book()
    assert b2.restore(date(2026, 12, 1), [], mark=7) == 7
    assert accept(b2, at("2026-12-01")).data["number"] == "DA-20261201-0008"


def test_accepted_case_full_and_public_views() -> None:
    b = book()
    out = accept(b, at("2026-09-28"), missing=["房屋租赁合同"])          # 容缺受理: accepted, clock running
    full = bus.CaseFull.parse(out.data)
    assert full.status == "accepted" and full.clock == "running" and full.missing == ("房屋租赁合同",)
    # 5 working days after Monday 09-28 across the National Day holidays (10-01..07): 09-29, 09-30, 10-08, 10-09 and
    # 10-10, the 调休 Saturday
    assert full.due_date == "2026-10-10" and full.applicant and full.applicant.id_number == APPLICANT["id_number"]
    assert full.phone_masked == "138****5678" and len(full.query_code) == 6 and len(full.token) >= 16
    event = out.events[0]
    text = json.dumps(event, ensure_ascii=False)
    for secret in (APPLICANT["name"], APPLICANT["id_number"], PHONE, full.query_code, full.token, "panel-w31", "t1"):
        assert secret not in text
    assert event["change"] == "accepted" and event["case"]["status"] == "accepted"


def test_needs_materials_stops_the_clock_and_resume_restarts_it() -> None:
    b = book()
    number = accept(b, at("2026-11-30")).data["number"]          # due 12-07 (5 working days)
    c = b.cases[number]
    b.update(at("2026-12-01"), c, "needs_materials", actor="dept-samr", missing=["补充说明"])
    assert c.clock == "stopped" and b.days_left(c, date(2026, 12, 1)) is not None
    out = b.update(at("2026-12-04"), c, "resumed", actor="dept-samr")
    # stopped on 12-01 (the first day that would have counted) until 12-04: all 5 days remain and run from the next
    # working day, 12-07..12-11
    assert out.data["due_date"] == "2026-12-11" and out.data["clock"] == "running" and out.data["missing"] == []
    assert [h["change"] for h in out.data["history"]] == ["accepted", "needs_materials", "resumed"]


def test_extend_records_the_approver_and_adds_days() -> None:
    b = book()
    c = b.cases[accept(b, at("2026-11-30")).data["number"]]
    out = b.update(at("2026-12-01"), c, "extend", actor="dept-samr", days=3, approved_by="李局长", note="需现场核查")
    assert out.data["due_date"] == "2026-12-10" and out.data["status"] == "accepted"
    assert out.data["extensions"] == [{"days": 3, "approved_by": "李局长", "reason": "需现场核查"}]


def test_illegal_changes_are_conflicts_and_change_nothing() -> None:
    b = book()
    c = b.cases[accept(b, at("2026-11-30")).data["number"]]
    for change in ("resumed", "delivered"):
        with pytest.raises(BusError) as e:
            b.update(at("2026-11-30", 10), c, change, actor="x", delivery={"method": "pickup"})
        assert e.value.code == "conflict"
    assert c.status == "accepted" and len(c.history) == 1


def test_sms_drafts_only_with_consent() -> None:
    b = book()
    with_phone = accept(b, at("2026-11-30"))
    without = accept(b, at("2026-11-30", 10), phone=None)
    assert [s.kind for s in with_phone.sms] == ["case_accepted"] and without.sms == []
    c = b.cases[with_phone.data["number"]]
    assert b.update(at("2026-12-01"), c, "done", actor="d", result="approved").sms[0].kind == "case_ready"
    assert b.update(at("2026-12-02"), c, "delivered", actor="d", delivery={"method": "pickup"}).sms[0].kind == \
        "case_rate"


def test_wrong_query_code_and_unknown_number_are_the_same_error() -> None:
    b = book()
    out = accept(b, at("2026-11-30"))
    assert b.by_code(out.data["number"], out.data["query_code"]).number == out.data["number"]
    wrong = "000000" if out.data["query_code"] != "000000" else "111111"
    errors = []
    for number, code in ((out.data["number"], wrong), ("DA-20261130-0099", out.data["query_code"])):
        with pytest.raises(BusError) as e:
            b.by_code(number, code)
        errors.append((e.value.code, e.value.message))
    assert errors[0] == errors[1] == ("unknown_case", "no case with that number and query code")


def test_yellow_then_red_cards_once_per_level() -> None:
    b = book(yellow_days=2)
    c = b.cases[accept(b, at("2026-11-30")).data["number"]]      # due Mon 12-07
    assert not b.supervise(at("2026-12-01")).alerts
    yellow = b.supervise(at("2026-12-03"))                         # 2 working days left
    assert [a[:2] for a in yellow.alerts] == [("case_due_soon", "yellow")]
    assert not b.supervise(at("2026-12-04")).alerts                # once per level
    red = b.supervise(at("2026-12-08"))
    assert [a[:2] for a in red.alerts] == [("case_overdue", "red")] and red.alerts[0][5]["days_left"] == -1
    assert c.alerted == ["yellow", "red"]


def test_reminder_at_half_the_promised_time() -> None:
    b = book()
    c = b.cases[accept(b, at("2026-11-30"), service="natural").data["number"]]   # 10 natural days: due 12-10
    assert not b.supervise(at("2026-12-02")).sms
    kinds = [s.kind for s in b.supervise(at("2026-12-05")).sms]
    assert kinds == ["case_reminder"] and c.reminded
    assert not b.supervise(at("2026-12-06")).sms


def test_natural_days_ending_on_a_holiday_move_to_the_next_working_day() -> None:
    b = book()
    out = accept(b, at("2026-09-23"), service="natural")             # 10 natural days: 10-03, in the holiday
    assert out.data["due_date"] == "2026-10-08"


def test_retention_erases_identity_and_keeps_statistics() -> None:
    b = book()
    c = b.cases[accept(b, at("2026-11-30"), note="申请人电话另告").data["number"]]
    b.update(at("2026-12-01"), c, "done", actor="d", result="approved", note="审批意见：同意")
    b.erase(c)
    rec = c.to_record()
    assert c.applicant is None and c.phone is None and rec["consent"] is None and rec["erased"]
    assert all("note" not in h for h in rec["history"]) and rec["status"] == "done" and rec["service"] == "permit"
    with pytest.raises(BusError):
        b.by_code(c.number, c.query_code)


def test_contract_refuses_bad_applicants_and_incomplete_changes() -> None:
    ok = {"window": "w31", "applicant": APPLICANT}
    validate_args("case.accept", ok)
    for bad in ({**ok, "applicant": {"name": "张三", "id_number": "110105194912310021"}},     # check digit
                {**ok, "applicant": {"name": "", "id_number": APPLICANT["id_number"]}},
                {**ok, "missing": "营业执照"}):
        with pytest.raises(BusError) as e:
            validate_args("case.accept", bad)
        assert e.value.code == "bad_request" and APPLICANT["id_number"][:10] not in e.value.message
    for bad in ({"number": "DA-20261130-0001", "change": "extend", "days": 3},           # no approver/reason
                {"number": "DA-20261130-0001", "change": "done"},                         # no result
                {"number": "DA-20261130-0001", "change": "done", "result": "rejected"},   # no reasons
                {"number": "DA-20261130-0001", "change": "delivered"},
                {"number": "DA-20261130-0001", "change": "needs_materials"},
                {"number": "DA-2026-1", "change": "in_progress"}):
        with pytest.raises(BusError):
            validate_args("case.update", bad)
    with pytest.raises(BusError):
        validate_args("case.refuse", {"window": "w31", "service": "permit", "kind": "refused"})   # no reasons


ARGS = {"extend": {"days": 2, "approved_by": "科长", "note": "延期"}, "done": {"result": "approved"},
        "delivered": {"delivery": {"method": "mail", "tracking": "SF123"}}, "needs_materials": {"missing": ["材料"]}}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(TRANSITIONS)), st.integers(0, 3)), max_size=14))
def test_state_machine(steps: list[tuple[str, int]]) -> None:
    """Random changes on random days: a change is applied exactly when TRANSITIONS allows it from the current
    status (else `conflict`, nothing changes); final statuses never move; history gains one entry per change; the
    clock is stopped exactly in needs_materials and suspended; the due date never comes before acceptance."""
    b = book()
    when = at("2026-09-21")
    c = b.cases[accept(b, when).data["number"]]
    for change, gap in steps:
        when += timedelta(days=gap)
        before = (c.status, len(c.history))
        allowed_from, to = TRANSITIONS[change]
        args = ARGS.get(change, {})
        try:
            out = b.update(when, c, change, actor="dept-samr", **{k: v for k, v in args.items() if k != "note"},
                           note=args.get("note"))
        except BusError as e:
            assert e.code == "conflict" and before[0] not in allowed_from
            assert (c.status, len(c.history)) == before
            continue
        assert before[0] in allowed_from and before[0] not in FINAL
        assert c.status == (to or before[0]) and len(c.history) == before[1] + 1
        assert bus.CaseFull.parse(out.data).status == c.status
        assert c.clock == ("stopped" if c.status in ("needs_materials", "suspended") else "running")
        due, legal = b.due(c, when.date())
        assert c.accepted_at.date() < due <= legal
        assert (c.status in OPEN) == (b.days_left(c, when.date()) is not None)


def test_every_change_of_the_contract_has_a_rule() -> None:
    assert set(TRANSITIONS) == set(bus.CASE_CHANGES)
