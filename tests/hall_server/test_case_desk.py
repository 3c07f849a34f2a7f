"""The server's case desk over a real store (SQLite in tmp_path): cases outlive the day and a restart, identity is
sealed at rest (also in the stored idempotency reply), the day's case numbers survive a store that lost cases,
retention erases identity and keeps statistics."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall_bus import contract
from hall_bus.contract import BusError
from hall_server.case_desk import CaseDesk
from hall_server.config import load_hall_config
from hall_server.crypto import Sealer
from hall_server.engine import Engine, Outcome
from hall_server.store import Store

CONFIG = load_hall_config(Path(__file__).resolve().parents[2] / "config" / "hall.toml")
TZ = ZoneInfo(CONFIG.hall.timezone)
KEY = bytes(range(32))
APPLICANT = {"name": "王建国", "id_number": "11010519491231002X"}
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=TZ)
NOT_AT_W1 = next(s.id for s in CONFIG.services if s.id not in CONFIG.windows_by_id["w1"].services)


class Hall:
    def __init__(self, path: Path, now: datetime = NOW) -> None:
        self.store = Store(path)
        self.store.sealer = Sealer(KEY)
        self.engine = Engine(CONFIG)
        self.day = now.date()
        self.engine.restore(self.day, *self.store.load_day(self.day))
        self.desk = CaseDesk(CONFIG, self.store)
        self.desk.restore(self.day)

    def commit(self, out: Outcome, client: str | None = None, rid: str | None = None, op: str | None = None) -> None:
        reply = contract.make_ok(rid, op, out.data) if rid else None
        failed = self.store.commit_many([(out, client, rid, reply, op, "digest")], self.engine.windows, self.day)
        assert not failed

    def serve(self, now: datetime = NOW) -> None:
        self.commit(self.engine.set_window(now, "w1", "open"))
        self.commit(self.engine.issue(now, "ss_enroll", "walk_in", open_all_day=True))
        self.commit(self.engine.call_next(now, "w1"))

    def accept(self, now: datetime = NOW, rid: str | None = "r1", **extra) -> dict:
        args = contract.validate_args("case.accept", {"window": "w1", "applicant": APPLICANT, **extra})
        out = self.desk.handle("panel-w1", args, now, self.engine)
        self.commit(out, "panel-w1", rid, "case.accept")
        return out.data


def test_identity_is_sealed_at_rest_and_the_case_survives_a_restart(tmp_path) -> None:
    h = Hall(tmp_path / "h.sqlite3")
    h.serve()
    case = h.accept(phone="138 1234 5678", sms=True)
    assert case["phone_masked"] == "138****5678" and case["applicant"] == APPLICANT
    assert h.store.stored_reply("panel-w1", "r1")["data"]["applicant"] == APPLICANT    # a retry gets it back
    h.store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("h.sqlite3*"))
    for secret in (APPLICANT["name"], APPLICANT["id_number"], "13812345678"):
        assert secret.encode() not in raw

    later = NOW + timedelta(days=3)          # another business day
    h2 = Hall(tmp_path / "h.sqlite3", later)
    found = h2.desk.handle("dept-hrss", contract.validate_args("case.get", {"number": case["number"]}), later,
                           h2.engine).data
    assert found["applicant"] == APPLICANT and found["status"] == "accepted" and found["days_left"] == 2
    public = h2.desk.handle("kiosk-k1", contract.validate_args(
        "case.get", {"number": case["number"], "query_code": case["query_code"]}), later, h2.engine).data
    assert "applicant" not in public and public["number"] == case["number"]
    # the wrong key opens nothing (and says so in the log, never the data)
    h2.store.close()
    other = Store(tmp_path / "h.sqlite3")
    other.sealer = Sealer(bytes(32))
    assert other.find_case(number=case["number"]).applicant is None
    other.close()


def test_case_numbers_survive_a_store_that_lost_cases(tmp_path) -> None:
    h = Hall(tmp_path / "h.sqlite3")
    h.serve()
    first = h.accept(rid="r1")
    h.commit(h.engine.finish(NOW, "w1"))
    h.commit(h.engine.issue(NOW, "ss_enroll", "walk_in", open_all_day=True))
    h.commit(h.engine.call_next(NOW, "w1"))
    second = h.accept(rid="r2")
    assert [first["number"][-4:], second["number"][-4:]] == ["0001", "0002"]
    h.store.db.execute("DELETE FROM cases WHERE number = ?", (second["number"],))    # restored from an older backup
    h.store.close()
    h2 = Hall(tmp_path / "h.sqlite3")
    assert h2.desk.book.seq == 2
    h2.commit(h2.engine.finish(NOW, "w1"))
    h2.commit(h2.engine.issue(NOW, "ss_enroll", "walk_in", open_all_day=True))
    h2.commit(h2.engine.call_next(NOW, "w1"))
    assert h2.accept(rid="r3")["number"].endswith("-0003")


def test_accept_needs_a_ticket_at_the_window_and_one_open_case_per_service(tmp_path) -> None:
    h = Hall(tmp_path / "h.sqlite3")
    h.commit(h.engine.set_window(NOW, "w1", "open"))
    with pytest.raises(BusError) as e:
        h.accept()
    assert e.value.code == "no_ticket"
    h.commit(h.engine.issue(NOW, "ss_enroll", "walk_in", open_all_day=True))
    h.commit(h.engine.call_next(NOW, "w1"))
    h.accept(rid="a")
    with pytest.raises(BusError) as e:
        h.accept(rid="b")
    assert e.value.code == "conflict"
    assert h.accept(rid="c", service="ss_retire")["service"] == "ss_retire"     # another service, same ticket
    with pytest.raises(BusError) as e:
        h.accept(rid="d", service=NOT_AT_W1)
    assert e.value.code == "unknown_service"


def test_retention_erases_identity_phone_and_sms(tmp_path) -> None:
    h = Hall(tmp_path / "h.sqlite3")
    h.serve()
    case = h.accept(phone="13812345678", sms=True)
    h.store.db.execute("INSERT INTO sms_outbox (id, kind, ref, phone_sealed, phone_digest, text_sealed, units, "
                       "created_at, next_try_at) VALUES ('S1','case_accepted',?, 'x', 'y', 'z', 10, ?, ?)",
                       (case["number"], NOW.timestamp(), NOW.timestamp()))
    for change, extra in (("done", {"result": "approved"}), ("delivered", {"delivery": {"method": "pickup"}})):
        args = contract.validate_args("case.update", {"number": case["number"], "change": change, **extra})
        h.commit(h.desk.handle("panel-w1", args, NOW, h.engine))
    assert not h.desk.retention(NOW + timedelta(days=CONFIG.cases.retention_days - 1), h.engine).cases
    out = h.desk.retention(NOW + timedelta(days=CONFIG.cases.retention_days + 1), h.engine)
    h.commit(out)
    stored = h.store.find_case(number=case["number"])
    assert stored.applicant is None and stored.phone is None and stored.erased and stored.status == "delivered"
    row = h.store.db.execute("SELECT applicant, phone, record FROM cases").fetchone()
    assert row[0] is None and row[1] is None and json.loads(row[2])["consent"] is None
    assert h.store.db.execute("SELECT phone_sealed, text_sealed FROM sms_outbox").fetchone() == (None, None)
