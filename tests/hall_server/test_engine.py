"""Unit tests of the allocation engine (hall_server/engine.py): pure, time passed in, no I/O, no sleeps."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall_bus.contract import ErrorCode
from hall_server.config import HallConfig, load_hall_config
from hall_server.engine import (
    Appointment, Engine, HallError, Outcome, Ticket, TicketState, WindowState, WindowStatus,
)

TZ = ZoneInfo("Asia/Shanghai")
FRIDAY = date(2026, 11, 27)          # a working day
SATURDAY = date(2026, 11, 28)
REFERENCE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "hall.toml"


def _service(sid: str, zone: str, prefix: str, quota: int, avg: int = 300) -> dict:
    return {"id": sid, "zone": zone, "prefix": prefix, "name": f"业务{sid}", "name_en": f"Service {sid}",
            "legal_days": 20, "promised_days": 5, "daily_quota": quota, "avg_service_s": avg,
            "materials": [{"name": "居民身份证", "name_en": "Resident ID card"}],
            "steps": ["取号等候"], "steps_en": ["Take a number"]}


def small_config_dict() -> dict:
    """Two zones, four services (A shared by two of them), four windows with overlapping services."""
    return {
        "hall": {"id": "test", "name": "测试政务服务中心", "name_en": "Test Hall", "timezone": "Asia/Shanghai"},
        "issuing": {"hours": [["08:30", "12:00"], ["13:30", "17:00"]], "weekdays": [1, 2, 3, 4, 5]},
        "priority": {"age": 70, "appointment": True},
        "supervision": {"long_wait_s": 1800, "pause_alert_s": 900, "bad_grade": 2},
        "zones": [{"id": "z1", "name": "社会保障服务区", "name_en": "Social Security"},
                  {"id": "z2", "name": "税务办理服务区", "name_en": "Taxation"}],
        "services": [_service("s_a1", "z1", "A", 999, avg=300), _service("s_a2", "z1", "A", 3, avg=600),
                     _service("s_b", "z1", "B", 999, avg=240), _service("s_c", "z2", "C", 999, avg=120)],
        "windows": [
            {"id": "w1", "name": "1号窗口", "name_en": "Window 1", "zone": "z1", "services": ["s_a1", "s_b"]},
            {"id": "w2", "name": "2号窗口", "name_en": "Window 2", "zone": "z1", "services": ["s_a1", "s_a2"]},
            {"id": "w3", "name": "3号窗口", "name_en": "Window 3", "zone": "z2", "services": ["s_c"]},
            {"id": "w4", "name": "4号窗口", "name_en": "Window 4", "zone": "z1", "services": ["s_b"]},
        ],
    }


def at(hh: int, mm: int = 0, ss: int = 0, day: date = FRIDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ)


@pytest.fixture
def cfg() -> HallConfig:
    return HallConfig.model_validate(small_config_dict())


@pytest.fixture
def eng(cfg: HallConfig) -> Engine:
    return Engine(cfg, rng=random.Random(7))


def code_of(excinfo: pytest.ExceptionInfo[HallError]) -> ErrorCode:
    return excinfo.value.code


def issue(e: Engine, service: str, now: datetime, holder: dict | None = None, channel: str = "walk_in") -> dict:
    return e.issue(now, service, channel, holder).data


def events(out: Outcome, kind: str) -> list[dict]:
    return [ev.payload for ev in out.events if ev.kind == kind]


# ---------------------------------------------------------------- numbers and counters
class TestNumbers:
    def test_first_numbers_per_prefix_start_at_001(self, eng: Engine) -> None:
        assert issue(eng, "s_a1", at(9))["number"] == "A001"
        assert issue(eng, "s_b", at(9, 1))["number"] == "B001"
        assert issue(eng, "s_a1", at(9, 2))["number"] == "A002"
        assert issue(eng, "s_c", at(9, 3))["number"] == "C001"

    def test_services_sharing_a_prefix_share_one_counter(self, eng: Engine) -> None:
        numbers = [issue(eng, s, at(9, i))["number"] for i, s in enumerate(["s_a1", "s_a2", "s_a1", "s_a2"])]
        assert numbers == ["A001", "A002", "A003", "A004"]

    def test_ticket_fields(self, eng: Engine) -> None:
        t = issue(eng, "s_c", at(9, 15), {"ref": "h1", "birth_date": "1990-01-01", "display_name": "张*"})
        assert t["state"] == "waiting" and t["zone"] == "z2" and t["service"] == "s_c"
        assert t["issued_at"] == "2026-11-27T09:15:00+08:00"
        assert t["called_at"] is None and t["window"] is None
        assert t["priority"] is False and t["ahead"] == 0
        assert len(t["verify"]) == 4 and not set(t["verify"]) & set("01IO")
        assert t["holder_name"] == "张*"                        # only in the issuing reply
        assert "holder_name" not in eng.get(at(9, 16), ticket_id=t["id"]).data
        assert t["service_name"] == "业务s_c" and t["zone_name_en"] == "Taxation"

    def test_get_by_id_number_and_verify(self, eng: Engine) -> None:
        t = issue(eng, "s_b", at(9))
        for key in ({"ticket_id": t["id"]}, {"number": "B001"}, {"verify": t["verify"].lower()}):
            assert eng.get(at(9, 1), **key).data["id"] == t["id"]

    def test_daily_quota_refuses_and_uses_no_number(self, eng: Engine) -> None:
        for i in range(3):
            issue(eng, "s_a2", at(9, i))
        with pytest.raises(HallError) as exc:
            issue(eng, "s_a2", at(9, 5))
        assert code_of(exc) == ErrorCode.QUOTA_EXHAUSTED
        assert "3" in exc.value.message_zh
        # the refused request used no number: the shared prefix continues at A004
        assert issue(eng, "s_a1", at(9, 6))["number"] == "A004"

    def test_counter_stops_at_999(self, eng: Engine) -> None:
        now = at(8, 30)
        for i in range(1, 1000):
            assert issue(eng, "s_b", now + timedelta(seconds=i))["number"] == f"B{i:03d}"
        with pytest.raises(HallError) as exc:
            issue(eng, "s_b", at(10))
        assert code_of(exc) == ErrorCode.QUOTA_EXHAUSTED

    def test_prefix_exhausted_across_services(self, eng: Engine) -> None:
        """A is shared: 3 of s_a2 + 996 of s_a1 use up A001..A999; then s_a1 (quota 999) is refused too."""
        now = at(8, 30)
        for i in range(3):
            issue(eng, "s_a2", now)
        for i in range(996):
            issue(eng, "s_a1", now + timedelta(seconds=i))
        assert eng.counters["A"] == 999
        with pytest.raises(HallError) as exc:
            issue(eng, "s_a1", at(11))
        assert code_of(exc) == ErrorCode.QUOTA_EXHAUSTED
        assert issue(eng, "s_b", at(11))["number"] == "B001"    # other prefixes unaffected

    def test_unknown_service(self, eng: Engine) -> None:
        with pytest.raises(HallError) as exc:
            issue(eng, "no_such", at(9))
        assert code_of(exc) == ErrorCode.UNKNOWN_SERVICE
        assert eng.counters == {}


# ---------------------------------------------------------------- issuing hours
class TestIssuingHours:
    @pytest.mark.parametrize("hh,mm,open_", [
        (8, 29, False), (8, 30, True), (11, 59, True), (12, 0, False), (13, 0, False),
        (13, 30, True), (16, 59, True), (17, 0, False), (22, 0, False),
    ])
    def test_hours_on_a_working_day(self, eng: Engine, hh: int, mm: int, open_: bool) -> None:
        if open_:
            assert issue(eng, "s_a1", at(hh, mm))["number"] == "A001"
        else:
            with pytest.raises(HallError) as exc:
                issue(eng, "s_a1", at(hh, mm))
            assert code_of(exc) == ErrorCode.CLOSED
            assert "08:30-12:00" in exc.value.message
            assert eng.counters == {}

    def test_weekend_is_closed(self, eng: Engine) -> None:
        with pytest.raises(HallError) as exc:
            issue(eng, "s_a1", at(10, day=SATURDAY))
        assert code_of(exc) == ErrorCode.CLOSED

    def test_open_all_day_ignores_hours_and_weekdays(self, eng: Engine) -> None:
        out = eng.issue(at(3, day=SATURDAY), "s_a1", "walk_in", open_all_day=True)
        assert out.data["number"] == "A001"

    def test_hours_follow_the_hall_time_zone(self, eng: Engine) -> None:
        """00:30 UTC is 08:30 in Shanghai: open; 04:00 UTC is 12:00: closed."""
        utc = timezone.utc
        assert issue(eng, "s_a1", datetime(2026, 11, 27, 0, 30, tzinfo=utc))["number"] == "A001"
        with pytest.raises(HallError):
            issue(eng, "s_a1", datetime(2026, 11, 27, 4, 0, tzinfo=utc))


# ---------------------------------------------------------------- holders and priority
class TestHoldersAndPriority:
    def test_one_open_ticket_per_holder_per_service(self, eng: Engine) -> None:
        holder = {"ref": "hmac-1", "birth_date": "1980-05-05"}
        first = issue(eng, "s_a1", at(9), holder)
        with pytest.raises(HallError) as exc:
            issue(eng, "s_a1", at(9, 5), holder)
        assert code_of(exc) == ErrorCode.DUPLICATE_HOLDER
        assert first["number"] in exc.value.message_zh
        assert issue(eng, "s_b", at(9, 6), holder)["number"] == "B001"     # another service is fine
        assert issue(eng, "s_a1", at(9, 7), {"ref": "hmac-2"})["number"] == "A002"   # refused one used none

    def test_holder_may_take_again_after_being_served(self, eng: Engine) -> None:
        holder = {"ref": "hmac-1"}
        issue(eng, "s_a1", at(9), holder)
        eng.call_next(at(9, 1), "w2")
        with pytest.raises(HallError):        # serving still counts as open
            issue(eng, "s_a1", at(9, 2), holder)
        eng.finish(at(9, 3), "w2")
        assert issue(eng, "s_a1", at(9, 4), holder)["number"] == "A002"

    def test_held_ticket_blocks_a_second_one(self, eng: Engine) -> None:
        holder = {"ref": "hmac-1"}
        issue(eng, "s_a1", at(9), holder)
        eng.call_next(at(9, 1), "w2")
        eng.hold(at(9, 2), "w2")
        with pytest.raises(HallError) as exc:
            issue(eng, "s_a1", at(9, 3), holder)
        assert code_of(exc) == ErrorCode.DUPLICATE_HOLDER

    def test_walk_ins_without_holder_are_never_duplicates(self, eng: Engine) -> None:
        assert [issue(eng, "s_a1", at(9, i))["number"] for i in range(3)] == ["A001", "A002", "A003"]

    @pytest.mark.parametrize("birth,priority", [
        ("1956-11-27", True),     # 70 today
        ("1956-11-28", False),    # 70 tomorrow
        ("1940-02-29", True),
        ("1990-01-01", False),
        ("not-a-date", False),
    ])
    def test_age_priority_from_birth_date(self, eng: Engine, birth: str, priority: bool) -> None:
        assert issue(eng, "s_a1", at(9), {"ref": "r", "birth_date": birth})["priority"] is priority

    def test_age_threshold_comes_from_config(self) -> None:
        d = small_config_dict()
        d["priority"]["age"] = 60
        e = Engine(HallConfig.model_validate(d), rng=random.Random(1))
        assert issue(e, "s_a1", at(9), {"ref": "r", "birth_date": "1966-01-01"})["priority"] is True

    def test_appointment_checkin_gives_priority(self, eng: Engine) -> None:
        eng.add_appointments([Appointment("YY1234", "s_b", FRIDAY)])
        walk_in = issue(eng, "s_b", at(9))
        t = eng.checkin(at(9, 10), "yy1234").data              # codes are case-insensitive
        assert t["channel"] == "appointment" and t["priority"] is True and t["number"] == "B002"
        assert eng.call_next(at(9, 20), "w4").data["id"] == t["id"]
        assert eng.call_next(at(9, 30), "w4").data["id"] == walk_in["id"]

    def test_appointment_without_priority_rule(self) -> None:
        d = small_config_dict()
        d["priority"]["appointment"] = False
        e = Engine(HallConfig.model_validate(d), rng=random.Random(1))
        e.add_appointments([Appointment("YY1", "s_b", FRIDAY)])
        assert e.checkin(at(9), "YY1").data["priority"] is False

    def test_checking_in_twice_shows_the_same_ticket(self, eng: Engine) -> None:
        eng.add_appointments([Appointment("YY1", "s_b", FRIDAY)])
        first = eng.checkin(at(9), "YY1")
        assert [a.ticket_id for a in first.appointments] == [first.data["id"]]
        again = eng.checkin(at(9, 5), "YY1")
        assert again.data["id"] == first.data["id"]
        assert not again.tickets and eng.counters["B"] == 1

    def test_checkin_errors(self, eng: Engine) -> None:
        eng.add_appointments([Appointment("TOMORROW", "s_b", SATURDAY)])
        with pytest.raises(HallError) as exc:
            eng.checkin(at(9), "NOPE")
        assert code_of(exc) == ErrorCode.UNKNOWN_APPOINTMENT       # 0.1 said unknown_ticket
        with pytest.raises(HallError) as exc:
            eng.checkin(at(9), "TOMORROW")
        assert code_of(exc) == ErrorCode.TOO_EARLY                 # another day: too early (0.1 said conflict)
        assert eng.counters == {}

    def test_checkin_respects_issuing_hours(self, eng: Engine) -> None:
        eng.add_appointments([Appointment("YY1", "s_b", FRIDAY)])
        with pytest.raises(HallError) as exc:
            eng.checkin(at(7), "YY1")
        assert code_of(exc) == ErrorCode.CLOSED
        assert eng.checkin(at(7), "YY1", open_all_day=True).data["number"] == "B001"


# ---------------------------------------------------------------- call order
class TestCallOrder:
    def test_priority_class_then_issue_time_over_the_windows_services(self, eng: Engine) -> None:
        a1 = issue(eng, "s_a1", at(9, 0))
        b1 = issue(eng, "s_b", at(9, 1))
        a2 = issue(eng, "s_a1", at(9, 2))
        old = issue(eng, "s_b", at(9, 3), {"ref": "old", "birth_date": "1940-01-01"})
        issue(eng, "s_c", at(8, 45))            # w1 does not serve s_c
        issue(eng, "s_a2", at(8, 40))           # nor s_a2
        order = [eng.call_next(at(10, i), "w1").data["number"] for i in range(4)]
        assert order == [old["number"], a1["number"], b1["number"], a2["number"]]
        with pytest.raises(HallError) as exc:
            eng.call_next(at(10, 5), "w1")
        assert code_of(exc) == ErrorCode.NO_TICKET

    def test_two_windows_share_one_queue_without_calling_the_same_ticket(self, eng: Engine) -> None:
        tickets = [issue(eng, "s_a1", at(9, i))["number"] for i in range(4)]
        got = [eng.call_next(at(10), "w1").data["number"], eng.call_next(at(10), "w2").data["number"],
               eng.call_next(at(10, 5), "w1").data["number"], eng.call_next(at(10, 5), "w2").data["number"]]
        assert got == tickets

    def test_call_event_and_state(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        out = eng.call_next(at(9, 10), "w1")
        assert out.data["state"] == "serving" and out.data["window"] == "w1"
        assert out.data["window_name"] == "1号窗口" and out.data["called_at"] == "2026-11-27T09:10:00+08:00"
        (call,) = events(out, "call")
        assert call["number"] == "A001" and call["window"] == "w1" and call["recall"] is False
        assert call["seq"] == 1 and call["ticket_id"] == t["id"] and call["zone"] == "z1"
        assert call["text_zh"] == "请A001号到1号窗口办理"
        assert call["text_en"] == "Ticket A001, please go to window 1"
        assert out.calls == [call] and eng.calls_view()[0] == call
        assert eng.windows["w1"].current == t["id"]

    def test_called_at_is_in_hall_time_even_when_now_is_utc(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        out = eng.call_next(datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc), "w1")
        assert out.data["called_at"] == "2026-11-27T10:00:00+08:00"

    def test_first_call_opens_a_closed_window(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        assert eng.windows["w1"].status is WindowStatus.CLOSED
        out = eng.call_next(at(9, 1), "w1")
        assert eng.windows["w1"].status is WindowStatus.OPEN and "w1" in out.windows

    def test_no_ticket_leaves_a_closed_window_closed(self, eng: Engine) -> None:
        with pytest.raises(HallError) as exc:
            eng.call_next(at(9), "w1")
        assert code_of(exc) == ErrorCode.NO_TICKET
        assert eng.windows["w1"].status is WindowStatus.CLOSED

    def test_calling_next_while_serving_finishes_the_current_one(self, eng: Engine) -> None:
        first = issue(eng, "s_a1", at(9))
        second = issue(eng, "s_a1", at(9, 1))
        eng.call_next(at(9, 10), "w1")
        out = eng.call_next(at(9, 14), "w1")
        assert out.data["id"] == second["id"]
        done = eng.tickets[first["id"]]
        assert done.state is TicketState.DONE and done.finished_at == at(9, 14)
        assert eng.windows["w1"].last_finished == first["id"]
        assert [e["action"] for e in events(out, "ticket")] == ["finish", "call"]
        assert eng.service_times["s_a1"][-1] == 240.0
        assert eng.avg_service_s("s_a1") == 300 + 0.2 * (240 - 300)     # smoothed from the configured 300 s

    def test_no_ticket_does_not_finish_the_current_one(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        with pytest.raises(HallError):
            eng.call_next(at(9, 14), "w1")
        assert eng.tickets[t["id"]].state is TicketState.SERVING


# ---------------------------------------------------------------- recall, call a number, no-show, hold
class TestWindowOperations:
    def test_recall_is_the_same_ticket_with_a_recall_event(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        out = eng.recall(at(9, 11), "w1")
        assert out.data["id"] == t["id"] and out.data["state"] == "serving"
        assert out.data["called_at"] == "2026-11-27T09:10:00+08:00"     # a recall is not a new call time
        (call,) = events(out, "call")
        assert call["recall"] is True and call["seq"] == 2 and call["text_zh"].startswith("重呼")
        assert eng.tickets[t["id"]].calls == 2

    def test_recall_without_a_current_ticket(self, eng: Engine) -> None:
        with pytest.raises(HallError) as exc:
            eng.recall(at(9), "w1")
        assert code_of(exc) == ErrorCode.CONFLICT

    def test_no_show(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        nxt = issue(eng, "s_a1", at(9, 1))
        eng.call_next(at(9, 10), "w1")
        out = eng.no_show(at(9, 12), "w1")
        assert out.data["state"] == "no_show" and eng.windows["w1"].current is None
        assert eng.tickets[t["id"]].finished_at is None
        assert eng.get(at(9, 13), ticket_id=nxt["id"]).data["ahead"] == 0
        assert eng.call_next(at(9, 13), "w1").data["id"] == nxt["id"]

    def test_hold_and_call_back_at_the_same_window(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        other = issue(eng, "s_a1", at(9, 1))
        eng.call_next(at(9, 10), "w1")
        held = eng.hold(at(9, 12), "w1").data
        assert held["state"] == "held" and eng.window_view("w1")["held"] == ["A001"]
        eng.call_next(at(9, 13), "w1")                        # serves A002 meanwhile
        out = eng.call_number(at(9, 20), "w1", "A001")
        assert out.data["state"] == "serving" and out.data["id"] == t["id"]
        assert [e["action"] for e in events(out, "ticket")] == ["finish", "call_back"]
        assert eng.tickets[other["id"]].state is TicketState.DONE
        assert eng.window_view("w1")["held"] == []

    def test_held_by_another_window_is_a_conflict(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        eng.hold(at(9, 12), "w1")
        with pytest.raises(HallError) as exc:
            eng.call_number(at(9, 13), "w2", "A001")
        assert code_of(exc) == ErrorCode.CONFLICT
        assert "w1" in exc.value.message

    def test_no_show_can_be_called_back_by_another_window_of_the_service(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        eng.no_show(at(9, 12), "w1")
        assert eng.window_view("w1")["no_show"] == ["A001"]          # w1's panel can offer it for call back
        out = eng.call_number(at(9, 30), "w2", "A001")
        assert out.data["window"] == "w2" and out.data["state"] == "serving"
        assert out.data["called_at"] == "2026-11-27T09:30:00+08:00"
        assert {"w1", "w2"} <= out.windows and eng.window_view("w1")["no_show"] == []   # w1's list republished

    def test_call_a_waiting_number_out_of_order(self, eng: Engine) -> None:
        first = issue(eng, "s_a1", at(9))
        issue(eng, "s_a1", at(9, 1))
        third = issue(eng, "s_a1", at(9, 2))
        assert eng.call_number(at(9, 5), "w1", "A003").data["id"] == third["id"]
        assert eng.get(at(9, 6), ticket_id=first["id"]).data["ahead"] == 0
        assert eng.call_next(at(9, 7), "w2").data["id"] == first["id"]

    @pytest.mark.parametrize("setup,number,window,code", [
        ("serving", "A001", "w2", ErrorCode.CONFLICT),      # being served elsewhere
        ("done", "A001", "w1", ErrorCode.CONFLICT),
        ("waiting", "C001", "w1", ErrorCode.CONFLICT),      # w1 does not serve s_c
        ("waiting", "Z999", "w1", ErrorCode.UNKNOWN_TICKET),
        ("waiting", "A001", "w77", ErrorCode.UNKNOWN_WINDOW),
    ])
    def test_call_number_refusals(self, eng: Engine, setup: str, number: str, window: str,
                                  code: ErrorCode) -> None:
        issue(eng, "s_a1", at(9))
        issue(eng, "s_c", at(9))
        if setup in ("serving", "done"):
            eng.call_next(at(9, 1), "w1")
        if setup == "done":
            eng.finish(at(9, 2), "w1")
        with pytest.raises(HallError) as exc:
            eng.call_number(at(9, 3), window, number)
        assert code_of(exc) == code

    def test_finish(self, eng: Engine) -> None:
        t = issue(eng, "s_c", at(9))
        eng.call_next(at(9, 10), "w3")
        out = eng.finish(at(9, 13), "w3")
        assert out.data["state"] == "done" and out.data["id"] == t["id"]
        assert eng.windows["w3"].current is None and eng.windows["w3"].last_finished == t["id"]
        assert eng.service_times["s_c"][-1] == 180.0
        with pytest.raises(HallError) as exc:
            eng.finish(at(9, 14), "w3")
        assert code_of(exc) == ErrorCode.CONFLICT

    @pytest.mark.parametrize("op", ["no_show", "hold", "finish", "recall"])
    def test_operations_need_a_current_ticket(self, eng: Engine, op: str) -> None:
        with pytest.raises(HallError) as exc:
            getattr(eng, op)(at(9), "w1")
        assert code_of(exc) == ErrorCode.CONFLICT


# ---------------------------------------------------------------- transfer
class TestTransfer:
    def test_transfer_to_a_service_keeps_number_and_issue_time(self, eng: Engine) -> None:
        early = issue(eng, "s_a1", at(9, 0))
        b_later = issue(eng, "s_b", at(9, 5))
        eng.call_next(at(9, 10), "w2")
        out = eng.transfer(at(9, 15), "w2", service="s_b")
        t = out.data
        assert t["state"] == "transferred" and t["number"] == early["number"] and t["service"] == "s_b"
        assert t["issued_at"] == early["issued_at"] and t["window"] is None and t["ahead"] == 0
        assert eng.windows["w2"].current is None
        assert {"w1", "w4"} <= out.publish_windows
        # ahead of the later B ticket in the target queue
        assert eng.get(at(9, 16), ticket_id=b_later["id"]).data["ahead"] == 1
        assert eng.call_next(at(9, 20), "w4").data["id"] == early["id"]
        assert eng.call_next(at(9, 25), "w4").data["id"] == b_later["id"]

    def test_transfer_to_another_zone_updates_both_zones(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        assert eng.zone_view("z1")["serving"] == 1
        out = eng.transfer(at(9, 15), "w1", service="s_c")
        assert out.data["zone"] == "z2"
        assert {"z1", "z2"} <= out.zones           # z1's serving count dropped, z2 gained a waiting ticket
        assert eng.zone_view("z1")["serving"] == 0 and eng.zone_view("z2")["waiting"] == 1

    def test_transfer_to_a_window(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        later = issue(eng, "s_a1", at(9, 1))
        eng.call_next(at(9, 10), "w1")
        out = eng.transfer(at(9, 15), "w1", to_window="w2")
        assert out.data["to_window"] == "w2" and "w2" in out.publish_windows
        # w1 serves s_a1 too but skips the ticket sent to w2
        assert eng.call_next(at(9, 16), "w1").data["id"] == later["id"]
        assert eng.window_view("w2")["waiting"] == 1
        got = eng.call_next(at(9, 17), "w2").data
        assert got["id"] == t["id"] and "to_window" not in got

    def test_transfer_to_a_window_of_another_service(self, eng: Engine) -> None:
        """w3 only serves s_c, but a ticket sent to it by name is still called there."""
        c = issue(eng, "s_c", at(8, 40))
        t = issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        eng.transfer(at(9, 15), "w1", to_window="w3")
        assert eng.window_view("w3")["waiting"] == 2
        assert eng.call_next(at(9, 16), "w3").data["id"] == c["id"]     # earlier issue time first
        assert eng.call_next(at(9, 17), "w3").data["id"] == t["id"]

    def test_transferred_ticket_goes_ahead_of_later_ones_in_the_same_queue(self, eng: Engine) -> None:
        first = issue(eng, "s_b", at(9))
        issue(eng, "s_b", at(9, 1))
        eng.call_next(at(9, 5), "w1")
        eng.transfer(at(9, 10), "w1", to_window="w4")
        assert eng.call_next(at(9, 11), "w4").data["id"] == first["id"]

    @pytest.mark.parametrize("kwargs,code", [
        ({"to_window": "w99"}, ErrorCode.UNKNOWN_WINDOW),
        ({"to_window": "w1"}, ErrorCode.CONFLICT),
        ({"service": "nope"}, ErrorCode.UNKNOWN_SERVICE),
    ])
    def test_refused_transfer_changes_nothing(self, eng: Engine, kwargs: dict, code: ErrorCode) -> None:
        t = issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 1), "w1")
        with pytest.raises(HallError) as exc:
            eng.transfer(at(9, 2), "w1", **kwargs)
        assert code_of(exc) == code
        assert eng.tickets[t["id"]].state is TicketState.SERVING and eng.windows["w1"].current == t["id"]
        assert eng.tickets[t["id"]].service == "s_a1"

    def test_transfer_without_a_current_ticket(self, eng: Engine) -> None:
        with pytest.raises(HallError) as exc:
            eng.transfer(at(9), "w1", service="s_b")
        assert code_of(exc) == ErrorCode.CONFLICT


# ---------------------------------------------------------------- window status
class TestWindowStatus:
    def test_pause_and_resume(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        eng.set_window(at(8, 50), "w1", "open", staff="工号007")
        out = eng.set_window(at(9, 1), "w1", "pause", reason="午休")
        assert out.data["status"] == "paused" and out.data["reason"] == "午休"
        with pytest.raises(HallError) as exc:
            eng.call_next(at(9, 2), "w1")
        assert code_of(exc) == ErrorCode.CONFLICT
        with pytest.raises(HallError) as exc:
            eng.call_number(at(9, 2), "w1", "A001")
        assert code_of(exc) == ErrorCode.CONFLICT
        assert eng.set_window(at(9, 3), "w1", "resume").data == eng.window_view("w1")
        assert eng.window_view("w1")["status"] == "open" and eng.window_view("w1")["reason"] is None
        assert eng.call_next(at(9, 4), "w1").data["number"] == "A001"
        assert eng.windows["w1"].staff == "工号007"

    @pytest.mark.parametrize("status,op", [("open", "resume"), ("closed", "resume"), ("closed", "pause")])
    def test_status_conflicts(self, eng: Engine, status: str, op: str) -> None:
        if status == "open":
            eng.set_window(at(9), "w1", "open")
        with pytest.raises(HallError) as exc:
            eng.set_window(at(9, 1), "w1", op)
        assert code_of(exc) == ErrorCode.CONFLICT

    def test_close_while_serving_is_a_conflict(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 1), "w1")
        with pytest.raises(HallError) as exc:
            eng.set_window(at(9, 2), "w1", "close")
        assert code_of(exc) == ErrorCode.CONFLICT
        eng.finish(at(9, 3), "w1")
        assert eng.set_window(at(9, 4), "w1", "close").data["status"] == "closed"

    def test_paused_window_may_still_finish(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 1), "w1")
        eng.set_window(at(9, 2), "w1", "pause")
        assert eng.finish(at(9, 3), "w1").data["state"] == "done"

    def test_unknown_window(self, eng: Engine) -> None:
        for call in (lambda: eng.call_next(at(9), "w9"), lambda: eng.set_window(at(9), "w9", "open"),
                     lambda: eng.recall(at(9), "w9"), lambda: eng.finish(at(9), "w9")):
            with pytest.raises(HallError) as exc:
                call()
            assert code_of(exc) == ErrorCode.UNKNOWN_WINDOW

    def test_window_view(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        issue(eng, "s_b", at(9))
        issue(eng, "s_a2", at(9))
        v = eng.window_view("w1")
        assert v["waiting"] == 2 and v["status"] == "closed" and v["current"] is None
        eng.call_next(at(9, 1), "w1")
        v = eng.window_view("w1")
        assert v["waiting"] == 1 and v["current"]["number"] == "A001" and v["status"] == "open"
        assert "holder_ref" not in v["current"] and "verify" not in v["current"]


# ---------------------------------------------------------------- rollover
class TestRollover:
    def test_new_business_day(self, eng: Engine) -> None:
        serving = issue(eng, "s_a1", at(9))
        waiting = issue(eng, "s_a1", at(9, 1))
        held = issue(eng, "s_b", at(9, 2))
        done = issue(eng, "s_c", at(9, 3))
        eng.call_next(at(10), "w1")            # A001
        eng.call_next(at(10), "w4")            # B001, then held
        eng.hold(at(10, 1), "w4")
        eng.call_next(at(10), "w3")
        eng.finish(at(10, 5), "w3")
        eng.set_window(at(10, 6), "w2", "open")
        eng.set_window(at(10, 6), "w3", "pause")

        monday = FRIDAY + timedelta(days=3)
        out = eng.issue(at(9, day=monday), "s_a1", "walk_in")
        assert out.rollover == monday and out.data["number"] == "A001"
        expired = {t.id for t in out.tickets.values() if t.state is TicketState.EXPIRED}
        assert expired == {waiting["id"], serving["id"], held["id"]}
        assert done["id"] not in out.tickets
        assert all(w.status is WindowStatus.CLOSED and w.current is None for w in eng.windows.values())
        assert {"w1", "w2", "w3", "w4"} == out.windows
        assert eng.day == monday and list(eng.tickets) == [out.data["id"]]
        assert eng.call_seq == 0 and eng.calls_view() == []
        with pytest.raises(HallError) as exc:
            eng.get(at(9, 1, day=monday), ticket_id=waiting["id"])
        assert code_of(exc) == ErrorCode.UNKNOWN_TICKET
        assert eng.call_next(at(9, 2, day=monday), "w1").data["number"] == "A001"
        assert [e["action"] for e in events(out, "ticket")] == ["expire"] * 3 + ["issue"]

    def test_day_boundary_is_local_midnight(self, eng: Engine) -> None:
        eng.issue(at(23, 59), "s_a1", "walk_in", open_all_day=True)
        # 16:00 UTC is midnight in Shanghai
        out = eng.issue(datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc), "s_a1", "walk_in", open_all_day=True)
        assert out.rollover == SATURDAY and out.data["number"] == "A001"

    def test_quota_restarts(self, eng: Engine) -> None:
        for i in range(3):
            issue(eng, "s_a2", at(9, i))
        assert issue(eng, "s_a2", at(9, day=FRIDAY + timedelta(days=3)))["number"] == "A001"

    def test_appointments_of_later_days_survive(self, eng: Engine) -> None:
        eng.add_appointments([Appointment("OLD", "s_b", FRIDAY), Appointment("NEXT", "s_b", SATURDAY)])
        eng.roll(at(9, day=SATURDAY), Outcome())
        assert set(eng.appointments) == {"NEXT"}

    def test_roll_within_the_day_changes_nothing(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        out = Outcome()
        eng.roll(at(16), out)
        assert out.rollover is None and not out.tickets and len(eng.tickets) == 1


# ---------------------------------------------------------------- estimates
class TestEstimates:
    def test_ahead_counts_tickets_called_before(self, eng: Engine) -> None:
        ts = [issue(eng, "s_a1", at(9, i)) for i in range(3)]
        assert [t["ahead"] for t in ts] == [0, 1, 2]
        prio = issue(eng, "s_a1", at(9, 5), {"ref": "x", "birth_date": "1930-01-01"})
        assert prio["ahead"] == 0
        assert eng.get(at(9, 6), ticket_id=ts[2]["id"]).data["ahead"] == 3

    def test_ahead_counts_other_services_the_same_windows_call_first(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        issue(eng, "s_a1", at(9, 1))
        a2 = issue(eng, "s_a2", at(9, 2))
        assert a2["ahead"] == 2                       # w2, its only window, calls both s_a1 tickets first
        b = issue(eng, "s_b", at(9, 3))
        assert b["ahead"] == 0                        # w4 serves s_b alone
        eng.set_window(at(9, 4), "w1", "open")        # now only w1 is open, and it calls the s_a1 tickets first
        assert eng.get(at(9, 5), ticket_id=b["id"]).data["ahead"] == 2

    def test_est_wait_from_configured_average_without_samples(self, eng: Engine) -> None:
        issue(eng, "s_a2", at(9))
        t = issue(eng, "s_a2", at(9, 1))
        assert t["est_wait_s"] == 600                  # 1 ahead x 600 s, no window open: its one scheduled (w2)

    def test_est_wait_from_recent_service_times(self, eng: Engine) -> None:
        for i in range(4):
            issue(eng, "s_c", at(9, i))
        eng.call_next(at(9, 10), "w3")
        eng.call_next(at(9, 12), "w3")                 # 120 s
        eng.call_next(at(9, 16), "w3")                 # 240 s
        t = issue(eng, "s_c", at(9, 17))
        smoothed = 120 + 0.2 * (120 - 120)             # configured 120 s, then 120 s
        smoothed += 0.2 * (240 - smoothed)             # then 240 s
        # w3 is busy with C003: half of the ticket under way counts too
        assert t["ahead"] == 1 and t["est_wait_s"] == round(smoothed * (1 + 0.5)) == 216

    def test_est_wait_divides_by_open_windows(self, eng: Engine) -> None:
        for i in range(4):
            issue(eng, "s_b", at(9, i))
        eng.set_window(at(9), "w1", "open")
        eng.set_window(at(9), "w4", "open")
        t = issue(eng, "s_b", at(9, 10))
        assert t["ahead"] == 4 and t["est_wait_s"] == 4 * 240 // 2

    def test_serving_ticket_has_no_wait(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        data = eng.call_next(at(9, 1), "w1").data
        assert data["ahead"] == 0 and data["est_wait_s"] == 0

    def test_zone_view(self, eng: Engine) -> None:
        for i in range(3):
            issue(eng, "s_a1", at(9, i))
        issue(eng, "s_c", at(9))
        eng.call_next(at(9, 5), "w1")
        z = eng.zone_view("z1")
        assert z["waiting"] == 2 and z["serving"] == 1 and z["open_windows"] == 1
        assert z["last_called"] == ["A001"]
        assert eng.zone_view("z2")["waiting"] == 1


# ---------------------------------------------------------------- evaluation
class TestEvaluation:
    def _served(self, eng: Engine) -> dict:
        t = issue(eng, "s_c", at(9))
        eng.call_next(at(9, 1), "w3")
        return t

    def test_only_when_done(self, eng: Engine) -> None:
        t = self._served(eng)
        with pytest.raises(HallError) as exc:
            eng.evaluate(at(9, 2), 5, ticket_id=t["id"])
        assert code_of(exc) == ErrorCode.CONFLICT
        eng.finish(at(9, 3), "w3")
        out = eng.evaluate(at(9, 4), 5, verify=t["verify"])
        assert out.data == {} and eng.tickets[t["id"]].grade == 5
        assert events(out, "alert") == []
        assert events(out, "ticket")[0]["grade"] == 5

    def test_once_per_ticket(self, eng: Engine) -> None:
        t = self._served(eng)
        eng.finish(at(9, 3), "w3")
        eng.evaluate(at(9, 4), 4, ticket_id=t["id"])
        with pytest.raises(HallError) as exc:
            eng.evaluate(at(9, 5), 1, ticket_id=t["id"])
        assert code_of(exc) == ErrorCode.ALREADY_RATED        # (0.1 and round 2 said conflict)
        assert eng.tickets[t["id"]].grade == 4

    def test_bad_grade_raises_an_alert(self, eng: Engine) -> None:
        t = self._served(eng)
        eng.finish(at(9, 3), "w3")
        (alert,) = events(eng.evaluate(at(9, 4), 2, "态度不好", ticket_id=t["id"]), "alert")
        assert alert["kind"] == "bad_evaluation" and alert["grade"] == 2 and alert["window"] == "w3"
        assert alert["text_zh"].endswith("（3号窗口）收到差评：2分")
        assert alert["comment"] == "态度不好"

    def test_unknown_ticket(self, eng: Engine) -> None:
        with pytest.raises(HallError) as exc:
            eng.evaluate(at(9), 5, verify="ZZZZ")
        assert code_of(exc) == ErrorCode.UNKNOWN_TICKET


# ---------------------------------------------------------------- supervision
class TestSupervision:
    def test_long_wait_alert_once(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        assert events(eng.supervise(at(9, 29, 59)), "alert") == []
        out = eng.supervise(at(9, 30))
        (alert,) = events(out, "alert")
        assert alert["kind"] == "long_wait" and alert["ticket"] == t["number"] and alert["waited_s"] == 1800
        assert t["id"] in out.tickets                            # the flag is stored
        assert events(eng.supervise(at(9, 45)), "alert") == []

    def test_served_tickets_raise_no_wait_alert(self, eng: Engine) -> None:
        issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        assert events(eng.supervise(at(10)), "alert") == []

    def test_pause_alert_once_and_again_after_a_new_pause(self, eng: Engine) -> None:
        eng.set_window(at(9), "w1", "open")
        eng.set_window(at(9, 5), "w1", "pause", reason="系统故障")
        assert events(eng.supervise(at(9, 19)), "alert") == []
        (alert,) = events(eng.supervise(at(9, 20)), "alert")
        assert alert["kind"] == "window_paused" and alert["window"] == "w1" and alert["reason"] == "系统故障"
        assert events(eng.supervise(at(9, 40)), "alert") == []
        eng.set_window(at(9, 41), "w1", "resume")
        eng.set_window(at(9, 42), "w1", "pause")
        assert len(events(eng.supervise(at(9, 57)), "alert")) == 1


# ---------------------------------------------------------------- records
def test_ticket_and_window_records_round_trip(eng: Engine) -> None:
    issue(eng, "s_a1", at(9), {"ref": "r1", "birth_date": "1950-01-01", "display_name": "李*"})
    eng.call_next(at(9, 5), "w1")
    for t in eng.tickets.values():
        assert Ticket.from_record(t.to_record()) == t
    for w in eng.windows.values():
        assert WindowState.from_record(w.to_record()) == w


def test_restore_rebuilds_queues_counters_and_calls(cfg: HallConfig, eng: Engine) -> None:
    for i in range(3):
        issue(eng, "s_a1", at(9, i))
    issue(eng, "s_a2", at(9, 3))
    issue(eng, "s_a2", at(9, 4))
    eng.call_next(at(9, 5), "w1")
    eng.transfer(at(9, 6), "w1", service="s_a2")      # an s_a1 ticket now waits for s_a2
    eng.call_next(at(9, 7), "w1")
    again = Engine(cfg, rng=random.Random(8))
    again.restore(FRIDAY, [Ticket.from_record(t.to_record()) for t in eng.tickets.values()],
                  [WindowState.from_record(w.to_record()) for w in eng.windows.values()],
                  list(reversed(eng.calls_view())))
    assert again.counters == eng.counters
    assert again.queues == eng.queues
    assert again.calls_view() == eng.calls_view() and again.call_seq == eng.call_seq
    assert again.issued_per_service == eng.issued_per_service      # quota counts by the service issued for
    assert issue(again, "s_a1", at(9, 8))["number"] == "A006"
    # s_a2 issued 2 of its 3: one more, then the quota is reached (a transfer in does not use its quota)
    issue(again, "s_a2", at(9, 9))
    with pytest.raises(HallError):
        issue(again, "s_a2", at(9, 10))


# ---------------------------------------------------------------- repeated calls (PROTOCOL part 2, calling)
class TestRepeatedCalls:
    def test_a_keypad_pressed_15_times_makes_one_call_and_14_recalls(self, eng: Engine) -> None:
        tickets = [issue(eng, "s_a1", at(9, 0, i)) for i in range(15)]
        start = at(9, 10)
        replies, calls = [], []
        for i in range(15):
            out = eng.call_next(start + timedelta(seconds=0.7 * i), "w1")
            replies.append(out.data["id"])
            calls += events(out, "call")
        assert replies == [tickets[0]["id"]] * 15
        assert [c["recall"] for c in calls] == [False] + [True] * 14
        assert eng.tickets[tickets[0]["id"]].state is TicketState.SERVING
        assert all(eng.tickets[t["id"]].state is TicketState.WAITING for t in tickets[1:])
        assert eng.tickets[tickets[0]["id"]].calls == 15

    def test_a_call_after_the_repeat_window_is_a_new_call(self, eng: Engine) -> None:
        first, second = issue(eng, "s_a1", at(9)), issue(eng, "s_a1", at(9, 1))
        eng.call_next(at(9, 10), "w1")
        out = eng.call_next(at(9, 10, 5), "w1")          # default repeat_window_s = 5
        assert out.data["id"] == second["id"] and events(out, "call")[0]["recall"] is False
        assert eng.tickets[first["id"]].state is TicketState.DONE

    def test_a_recall_restarts_the_repeat_window(self, eng: Engine) -> None:
        first = issue(eng, "s_a1", at(9))
        issue(eng, "s_a1", at(9, 1))
        eng.call_next(at(9, 10), "w1")
        eng.recall(at(9, 10, 4), "w1")
        assert eng.call_next(at(9, 10, 8), "w1").data["id"] == first["id"]

    def test_repeats_when_nobody_else_waits_recall_instead_of_no_ticket(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 10), "w1")
        assert eng.call_next(at(9, 10, 1), "w1").data["id"] == t["id"]
        with pytest.raises(HallError) as exc:
            eng.call_next(at(9, 10, 30), "w1")
        assert code_of(exc) == ErrorCode.NO_TICKET

    def test_other_windows_are_not_affected(self, eng: Engine) -> None:
        a, b = issue(eng, "s_a1", at(9)), issue(eng, "s_a1", at(9, 1))
        assert eng.call_next(at(9, 10), "w1").data["id"] == a["id"]
        assert eng.call_next(at(9, 10, 1), "w2").data["id"] == b["id"]

    def test_calling_the_current_number_again_is_a_recall(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        other = issue(eng, "s_a1", at(9, 1))
        eng.call_number(at(9, 10), "w1", t["number"])
        out = eng.call_number(at(9, 10, 2), "w1", t["number"])
        assert out.data["id"] == t["id"] and events(out, "call")[0]["recall"] is True
        # another number is a deliberate choice, even at once
        assert eng.call_number(at(9, 10, 3), "w1", other["number"]).data["id"] == other["id"]

    def test_the_window_is_configurable(self) -> None:
        d = small_config_dict()
        d["calling"] = {"repeat_window_s": 0}
        e = Engine(HallConfig.model_validate(d), rng=random.Random(7))
        first, second = issue(e, "s_a1", at(9)), issue(e, "s_a1", at(9, 1))
        e.call_next(at(9, 10), "w1")
        assert e.call_next(at(9, 10), "w1").data["id"] == second["id"]
        assert HallConfig.model_validate(small_config_dict()).calling.no_show == "manual"

    def test_restore_keeps_the_last_call_time(self, cfg: HallConfig, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        issue(eng, "s_a1", at(9, 1))
        eng.call_next(at(9, 10), "w1")
        again = Engine(cfg, rng=random.Random(8))
        again.restore(FRIDAY, [Ticket.from_record(x.to_record()) for x in eng.tickets.values()],
                      [WindowState.from_record(w.to_record()) for w in eng.windows.values()],
                      list(reversed(eng.calls_view())))
        assert again.call_next(at(9, 10, 2), "w1").data["id"] == t["id"]


# ---------------------------------------------------------------- the reference hall
@pytest.fixture(scope="module")
def reference() -> HallConfig:
    return load_hall_config(REFERENCE_CONFIG)


def test_reference_hall_serves_every_zone(reference: HallConfig) -> None:
    e = Engine(reference, rng=random.Random(3))
    by_zone: dict[str, str] = {}
    for s in reference.services:
        by_zone.setdefault(s.zone, s.id)
    assert set(by_zone) == {"z1", "z2", "z3", "z4", "z5", "z6"}
    for zone, sid in by_zone.items():
        holder = {"ref": f"ref-{zone}", "birth_date": "1980-01-01"} if reference.services_by_id[sid].id_required else None
        t = issue(e, sid, at(9), holder)
        window = e.service_windows[sid][0]
        out = e.call_next(at(9, 5), window)
        assert out.data["id"] == t["id"] and out.data["zone"] == zone
        (call,) = events(out, "call")
        name = reference.windows_by_id[window].name
        assert call["text_zh"] == f"请{t['number']}号到{name}办理"
        assert call["text_en"].endswith(f"window {name.removesuffix('号窗口')}")


def test_reference_hall_hours_and_priority(reference: HallConfig) -> None:
    e = Engine(reference, rng=random.Random(3))
    sid = reference.services[0].id
    with pytest.raises(HallError) as exc:
        issue(e, sid, at(12, 30))
    assert code_of(exc) == ErrorCode.CLOSED
    assert issue(e, sid, at(13, 30), {"ref": "r", "birth_date": "1950-06-01"})["priority"] is True


def test_reference_hall_quota(reference: HallConfig) -> None:
    e = Engine(reference, rng=random.Random(3))
    svc = min(reference.services, key=lambda s: s.daily_quota)
    for i in range(svc.daily_quota):
        e.issue(at(9), svc.id, "walk_in")
    with pytest.raises(HallError) as exc:
        e.issue(at(9), svc.id, "walk_in")
    assert code_of(exc) == ErrorCode.QUOTA_EXHAUSTED


class TestTokens:
    """Every ticket has a long random token (PROTOCOL part 2): the key of its web page and QR code."""

    def test_token_is_long_unique_and_finds_the_ticket(self, eng: Engine) -> None:
        tickets = [issue(eng, "s_c", at(9, 0, i)) for i in range(50)]
        tokens = [t["token"] for t in tickets]
        assert len(set(tokens)) == 50 and all(len(tok) >= 16 for tok in tokens)
        got = eng.get(at(9, 5), token=tokens[7]).data
        assert got["id"] == tickets[7]["id"] and got["token"] == tokens[7]
        with pytest.raises(HallError) as exc:
            eng.get(at(9, 5), token="x" * 22)
        assert code_of(exc) == ErrorCode.UNKNOWN_TICKET and "x" * 22 not in str(exc.value)   # never logged

    def test_token_never_in_public_views_or_events(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        out = eng.call_next(at(9, 1), "w1")
        public = [eng.window_view("w1"), eng.zone_view("z1", at(9, 2)), eng.queue_view("z1"), *eng.calls_view(),
                  *(ev.payload for ev in out.events)]
        assert t["token"] not in repr(public)

    def test_token_survives_a_restart(self, eng: Engine, cfg: HallConfig) -> None:
        t = issue(eng, "s_c", at(9))
        again = Engine(cfg)
        again.restore(FRIDAY, [Ticket.from_record(x.to_record()) for x in eng.tickets.values()], [], [])
        assert again.get(at(9, 1), token=t["token"]).data["id"] == t["id"]


class TestIdRequired:
    """An id_required service needs an ID card holder on the walk-in and ID-card channels, whoever asks."""

    @pytest.fixture
    def eng(self) -> Engine:
        d = small_config_dict()
        d["services"][3]["id_required"] = True
        return Engine(HallConfig.model_validate(d), rng=random.Random(7))

    @pytest.mark.parametrize("channel", ["walk_in", "id_card"])
    def test_refused_without_a_holder(self, eng: Engine, channel: str) -> None:
        with pytest.raises(HallError) as exc:
            issue(eng, "s_c", at(9), channel=channel)
        assert code_of(exc) == ErrorCode.ID_REQUIRED and "身份证" in exc.value.message_zh
        assert eng.counters == {}                                    # a refused request uses no number

    def test_issued_with_a_holder_and_on_exempt_channels(self, eng: Engine) -> None:
        assert issue(eng, "s_c", at(9), {"ref": "ref-0001", "birth_date": "1948-03-01"}, "id_card")["number"] == "C001"
        assert issue(eng, "s_c", at(9, 1), channel="staff")["number"] == "C002"
        eng.add_appointments([Appointment("AP-1", "s_c", FRIDAY)])
        assert eng.checkin(at(9, 2), "AP-1").data["number"] == "C003"


def test_zone_view_counts_each_service(eng: Engine) -> None:
    issue(eng, "s_a1", at(9))
    issue(eng, "s_a1", at(9, 10))
    issue(eng, "s_b", at(9, 20))
    z = eng.zone_view("z1", at(9, 30))
    assert z["services"]["s_a1"]["waiting"] == 2 and z["services"]["s_a1"]["longest_wait_s"] == 1800
    # nothing open yet, its scheduled windows count: w1 calls the two earlier s_a1 tickets first, so w4 calls B001 and,
    # 240 s later, a new s_b ticket
    assert z["services"]["s_b"] == {"waiting": 1, "est_wait_s": 240, "longest_wait_s": 600}
    assert z["services"]["s_a2"]["waiting"] == 0 and set(z["services"]) == {"s_a1", "s_a2", "s_b"}


def test_queue_state_lists_the_front_of_a_long_queue_within_the_message_limit(eng: Engine) -> None:
    from hall_bus.contract import MAX_PAYLOAD, encode_json
    from hall_server.views import MAX_QUEUE_ENTRIES
    for i in range(650):
        issue(eng, "s_a1", at(9, 0, 0) + timedelta(seconds=2 * i))
        issue(eng, "s_b", at(9, 0, 1) + timedelta(seconds=2 * i))
    view = eng.queue_view("z1")
    assert len(view["tickets"]) == MAX_QUEUE_ENTRIES and view["more"] == 1300 - MAX_QUEUE_ENTRIES
    assert len(encode_json(view)) < MAX_PAYLOAD
    listed = max(a for a, _e in view["tickets"].values())
    unlisted = [t for t in eng.tickets.values() if t.id not in view["tickets"]]
    assert unlisted and min(eng.ahead_of(t) for t in unlisted) >= listed     # the front of the queue is listed
    for tid, (ahead, est) in list(view["tickets"].items())[:50]:
        assert [ahead, est] == [eng.ticket_view(eng.tickets[tid])["ahead"], eng.ticket_view(eng.tickets[tid])["est_wait_s"]]


# ---------------------------------------------------------------- ticket.cancel (PROTOCOL part 2; issue 9 finding 8)
class TestCancel:
    def test_a_kiosk_cancels_its_own_unclaimed_ticket(self, eng: Engine) -> None:
        t = eng.issue(at(9), "s_a1", "walk_in", issued_by="kiosk-k1").data
        nxt = issue(eng, "s_a1", at(9, 1))
        assert eng.tickets[t["id"]].issued_by == "kiosk-k1"
        out = eng.cancel(at(9, 2), "unclaimed", ticket_id=t["id"], only_issued_by="kiosk-k1")
        assert out.data["state"] == "cancelled" and eng.tickets[t["id"]].finished_at is not None
        (ev,) = events(out, "ticket")
        assert ev["action"] == "cancel" and ev["reason"] == "unclaimed"
        assert eng.get(at(9, 3), ticket_id=nxt["id"]).data["ahead"] == 0      # dequeued
        assert eng.call_next(at(9, 4), "w1").data["id"] == nxt["id"]
        with pytest.raises(HallError) as exc:                                   # final
            eng.cancel(at(9, 5), "unclaimed", number=t["number"], only_issued_by="kiosk-k1")
        assert code_of(exc) == ErrorCode.CONFLICT

    def test_a_kiosk_may_not_cancel_another_clients_ticket(self, eng: Engine) -> None:
        t = eng.issue(at(9), "s_a1", "walk_in", issued_by="kiosk-k2").data
        with pytest.raises(HallError) as exc:
            eng.cancel(at(9, 1), "unclaimed", ticket_id=t["id"], only_issued_by="kiosk-k1")
        assert code_of(exc) == ErrorCode.FORBIDDEN
        assert eng.tickets[t["id"]].state is TicketState.WAITING

    def test_cancelling_a_serving_ticket_frees_its_window(self, eng: Engine) -> None:
        t = issue(eng, "s_a1", at(9))
        eng.call_next(at(9, 1), "w1")
        out = eng.cancel(at(9, 2), "left", ticket_id=t["id"], actor="sup1")
        assert eng.windows["w1"].current is None and "w1" in out.windows

    def test_issued_by_survives_the_store_record(self, eng: Engine) -> None:
        t = eng.issue(at(9), "s_a1", "walk_in", issued_by="kiosk-k1").data
        assert Ticket.from_record(eng.tickets[t["id"]].to_record()).issued_by == "kiosk-k1"


def test_kept_queue_state_matches_a_fresh_one_after_issues_past_the_cap(eng: Engine) -> None:
    for i in range(650):
        issue(eng, "s_a1", at(9, 0, 0) + timedelta(seconds=2 * i))
        issue(eng, "s_b", at(9, 0, 1) + timedelta(seconds=2 * i))
    eng.queue_view("z1")                                   # kept from here on
    for i in range(30):
        issue(eng, "s_a1", at(10) + timedelta(seconds=i))  # behind everyone listed: counted in `more`
    kept = eng.queue_view("z1")
    eng._queue_cache.clear()
    assert kept == eng.queue_view("z1") and kept["more"] == 330
