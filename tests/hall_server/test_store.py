"""The SQLite record of the hall: commit and reload, idempotency records, one transaction per request."""
from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall_server.config import HallConfig
from hall_server.engine import Appointment, Engine, Outcome, TicketState, WindowStatus
from hall_server.store import Store

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def _service(sid: str, zone: str, prefix: str) -> dict:
    return {"id": sid, "zone": zone, "prefix": prefix, "name": f"业务{sid}", "name_en": f"Service {sid}",
            "legal_days": 20, "promised_days": 5, "daily_quota": 500,
            "materials": [{"name": "居民身份证", "name_en": "Resident ID card"}],
            "steps": ["取号等候"], "steps_en": ["Take a number"]}


CONFIG = HallConfig.model_validate({
    "hall": {"id": "store", "name": "测试大厅", "name_en": "Store hall"},
    "issuing": {"hours": [["08:30", "17:00"]]},
    "zones": [{"id": "z1", "name": "一区", "name_en": "Zone 1"}, {"id": "z2", "name": "二区", "name_en": "Zone 2"}],
    "services": [_service("a", "z1", "A"), _service("b", "z2", "B")],
    "windows": [{"id": "w1", "name": "1号窗口", "name_en": "Window 1", "zone": "z1", "services": ["a"]},
                {"id": "w2", "name": "2号窗口", "name_en": "Window 2", "zone": "z2", "services": ["b"]}],
})


class Hall:
    """An engine whose every outcome is committed to a store, as the service does."""

    def __init__(self, path: Path, seed: int = 1) -> None:
        self.store = Store(path)
        self.engine = Engine(CONFIG, rng=random.Random(seed))

    def do(self, op: str, *args, client: str | None = None, request_id: str | None = None, **kwargs) -> Outcome:
        out = getattr(self.engine, op)(*args, **kwargs)
        reply = {"v": 1, "id": request_id, "ok": True, "data": out.data} if request_id else None
        self.store.commit_many([(out, client, request_id, reply)], self.engine.windows, self.engine.day)
        return out

    def reopen(self, path: Path) -> Engine:
        self.store.close()
        self.store = Store(path)
        again = Engine(CONFIG, rng=random.Random(99))
        again.restore(DAY, *self.store.load_day(DAY))
        return again


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "hall.sqlite3"


@pytest.fixture
def hall(db: Path):
    h = Hall(db)
    yield h
    h.store.close()


def test_pragmas(hall: Hall, db: Path) -> None:
    assert db.exists()
    assert hall.store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert hall.store.db.execute("PRAGMA synchronous").fetchone()[0] == 2       # FULL
    other = sqlite3.connect(db)          # WAL is a property of the file, seen by every connection
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_commit_and_reload_rebuilds_the_queue(hall: Hall, db: Path) -> None:
    a1 = hall.do("issue", at(9), "a", "walk_in", {"ref": "r1", "birth_date": "1950-01-01", "display_name": "王*"}).data
    a2 = hall.do("issue", at(9, 1), "a", "walk_in").data
    a3 = hall.do("issue", at(9, 2), "a", "walk_in").data
    b1 = hall.do("issue", at(9, 3), "b", "id_card").data
    hall.do("call_next", at(9, 5), "w1")                       # A001 (priority)
    hall.do("recall", at(9, 6), "w1")
    hall.do("hold", at(9, 7), "w1")
    hall.do("call_next", at(9, 8), "w1")                       # A002
    hall.do("finish", at(9, 12), "w1")
    hall.do("evaluate", at(9, 13), 5, ticket_id=a2["id"])
    hall.do("set_window", at(9, 14), "w2", "open")
    hall.do("set_window", at(9, 15), "w2", "pause", reason="培训")

    again = hall.reopen(db)
    e = hall.engine
    assert {tid: t.to_record() for tid, t in again.tickets.items()} == \
        {tid: t.to_record() for tid, t in e.tickets.items()}
    assert again.tickets[a1["id"]].state is TicketState.HELD
    assert again.tickets[a2["id"]].grade == 5
    assert again.counters == {"A": 3, "B": 1}
    assert again.queues == e.queues
    assert again.windows["w2"].status is WindowStatus.PAUSED and again.windows["w2"].reason == "培训"
    assert again.windows["w1"].last_finished == a2["id"]
    assert again.calls_view() == e.calls_view() and again.call_seq == 3
    assert again.avg_service_s("a") == e.avg_service_s("a")     # recent service times come back too
    assert list(again.service_times["a"]) == [240.0]
    # the restored hall goes on where it stopped
    assert again.call_next(at(9, 20), "w1").data["id"] == a3["id"]
    assert again.issue(at(9, 21), "b", "walk_in").data["number"] == "B002"
    assert again.call_number(at(9, 22), "w1", "A001").data["state"] == "serving"
    assert again.get(at(9, 23), verify=b1["verify"]).data["id"] == b1["id"]
    assert hall.store.last_day() == DAY


def test_stored_reply_for_a_retry(hall: Hall) -> None:
    out = hall.do("issue", at(9), "a", "walk_in", client="kiosk-k1", request_id="req-1")
    stored = hall.store.stored_reply("kiosk-k1", "req-1")
    assert stored == {"v": 1, "id": "req-1", "ok": True, "data": out.data}
    assert stored["data"]["issued_at"] == "2026-11-27T09:00:00+08:00"
    assert hall.store.stored_reply("kiosk-k2", "req-1") is None       # request ids are per client
    assert hall.store.stored_reply("kiosk-k1", "req-2") is None


def test_a_failed_transaction_stores_nothing(hall: Hall) -> None:
    """The state change and its idempotency record go in together or not at all."""
    hall.do("issue", at(9), "a", "walk_in", client="kiosk-k1", request_id="req-1")
    out = hall.engine.issue(at(9, 1), "a", "walk_in")
    reply = {"v": 1, "id": "req-1", "ok": True, "data": out.data}
    failed = hall.store.commit_many([(out, "kiosk-k1", "req-1", reply)], hall.engine.windows, DAY)
    assert [(i, type(exc)) for i, exc in failed] == [(0, sqlite3.IntegrityError)]
    assert [t["number"] for t in hall.store.tickets_of(DAY)] == ["A001"]
    assert [e["action"] for e in hall.store.events_of(DAY, "ticket")] == ["issue"]
    hall.do("issue", at(9, 2), "b", "walk_in", client="kiosk-k1", request_id="req-3")   # the store still works
    assert hall.store.stored_reply("kiosk-k1", "req-3")["data"]["number"] == "B001"


def test_group_commit_of_several_requests(hall: Hall, db: Path) -> None:
    e = hall.engine
    items = []
    for i in range(5):
        out = e.issue(at(9, i), "a", "walk_in")
        items.append((out, f"kiosk-k{i}", "r", {"v": 1, "id": "r", "ok": True, "data": out.data}))
    hall.store.commit_many(items, e.windows, e.day)
    again = hall.reopen(db)
    assert sorted(t.number for t in again.tickets.values()) == [f"A00{i}" for i in range(1, 6)]
    assert all(hall.store.stored_reply(f"kiosk-k{i}", "r") for i in range(5))


def test_events_and_tickets_of_a_day(hall: Hall) -> None:
    t = hall.do("issue", at(9), "a", "walk_in").data
    hall.do("call_next", at(9, 5), "w1")
    hall.do("finish", at(9, 9), "w1")
    hall.do("evaluate", at(9, 10), 1, "太慢", ticket_id=t["id"])
    tickets = list(hall.store.tickets_of(DAY))
    assert len(tickets) == 1 and tickets[0]["state"] == "done" and tickets[0]["grade"] == 1
    assert [e["action"] for e in hall.store.events_of(DAY, "ticket")] == ["issue", "call", "finish", "evaluate"]
    (call,) = hall.store.events_of(DAY, "call")
    assert call["kind"] == "call" and call["number"] == "A001" and call["window"] == "w1"
    (alert,) = hall.store.events_of(DAY, "alert")
    # (an alert payload's own "kind" names the alert, and wins over the event kind in the merged record)
    assert alert["kind"] == "bad_evaluation" and alert["grade"] == 1 and alert["window"] == "w1"
    assert len(hall.store.events_of(DAY)) == 6
    assert list(hall.store.tickets_of(DAY + timedelta(days=1))) == []


def test_older_tickets_are_found_for_status_queries(hall: Hall) -> None:
    t = hall.do("issue", at(9), "a", "walk_in").data
    out = Outcome()
    hall.engine.roll(at(9, day=DAY + timedelta(days=3)), out)
    hall.store.commit(out, hall.engine.windows, hall.engine.day)
    assert hall.store.find_ticket(ticket_id=t["id"])["number"] == "A001"
    assert hall.store.find_ticket(verify=t["verify"])["id"] == t["id"]
    assert hall.store.find_ticket(ticket_id="nope") is None


def test_rollover_is_stored(hall: Hall, db: Path) -> None:
    hall.do("issue", at(9), "a", "walk_in")
    hall.do("call_next", at(9, 1), "w1")
    out = Outcome()
    hall.engine.roll(at(8, 30, day=DAY + timedelta(days=3)), out)
    hall.store.commit(out, hall.engine.windows, hall.engine.day)
    (rec,) = hall.store.tickets_of(DAY)
    assert rec["state"] == "expired"
    monday = DAY + timedelta(days=3)
    assert hall.store.last_day() == monday
    tickets, windows, calls, _ = hall.store.load_day(monday)
    assert tickets == [] and calls == []
    assert all(w.status is WindowStatus.CLOSED and w.current is None for w in windows)


def test_appointments(hall: Hall, db: Path) -> None:
    hall.store.save_appointments([Appointment("YY1", "b", DAY, "09:00", "10:00"),
                                  Appointment("OLD", "b", DAY - timedelta(days=1))])
    hall.engine.add_appointments(hall.store.load_day(DAY)[3])
    t = hall.do("checkin", at(9), "YY1").data
    again = hall.reopen(db)
    appts = {a.code: a for a in hall.store.load_day(DAY)[3]}
    assert set(appts) == {"YY1"} and appts["YY1"].ticket_id == t["id"]
    assert again.checkin(at(9, 5), "YY1").data["id"] == t["id"]     # after a restart: the same ticket
    # a re-import of the booking file does not forget the check-in
    hall.store.save_appointments([Appointment("YY1", "b", DAY, "09:00", "11:00")])
    assert hall.store.load_day(DAY)[3][0].ticket_id == t["id"]


def test_prune_keeps_recent_replies(hall: Hall) -> None:
    hall.do("issue", at(9), "a", "walk_in", client="kiosk-k1", request_id="old")
    hall.do("issue", at(9, day=DAY + timedelta(days=1)), "a", "walk_in", client="kiosk-k1", request_id="new",
            open_all_day=True)
    hall.store.prune(DAY + timedelta(days=2))
    assert hall.store.stored_reply("kiosk-k1", "old") is not None        # kept at least the business day
    hall.store.prune(DAY + timedelta(days=3))
    assert hall.store.stored_reply("kiosk-k1", "old") is None
    assert hall.store.stored_reply("kiosk-k1", "new") is not None
    assert len(list(hall.store.tickets_of(DAY))) == 1                      # tickets are kept for reports


def test_holder_data_is_erased_once_its_day_is_over(hall: Hall) -> None:
    holder = {"ref": "hmacref0123456789", "birth_date": "1950-03-04", "display_name": "张*"}
    old = hall.do("issue", at(9), "a", "id_card", holder).data
    new = hall.do("issue", at(9, day=DAY + timedelta(days=1)), "a", "id_card", holder, open_all_day=True).data
    hall.store.prune(DAY + timedelta(days=1))
    yesterday = next(hall.store.tickets_of(DAY))
    assert yesterday["id"] == old["id"] and yesterday["number"] == old["number"]     # kept for the reports
    assert (yesterday["holder_ref"], yesterday["birth_date"], yesterday["display_name"]) == (None, None, None)
    today = next(hall.store.tickets_of(DAY + timedelta(days=1)))
    assert today["id"] == new["id"] and today["holder_ref"] == "hmacref0123456789"   # today still needs it


def test_one_request_that_cannot_be_stored_fails_alone_in_its_batch(hall: Hall, db: Path) -> None:
    """Each request of a group commit has its own savepoint: a lone surrogate in one request id (valid JSON, not
    UTF-8) rolls back that request only; the others of the batch are stored."""
    e = hall.engine
    items = []
    for i in range(4):
        out = e.issue(at(9, i), "a", "walk_in")
        rid = "bad\ud800" if i == 1 else f"r{i}"
        items.append((out, "kiosk-k1", rid, {"v": 1, "id": rid, "ok": True, "data": out.data}))
    failed = hall.store.commit_many(items, e.windows, e.day)
    assert [i for i, _exc in failed] == [1]
    assert [t["number"] for t in hall.store.tickets_of(DAY)] == ["A001", "A003", "A004"]
    assert all(hall.store.stored_reply("kiosk-k1", f"r{i}") for i in (0, 2, 3))


def test_a_store_of_the_previous_version_opens_and_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE replies (client TEXT NOT NULL, request_id TEXT NOT NULL, day TEXT NOT NULL, "
                      "reply TEXT NOT NULL, PRIMARY KEY (client, request_id));"
                      "INSERT INTO replies VALUES ('kiosk-k1', 'r1', '2026-11-27', '{\"ok\":true}');")
    old.commit()
    old.close()
    store = Store(path)
    assert store.stored_request("kiosk-k1", "r1") == ({"ok": True}, None, None)
    cols = {r[1] for r in store.db.execute("PRAGMA table_info(replies)")}
    assert {"op", "digest"} <= cols
    store.close()


def test_lookups_of_older_tickets_use_indexes(hall: Hall) -> None:
    """Issue 9 finding 15: an unknown verify code or token is an index probe, not a scan of every stored ticket."""
    for sql, arg in (("SELECT record FROM tickets WHERE json_extract(record, '$.verify')=? ORDER BY day DESC LIMIT 1",
                      "ZZZZ"),
                     ("SELECT record FROM tickets WHERE json_extract(record, '$.token')=?", "tok")):
        plan = " ".join(str(r[-1]) for r in hall.store.db.execute("EXPLAIN QUERY PLAN " + sql, (arg,)))
        assert "USING INDEX" in plan and "SCAN tickets" not in plan, plan
    hall.do("issue", at(9), "a", "walk_in", client="kiosk-k1", request_id="req-1")
    t = next(hall.store.tickets_of(DAY))
    assert hall.store.find_ticket_readonly(verify=t["verify"])["id"] == t["id"]
    assert hall.store.find_ticket_readonly(verify="ZZZZ") is None


def test_the_high_water_side_file_follows_stored_numbers_only(hall: Hall, db: Path) -> None:
    """Issue 9 finding 6: the side file holds every stored (so acknowledged) number, written after the commit and
    before the reply: a commit that fails leaves no mark (a kill -9 or a full disk makes no gap in the numbers)."""
    hall.do("issue", at(9), "a", "walk_in", client="kiosk-k1", request_id="req-1")
    assert hall.store.high_water(DAY) == {"A": 1}
    pages = hall.store.db.execute("PRAGMA page_count").fetchone()[0]
    hall.store.db.execute(f"PRAGMA max_page_count={pages}")
    e = hall.engine
    outs = [e.issue(at(9, i + 1), "a", "walk_in") for i in range(40)]
    with pytest.raises(sqlite3.OperationalError):
        hall.store.commit_many([(o, None, None, None) for o in outs], e.windows, DAY)
    assert hall.store.high_water(DAY) == {"A": 1}
    assert Store(db).high_water(DAY) == {"A": 1}      # as the file on disk says
