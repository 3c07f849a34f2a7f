"""Window staff: the staff file, `onewindow staff`, sign-in (PIN off the worker, bad_login, slow-down without
lock-out, one window at a time), not_signed_in, and the staff member recorded on tickets, cases and ratings."""
from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall_bus.contract import encode_json
from hall_server.config import ConfigError, HallConfig, load_hall_config
from hall_server.crypto import Sealer
from hall_server.service import HallService, _Request
from hall_server.staff import SignInGuard, hash_pin, load_staff_file, mask_name, set_staff, verify_pin, StaffMember
from hall_server.store import Store
from tests.support.hall import DEMO_PIN, HALL_CONFIG, REFERENCE_CONFIG, ROOT

TZ = ZoneInfo("Asia/Shanghai")
KEY = bytes(range(32))
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)      # a Monday
SIGN_IN = load_hall_config(REFERENCE_CONFIG)        # sign_in_required = true, config/staff.toml


class Hall:
    """A HallService without a broker: requests go through the worker's own batch processing, publications are
    recorded, and PIN checks come back from the PIN threads through the inbox as they would."""

    def __init__(self, tmp_path: Path, config: HallConfig = SIGN_IN, now: datetime = NOW) -> None:
        self.now = now
        store = Store(tmp_path / "hall.sqlite3")
        store.sealer = Sealer(KEY)
        self.s = HallService(config, store, "mqtt://127.0.0.1:9", open_all_day=True, clock=lambda: self.now)
        self.sent: list[tuple[str, dict[str, Any], bool]] = []
        self.s.bus.publish = self._publish          # type: ignore[method-assign]
        self.ids = itertools.count(1)

    def _publish(self, topic: str, payload: Any, *, retain: bool = False, qos: int = 1) -> None:
        self.sent.append((topic, payload if isinstance(payload, dict) else json.loads(payload), retain))

    def reply(self, client: str, rid: str) -> dict[str, Any] | None:
        topic = self.s.topics.response(client)
        return next((p for t, p, _r in self.sent if t == topic and p.get("id") == rid), None)

    def request(self, client: str, op: str, args: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
        rid = f"r{next(self.ids)}-{uuid.uuid4().hex[:8]}"
        self.s._process([_Request(client, op, encode_json({"v": 1, "id": rid, "args": args}))])
        deadline = time.monotonic() + timeout
        while (rep := self.reply(client, rid)) is None:
            self.s._process([self.s._inbox.get(timeout=max(0.1, deadline - time.monotonic()))])
        return rep

    def ok(self, client: str, op: str, args: dict[str, Any]) -> dict[str, Any]:
        rep = self.request(client, op, args)
        assert rep["ok"], rep
        return rep["data"]

    def error(self, client: str, op: str, args: dict[str, Any]) -> str:
        rep = self.request(client, op, args)
        assert not rep["ok"], rep
        return rep["error"]["code"]

    def last(self, topic_end: str) -> dict[str, Any] | None:
        return next((p for t, p, _r in reversed(self.sent) if t.endswith(topic_end)), None)

    def events(self, topic_end: str) -> list[dict[str, Any]]:
        return [p for t, p, _r in self.sent if t.endswith(topic_end)]

    def sign_in(self, window: str, staff: str, pin: str = DEMO_PIN) -> dict[str, Any]:
        return self.ok(f"panel-{window}", "staff.sign_in", {"window": window, "staff": staff, "pin": pin})

    def close(self) -> None:
        self.s._pins.shutdown(wait=True)
        self.s.store.close()


@pytest.fixture
def hall(tmp_path: Path) -> Any:
    h = Hall(tmp_path)
    yield h
    h.close()


# ---------------------------------------------------------------- the staff file
def test_the_reference_staff_file_loads_and_names_are_masked() -> None:
    book = SIGN_IN.staff_book
    assert SIGN_IN.staff.sign_in_required and len(book.members) >= 10
    wang = book.get("1015")
    assert wang is not None and wang.windows == ("w15", "w16") and wang.masked == "王*"
    assert verify_pin(wang, DEMO_PIN) and not verify_pin(wang, "9999") and not verify_pin(None, DEMO_PIN)
    assert mask_name("欧阳娜娜") == "欧*"
    assert not HALL_CONFIG.samefile(REFERENCE_CONFIG) and not load_hall_config(HALL_CONFIG).staff.sign_in_required


def test_staff_file_problems_are_listed_with_key_paths(tmp_path: Path) -> None:
    good = hash_pin("1234")
    staff = tmp_path / "staff.toml"
    staff.write_text(f'''
[[staff]]
number = "1015"
name = "王芳"
department = "social"
windows = ["w15", "w999"]
pin = "{good}"

[[staff]]
number = "1015"
name = "李静"
department = "nowhere"
windows = ["*"]
pin = "1234"

[[staff]]
number = "12a"
name = ""
department = "social"
windows = []
pin = "{good}"
''', encoding="utf-8")
    cfg = load_hall_config(HALL_CONFIG)
    book, problems = load_staff_file(staff, [w.id for w in cfg.windows], [d.id for d in cfg.departments])
    text = "\n".join(problems)
    assert "staff[1015].windows[1]: no window 'w999'" in text
    assert "staff[1015].number: 1015 appears twice" in text
    assert "staff[1015].department: no department 'nowhere'" in text
    assert "staff[1015].pin: not an argon2 hash" in text
    assert "staff[2].number: must be a string of 1-12 digits" in text and "staff[2].name" in text
    assert "staff[2].windows" in text
    assert book.members == {}       # no row is usable
    hall = tmp_path / "hall.toml"
    hall.write_text(HALL_CONFIG.read_text(encoding="utf-8").replace(
        f'file = {json.dumps(str(ROOT / "config" / "staff.toml"))}', 'file = "staff.toml"'), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_hall_config(hall)
    assert any("staff[1015].windows[1]: no window 'w999'" in p for p in exc.value.problems)
    staff.unlink()
    with pytest.raises(ConfigError) as exc:
        load_hall_config(hall)
    assert any(p.startswith("staff.file:") and "not found" in p for p in exc.value.problems)


def test_onewindow_staff_writes_argon2_and_keeps_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from hall_server.staff import run
    path = tmp_path / "staff.toml"
    path.write_text("# our staff\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("4321\n"))
    assert run([str(path), "2001", "--name", "赵六", "--department", "tax", "--windows", "w1,w2", "--pin-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("5678\n"))
    assert run([str(path), "2002", "--name", "钱七", "--department", "tax", "--windows", "*", "--pin-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("8765\n"))
    assert run([str(path), "2001", "--pin-stdin"]) == 0          # a new PIN, the rest kept
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# our staff") and "4321" not in text and "8765" not in text and "$argon2id$" in text
    book, problems = load_staff_file(path, ["w1", "w2"], ["tax"])
    assert problems == []
    assert book.get("2001").windows == ("w1", "w2") and book.get("2002").windows == ("*",)
    assert verify_pin(book.get("2001"), "8765") and not verify_pin(book.get("2001"), "4321")
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert run([str(path), "2003", "--pin-stdin"]) == 1        # too short
    monkeypatch.setattr("sys.stdin", io.StringIO("123456\n"))
    assert run([str(path), "2003", "--pin-stdin"]) == 1        # new without name etc.
    assert "give --name" in capsys.readouterr().err
    with pytest.raises(ValueError):
        set_staff(path, "x1", "1234")


# ---------------------------------------------------------------- slow-down, never a lock-out
def test_failures_slow_the_window_down_and_a_success_resets_it() -> None:
    clock = [100.0]
    g = SignInGuard(after=2, base_s=1.0, max_s=8.0, clock=lambda: clock[0])
    assert [g.failed("w1") for _ in range(7)] == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 8.0]    # capped: never locked
    assert g.wait_s("w1") == 8.0 and g.wait_s("w2") == 0.0          # per window
    clock[0] += 9
    assert g.wait_s("w1") == 0.0
    g.succeeded("w1")
    assert g.failures("w1") == 0 and g.failed("w1") == 0.0


def test_sign_in_bad_login_is_the_same_for_unknown_number_and_wrong_pin(hall: Hall) -> None:
    a = hall.request("panel-w15", "staff.sign_in", {"window": "w15", "staff": "1015", "pin": "9999"})
    b = hall.request("panel-w15", "staff.sign_in", {"window": "w15", "staff": "987654", "pin": DEMO_PIN})
    assert a["error"] == b["error"] and a["error"]["code"] == "bad_login"
    assert hall.s.sign_ins.failures("w15") == 2
    hall.s.sign_ins.base_s = 0.2                  # the third failure waits (shortened here)
    t0 = time.monotonic()
    assert hall.error("panel-w15", "staff.sign_in", {"window": "w15", "staff": "1015", "pin": "0000"}) == "bad_login"
    assert time.monotonic() - t0 >= 0.2
    data = hall.sign_in("w15", "1015")            # the right PIN still works: slowed down, never locked out
    assert data == {"staff": "1015", "name": "王*", "window": "w15"}
    assert hall.s.sign_ins.failures("w15") == 0
    assert hall.last("/state/staff/w15")["staff"] == "1015"
    assert hall.last("/state/staff/w15")["name"] == "王*"


def test_sign_in_only_at_allowed_windows_and_unknown_windows(hall: Hall) -> None:
    assert hall.error("panel-w1", "staff.sign_in", {"window": "w1", "staff": "1015", "pin": DEMO_PIN}) == "forbidden"
    assert hall.error("panel-w999", "staff.sign_in", {"window": "w999", "staff": "1015", "pin": DEMO_PIN}) \
        == "unknown_window"


def test_not_signed_in_refuses_window_ops_but_close_and_staff_ops_work(hall: Hall) -> None:
    for op in ("window.open", "window.call_next", "window.recall", "window.finish", "window.no_show", "window.hold",
               "window.pause", "window.resume"):
        assert hall.error("panel-w1", op, {"window": "w1"}) == "not_signed_in", op
    assert hall.error("panel-w1", "window.call", {"window": "w1", "number": "A001"}) == "not_signed_in"
    assert hall.error("panel-w1", "window.transfer", {"window": "w1", "to_window": "w2"}) == "not_signed_in"
    hall.ok("panel-w1", "window.close", {"window": "w1"})
    hall.ok("panel-w1", "staff.sign_out", {"window": "w1"})
    rep = hall.request("panel-w1", "window.open", {"window": "w1"})
    assert rep["error"]["message_zh"] == "本窗口还没有工作人员签到，请先签到"
    hall.sign_in("w1", "1001")
    hall.ok("panel-w1", "window.open", {"window": "w1"})


def test_the_signed_in_staff_is_recorded_on_tickets_cases_and_ratings(hall: Hall) -> None:
    hall.sign_in("w1", "1001")
    hall.ok("panel-w1", "window.open", {"window": "w1", "staff": "someone else"})
    svc = hall.s.config.windows_by_id["w1"].services[0]
    t = hall.ok("kiosk-k1", "ticket.issue", {"service": svc, "channel": "walk_in"}) \
        if not hall.s.config.services_by_id[svc].id_required else \
        hall.ok("kiosk-k1", "ticket.issue", {"service": svc, "channel": "id_card",
                                             "holder": {"ref": "holder-ref-0001", "birth_date": "1980-01-01"}})
    called = hall.ok("panel-w1", "window.call_next", {"window": "w1"})
    assert called["id"] == t["id"]
    assert hall.s.engine.tickets[t["id"]].served_by == "1001"
    case = hall.ok("panel-w1", "case.accept", {"window": "w1", "actor": "pretender", "applicant": {
        "name": "王建国", "id_number": "11010519491231002X"}})
    assert case["staff"] == "1001"
    assert all(h["actor"] == "1001" for h in case["history"])
    hall.ok("panel-w1", "window.finish", {"window": "w1"})
    hall.ok("kiosk-k1", "evaluation.submit", {"ticket_id": t["id"], "grade": 1})
    alert = hall.last("/event/alert")
    assert alert["kind"] == "bad_evaluation" and alert["staff"] == "1001"
    rec = next(r for r in hall.s.store.tickets_of(hall.s.engine.day) if r["id"] == t["id"])
    assert rec["served_by"] == "1001" and rec["grade"] == 1
    assert hall.s.engine.windows["w1"].staff == "1001"       # window.open's own staff field: the signed-in one


def test_signing_in_elsewhere_moves_the_staff_member_and_close_signs_out(hall: Hall) -> None:
    hall.sign_in("w15", "1015")
    hall.sign_in("w16", "1015")
    assert hall.s.engine.signed_in_at("w15") is None and hall.s.engine.signed_in_at("w16") == "1015"
    assert hall.last("/state/staff/w15") == {"v": 1, "staff": None}
    assert hall.last("/state/staff/w16")["staff"] == "1015"
    audits = hall.events("/event/audit")
    assert [(a["op"], a["target"], a["actor"]) for a in audits] == [("staff.sign_in", "w15", "1015"),
                                                                     ("staff.sign_in", "w16", "1015")]
    hall.sign_in("w16", "1001")                     # another member takes the window over
    assert hall.s.engine.signed_in_at("w16") == "1001"
    hall.ok("panel-w16", "window.open", {"window": "w16"})
    hall.ok("panel-w16", "window.close", {"window": "w16"})
    assert hall.s.engine.signed_in_at("w16") is None
    assert hall.last("/state/staff/w16") == {"v": 1, "staff": None}


def test_sign_ins_are_persisted_and_a_new_day_starts_with_nobody(tmp_path: Path) -> None:
    h = Hall(tmp_path)
    h.sign_in("w3", "1002")
    h.close()
    h = Hall(tmp_path)                             # a restart the same day: still signed in
    assert h.s.engine.signed_in_at("w3") == "1002"
    h.s._publish_all()
    assert h.last("/state/staff/w3")["staff"] == "1002"
    h.close()
    h = Hall(tmp_path, now=NOW + timedelta(days=1))          # the next business day: nobody
    h.s._process([])
    assert h.s.engine.signed_in_at("w3") is None
    h.close()


def test_with_sign_in_off_window_ops_work_without_it(tmp_path: Path) -> None:
    """With sign-in off (HALL_CONFIG) nothing changes: window ops work without it and the panel's actor counts."""
    h = Hall(tmp_path, load_hall_config(HALL_CONFIG))
    h.ok("panel-w1", "window.open", {"window": "w1", "staff": "张三"})
    assert h.s.engine.windows["w1"].staff == "张三"
    h.close()


def test_pin_checks_never_hold_up_the_worker(hall: Hall) -> None:
    """102 sign-ins go to the PIN threads; the worker answers a kiosk at once meanwhile."""
    windows = [w.id for w in hall.s.config.windows][:102]
    staff = [n for n, m in hall.s.config.staff_book.members.items() if "*" in m.windows]
    t0 = time.monotonic()
    batch = [_Request(f"panel-{w}", "staff.sign_in",
                      encode_json({"v": 1, "id": f"s{i}", "args": {"window": w, "staff": staff[i % len(staff)],
                                                                   "pin": DEMO_PIN}}))
             for i, w in enumerate(windows)]
    hall.s._process(batch)
    queued = time.monotonic() - t0
    svc = next(s for s in hall.s.config.services if not s.id_required)
    t1 = time.monotonic()
    hall.ok("kiosk-k1", "ticket.issue", {"service": svc.id, "channel": "walk_in"})
    assert time.monotonic() - t1 < 0.5 and queued < 0.5
    done = 0
    while done < len(windows):
        hall.s._process([hall.s._inbox.get(timeout=30)])
        done = sum(1 for i, w in enumerate(windows) if hall.reply(f"panel-{w}", f"s{i}"))
    assert sum(1 for w in windows if hall.s.engine.signed_in_at(w)) == len(staff)   # one window per member


def test_no_pin_is_stored_not_even_in_the_idempotency_digest(hall: Hall) -> None:
    import hashlib
    hall.sign_in("w3", "1002")
    rows = hall.s.store.db.execute("SELECT reply, op, digest FROM replies WHERE op='staff.sign_in'").fetchall()
    assert len(rows) == 1 and DEMO_PIN not in rows[0][0]
    with_pin = json.dumps({"pin": DEMO_PIN, "staff": "1002", "window": "w3"}, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))
    assert rows[0][2] != hashlib.sha256(with_pin.encode()).hexdigest()
    events = hall.s.store.db.execute("SELECT record FROM events").fetchall()
    assert not any(DEMO_PIN in r[0] and '"pin"' in r[0] for r in events)
