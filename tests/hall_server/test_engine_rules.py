"""Issue 12 item 3 in the engine: issuing days from the hall calendar, the holder's daily cap, and the missed-number
rule (`[calling] no_show`: manual, requeue, void)."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall_bus.contract import ErrorCode
from hall_server.booking import CLOSED_HALL_DAY, CLOSED_HOLIDAY, CLOSED_WEEKEND, closed_reason
from hall_server.config import HallConfig
from hall_server.engine import Appointment, Engine, HallError, Ticket, TicketState, WindowState
from hall_server.records import BOOKED
from tests.hall_server.test_engine import FRIDAY, at, small_config_dict

NATIONAL_DAY = date(2026, 10, 1)         # a Thursday, statutory holiday
TIAOXIU_SATURDAY = date(2026, 10, 10)    # a Saturday worked (调休)
SUNDAY = date(2026, 11, 29)
HALL_CLOSED = date(2026, 11, 26)         # a Thursday the hall closes
EXTRA_SATURDAY = date(2026, 11, 28)      # a Saturday the hall opens


def engine(issuing: dict | None = None, calling: dict | None = None) -> Engine:
    data = small_config_dict()
    data["issuing"] = {"hours": [["08:30", "12:00"], ["13:30", "17:00"]], "closed_days": [HALL_CLOSED],
                       "extra_days": [EXTRA_SATURDAY], **(issuing or {})}
    if calling:
        data["calling"] = calling
    return Engine(HallConfig.model_validate(data), rng=random.Random(7))


def closed(e: Engine, day: date) -> HallError:
    with pytest.raises(HallError) as exc:
        e.issue(at(10, day=day), "s_a1", "walk_in")
    assert exc.value.code == ErrorCode.CLOSED
    return exc.value


# ---------------------------------------------------------------- issuing days
class TestIssuingDays:
    def test_a_statutory_holiday_is_closed_and_says_so(self) -> None:
        err = closed(engine(), NATIONAL_DAY)
        assert CLOSED_HOLIDAY[0] in err.message_zh and CLOSED_HOLIDAY[1] in err.message
        assert "08:30-12:00" in err.message

    def test_a_tiaoxiu_saturday_is_open(self) -> None:
        assert engine().issue(at(10, day=TIAOXIU_SATURDAY), "s_a1", "walk_in").data["number"] == "A001"

    def test_a_normal_sunday_is_closed(self) -> None:
        err = closed(engine(), SUNDAY)
        assert CLOSED_WEEKEND[0] in err.message_zh and CLOSED_WEEKEND[1] in err.message

    def test_the_halls_closed_day_is_closed(self) -> None:
        err = closed(engine(), HALL_CLOSED)
        assert CLOSED_HALL_DAY[0] in err.message_zh and CLOSED_HALL_DAY[1] in err.message

    def test_the_halls_extra_day_is_open(self) -> None:
        assert engine().issue(at(10, day=EXTRA_SATURDAY), "s_a1", "walk_in").data["number"] == "A001"

    def test_hours_still_apply_on_an_open_day(self) -> None:
        with pytest.raises(HallError) as exc:
            engine().issue(at(12, 30, day=TIAOXIU_SATURDAY), "s_a1", "walk_in")
        assert exc.value.code == ErrorCode.CLOSED and "08:30-12:00" in exc.value.message
        assert "今日不取号" not in exc.value.message_zh

    def test_open_all_day_ignores_the_calendar_too(self) -> None:
        assert engine().issue(at(3, day=NATIONAL_DAY), "s_a1", "walk_in", open_all_day=True).data["number"] == "A001"

    def test_weekdays_is_accepted_ignored_and_warned(self) -> None:
        e = engine({"weekdays": [1, 2, 3, 4, 5, 6, 7]})
        closed(e, SUNDAY)
        assert e.config.issuing.warnings() and "ignored" in e.config.issuing.warnings()[0]
        assert engine().config.issuing.warnings() == []

    def test_the_engine_and_booking_give_the_same_reason(self) -> None:
        e = engine()
        for day, why in ((NATIONAL_DAY, CLOSED_HOLIDAY), (SUNDAY, CLOSED_WEEKEND), (HALL_CLOSED, CLOSED_HALL_DAY)):
            assert closed_reason(e.config, "s_a1", day, day) == f"{why[0]} · {why[1]}"


# ---------------------------------------------------------------- the holder's daily cap
class TestHolderCap:
    def test_the_cap_counts_tickets_over_all_services(self) -> None:
        e = engine({"holder_daily_cap": 3})
        h = {"ref": "hmac-1"}
        for sid in ("s_a1", "s_b", "s_c"):
            e.issue(at(9), sid, "id_card", h)
        with pytest.raises(HallError) as exc:
            e.issue(at(9, 1), "s_a2", "id_card", h)
        assert exc.value.code == ErrorCode.HOLDER_CAP
        assert "3" in exc.value.message and "3" in exc.value.message_zh
        assert e.issue(at(9, 1), "s_a2", "id_card", {"ref": "hmac-2"}).data["number"] == "A002"

    def test_served_tickets_count_cancelled_ones_do_not(self) -> None:
        e = engine({"holder_daily_cap": 2})
        h = {"ref": "hmac-1"}
        e.issue(at(9), "s_a1", "id_card", h)
        e.call_next(at(9, 1), "w2")
        e.finish(at(9, 2), "w2")                       # done: still counts
        b = e.issue(at(9, 3), "s_b", "id_card", h).data
        with pytest.raises(HallError) as exc:
            e.issue(at(9, 4), "s_c", "id_card", h)
        assert exc.value.code == ErrorCode.HOLDER_CAP
        e.cancel(at(9, 5), "mistake", ticket_id=b["id"])
        assert e.issue(at(9, 6), "s_c", "id_card", h).data["number"] == "C001"

    def test_the_duplicate_rule_stays_and_speaks_first(self) -> None:
        e = engine({"holder_daily_cap": 1})
        e.issue(at(9), "s_a1", "id_card", {"ref": "hmac-1"})
        with pytest.raises(HallError) as exc:
            e.issue(at(9, 1), "s_a1", "id_card", {"ref": "hmac-1"})
        assert exc.value.code == ErrorCode.DUPLICATE_HOLDER

    def test_no_cap_when_zero_or_absent(self) -> None:
        e = engine()
        h = {"ref": "hmac-1"}
        for i, sid in enumerate(("s_a1", "s_a2", "s_b", "s_c")):
            e.issue(at(9, i), sid, "id_card", h)
        assert e.holder_tickets_today("hmac-1") == 4

    def test_checkins_count_but_are_never_refused(self) -> None:
        e = engine({"holder_daily_cap": 2})
        e.add_appointments([Appointment(code="BOOK000001", service="s_c", day=FRIDAY, start="09:00", end="09:30",
                                        source="web", holder_ref="hmac-1", status=BOOKED)])
        e.issue(at(9), "s_a1", "id_card", {"ref": "hmac-1"})
        e.issue(at(9, 1), "s_b", "id_card", {"ref": "hmac-1"})
        t = e.checkin(at(9, 5), "BOOK000001").data          # a booked citizen always gets their number
        assert t["number"] == "C001"
        assert e.holder_tickets_today("hmac-1") == 3
        e2 = engine({"holder_daily_cap": 2})
        e2.add_appointments([Appointment(code="BOOK000002", service="s_c", day=FRIDAY, start="09:00", end="09:30",
                                         source="web", holder_ref="hmac-1", status=BOOKED)])
        e2.checkin(at(9, 5), "BOOK000002")
        e2.issue(at(9, 6), "s_a1", "id_card", {"ref": "hmac-1"})
        with pytest.raises(HallError) as exc:
            e2.issue(at(9, 7), "s_b", "id_card", {"ref": "hmac-1"})
        assert exc.value.code == ErrorCode.HOLDER_CAP

    def test_the_count_survives_a_restart(self) -> None:
        e = engine({"holder_daily_cap": 2})
        for sid in ("s_a1", "s_b"):
            e.issue(at(9), sid, "id_card", {"ref": "hmac-1"})
        again = engine({"holder_daily_cap": 2})
        again.restore(FRIDAY, [Ticket.from_record(t.to_record()) for t in e.tickets.values()], [], [])
        with pytest.raises(HallError) as exc:
            again.issue(at(9, 1), "s_c", "id_card", {"ref": "hmac-1"})
        assert exc.value.code == ErrorCode.HOLDER_CAP

    @settings(max_examples=60, deadline=None)
    @given(st.integers(1, 4), st.lists(st.tuples(st.sampled_from(["s_a1", "s_a2", "s_b", "s_c"]), st.integers(0, 2),
                                                 st.booleans()), max_size=25))
    def test_nobody_holds_more_than_the_cap(self, cap: int, steps: list[tuple[str, int, bool]]) -> None:
        e = engine({"holder_daily_cap": cap})
        for i, (sid, who, cancel) in enumerate(steps):
            ref = f"hmac-{who}"
            before = e.holder_tickets_today(ref)
            try:
                t = e.issue(at(9) + timedelta(seconds=i), sid, "id_card", {"ref": ref}).data
            except HallError as exc:
                assert exc.code in (ErrorCode.HOLDER_CAP, ErrorCode.DUPLICATE_HOLDER, ErrorCode.QUOTA_EXHAUSTED)
                assert (exc.code == ErrorCode.HOLDER_CAP) <= (before >= cap)   # refused for the cap only at the cap
                continue
            assert before < cap
            if cancel:
                e.cancel(at(9) + timedelta(seconds=i), "changed mind", ticket_id=t["id"])
        for who in range(3):
            live = [t for t in e.tickets.values() if t.holder_ref == f"hmac-{who}" and t.state is not TicketState.CANCELLED]
            assert len(live) <= cap


# ---------------------------------------------------------------- the missed-number rule
def missed(e: Engine, number: str, when) -> dict:
    """Call `number` at window 1 and mark it a no_show."""
    e.call_number(when, "w1", number)
    return e.no_show(when + timedelta(seconds=30), "w1").data


def line(e: Engine, window: str = "w1") -> list[str]:
    """Who window 1 would call, in order (a dry run on a copy of its queues)."""
    order = []
    taken = []
    while (t := e.next_for(window)) is not None:
        order.append(t.number)
        e._dequeue(t)
        taken.append(t)
    for t in taken:
        e._enqueue(t)
    return order


def five(e: Engine) -> None:
    for i in range(5):
        e.issue(at(9, i), "s_a1", "walk_in")


class TestNoShowRule:
    def test_manual_calls_back_by_number(self) -> None:
        e = engine()
        five(e)
        t = missed(e, "A001", at(9, 10))
        assert t["state"] == "no_show" and line(e) == ["A002", "A003", "A004", "A005"]
        assert e.call_number(at(11), "w1", "A001").data["state"] == "serving"

    def test_void_is_final(self) -> None:
        e = engine(calling={"no_show": "void"})
        five(e)
        assert missed(e, "A001", at(9, 10))["state"] == "no_show"
        assert not e.no_shows                     # no window offers it for a call back
        with pytest.raises(HallError) as exc:
            e.call_number(at(9, 12), "w1", "A001")
        assert exc.value.code == ErrorCode.CONFLICT and "作废" in exc.value.message_zh

    def test_requeue_puts_it_behind_the_next_three(self) -> None:
        e = engine(calling={"no_show": "requeue"})
        five(e)
        t = missed(e, "A001", at(9, 10))
        assert t["state"] == "waiting"
        assert line(e) == ["A002", "A003", "A004", "A001", "A005"]
        e.issue(at(9, 20), "s_a1", "walk_in")                 # issued later: behind it
        assert line(e) == ["A002", "A003", "A004", "A001", "A005", "A006"]

    def test_requeue_with_fewer_waiting_goes_last_of_them(self) -> None:
        e = engine(calling={"no_show": "requeue", "requeue_after": 3})
        e.issue(at(9), "s_a1", "walk_in")
        e.issue(at(9, 1), "s_a1", "walk_in")
        missed(e, "A001", at(9, 10))
        assert line(e) == ["A002", "A001"]
        e2 = engine(calling={"no_show": "requeue", "requeue_after": 0})
        five(e2)
        missed(e2, "A001", at(9, 10))
        assert line(e2)[0] == "A001"

    def test_a_second_no_show_is_final(self) -> None:
        e = engine(calling={"no_show": "requeue", "requeue_after": 1})
        five(e)
        e.call_number(at(9, 10), "w1", "A001")
        out = e.no_show(at(9, 11), "w1")
        assert [ev.payload["action"] for ev in out.events] == ["no_show"]
        assert "顺延" in out.events[0].payload["reason"]
        assert e.call_next(at(9, 12), "w1").data["number"] == "A002"
        assert e.call_next(at(9, 13), "w1").data["number"] == "A001"     # called back once, in its place
        assert e.no_show(at(9, 14), "w1").data["state"] == "no_show"
        assert "A001" not in line(e)
        with pytest.raises(HallError) as exc:
            e.call_number(at(9, 15), "w1", "A001")
        assert exc.value.code == ErrorCode.CONFLICT

    def test_a_requeued_ticket_may_be_called_by_number_within_the_callback_time(self) -> None:
        e = engine(calling={"no_show": "requeue"})
        five(e)
        missed(e, "A001", at(9, 10))
        assert e.call_number(at(9, 20), "w1", "A001").data["state"] == "serving"

    def test_after_the_callback_time_it_is_skipped_for_good(self) -> None:
        e = engine(calling={"no_show": "requeue", "requeue_after": 1, "callback_s": 600})
        five(e)
        missed(e, "A001", at(9, 10))
        e.call_next(at(9, 12), "w1")                                   # A002
        with pytest.raises(HallError) as exc:                         # 9:10:30 + 10 min passed
            e.call_number(at(9, 25), "w1", "A001")
        assert exc.value.code == ErrorCode.CONFLICT
        out = e.call_next(at(9, 25), "w1")
        assert out.data["number"] == "A003"
        assert e.find(number="A001").state is TicketState.NO_SHOW
        assert any(ev.payload["action"] == "no_show" and ev.payload["ticket"]["number"] == "A001"
                   for ev in out.events if ev.kind == "ticket")

    def test_supervision_sweeps_expired_requeues(self) -> None:
        e = engine(calling={"no_show": "requeue", "callback_s": 600})
        five(e)
        missed(e, "A001", at(9, 10))
        assert not e.supervise(at(9, 15)).tickets
        out = e.supervise(at(9, 30))
        assert e.find(number="A001").state is TicketState.NO_SHOW and out.tickets
        assert "A001" not in line(e)

    def test_no_ticket_left_but_an_expired_one_changes_nothing(self) -> None:
        e = engine(calling={"no_show": "requeue", "callback_s": 600})
        e.issue(at(9), "s_b", "walk_in")
        missed(e, "B001", at(9, 10))
        with pytest.raises(HallError) as exc:
            e.call_next(at(10), "w4")
        assert exc.value.code == ErrorCode.NO_TICKET
        assert e.find(number="B001").state is TicketState.WAITING      # supervise() voids it, with its event
        assert e.supervise(at(10)).tickets

    def test_a_restart_keeps_the_requeued_place(self) -> None:
        cal = {"no_show": "requeue"}
        e = engine(calling=cal)
        five(e)
        missed(e, "A001", at(9, 10))
        before = line(e)
        again = engine(calling=cal)
        again.restore(FRIDAY, [Ticket.from_record(t.to_record()) for t in e.tickets.values()],
                      [WindowState.from_record(w.to_record()) for w in e.windows.values()], [])
        assert line(again) == before
        again.call_next(at(9, 20), "w1")
        again.call_next(at(9, 21), "w1")
        again.call_next(at(9, 22), "w1")
        assert again.call_next(at(9, 23), "w1").data["number"] == "A001"
        assert again.no_show(at(9, 24), "w1").data["state"] == "no_show"     # the restart remembers "once"

    def test_the_catalog_publishes_the_rule(self) -> None:
        e = engine(calling={"no_show": "requeue", "requeue_after": 5, "callback_s": 900})
        rule = e.config.public_catalog().wire()["no_show_rule"]
        assert rule == {"rule": "requeue", "requeue_after": 5, "callback_s": 900}
        assert engine().config.public_catalog().wire()["no_show_rule"]["rule"] == "manual"
