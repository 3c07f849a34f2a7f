"""Online booking (预约) on the server: slots on the hall calendar, seats, the booking rules, cancel without
enumeration, check-in within the slot's grace, the no-show rule, the phone sealed at rest and erased after the
day, and ratings by token (一次一评、一事一评). Unit tier: the booking desk, engine and a real store in tmp_path."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall_bus import contract
from hall_bus.contract import BusError, ErrorCode
from hall_server import booking
from hall_server.booking_desk import BookingDesk
from hall_server.config import HallConfig, load_hall_config
from hall_server.crypto import Sealer
from hall_server.engine import Engine, HallError, Outcome
from hall_server.records import Appointment
from hall_server.store import Store
from tests.support.hall import HALL_CONFIG

BASE = load_hall_config(HALL_CONFIG)        # [staff] sign_in_required = false (tests.support.hall)
TZ = ZoneInfo(BASE.hall.timezone)
KEY = bytes(range(32))
MONDAY = date(2026, 11, 30)
PHONE = "13812345678"
SVC = "ss_enroll"          # daily_quota 300, served at w1


def at(h: int, m: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, tzinfo=TZ)


def config(*, sms: bool = False, services: dict[str, dict[str, Any]] | None = None, **booking_: Any) -> HallConfig:
    data = BASE.model_dump()
    data["booking"] = {**data["booking"], **booking_}
    for s in data["services"]:
        s.update((services or {}).get(s["id"], {}))
    if sms:
        data["sms"] = {"gateway": "dir:///nonexistent", "signature": "【大安政务】"}
    return HallConfig.model_validate(data)


def holder(n: int = 1) -> dict[str, str]:
    return {"ref": f"holder-ref-{n:04d}", "display_name": "王*"}


class Hall:
    def __init__(self, path: Path, cfg: HallConfig | None = None, now: datetime = at(9)) -> None:
        self.cfg = cfg or config()
        self.store = Store(path)
        self.store.sealer = Sealer(KEY)
        self.engine = Engine(self.cfg)
        self.engine.restore(now.date(), *self.store.load_day(now.date()), now=now)
        self.desk = BookingDesk(self.cfg, self.store)

    def commit(self, out: Outcome) -> None:
        assert not self.store.commit_many([(out, None, None, None)], self.engine.windows, self.engine.day)

    def ask(self, op: str, args: dict[str, Any], now: datetime, client: str = "web-n1") -> dict[str, Any]:
        out = Outcome()
        self.engine.roll(now, out)          # as the service does at the start of every batch
        if out.stores:
            self.commit(out)
        result = self.desk.handle(client, contract.validate_args(op, args), now, self.engine)
        if result.stores:
            self.commit(result)
        return result.data

    def slots(self, day: date, now: datetime = at(9), service: str = SVC) -> dict[str, Any]:
        return self.ask("appointment.slots", {"service": service, "date": day.isoformat()}, now)

    def book(self, day: date = MONDAY, start: str = "10:00", now: datetime = at(9), who: int = 1,
             service: str = SVC, **extra: Any) -> dict[str, Any]:
        return self.ask("appointment.book", {"service": service, "date": day.isoformat(), "start": start,
                                             "holder": holder(who), **extra}, now)

    def refused(self, op: str, args: dict[str, Any], now: datetime = at(9)) -> BusError:
        with pytest.raises(BusError) as exc:
            self.ask(op, args, now)
        return exc.value

    def book_refused(self, day: date = MONDAY, start: str = "10:00", now: datetime = at(9), who: int = 1,
                     service: str = SVC, **extra: Any) -> BusError:
        with pytest.raises(BusError) as exc:
            self.book(day, start, now, who, service, **extra)
        return exc.value

    def checkin(self, code: str, now: datetime) -> dict[str, Any]:
        roll = Outcome()
        self.engine.roll(now, roll)
        if roll.stores:
            self.commit(roll)
        out = self.engine.checkin(now, code, issued_by="kiosk-k1")
        if out.stores:
            self.commit(out)
        return out.data


@pytest.fixture
def hall(tmp_path: Path) -> Hall:
    return Hall(tmp_path / "h.sqlite3")


# ---------------------------------------------------------------- slots
def test_slots_follow_the_hall_calendar(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(days_ahead=14), at(9, day=date(2026, 9, 28)))
    now = at(9, day=date(2026, 9, 28))
    national_day = h.slots(date(2026, 10, 1), now)
    assert national_day["slots"] == [] and national_day["closed_reason"] == "法定节假日 · statutory holiday"
    tiaoxiu = h.slots(date(2026, 10, 10), now)             # a 调休 working Saturday: open
    assert len(tiaoxiu["slots"]) == 14 and "closed_reason" not in tiaoxiu
    assert tiaoxiu["slots"][0] == {"start": "08:30", "end": "09:00", "seats": 7, "left": 7}
    assert tiaoxiu["slots"][7]["start"] == "13:30"          # the lunch break has no slot
    assert h.slots(date(2026, 10, 11), now)["closed_reason"] == "周末休息 · weekend"
    assert h.slots(date(2026, 9, 27), now)["closed_reason"] == "日期已过 · the day has passed"
    assert h.book_refused(date(2026, 10, 1), "09:00", now).code == ErrorCode.CLOSED
    assert h.book(date(2026, 10, 10), "09:00", now)["end"] == "09:30"


def test_a_normal_sunday_and_the_halls_own_days(tmp_path: Path) -> None:
    cfg = config()
    data = cfg.model_dump()
    data["issuing"]["closed_days"] = [date(2026, 12, 2)]
    data["issuing"]["extra_days"] = [date(2026, 12, 5)]
    h = Hall(tmp_path / "h.sqlite3", HallConfig.model_validate(data))
    assert h.slots(date(2026, 12, 6))["closed_reason"] == "周末休息 · weekend"
    assert h.slots(date(2026, 12, 2))["closed_reason"] == "大厅当天不对外办公 · the hall is closed that day"
    assert len(h.slots(date(2026, 12, 5))["slots"]) == 14           # an extra Saturday


def test_days_ahead_and_today_only_slots_not_begun(hall: Hall) -> None:
    today = hall.slots(MONDAY, at(9, 10))
    assert today["slots"][0]["start"] == "09:30" and len(today["slots"]) == 12
    assert len(hall.slots(MONDAY + timedelta(days=7))["slots"]) == 14        # next Monday: 7 days ahead
    far = hall.slots(MONDAY + timedelta(days=8))
    assert far["slots"] == [] and far["closed_reason"] == "只能预约7天内的时段 · bookings open 7 days ahead"
    err = hall.book_refused(MONDAY, "09:00", at(9, 10))
    assert err.code == ErrorCode.CLOSED and "begun" in err.message
    assert hall.book_refused(MONDAY, "09:10", at(9, 5)).code == ErrorCode.CLOSED      # not a slot's start
    assert hall.book_refused(MONDAY + timedelta(days=8), "09:00").code == ErrorCode.CLOSED
    assert hall.slots(MONDAY, at(16, 45))["closed_reason"] == "今天的时段已全部开始 · today's slots have all begun"


def test_default_seats_are_the_share_of_the_quota_spread_over_the_slots(hall: Hall) -> None:
    seats = [s.seats for s in booking.day_slots(hall.cfg, SVC)]
    assert sum(seats) == int(300 * 0.3) and seats == [7] * 6 + [6] * 8
    few = config(services={SVC: {"daily_quota": 10}})
    assert [s.seats for s in booking.day_slots(few, SVC)] == [1, 1, 1]      # 3 seats: the earliest slots


def test_overrides_per_service_beat_per_zone() -> None:
    cfg = config(overrides=[{"zones": ["z1"], "seats": 5, "slot_minutes": 60},
                            {"services": [SVC], "seats": 2}])
    assert cfg.booking_rules(SVC).seats == 2 and cfg.booking_rules(SVC).slot_minutes == 60
    assert cfg.booking_rules("ss_transfer").seats == 5
    assert cfg.booking_rules("ap_company_reg").seats is None
    assert [(s.start, s.end) for s in booking.day_slots(cfg, SVC)][:2] == [("08:30", "09:30"), ("09:30", "10:30")]


def test_booking_config_is_validated_with_key_paths(tmp_path: Path) -> None:
    from hall_bus.configfile import ConfigError
    text = (Path(__file__).resolve().parents[2] / "config" / "hall.toml").read_text(encoding="utf-8")
    bad = text.replace("slot_minutes = 30", "slot_minutes = 1").replace(
        "# [[booking.overrides]]  #", '[[booking.overrides]]\nservices = ["nope"]\n#', 1)
    path = tmp_path / "hall.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_hall_config(path)
    problems = "\n".join(exc.value.problems)
    assert "booking.slot_minutes" in problems and "booking.overrides[0].services[0]: no service 'nope'" in problems


def test_seats_left_and_slot_full(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(seats=2))
    h.book(who=1)
    assert next(s for s in h.slots(MONDAY)["slots"] if s["start"] == "10:00") == \
        {"start": "10:00", "end": "10:30", "seats": 2, "left": 1}
    h.book(who=2)
    err = h.book_refused(who=3)
    assert err.code == ErrorCode.SLOT_FULL and "10:00-10:30" in err.message_zh
    assert next(s for s in h.slots(MONDAY)["slots"] if s["start"] == "10:00")["left"] == 0


def test_a_service_without_appointments_is_not_bookable(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(services={SVC: {"appointment": False}}))
    assert h.slots(MONDAY)["closed_reason"] == "该业务不提供预约 · this service cannot be booked"
    assert h.book_refused().code == ErrorCode.CLOSED
    assert h.refused("appointment.slots", {"service": "nope", "date": "2026-11-30"}).code == ErrorCode.UNKNOWN_SERVICE


# ---------------------------------------------------------------- booking rules
def test_code_reply_and_record(hall: Hall) -> None:
    b = hall.book(phone="138 1234 5678", sms=True)
    assert set(b) == {"code", "service", "date", "start", "end"} and (b["start"], b["end"]) == ("10:00", "10:30")
    assert len(b["code"]) == 10 and set(b["code"]) <= set(booking.CODE_ALPHABET)
    a = hall.engine.appointments[b["code"]]
    assert (a.status, a.source, a.holder_ref, a.display_name, a.phone) == \
        ("booked", "web", "holder-ref-0001", "王*", PHONE)
    assert a.consent == {"by": "web-n1", "at": "2026-11-30T09:00:00+08:00", "how": "web"}
    codes = {hall.book(MONDAY + timedelta(days=d // 4 + 1), start, who=100 + d)["code"]
             for d, start in enumerate(["09:00", "09:30", "10:00", "10:30"] * 2)}
    assert len(codes) == 8 and b["code"] not in codes


def test_an_unmasked_name_is_masked() -> None:
    assert booking.mask_name("王建国") == "王**" and booking.mask_name("王*") == "王*"


def test_duplicate_holder_and_the_cap(hall: Hall) -> None:
    hall.book()
    err = hall.book_refused(start="14:00")                  # the same service the same day: one booking
    assert err.code == ErrorCode.DUPLICATE_HOLDER
    hall.book(start="14:00", service="ss_transfer")          # another service: fine
    hall.book(MONDAY + timedelta(days=1))                    # another day: fine
    err = hall.book_refused(MONDAY + timedelta(days=2))       # a fourth open booking
    assert err.code == ErrorCode.HOLDER_CAP and "3" in err.message
    hall.book(MONDAY + timedelta(days=2), who=2)              # somebody else may


def test_phone_and_consent(hall: Hall) -> None:
    assert hall.book_refused(sms=True).code == ErrorCode.BAD_PHONE                  # consent without a phone
    assert hall.book_refused(phone="12345", sms=True).code == ErrorCode.BAD_PHONE
    b = hall.book(phone=PHONE)                                                      # no consent: dropped unread
    a = hall.engine.appointments[b["code"]]
    assert a.phone is None and a.consent is None


def test_the_booking_sms_goes_to_the_outbox_only_with_sms_configured_and_consent(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(sms=True))
    req = contract.validate_args("appointment.book", {"service": SVC, "date": "2026-12-01", "start": "09:00",
                                                      "holder": holder(), "phone": PHONE, "sms": True})
    out = h.desk.handle("web-n1", req, at(9), h.engine)
    (msg,) = out.sms
    assert msg["kind"] == "appointment_booked" and msg["phone"] == PHONE
    assert msg["ref"] == h.engine.appointments[out.data["code"]].sms_ref != out.data["code"]   # the sender logs refs
    assert msg["text"] == f"【大安政务】您已预约12月1日 09:00城镇职工养老保险参保登记，预约码{out.data['code']}，请按时到大厅取号。"
    no_consent = contract.validate_args("appointment.book", {"service": SVC, "date": "2026-12-01", "start": "09:00",
                                                             "holder": holder(2)})
    assert h.desk.handle("web-n1", no_consent, at(9), h.engine).sms == []
    plain = Hall(tmp_path / "p.sqlite3")                      # no [sms]: booking works, no SMS is written
    assert plain.desk.handle("web-n1", req, at(9), plain.engine).sms == []


def test_the_phone_is_sealed_at_rest_and_the_booking_survives_a_restart(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(sms=True))
    b = h.book(MONDAY + timedelta(days=1), phone=PHONE, sms=True)
    h.store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("h.sqlite3*"))
    assert PHONE.encode() not in raw and b"5678" not in raw
    again = Hall(tmp_path / "h.sqlite3", config(sms=True))
    a = again.engine.appointments[b["code"]]
    assert a.phone == PHONE and a.holder_ref == "holder-ref-0001" and a.source == "web"
    assert again.book_refused(MONDAY + timedelta(days=1), "14:00").code == ErrorCode.DUPLICATE_HOLDER


# ---------------------------------------------------------------- cancel
def test_cancel_frees_the_seat_and_never_says_which_part_was_wrong(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(seats=1))
    b = h.book(phone=PHONE, sms=True)
    assert h.book_refused(who=2).code == ErrorCode.SLOT_FULL
    wrong_code = h.refused("appointment.cancel", {"code": "ABCDEFGHJK", "phone_last4": "5678"})
    wrong_digits = h.refused("appointment.cancel", {"code": b["code"], "phone_last4": "0000"})
    wrong_holder = h.refused("appointment.cancel", {"code": b["code"], "holder_ref": "holder-ref-9999"})
    for err in (wrong_code, wrong_digits, wrong_holder):
        assert err.as_error() == wrong_code.as_error() and err.code == ErrorCode.UNKNOWN_APPOINTMENT
        assert b["code"] not in err.message and "5678" not in err.message
    assert h.ask("appointment.cancel", {"code": b["code"].lower(), "phone_last4": "5678"}, at(9)) == {}
    assert h.store.load_day(MONDAY)[3][0].status == "cancelled"
    assert h.refused("appointment.cancel", {"code": b["code"], "phone_last4": "5678"}).code == \
        ErrorCode.UNKNOWN_APPOINTMENT                                             # once
    h.book(who=2)                                                                  # the seat came back
    other = h.book(MONDAY + timedelta(days=1), who=3)                               # no phone: by holder reference
    assert h.ask("appointment.cancel", {"code": other["code"], "holder_ref": "holder-ref-0003"}, at(9)) == {}
    with pytest.raises(HallError) as exc:
        h.checkin(b["code"], at(10))                                                # cancelled: unknown
    assert exc.value.code == ErrorCode.UNKNOWN_APPOINTMENT


def test_an_imported_booking_cannot_be_cancelled_from_the_web(hall: Hall) -> None:
    hall.engine.add_appointments([Appointment("YY0001", SVC, MONDAY, "10:00", "11:00")])
    assert hall.refused("appointment.cancel", {"code": "YY0001", "holder_ref": "holder-ref-0001"}).code == \
        ErrorCode.UNKNOWN_APPOINTMENT


def test_a_reimported_file_never_replaces_a_web_booking(hall: Hall) -> None:
    b = hall.book()
    clash = Appointment(b["code"], "ss_transfer", MONDAY, "08:30", "17:00")
    hall.engine.add_appointments([clash])
    hall.store.save_appointments([clash])
    assert hall.engine.appointments[b["code"]].service == SVC
    assert hall.store.load_day(MONDAY)[3][0].service == SVC


# ---------------------------------------------------------------- check-in
def test_check_in_honours_the_slot(hall: Hall) -> None:
    b = hall.book(start="10:00")
    with pytest.raises(HallError) as exc:
        hall.checkin(b["code"], at(9, 29))
    assert exc.value.code == ErrorCode.TOO_EARLY
    assert exc.value.message_zh == "您的预约时段是 10:00-10:30，请在 09:30 以后签到"
    assert "10:00-10:30" in exc.value.message and b["code"] not in exc.value.message
    t = hall.checkin(b["code"].lower(), at(9, 30))
    assert t["channel"] == "appointment" and t["priority"] is True
    assert hall.store.load_day(MONDAY)[3][0].status == "checked_in"
    assert hall.checkin(b["code"], at(11))["id"] == t["id"]       # again: the same ticket
    late = hall.book(start="10:30", who=2)
    assert hall.checkin(late["code"], at(11, 15))["channel"] == "appointment"     # end 11:00 + 15 min
    later = hall.book(start="10:30", who=3)
    with pytest.raises(HallError) as exc:
        hall.checkin(later["code"], at(11, 16))
    assert exc.value.code == ErrorCode.TOO_LATE and "10:30-11:00" in exc.value.message_zh
    assert "11:15" in exc.value.message_zh
    tomorrow = hall.book(MONDAY + timedelta(days=1), "09:00", who=4)
    with pytest.raises(HallError) as exc:
        hall.checkin(tomorrow["code"], at(10))
    assert exc.value.code == ErrorCode.TOO_EARLY and "12月1日 09:00-09:30" in exc.value.message_zh
    with pytest.raises(HallError) as exc:
        hall.checkin("NOSUCHCODE", at(10))
    assert exc.value.code == ErrorCode.UNKNOWN_APPOINTMENT and "NOSUCHCODE" not in exc.value.message


def test_a_web_booking_checks_in_on_a_tiaoxiu_saturday_and_before_the_doors_open(tmp_path: Path) -> None:
    saturday = date(2026, 10, 10)
    h = Hall(tmp_path / "h.sqlite3", now=at(9, day=date(2026, 10, 9)))
    b = h.book(saturday, "08:30", now=at(9, day=date(2026, 10, 9)))
    t = h.checkin(b["code"], at(8, 5, saturday))             # weekdays = Mon-Fri, hours from 08:30: the slot governs
    assert t["channel"] == "appointment" and t["issued_at"].startswith("2026-10-10T08:05")


def test_booked_seats_are_kept_from_walk_ins(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(services={SVC: {"daily_quota": 3}}, seats=1))
    b = h.book(start="10:00")
    for _ in range(2):
        h.commit(h.engine.issue(at(10), SVC, "walk_in", open_all_day=True))
    with pytest.raises(HallError) as exc:
        h.engine.issue(at(10), SVC, "walk_in", open_all_day=True)
    assert exc.value.code == ErrorCode.QUOTA_EXHAUSTED
    assert h.checkin(b["code"], at(10))["channel"] == "appointment"


# ---------------------------------------------------------------- no-shows and retention
def test_missed_bookings_block_the_holder_for_block_days(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(no_show_limit=2, block_days=30))
    first, second = MONDAY, MONDAY + timedelta(days=1)
    h.book(first, "16:00")
    h.book(second, "16:00")
    out = Outcome()
    h.engine.roll(at(9, day=second), out)                   # the rollover: Monday's booking was missed
    assert [a.status for a in out.appointments] == ["no_show"]
    h.commit(out)
    h.book(second + timedelta(days=1), "16:00", now=at(9, day=second))      # one no-show: still bookable
    h.ask("appointment.cancel", {"code": next(c for c, a in h.engine.appointments.items()
                                              if a.day == second + timedelta(days=1)),
                                 "holder_ref": "holder-ref-0001"}, at(9, day=second))
    third = second + timedelta(days=1)
    err = h.book_refused(third + timedelta(days=1), now=at(9, day=third))     # Tuesday's was missed too
    assert err.code == ErrorCode.HOLDER_CAP
    assert "2026-12-31" in err.message and "12月31日起可再预约" in err.message_zh
    assert h.store.no_show_days("holder-ref-0001", MONDAY) == [first, second]
    h.book(third + timedelta(days=1), now=at(9, day=third), who=2)            # others are not blocked
    # 30 days after the first miss only one counts: bookable again (the no-show rows keep the holder until then)
    day = date(2026, 12, 31)
    h2 = Hall(tmp_path / "h.sqlite3", h.cfg, now=at(9, day=day))
    h2.store.prune(day, 30)
    h2.book(day, "16:00", now=at(9, day=day))


def test_holder_data_is_erased_after_the_day_except_what_the_no_show_rule_needs(tmp_path: Path) -> None:
    h = Hall(tmp_path / "h.sqlite3", config(sms=True))
    missed = h.book(start="16:00", phone=PHONE, sms=True)
    cancelled = h.book(start="16:00", who=2, phone=PHONE, sms=True)
    h.ask("appointment.cancel", {"code": cancelled["code"], "phone_last4": "5678"}, at(9))
    shown = h.book(start="10:00", who=3)
    h.checkin(shown["code"], at(10))
    out = h.desk.handle("web-n1", contract.validate_args("appointment.book", {
        "service": SVC, "date": "2026-12-01", "start": "09:00", "holder": holder(4), "phone": PHONE,
        "sms": True}), at(9), h.engine)
    h.commit(out)
    tuesday = MONDAY + timedelta(days=1)
    refs = {code: a.sms_ref for code, a in h.engine.appointments.items()}
    roll = Outcome()
    h.engine.roll(at(0, 1, tuesday), roll)
    h.commit(roll)
    h.store.prune(tuesday, 30)
    db = sqlite3.connect(h.store.path)
    rows = {code: (status, ref, phone, rec) for code, status, ref, phone, rec in db.execute(
        "SELECT code, status, holder_ref, phone, record FROM appointments")}
    assert rows[missed["code"]][:3] == ("no_show", "holder-ref-0001", None)
    assert rows[cancelled["code"]][:3] == ("cancelled", None, None)
    assert rows[shown["code"]][:3] == ("checked_in", None, None)
    assert '"display_name":null' in rows[missed["code"]][3].replace(" ", "")
    tomorrow = rows[out.data["code"]]                         # not yet its day: everything kept
    assert tomorrow[1] == "holder-ref-0004" and tomorrow[2] is not None
    sms = dict(db.execute("SELECT ref, phone_sealed IS NULL AND text_sealed IS NULL FROM sms_outbox"))
    assert sms[refs[missed["code"]]] == 1 and sms[refs[out.data["code"]]] == 0
    # after block_days the no-show row loses its holder too
    h.store.prune(tuesday + timedelta(days=31), 30)
    assert db.execute("SELECT holder_ref FROM appointments WHERE code=?", (missed["code"],)).fetchone() == (None,)
    db.close()


# ---------------------------------------------------------------- ratings by token
def _service(tmp_path: Path, now: datetime) -> Any:
    from hall_server.service import HallService
    store = Store(tmp_path / "s.sqlite3")
    store.sealer = Sealer(KEY)
    return HallService(BASE, store, "mqtt://127.0.0.1:9", open_all_day=True, clock=lambda: now)


def test_ratings_by_token_once_per_ticket_and_once_per_case(tmp_path: Path) -> None:
    now = at(9)
    s = _service(tmp_path, now)
    e = s.engine

    def call(client: str, op: str, args: dict[str, Any]) -> Outcome:
        out = s._dispatch(client, op, contract.validate_args(op, args), now)
        if out.stores:
            s.store.commit(out, e.windows, e.day)
        return out

    call("panel-w1", "window.open", {"window": "w1"})
    t = call("kiosk-k1", "ticket.issue", {"service": SVC, "channel": "walk_in"}).data
    call("panel-w1", "window.call_next", {"window": "w1"})
    case = call("panel-w1", "case.accept", {"window": "w1", "applicant": {
        "name": "王建国", "id_number": "11010519491231002X"}}).data
    call("panel-w1", "window.finish", {"window": "w1"})
    call("web-n1", "evaluation.submit", {"token": t["token"], "grade": 5})
    for client in ("web-n1", "kiosk-k1"):
        with pytest.raises(BusError) as exc:
            call(client, "evaluation.submit", {"token": t["token"], "grade": 1})
        assert exc.value.code == ErrorCode.ALREADY_RATED
    with pytest.raises(BusError) as exc:                     # an open case is rated once it is done
        call("web-n1", "evaluation.submit", {"token": case["token"], "grade": 5})
    assert exc.value.code == ErrorCode.CONFLICT
    for change in ({"change": "done", "result": "approved"}, {"change": "delivered",
                                                              "delivery": {"method": "pickup"}}):
        call("panel-w1", "case.update", {"number": case["number"], **change})
    out = call("web-n1", "evaluation.submit", {"token": case["token"], "grade": 1, "comment": "等太久了"})
    (alert,) = [ev.payload for ev in out.events]
    assert alert["kind"] == "bad_evaluation" and alert["target"] == case["number"] and alert["level"] == "red"
    assert "等太久了" not in str(alert)                    # the comment stays in the case record only
    stored = s.store.find_case(number=case["number"])
    assert (stored.grade, stored.comment) == (1, "等太久了") and stored.rated_at is not None
    with pytest.raises(BusError) as exc:
        call("web-n1", "evaluation.submit", {"token": case["token"], "grade": 5})
    assert exc.value.code == ErrorCode.ALREADY_RATED
    view = s.cases.handle("web-n1", contract.validate_args("case.get", {"token": case["token"]}), now, e).data
    assert "等太久了" not in str(view)
    with pytest.raises(BusError) as exc:
        call("web-n1", "evaluation.submit", {"token": "x" * 22, "grade": 5})
    assert exc.value.code == ErrorCode.UNKNOWN_TICKET
    s.store.close()
