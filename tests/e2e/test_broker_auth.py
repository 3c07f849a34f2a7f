"""Broker logins and topic rules (PROTOCOL.md "Client identity and roles"), on the embedded broker and on a Mosquitto
run with docs/deploy/mosquitto-onewindow.{conf,acl}: one password file in Mosquitto's format serves both, written
by `onewindow passwd` and by `mosquitto_passwd`; a client logs in only as the client id of its username and may
not publish a request in another client's name."""
from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hall_bus import BusClient, RequestError, Topics
from hall_server.passwords import read_password_file, verify
from tests.support.hall import HALL_CONFIG, ONEWINDOW, ROOT, free_port, start_server, wait_port

pytestmark = pytest.mark.e2e
DEPLOY = ROOT / "docs" / "deploy"
PASSWORDS = {"onewindow-server": "server-pass-1", "kiosk-k1": "kiosk-pass-1", "panel-w1": "panel-pass-1",
             "display-d1": "display-pass-1"}


def passwd(file: Path, client: str, password: str) -> None:
    out = subprocess.run(ONEWINDOW + ["passwd", "--stdin", str(file), client], input=password + "\n",
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def password_file(tmp: Path) -> Path:
    """Written by both tools: ours for most clients, Mosquitto's own for the panel."""
    f = tmp / "broker-passwd"
    for client, pw in PASSWORDS.items():
        if client != "panel-w1":
            passwd(f, client, pw)
    tool = shutil.which("mosquitto_passwd")
    assert tool, "mosquitto_passwd (Debian package mosquitto) is needed"
    subprocess.run([tool, "-b", str(f), "panel-w1", PASSWORDS["panel-w1"]], check=True, capture_output=True)
    return f


def url(port: int, client: str, password: str | None = None) -> str:
    pw = PASSWORDS.get(client) if password is None else password
    return f"mqtt://{client}:{pw}@127.0.0.1:{port}"


def login(port: int, client: str, password: str | None = None, *, as_id: str | None = None,
          wait: float = 5) -> BusClient | None:
    c = BusClient(url(port, client, password), "daan", as_id or client).start()
    if c.wait_connected(wait):
        return c
    c.stop()
    return None


def check_logins_and_topics(port: int, pwfile: Path, reload: Callable[[], None] = lambda: None) -> None:
    kiosk = login(port, "kiosk-k1")
    panel = login(port, "panel-w1")                 # its hash was written by mosquitto_passwd
    assert kiosk and panel
    try:
        t = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        assert login(port, "kiosk-k1", "wrong-password", wait=2) is None
        # someone else's login: the embedded broker refuses it, Mosquitto (use_username_as_clientid) makes the
        # session kiosk-k1's; either way a request in kiosk-k9's name goes nowhere
        impostor = login(port, "kiosk-k1", as_id="kiosk-k9", wait=2)
        if impostor is not None:
            try:
                with pytest.raises(RequestError) as refused:
                    impostor.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=2)
                assert refused.value.code == "timeout"
            finally:
                impostor.stop()
            kiosk.stop()                                  # the impostor took kiosk-k1's session: log in again
            kiosk = login(port, "kiosk-k1")
            assert kiosk is not None
        assert login(port, "kiosk-nobody", "whatever1", wait=2) is None          # not in the file
        # kiosk-k1 (its own login, its own id) forges a panel's request on the wire: the broker drops it
        kiosk.stop()                                                  # one session per client id
        calls: queue.Queue = queue.Queue()
        watcher = login(port, "display-d1")
        assert watcher is not None
        watcher.subscribe(Topics("daan").event_call, lambda _t, p: calls.put(p))
        assert watcher.subscribed.wait(5)
        raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kiosk-k1", clean_session=True)
        raw.username_pw_set("kiosk-k1", PASSWORDS["kiosk-k1"])
        raw.connect("127.0.0.1", port)
        raw.loop_start()
        info = raw.publish("onewindow/daan/request/panel-w1/window.call_next",
                           json.dumps({"v": 1, "id": "forged-1", "args": {"window": "w1"}}), qos=1)
        info.wait_for_publish(5)
        # ... and a device status in another client's name: "printer error" must not reach any display
        status = json.dumps({"v": 1, "kind": "printer", "state": "error", "detail": {}})
        for owner in ("kiosk-k2", "kiosk-k1"):
            raw.publish(f"onewindow/daan/device/{owner}/printer-{owner[-2:]}/status", status, qos=1,
                        retain=True).wait_for_publish(5)
        time.sleep(1.5)
        raw.loop_stop()
        raw.disconnect()
        assert calls.empty(), "a forged request called a ticket"
        seen: queue.Queue = queue.Queue()
        fresh = login(port, "display-d1")
        assert fresh is not None
        fresh.subscribe("onewindow/daan/device/+/+/status", lambda topic, _p: seen.put(topic))
        assert fresh.subscribed.wait(5)
        time.sleep(1.0)
        got = set()
        while not seen.empty():
            got.add(seen.get())
        fresh.stop()
        assert got == {"onewindow/daan/device/kiosk-k1/printer-k1/status"}, got     # its own device only
        assert panel.request("ticket.get", {"ticket_id": t["id"]})["state"] == "waiting"
        served = panel.request("window.call_next", {"window": "w1"})          # the real panel still can
        assert served["number"] == t["number"]
        watcher.stop()
        # a client added while everything runs logs in without a restart (Mosquitto: after a reload, SIGHUP)
        passwd(pwfile, "kiosk-k2", "kiosk-pass-2")
        reload()
        late = login(port, "kiosk-k2", "kiosk-pass-2")
        assert late is not None
        late.stop()
    finally:
        panel.stop()


def hall_config_with_auth(tmp: Path, pwfile: Path) -> Path:
    text = HALL_CONFIG.read_text(encoding="utf-8").replace(
        '# username = "onewindow-server"\n# password = "change-me"',
        f'username = "onewindow-server"\npassword = "{PASSWORDS["onewindow-server"]}"\n'
        f'password_file = "{pwfile.name}"')
    cfg = tmp / "hall.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def test_embedded_broker_logins_from_the_password_file(tmp_path) -> None:
    pwfile = password_file(tmp_path)
    assert all(verify(h, PASSWORDS.get(c, "kiosk-pass-2")) for c, h in read_password_file(pwfile).hashes.items())
    port = free_port()
    proc, ready, _log = start_server(tmp_path / "data", broker_port=port,
                                     config=hall_config_with_auth(tmp_path, pwfile))
    try:
        assert PASSWORDS["onewindow-server"] not in json.dumps(ready)
        check_logins_and_topics(port, pwfile)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_mosquitto_with_the_deploy_files_enforces_the_same_rules(tmp_path) -> None:
    pwfile = password_file(tmp_path)
    port = free_port()
    acl = tmp_path / "onewindow.acl"
    acl.write_text((DEPLOY / "mosquitto-onewindow.acl").read_text())
    conf_lines = []
    for line in (DEPLOY / "mosquitto-onewindow.conf").read_text().splitlines():
        if line.startswith("listener "):
            line = f"listener {port} 127.0.0.1"
        elif line.startswith("password_file "):
            line = f"password_file {pwfile}"
        elif line.startswith("acl_file "):
            line = f"acl_file {acl}"
        conf_lines.append(line)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("\n".join(conf_lines + ["persistence false", "user root"]) + "\n")
    log = (tmp_path / "mosquitto.log").open("w")
    mosq = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port)
        proc, _ready, _log = start_server(tmp_path / "data", broker_url=url(port, "onewindow-server"))
        try:
            check_logins_and_topics(port, pwfile, reload=lambda: (mosq.send_signal(signal.SIGHUP), time.sleep(0.5)))
        finally:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()
    finally:
        mosq.terminate()
        mosq.wait(5)
        log.close()


def test_check_config_reports_a_broken_password_file(tmp_path) -> None:
    pwfile = tmp_path / "broker-passwd"
    pwfile.write_text("kiosk-k1:$7$101$not-base64!$xx\nno colon here\nkiosk-k1:plain\n")
    cfg = hall_config_with_auth(tmp_path, pwfile)
    out = subprocess.run(ONEWINDOW + ["check-config", str(cfg)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 1
    assert "line 1: salt or hash is not base64" in out.stdout and "line 2: no ':'" in out.stdout
    assert "line 3: unknown hash format" in out.stdout
