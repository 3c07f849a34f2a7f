"""`onewindow server` as an operator meets it: refuses a broken config with every problem listed, prints its ready
line, shuts down cleanly on SIGTERM (state/server goes offline), serves an authenticated embedded broker."""
from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import time

import pytest

from hall_bus import BusClient, RequestError
from tests.support.hall import HALL_CONFIG, ROOT, free_port, start_server

pytestmark = pytest.mark.e2e


def test_server_refuses_a_broken_config_listing_every_problem(tmp_path) -> None:
    bad = HALL_CONFIG.read_text(encoding="utf-8")
    bad = bad.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', 1)
    bad = bad.replace('zone = "z3"', 'zone = "z9"', 1)
    bad = bad.replace('prefix = "A"', 'prefix = "a1"', 1)
    path = tmp_path / "hall.toml"
    path.write_text(bad, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "onewindow", "server", "--config", str(path),
                          "--data", str(tmp_path), "--broker-port", "0"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 1
    assert "hall.timezone" in out.stderr and "Mars/Olympus" in out.stderr
    assert "no zone 'z9'" in out.stderr
    assert "services[ss_enroll].prefix" in out.stderr and "'a1'" in out.stderr
    assert out.stdout == ""      # no ready line


def test_sigterm_shuts_down_cleanly_and_says_offline(tmp_path) -> None:
    proc, ready, _log = start_server(tmp_path / "data", broker_port=free_port())
    assert ready["hall"] == "daan" and ready["broker"].startswith("mqtt://127.0.0.1:")
    watcher = BusClient(ready["broker"], "daan", "display-w").start()
    states: queue.Queue = queue.Queue()
    watcher.subscribe(watcher.topics.state_server, lambda t, p: states.put(p["state"]))
    assert states.get(timeout=5) == "online"
    proc.send_signal(signal.SIGTERM)
    assert states.get(timeout=5) == "offline"
    assert proc.wait(10) == 0
    assert json.loads(proc.stdout.readline())["event"] == "stopped"
    proc.stdout.close()
    watcher.stop()


@pytest.mark.parametrize("embedded", ["mosquitto", "amqtt"])
def test_embedded_broker_with_authentication(tmp_path, embedded) -> None:
    conf = HALL_CONFIG.read_text(encoding="utf-8").replace(
        '# username = "onewindow-server"\n# password = "change-me"',
        f'username = "onewindow-server"\npassword = "s3cret"\nembedded = "{embedded}"')
    path = tmp_path / "hall.toml"
    path.write_text(conf, encoding="utf-8")
    port = free_port()
    proc, ready, _log = start_server(tmp_path / "data", broker_port=port, config=path)
    try:
        assert "s3cret" not in json.dumps(ready)                  # the ready line never shows the password
        for url, client in ((f"mqtt://127.0.0.1:{port}", "kiosk-k1"),                       # anonymous
                            (f"mqtt://onewindow-server:wrong@127.0.0.1:{port}", "onewindow-server"),
                            (f"mqtt://onewindow-server:s3cret@127.0.0.1:{port}", "kiosk-k1")):  # not its id
            if embedded == "mosquitto" and client == "kiosk-k1" and "s3cret" in url:
                continue        # Mosquitto makes the username the client id: whoever has this password is the server
            intruder = BusClient(url, "daan", client).start()
            assert not intruder.wait_connected(2), (url, client)
            intruder.stop()
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_sighup_reloads_the_config_and_keeps_the_old_one_when_broken(tmp_path) -> None:
    path = tmp_path / "hall.toml"
    original = HALL_CONFIG.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    proc, ready, log_path = start_server(tmp_path / "data", broker_port=free_port(), config=path)
    watcher = BusClient(ready["broker"], "daan", "display-w").start()
    catalogs: queue.Queue = queue.Queue()
    watcher.subscribe(watcher.topics.state_catalog, lambda t, p: catalogs.put(p))
    try:
        assert "请携带本人有效身份证件" in catalogs.get(timeout=5)["hall"]["notice"]
        path.write_text(original.replace('zone = "z3"', 'zone = "z9"', 1), encoding="utf-8")   # broken
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "config reload refused" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "no zone 'z9'" in log_path.read_text()
        assert catalogs.empty()                          # the running configuration stays
        path.write_text(original.replace('notice = "请携带', 'notice = "今日系统升级，请携带', 1), encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        assert catalogs.get(timeout=10)["hall"]["notice"].startswith("今日系统升级")
        kiosk = BusClient(ready["broker"], "daan", "kiosk-k1").start()
        assert kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})["number"] == "A001"
        kiosk.stop()
    finally:
        watcher.stop()
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_appointments_file_check_in_gives_a_priority_ticket_once(tmp_path) -> None:
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    csv_path = tmp_path / "bookings.csv"
    csv_path.write_text("code,service,date,start,end\n"
                        f"yy0001,ps_idcard,{today},08:30,17:00\n"
                        f"YY0002,ps_idcard,{today + timedelta(days=1)},08:30,17:00\n"
                        f"YY0003,no_such_service,{today},08:30,17:00\n", encoding="utf-8")
    proc, ready, log_path = start_server(tmp_path / "data", broker_port=free_port(),
                                         extra=["--appointments", str(csv_path)])
    kiosk = BusClient(ready["broker"], "daan", "kiosk-k1").start()
    try:
        walk_in = kiosk.request("ticket.issue", {"service": "ps_idcard", "channel": "walk_in"})
        t = kiosk.request("appointment.checkin", {"code": "YY0001"})
        assert t["channel"] == "appointment" and t["priority"] is True and t["service"] == "ps_idcard"
        assert t["ahead"] == 0 and walk_in["number"] < t["number"]      # booked: called before the walk-in
        assert kiosk.request("appointment.checkin", {"code": "yy0001"})["id"] == t["id"]   # once, case-blind
        for code, expected in (("YY0002", "too_early"), ("YY0003", "unknown_appointment"),
                               ("ZZ9999", "unknown_appointment")):     # 0.1: conflict, unknown_ticket
            with pytest.raises(RequestError) as e:
                kiosk.request("appointment.checkin", {"code": code})
            assert e.value.code == expected, code
        assert "no service 'no_such_service'" in log_path.read_text()
        assert date.fromisoformat(t["issued_at"][:10]) == today
    finally:
        kiosk.stop()
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
