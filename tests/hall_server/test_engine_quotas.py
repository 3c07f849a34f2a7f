"""Issue 12 item 3: per-period quotas (时段限号, `[[issuing.period_quotas]]`) in the engine and in the booking seats.
Unit tier: the engine and hall_server.booking on small configs, time passed in."""
from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from hall_bus.configfile import ConfigError
from hall_bus.contract import ErrorCode
from hall_server import booking
from hall_server.config import HallConfig, load_hall_config
from hall_server.engine import Appointment, Engine, HallError
from hall_server.records import BOOKED, CHECKED_IN
from tests.hall_server.test_engine import FRIDAY, REFERENCE_CONFIG, at, small_config_dict
from tests.support.hall import all_day_hall

HOURS = [["08:30", "12:00"], ["13:30", "17:00"]]


def config(period_quotas: list[dict] | None = None, hours: list[list[str]] | None = None,
           booking_: dict | None = None) -> HallConfig:
    data = small_config_dict()
    data["issuing"] = {"hours": hours or HOURS, "period_quotas": period_quotas or []}
    if booking_:
        data["booking"] = booking_
    return HallConfig.model_validate(data)


def engine(quotas: list[int] = [3, 2], services: list[str] = ["s_c"], **kw: object) -> Engine:
    return Engine(config([{"services": services, "quotas": quotas}], **kw), rng=random.Random(3))  # type: ignore[arg-type]


def refused(e: Engine, hh: int, mm: int = 0, service: str = "s_c", **kw: object) -> HallError:
    with pytest.raises(HallError) as exc:
        e.issue(at(hh, mm), service, "walk_in", **kw)  # type: ignore[arg-type]
    assert exc.value.code == ErrorCode.QUOTA_EXHAUSTED
    return exc.value


def web_booking(code: str, start: str, end: str, service: str = "s_c", day: date = FRIDAY) -> Appointment:
    return Appointment(code=code, service=service, day=day, start=start, end=end, source="web",
                       holder_ref=f"ref-{code}")


# ---------------------------------------------------------------- the engine
class TestPeriodQuotas:
    def test_a_full_morning_names_itself_and_when_the_afternoon_opens(self) -> None:
        e = engine()
        for i in range(3):
            e.issue(at(9, i), "s_c", "walk_in")
        err = refused(e, 10)
        assert "上午号已取完，下午 13:30 起可取号" in err.message_zh
        assert "the morning's numbers are all taken; the afternoon's are issued from 13:30" in err.message
        # the refused request used no number, and the afternoon has its own 2
        assert e.issue(at(13, 30), "s_c", "walk_in").data["number"] == "C004"
        assert e.issue(at(14), "s_c", "walk_in").data["number"] == "C005"

    def test_the_last_period_says_today_is_over(self) -> None:
        e = engine()
        e.issue(at(13, 40), "s_c", "walk_in")
        e.issue(at(13, 41), "s_c", "walk_in")
        err = refused(e, 15)
        assert "今日号已取完" in err.message_zh and "下午" not in err.message_zh
        assert "today's numbers are all taken" in err.message

    def test_the_morning_names_no_afternoon_that_is_already_full(self) -> None:
        """Afternoon's 2 seats are booked on the web: a full morning has nothing to promise for later."""
        e = engine()
        e.add_appointments([web_booking("WEB0000001", "13:30", "14:00"), web_booking("WEB0000002", "14:00", "14:30")])
        for i in range(3):
            e.issue(at(9, i), "s_c", "walk_in")
        assert "今日号已取完" in refused(e, 10).message_zh

    def test_a_zero_quota_period_refuses_from_the_start(self) -> None:
        e = engine([0, 5])
        assert "上午号已取完，下午 13:30 起可取号" in refused(e, 8, 30).message_zh
        assert e.issue(at(13, 30), "s_c", "walk_in").data["number"] == "C001"

    def test_a_service_without_an_entry_keeps_its_daily_quota_only(self) -> None:
        e = engine()
        for i in range(5):
            e.issue(at(9, i), "s_b", "walk_in")      # s_b has no period quota (daily 999)
        for i in range(3):                           # s_a2: daily_quota 3 and no period quota
            e.issue(at(9, 10 + i), "s_a2", "walk_in")
        err = refused(e, 10, service="s_a2")
        assert "今日3个号已取完" in err.message_zh

    def test_both_apply_the_daily_quota_first(self) -> None:
        """s_a2 has daily_quota 3 and periods of 5 and 5: the day's 3 run out before either period."""
        e = engine([5, 5], ["s_a2"])
        e.issue(at(9), "s_a2", "walk_in")
        e.issue(at(13, 30), "s_a2", "walk_in")
        e.issue(at(13, 31), "s_a2", "walk_in")
        err = refused(e, 14, service="s_a2")
        assert "今日3个号已取完" in err.message_zh

    def test_several_services_in_one_entry_count_apart(self) -> None:
        e = engine([1, 1], ["s_a1", "s_b"])
        e.issue(at(9), "s_a1", "walk_in")
        e.issue(at(9), "s_b", "walk_in")              # its own morning number
        refused(e, 9, 1, service="s_a1")
        refused(e, 9, 1, service="s_b")

    def test_open_all_day_between_periods_counts_for_the_next_one(self) -> None:
        e = engine([1, 1])
        e.issue(at(12, 30), "s_c", "walk_in", open_all_day=True)      # the lunch break: the afternoon's
        assert e.issued_in_period("s_c", 1) == 1 and e.issued_in_period("s_c", 0) == 0
        e.issue(at(9), "s_c", "walk_in")
        assert "今日号已取完" in refused(e, 13, 40).message_zh

    def test_three_periods_named_by_their_times_when_two_share_a_name(self) -> None:
        e = engine([1, 1, 1], hours=[["08:30", "10:00"], ["10:00", "12:00"], ["13:30", "17:00"]])
        e.issue(at(9), "s_c", "walk_in")
        err = refused(e, 9, 30)
        assert "08:30-10:00时段号已取完，10:00-12:00时段 10:00 起可取号" in err.message_zh
        assert "the 08:30-10:00 period's numbers are all taken; the 10:00-12:00 period's are issued from 10:00" \
            in err.message

    def test_a_restart_counts_the_periods_again(self) -> None:
        e = engine()
        issued = [e.tickets[e.issue(at(9, i), "s_c", "walk_in").data["id"]] for i in range(3)]
        again = Engine(e.config, rng=random.Random(4))
        again.restore(FRIDAY, issued, [], [], now=at(10))
        assert again.issued_in_period("s_c", 0) == 3
        assert "上午号已取完" in refused(again, 10).message_zh


class TestBookingsInPeriods:
    def test_a_morning_booking_holds_a_morning_number_only(self) -> None:
        e = engine()
        e.add_appointments([web_booking("WEB0000001", "10:00", "10:30")])
        e.issue(at(9), "s_c", "walk_in")
        e.issue(at(9, 1), "s_c", "walk_in")
        assert "上午号已取完" in refused(e, 9, 2).message_zh          # 2 issued + 1 booked = 3
        e.issue(at(13, 30), "s_c", "walk_in")                          # the afternoon's 2 are untouched
        e.issue(at(13, 31), "s_c", "walk_in")

    def test_the_booked_seat_is_taken_by_its_check_in(self) -> None:
        e = engine()
        appt = web_booking("WEB0000001", "11:30", "12:00")
        e.add_appointments([appt])
        e.issue(at(9), "s_c", "walk_in")
        e.issue(at(9, 1), "s_c", "walk_in")
        # checked in during its grace after the morning's end: still the morning's seat, and it is there
        t = e.checkin(at(12, 10), "WEB0000001").data
        assert appt.status == CHECKED_IN and t["number"] == "C003"
        assert e.issued_in_period("s_c", 0) == 3 and e.issued_in_period("s_c", 1) == 0
        e.issue(at(13, 30), "s_c", "walk_in")
        e.issue(at(13, 31), "s_c", "walk_in")
        assert "今日号已取完" in refused(e, 14).message_zh

    def test_an_afternoon_booking_leaves_the_morning_alone(self) -> None:
        e = engine()
        e.add_appointments([web_booking("WEB0000001", "14:00", "14:30")])
        for i in range(3):
            e.issue(at(9, i), "s_c", "walk_in")
        e.issue(at(13, 30), "s_c", "walk_in")
        assert "今日号已取完" in refused(e, 13, 31).message_zh          # 1 issued + 1 booked = 2
        assert [a.status for a in e.appointments.values()] == [BOOKED]


# ---------------------------------------------------------------- booking seats
class TestSeatsPerPeriod:
    def test_seats_come_out_of_each_periods_quota(self) -> None:
        cfg = config([{"services": ["s_c"], "quotas": [60, 40]}], booking_={"share": 0.3, "slot_minutes": 30})
        slots = booking.day_slots(cfg, "s_c")
        morning = [s.seats for s in slots if s.start < "12:00"]
        afternoon = [s.seats for s in slots if s.start >= "13:30"]
        assert len(morning) == 7 and len(afternoon) == 7
        assert sum(morning) == int(60 * 0.3) == 18 and morning == [3, 3, 3, 3, 2, 2, 2]
        assert sum(afternoon) == int(40 * 0.3) == 12 and afternoon == [2, 2, 2, 2, 2, 1, 1]

    def test_a_service_without_period_quotas_spreads_its_daily_quota(self) -> None:
        cfg = config([{"services": ["s_c"], "quotas": [60, 40]}], booking_={"share": 0.3})
        assert sum(s.seats for s in booking.day_slots(cfg, "s_b")) == int(999 * 0.3)

    def test_a_period_without_seats_offers_no_slot(self) -> None:
        cfg = config([{"services": ["s_c"], "quotas": [0, 10]}], booking_={"share": 0.5, "slot_minutes": 60})
        assert [(s.start, s.seats) for s in booking.day_slots(cfg, "s_c")] == [("13:30", 2), ("14:30", 2),
                                                                               ("15:30", 1)]

    def test_explicit_seats_per_slot_still_win(self) -> None:
        cfg = config([{"services": ["s_c"], "quotas": [60, 40]}], booking_={"seats": 4})
        assert {s.seats for s in booking.day_slots(cfg, "s_c")} == {4}


# ---------------------------------------------------------------- validation
class TestConfig:
    def test_the_engine_reads_the_quotas(self) -> None:
        cfg = config([{"services": ["s_c", "s_b"], "quotas": [60, 40]}])
        assert cfg.issuing.period_quotas_of("s_b") == [60, 40] and cfg.issuing.period_quotas_of("s_a1") is None

    @staticmethod
    def reference_with(tmp_path: Path, text: str) -> Path:
        """A copy of the reference hall file, its staff file beside it."""
        path = tmp_path / "hall.toml"
        path.write_text(text, encoding="utf-8")
        (tmp_path / "staff.toml").write_bytes((REFERENCE_CONFIG.parent / "staff.toml").read_bytes())
        return path

    def test_wrong_entries_are_refused_with_key_paths(self, tmp_path: Path) -> None:
        text = REFERENCE_CONFIG.read_text(encoding="utf-8")
        enabled = re.search(r"^\[\[issuing\.period_quotas\]\]\n.*?(?=\n\n)", text, flags=re.M | re.S)
        assert enabled, "config/hall.toml enables no [[issuing.period_quotas]]"
        bad = text.replace(enabled.group(0),
                           '[[issuing.period_quotas]]\nservices = ["ss_retire", "nope"]\nquotas = [60]\n'
                           '[[issuing.period_quotas]]\nservices = ["ss_retire"]\nquotas = [1, 2]\n'
                           '[[issuing.period_quotas]]\nservices = ["ss_enroll"]\nquotas = [1, -1]', 1)
        with pytest.raises(ConfigError) as exc:
            load_hall_config(self.reference_with(tmp_path, bad))
        problems = "\n".join(exc.value.problems)
        assert "issuing.period_quotas[0].quotas: 1 quotas for 2 periods of issuing.hours" in problems
        assert "issuing.period_quotas[0].services[1]: no service 'nope'" in problems
        assert "issuing.period_quotas[1].services[0]: 'ss_retire' already has period quotas" in problems
        assert "issuing.period_quotas[2].quotas[1]" in problems

    def test_the_reference_hall_enables_them_one_quota_per_period(self) -> None:
        cfg = load_hall_config(REFERENCE_CONFIG)
        assert cfg.issuing.period_quotas, "config/hall.toml enables no [[issuing.period_quotas]]"
        assert cfg.issuing.period_quotas_of("ss_retire") == [70, 50]
        assert cfg.issuing.period_quotas_of("ap_estate_move") == [90, 60]
        for pq in cfg.issuing.period_quotas:
            assert len(pq.quotas) == len(cfg.issuing.hours)
            for sid in pq.services:      # the periods add up to no more than the day: both quotas mean something
                assert sum(pq.quotas) <= cfg.services_by_id[sid].daily_quota, sid

    def test_the_reference_hours_changed_to_one_period_need_the_quotas_changed_too(self, tmp_path: Path) -> None:
        text = REFERENCE_CONFIG.read_text(encoding="utf-8")
        one = text.replace('hours = [["08:30", "12:00"], ["13:30", "17:00"]]', 'hours = [["08:30", "17:00"]]', 1)
        with pytest.raises(ConfigError) as exc:
            load_hall_config(self.reference_with(tmp_path, one))
        assert "issuing.period_quotas[0].quotas: 2 quotas for 1 periods of issuing.hours" in exc.value.problems[0]
        # the tests' and benches' all-day hall (tests.support.hall.all_day_hall) sums them into its one period
        cfg = load_hall_config(self.reference_with(tmp_path, all_day_hall(text)))
        assert cfg.issuing.hours == [("00:00", "23:59")]
        assert cfg.issuing.period_quotas_of("ss_retire") == [120]
        assert cfg.issuing.period_quotas_of("ap_estate_move") == [150]


# ---------------------------------------------------------------- the reference hall
@pytest.fixture(scope="module")
def reference() -> HallConfig:
    return load_hall_config(REFERENCE_CONFIG)


class TestReferenceHall:
    """config/hall.toml enables 时段限号 and the engine enforces it (issue 12: every rule is in hall.toml and enforced
    by the server): 退休待遇核定 has 70 numbers in the morning and 50 in the afternoon."""

    def test_a_full_morning_refuses_until_the_afternoon_and_the_afternoon_ends_the_day(self,
                                                                                       reference: HallConfig) -> None:
        e = Engine(reference, rng=random.Random(5))
        morning, afternoon = reference.issuing.period_quotas_of("ss_retire") or []
        opens = reference.issuing.hours[1][0]
        people = iter(range(1000))

        def take(now):     # id_required: every citizen swipes an ID card of their own (holder_daily_cap 3)
            return e.issue(now, "ss_retire", "id_card", {"ref": f"holder-{next(people)}", "birth_date": "1966-03-01"})

        for i in range(morning):
            take(at(8, 30) + timedelta(minutes=2 * i))
        with pytest.raises(HallError) as exc:
            take(at(11, 30))
        assert exc.value.code == ErrorCode.QUOTA_EXHAUSTED
        assert f"“退休待遇核定”上午号已取完，下午 {opens} 起可取号" in exc.value.message_zh
        assert f"the morning's numbers are all taken; the afternoon's are issued from {opens}" in exc.value.message
        assert e.issued_in_period("ss_retire", 0) == morning
        e.issue(at(11, 31), "ss_enroll", "id_card", {"ref": "someone-else", "birth_date": "1980-01-01"})  # others go on

        h, m = map(int, opens.split(":"))
        for i in range(afternoon):
            take(at(h, m) + timedelta(minutes=3 * i))
        assert e.issued_in_period("ss_retire", 1) == afternoon
        with pytest.raises(HallError) as exc:
            take(at(16, 45))
        assert exc.value.code == ErrorCode.QUOTA_EXHAUSTED        # the periods add up to the daily quota: the day's
        assert "“退休待遇核定”今日120个号已取完" in exc.value.message_zh                          # numbers are all taken
        assert e.issued_per_service["ss_retire"] == morning + afternoon == 120

    def test_the_mornings_unused_numbers_do_not_carry_over(self, reference: HallConfig) -> None:
        e = Engine(reference, rng=random.Random(6))
        _morning, afternoon = reference.issuing.period_quotas_of("ss_retire") or []
        for i in range(afternoon):
            e.issue(at(14) + timedelta(minutes=i), "ss_retire", "id_card", {"ref": f"holder-{i}",
                                                                              "birth_date": "1966-03-01"})
        with pytest.raises(HallError) as exc:
            e.issue(at(16), "ss_retire", "id_card", {"ref": "one-more", "birth_date": "1966-03-01"})
        assert exc.value.code == ErrorCode.QUOTA_EXHAUSTED
        assert exc.value.message_zh == "“退休待遇核定”今日号已取完，请改日或网上预约办理"
        assert f"the afternoon's {afternoon} were the last" in exc.value.message

    def test_booking_seats_come_out_of_each_periods_quota(self, reference: HallConfig) -> None:
        morning, afternoon = reference.issuing.period_quotas_of("ss_retire") or []
        share = reference.booking_rules("ss_retire").share
        slots = booking.day_slots(reference, "ss_retire")
        opens = reference.issuing.hours[1][0]
        assert sum(s.seats for s in slots if s.start < opens) == int(morning * share)
        assert sum(s.seats for s in slots if s.start >= opens) == int(afternoon * share)
