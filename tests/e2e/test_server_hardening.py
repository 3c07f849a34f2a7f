"""Issue 9, findings 1, 3 and 13 around the server's own broker: a CONNECT as the reserved `onewindow-server`
without the server's login cannot take the server's session (amqtt fallback and Mosquitto child); the server speaks
the systemd notify protocol (READY=1, WATCHDOG=1 from the worker loop) to a NOTIFY_SOCKET; a deaf server (its
broker frozen) exits non-zero; a broker beyond loopback without logins is refused."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hall_bus import BusClient
from hall_server.passwords import set_password
from tests.support.hall import HALL_CONFIG, ONEWINDOW, ROOT, free_port, start_hall
from tests.support.tools import require_tool

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _mosquitto() -> None:
    require_tool("mosquitto", package="mosquitto")


def issue(hall, client_id: str, timeout: float = 8.0) -> dict:  # noqa: ANN001
    c = hall.client(client_id)
    try:
        return c.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=timeout)
    finally:
        c.stop()


def impostor(url: str) -> None:
    c = BusClient(url, "daan", "onewindow-server").start()
    c.wait_connected(2)
    time.sleep(0.5)
    c.stop()


@pytest.mark.parametrize("broker", ["amqtt", "embedded"])
def test_a_connect_as_onewindow_server_without_its_login_does_not_deafen_the_server(tmp_path: Path,
                                                                                      broker: str) -> None:
    """amqtt fallback without logins configured (the server then has a random login of its own), and the Mosquitto
    child with logins: an impostor without the server's password is refused before it touches the session."""
    conf = tmp_path / "hall.toml"
    text = HALL_CONFIG.read_text(encoding="utf-8")
    kiosk_pw = None
    if broker == "embedded":     # Mosquitto ties a login to its client id only with logins on
        set_password(tmp_path / "broker-passwd", "kiosk-k1", "kiosk-pass-1")
        text = text.replace('# username = "onewindow-server"\n# password = "change-me"',
                            'username = "onewindow-server"\npassword = "s3cret-server"\n'
                            'password_file = "broker-passwd"')
        kiosk_pw = "kiosk-pass-1"
    conf.write_text(text, encoding="utf-8")
    hall = start_hall(tmp_path, broker, config=conf)
    try:
        port = int(hall.url.rsplit(":", 1)[1])
        if kiosk_pw:
            hall.url = f"mqtt://kiosk-k1:{kiosk_pw}@127.0.0.1:{port}"
        assert issue(hall, "kiosk-k1")["number"]
        for url in (f"mqtt://127.0.0.1:{port}", f"mqtt://onewindow-server:wrong-password@127.0.0.1:{port}"):
            impostor(url)
        assert issue(hall, "kiosk-k1", timeout=5)["number"]      # the server still hears requests
        assert hall.proc.poll() is None
        assert "no heartbeat echo" not in hall.log()
    finally:
        hall.stop()


def test_sd_notify_ready_and_watchdog_pings(tmp_path: Path) -> None:
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(0.2)
    hall = start_hall(tmp_path, env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "2000000",
                                     "WATCHDOG_PID": ""})
    try:
        got: list[str] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                got.append(sock.recv(4096).decode())
            except TimeoutError:
                pass
        assert any(m.startswith("READY=1") for m in got), got
        pings = [m for m in got if m == "WATCHDOG=1"]
        assert len(pings) >= 4, got            # every 0.5 s while the worker runs (WatchdogSec=2)
        hall.proc.terminate()
        hall.proc.wait(15)
        try:
            while True:
                got.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
        assert "STOPPING=1" in got
    finally:
        hall.stop()
        sock.close()


def test_a_deaf_server_exits_non_zero(tmp_path: Path) -> None:
    """Its broker frozen (SIGSTOP: the TCP connection stays, nothing comes back): no heartbeat echo, a reconnect
    that brings none either, then exit non-zero so that systemd restarts it."""
    hall = start_hall(tmp_path, env={"ONEWINDOW_HEARTBEAT_S": "0.5"})
    pid = hall.ready["broker_pid"]
    try:
        os.kill(pid, signal.SIGSTOP)
        code = hall.proc.wait(25)
        assert code != 0
        log = hall.log()
        assert "no heartbeat echo" in log
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        hall.stop()


def lan_config(tmp_path: Path, extra: str = "") -> Path:
    text = HALL_CONFIG.read_text(encoding="utf-8").replace('[broker]\nhost = "127.0.0.1"',
                                                           f'[broker]\nhost = "0.0.0.0"{extra}', 1)
    assert 'host = "0.0.0.0"' in text
    conf = tmp_path / "hall.toml"
    conf.write_text(text, encoding="utf-8")
    return conf


def test_a_broker_on_the_lan_without_logins_is_refused(tmp_path: Path) -> None:
    conf = lan_config(tmp_path)
    out = subprocess.run(ONEWINDOW + ["server", "--config", str(conf), "--data", str(tmp_path / "d"),
                                      "--broker-port", str(free_port())],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode != 0
    assert "onewindow passwd" in out.stderr and "allow_anonymous" in out.stderr


def test_allow_anonymous_on_the_lan_starts_and_check_config_warns(tmp_path: Path) -> None:
    conf = lan_config(tmp_path, "\nallow_anonymous = true")
    out = subprocess.run(ONEWINDOW + ["check-config", str(conf)], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "warning" in out.stderr and "allow_anonymous" in out.stderr
    hall = start_hall(tmp_path, config=conf)
    try:
        assert issue(hall, "kiosk-k1")["number"]
    finally:
        hall.stop()
