"""The service layer in-process on a real Mosquitto: a bug inside an operation becomes an `internal` reply and a
queue rebuilt from the store — never a dead server, never a half-applied change."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from collections.abc import Iterator

import pytest

from hall_bus import BusClient, RequestError, Topics
from hall_server.config import load_hall_config
from hall_server.service import HallService
from hall_server.store import Store
from tests.support.hall import HALL_CONFIG, Mosquitto


@pytest.fixture
def service(tmp_path) -> Iterator[HallService]:
    broker = Mosquitto(tmp_path).start()
    svc = HallService(load_hall_config(HALL_CONFIG), Store(tmp_path / "hall.sqlite3"), broker.url,
                      open_all_day=True)
    assert svc.start()
    yield svc
    svc.stop()
    broker.stop()


def test_a_bug_in_an_operation_is_answered_internal_and_changes_nothing(service: HallService) -> None:
    engine_issue = service.engine.issue

    def buggy_issue(now, service_id, *args, **kwargs):
        out = engine_issue(now, service_id, *args, **kwargs)     # the change is made in memory ...
        if service_id == "ss_retire":
            raise RuntimeError("simulated bug after the change")  # ... and then the handler blows up
        return out

    service.engine.issue = buggy_issue   # type: ignore[method-assign]
    kiosk = BusClient(service.bus.address, "daan", "kiosk-k1").start()
    assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5)
    with pytest.raises(RequestError) as e:
        kiosk.request("ticket.issue", {"service": "ss_retire", "channel": "id_card",       # id_required
                                       "holder": {"ref": "holder-ref-0001", "birth_date": "1950-01-01"}}, timeout=5)
    assert e.value.code == "internal"
    # the queue was rebuilt from the store: the half-made ticket is gone and its number was not used up
    ok = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
    assert ok["number"] == "A001"
    assert service._worker is not None and service._worker.is_alive()
    assert [t["number"] for t in service.store.tickets_of(service.engine.day)] == ["A001"]
    kiosk.stop()


def _raw(client: BusClient, service: HallService, op: str, text: str) -> None:
    """Publish a request as raw JSON text (escapes such as \\ud800 stay as written)."""
    client.publish(service.topics.request(client.client_id, op), text.encode("utf-8"))


def test_lone_surrogates_never_fail_another_kiosks_request(service: HallService) -> None:
    """Issue 9 finding 2: 100 requests whose id or args hold a lone UTF-16 surrogate (valid JSON, not UTF-8), sent
    beside another kiosk's requests, are refused alone; every good request is answered ok and stored."""
    attacker = BusClient(service.bus.address, "daan", "kiosk-k9").start()
    good = BusClient(service.bus.address, "daan", "kiosk-k1").start()
    assert attacker.wait_connected(5) and good.wait_connected(5) and good.subscribed.wait(5)
    replies: list[dict] = []
    done = threading.Event()

    def collect(reply: dict) -> None:
        replies.append(reply)
        if len(replies) == 20:
            done.set()

    for i in range(100):
        if i % 2:
            _raw(attacker, service, "ticket.issue",
                 '{"v":1,"id":"bad-%d-\\ud800","args":{"service":"ss_enroll","channel":"walk_in"}}' % i)
        else:
            _raw(attacker, service, "ticket.issue",
                 '{"v":1,"id":"bad-%d","args":{"service":"ss_retire","channel":"id_card",'
                 '"holder":{"ref":"r\\udc00%d","birth_date":"1950-01-01","display_name":"\\ud83d"}}}' % (i, i))
        if i % 5 == 0:
            good.request_async("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, collect, timeout=8)
    assert done.wait(15), f"only {len(replies)} of 20 good requests answered"
    assert all(r["ok"] for r in replies), [r.get("error") for r in replies if not r["ok"]]
    stored = [t["number"] for t in service.store.tickets_of(service.engine.day)]
    assert sorted(stored) == sorted(r["data"]["number"] for r in replies)
    assert service._worker is not None and service._worker.is_alive()
    attacker.stop()
    good.stop()


def test_a_request_id_reused_for_another_op_or_other_args_is_refused(service: HallService) -> None:
    """Issue 9 finding 10: idempotency remembers the op and a digest of the args, never the args."""
    kiosk = BusClient(service.bus.address, "daan", "kiosk-k1").start()
    assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5)
    first = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, request_id="same-1")
    again = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, request_id="same-1")
    assert again == first                       # a true retry gets the stored reply
    with pytest.raises(RequestError) as e:
        kiosk.request("ticket.issue", {"service": "ss_transfer", "channel": "walk_in"}, request_id="same-1")
    assert e.value.code == "bad_request" and "reused" in e.value.message
    with pytest.raises(RequestError) as e:
        kiosk.request("ticket.get", {"number": first["number"]}, request_id="same-1")
    assert e.value.code == "bad_request" and "reused" in e.value.message and "ticket.issue" in e.value.message
    row = service.store.db.execute("SELECT op, digest, reply FROM replies WHERE request_id='same-1'").fetchone()
    assert row[0] == "ticket.issue" and len(row[1]) == 64 and "ss_enroll" not in row[1]
    assert [t["number"] for t in service.store.tickets_of(service.engine.day)] == [first["number"]]
    kiosk.stop()


def test_a_full_disk_answers_storage_full_with_one_log_line_and_an_alert(service: HallService, caplog) -> None:
    """Issue 9 finding 16: SQLITE_FULL (simulated with PRAGMA max_page_count) gives kiosks `storage_full` with a
    Chinese message, one log line without a traceback, and a red storage_full alert on event/alert."""
    kiosk = BusClient(service.bus.address, "daan", "kiosk-k1").start()
    console = BusClient(service.bus.address, "daan", "console-c1").start()
    alerts: list[dict] = []
    console.subscribe(service.topics.event_alert, lambda _t, p: alerts.append(p))
    assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5) and console.subscribed.wait(5)
    kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
    with service.store._lock:
        pages = service.store.db.execute("PRAGMA page_count").fetchone()[0]
        service.store.db.execute(f"PRAGMA max_page_count={pages}")
    caplog.clear()
    issued = 1
    for _ in range(50):        # the last page may still have room for a few
        try:
            kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
            issued += 1
        except RequestError as exc:
            assert exc.code == "storage_full"
            break
    for _ in range(2):
        with pytest.raises(RequestError) as e:
            kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
        assert e.value.code == "storage_full" and "存储空间已满" in e.value.message_zh
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert len(errors) == 3 and not any(r.exc_info for r in errors), [r.getMessage() for r in errors]
    deadline = time.monotonic() + 5
    while not alerts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(a["kind"], a["level"]) for a in alerts] == [("storage_full", "red")] and alerts[0]["id"]
    with service.store._lock:
        service.store.db.execute("PRAGMA max_page_count=1073741823")
    ok = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
    assert ok["number"] == f"A{issued + 1:03d}"     # nothing of the refused requests was kept or used up
    kiosk.stop()
    console.stop()


def test_answered_request_keys_are_pruned_with_the_stored_replies(tmp_path) -> None:
    """Issue 9 finding 16: HallService._answered does not grow for the whole uptime: it follows the pruned replies."""
    broker = Mosquitto(tmp_path).start()
    now = [datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))]
    svc = HallService(load_hall_config(HALL_CONFIG), Store(tmp_path / "hall.sqlite3"), broker.url,
                      open_all_day=True, clock=lambda: now[0])
    try:
        assert svc.start()
        kiosk = BusClient(svc.bus.address, "daan", "kiosk-k1").start()
        assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5)
        for _ in range(3):
            kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        assert len(svc._answered) == 3
        now[0] += timedelta(days=1)
        kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        now[0] += timedelta(days=1)
        kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        now[0] += timedelta(days=1)
        kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        # replies older than REPLY_KEEP_DAYS are gone from the store, and from the in-memory set with them
        assert svc._answered == svc.store.reply_keys() and len(svc._answered) == 3
        kiosk.stop()
    finally:
        svc.stop()
        broker.stop()


def test_a_slow_lookup_of_an_unknown_verify_code_does_not_hold_up_issues(service: HallService) -> None:
    """Issue 9 finding 15: ticket.get of a ticket not in today's queue reads the store on a reader thread; the worker
    keeps issuing meanwhile (the store lookup is made slow here to show it)."""
    threads: list[str] = []

    def slow(*_a, **_k):
        threads.append(threading.current_thread().name)
        time.sleep(1.5)
        return None

    service.store.find_ticket = slow                     # type: ignore[method-assign]
    service.store.find_ticket_readonly = slow            # type: ignore[method-assign]
    kiosk = BusClient(service.bus.address, "daan", "kiosk-k1").start()
    web = BusClient(service.bus.address, "daan", "kiosk-k2").start()
    assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5) and web.subscribed.wait(5)
    lookups: list[dict] = []
    web.request_async("ticket.get", {"verify": "ZZZZ"}, lookups.append, timeout=8, attempt=8)
    time.sleep(0.2)
    t0 = time.monotonic()
    kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
    assert time.monotonic() - t0 < 1.0, "an issue waited for another kiosk's lookup"
    deadline = time.monotonic() + 5
    while not lookups and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lookups and lookups[0]["error"]["code"] == "unknown_ticket"
    assert threads and all(name.startswith("hall-reader") for name in threads)
    kiosk.stop()
    web.stop()


def _alerts_of(broker: Mosquitto, kinds: list[dict]) -> BusClient:
    console = BusClient(broker.url, "daan", "console-c1").start()
    console.subscribe(Topics("daan").event_alert, lambda _t, p: kinds.append(p))
    assert console.wait_connected(5) and console.subscribed.wait(5)
    return console


def _wait(pred, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.05)
    return pred()


def test_the_business_day_only_moves_forward(tmp_path) -> None:
    """Issue 9 finding 5: a server started with a wrong clock (2000-01-01) keeps the stored business day (today's
    waiting tickets stay waiting, numbers go on) and raises a `clock` alert until the clock catches up; a jump
    forward by more than a day while running is logged and alerted, and the day still rolls."""
    tz = ZoneInfo("Asia/Shanghai")
    broker = Mosquitto(tmp_path).start()
    alerts: list[dict] = []
    console = _alerts_of(broker, alerts)
    real = [datetime(2026, 11, 27, 10, 0, tzinfo=tz)]
    svc = HallService(load_hall_config(HALL_CONFIG), Store(tmp_path / "hall.sqlite3"), broker.url,
                      open_all_day=True, clock=lambda: real[0])
    try:
        assert svc.start()
        kiosk = BusClient(broker.url, "daan", "kiosk-k1").start()
        assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5)
        first = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        svc.stop()
        # restarted with a dead RTC battery
        wrong = [datetime(2000, 1, 1, 8, 0, tzinfo=tz)]
        svc = HallService(load_hall_config(HALL_CONFIG), Store(tmp_path / "hall.sqlite3"), broker.url,
                          open_all_day=True, clock=lambda: wrong[0])
        assert svc.start()
        assert str(svc.engine.day) == "2026-11-27"
        assert kiosk.request("ticket.get", {"number": first["number"]})["state"] == "waiting"
        second = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        assert second["number"] == "A002" and second["issued_at"].startswith("2000-01-01")
        assert [t["state"] for t in svc.store.tickets_of(svc.engine.day)] == ["waiting", "waiting"]
        assert _wait(lambda: any(a["kind"] == "clock" for a in alerts)), alerts
        assert [a["level"] for a in alerts if a["kind"] == "clock"] == ["red"]       # once, not every second
        # the clock is set right: same day, nothing happens; then it jumps three days ahead while running
        wrong[0] = datetime(2026, 11, 27, 11, 0, tzinfo=tz)
        time.sleep(1.3)
        assert kiosk.request("ticket.get", {"number": "A002"})["state"] == "waiting"
        wrong[0] = datetime(2026, 11, 30, 9, 0, tzinfo=tz)
        assert _wait(lambda: len([a for a in alerts if a["kind"] == "clock"]) == 2), alerts
        assert str(svc.engine.day) == "2026-11-30"
        assert {t["state"] for t in svc.store.tickets_of(datetime(2026, 11, 27).date())} == {"expired"}
        kiosk.stop()
    finally:
        svc.stop()
        console.stop()
        broker.stop()


def test_a_kiosk_cancels_only_its_own_ticket_as_unclaimed(service: HallService) -> None:
    """PROTOCOL part 2: ticket.cancel of a ticket the kiosk issued itself, reason `unclaimed` (issue 9 finding 8)."""
    k1 = BusClient(service.bus.address, "daan", "kiosk-k1").start()
    k2 = BusClient(service.bus.address, "daan", "kiosk-k2").start()
    for k in (k1, k2):
        assert k.wait_connected(5) and k.subscribed.wait(5)
    mine = k1.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
    theirs = k2.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
    with pytest.raises(RequestError) as e:
        k1.request("ticket.cancel", {"ticket_id": theirs["id"], "reason": "unclaimed"}, timeout=5)
    assert e.value.code == "forbidden"
    with pytest.raises(RequestError) as e:
        k1.request("ticket.cancel", {"ticket_id": mine["id"], "reason": "left"}, timeout=5)
    assert e.value.code == "forbidden"
    done = k1.request("ticket.cancel", {"ticket_id": mine["id"], "reason": "unclaimed"}, timeout=5)
    assert done["state"] == "cancelled"
    stored = {t["number"]: t for t in service.store.tickets_of(service.engine.day)}
    assert stored[mine["number"]]["state"] == "cancelled" and stored[mine["number"]]["issued_by"] == "kiosk-k1"
    assert stored[theirs["number"]]["state"] == "waiting"
    k1.stop()
    k2.stop()
