"""Issue 9 finding 6: the store's file lost, truncated or corrupt. The server notices a file deleted or truncated
under its open handle (stops acknowledging, alerts, exits non-zero), never gives out a number twice in a day even
from a store that lost tickets (the fsynced high-water side file), backs up online, and refuses a corrupt store
with one clear message."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from hall_bus import BusClient, RequestError, Topics
from hall_server.config import load_hall_config
from hall_server.service import HallService
from hall_server import store as store_module
from hall_server.store import Store

StoreError = getattr(store_module, "StoreError", Exception)     # (so that this file also runs against 0.1)
from tests.support.hall import HALL_CONFIG, ONEWINDOW, ROOT, Mosquitto, free_port


def _wait(pred, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.05)
    return pred()


class _Hall:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "data" / "daan.sqlite3"
        self.broker = Mosquitto(tmp_path).start()
        self.alerts: list[dict] = []
        self.console = BusClient(self.broker.url, "daan", "console-c1").start()
        self.console.subscribe(Topics("daan").event_alert, lambda _t, p: self.alerts.append(p))
        assert self.console.wait_connected(5) and self.console.subscribed.wait(5)
        self.svc: HallService | None = None
        self.fatal: list[str] = []
        self.kiosk = BusClient(self.broker.url, "daan", "kiosk-k1").start()
        assert self.kiosk.wait_connected(5) and self.kiosk.subscribed.wait(5)

    def start(self) -> HallService:
        self.svc = HallService(load_hall_config(HALL_CONFIG), Store(self.db), self.broker.url, open_all_day=True)
        self.svc.on_fatal = self.fatal.append
        assert self.svc.start()
        return self.svc

    def issue(self) -> dict:
        return self.kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)

    def close(self) -> None:
        if self.svc:
            self.svc.stop()
        self.kiosk.stop()
        self.console.stop()
        self.broker.stop()


@pytest.fixture
def hall(tmp_path) -> _Hall:
    h = _Hall(tmp_path)
    yield h
    h.close()


@pytest.mark.parametrize("fault", ["deleted", "truncated"])
def test_a_store_file_lost_while_running_stops_acknowledging(hall: _Hall, fault: str) -> None:
    hall.start()
    assert [hall.issue()["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    if fault == "deleted":
        for suffix in ("", "-wal", "-shm"):
            Path(str(hall.db) + suffix).unlink(missing_ok=True)
    else:
        with open(hall.db, "r+b") as f:
            f.truncate(0)
    with pytest.raises(RequestError) as e:
        hall.issue()
    assert e.value.code == "internal"
    assert _wait(lambda: hall.fatal), "the server did not give up"
    assert "store lost" in hall.fatal[0]
    assert _wait(lambda: any(a["kind"] == "store_lost" and a["level"] == "red" for a in hall.alerts), 10), hall.alerts
    with pytest.raises(RequestError):          # nothing more is acknowledged
        hall.issue()


def test_a_deleted_store_is_noticed_while_idle(hall: _Hall) -> None:
    hall.start()
    hall.issue()
    hall.db.unlink()
    assert _wait(lambda: hall.fatal, 5), "an idle server did not notice its store was deleted"


def test_a_store_that_lost_tickets_never_reuses_their_numbers(hall: _Hall) -> None:
    svc = hall.start()
    assert [hall.issue()["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    svc.stop()
    hall.svc = None
    for suffix in ("", "-wal", "-shm"):                    # the database is gone; the side file next to it stays
        Path(str(hall.db) + suffix).unlink(missing_ok=True)
    hall.start()
    assert hall.issue()["number"] == "A004"
    assert _wait(lambda: any(a["kind"] == "store_lost" for a in hall.alerts), 10), hall.alerts


def test_an_online_backup_is_a_whole_copy(hall: _Hall) -> None:
    svc = hall.start()
    for _ in range(3):
        hall.issue()
    svc.start_backup()
    backups = hall.db.parent / "backups"
    assert _wait(lambda: list(backups.glob("daan-*.sqlite3")))
    copy = sqlite3.connect(next(backups.glob("daan-*.sqlite3")))
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM tickets").fetchone()[0] == 3
    copy.close()
    assert list(backups.glob("daan-*.sqlite3.numbers"))


def test_a_corrupt_store_is_refused_with_one_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "daan.sqlite3"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    with pytest.raises(StoreError) as e:
        Store(db)
    assert str(db) in str(e.value) and "backup" in str(e.value)
    proc = subprocess.run(ONEWINDOW + ["server", "--config", str(HALL_CONFIG), "--data", str(data),
                                       "--broker-port", str(free_port())],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert str(db) in proc.stderr and "backup" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]


def test_a_backup_is_made_at_rollover(tmp_path: Path) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    broker = Mosquitto(tmp_path).start()
    now = [datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))]
    db = tmp_path / "data" / "daan.sqlite3"
    svc = HallService(load_hall_config(HALL_CONFIG), Store(db), broker.url, open_all_day=True, clock=lambda: now[0])
    try:
        assert svc.start()
        kiosk = BusClient(broker.url, "daan", "kiosk-k1").start()
        assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5)
        kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        now[0] += timedelta(days=1)
        assert _wait(lambda: list((db.parent / "backups").glob("daan-*-rollover.sqlite3")), 10)
        kiosk.stop()
    finally:
        svc.stop()
        broker.stop()
