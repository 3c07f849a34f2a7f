"""`onewindow demo --headless`: the simulated hall issues and calls numbers in all six zones, and finds a free
port when the configured one is busy."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.support.hall import ROOT

pytestmark = pytest.mark.e2e


def test_headless_demo_serves_all_six_zones(tmp_path) -> None:
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    cfg = (ROOT / "config" / "hall.toml").read_text(encoding="utf-8")
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    conf = tmp_path / "hall.toml"
    conf.write_text(cfg.replace("port = 1883", f"port = {port}"), encoding="utf-8")
    (tmp_path / "staff.toml").write_text((ROOT / "config" / "staff.toml").read_text(encoding="utf-8"),
                                         encoding="utf-8")     # the crowd signs in its staff (sign_in_required)
    try:
        out = subprocess.run([sys.executable, "-m", "onewindow", "demo", "--headless", "--duration", "12",
                              "--config", str(conf), "--data", str(tmp_path / "data"), "--speed", "2", "--seed", "7"],
                             capture_output=True, text=True, timeout=90, cwd=ROOT)
    finally:
        busy.close()
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"port 127.0.0.1:{port} is busy" in out.stdout
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["zones_issued"] == ["z1", "z2", "z3", "z4", "z5", "z6"]
    assert summary["zones_called"] == ["z1", "z2", "z3", "z4", "z5", "z6"]
    assert "取号" in out.stdout and "叫号 请" in out.stdout
    assert "stopped at start" not in out.stdout                  # the device controller ran the whole time
    # the demo's faults (演示故障) reach the server as device alerts, the ones the supervisor console lists
    assert "演示故障：" in out.stdout
    assert "告警 [device_fault] kiosk-crowd1 的设备 printer-crowd1 故障（code=paper_out）" in out.stdout
    assert "告警 [device_offline] devices-hall 的设备 eval-w3 离线" in out.stdout
    devices_log = (tmp_path / "data" / "devices.log").read_text(errors="replace")
    assert "voice worker" in devices_log                         # its speakers synthesize the calls
    if "no sound card" in devices_log:                           # without a card they are kept as WAV files
        clips = list((tmp_path / "data" / "voice").glob("*.wav"))
        assert clips and all(c.stat().st_size > 10_000 for c in clips)


def demo_children(tmp_path) -> list[str]:
    """Command lines of live processes started for this demo (they name its data folder)."""
    from pathlib import Path
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(tmp_path) in text:
            found.append(text)
    return found


def test_a_killed_demo_leaves_no_orphans_holding_ports(tmp_path) -> None:
    import re
    import signal
    import time
    proc = subprocess.Popen([sys.executable, "-m", "onewindow", "demo", "--headless", "--duration", "60",
                             "--data", str(tmp_path / "data")], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        port = None
        for line in proc.stdout:
            m = re.search(r"hall server ready: .* on mqtt://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port is not None
        socket.create_connection(("127.0.0.1", port), 2).close()      # the hall's broker is up
        proc.send_signal(signal.SIGKILL)                                # the demo dies without cleaning up
        proc.wait(5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
            except OSError:
                break                                                   # its server and broker went with it
            time.sleep(0.1)
        else:
            raise AssertionError(f"something still listens on {port} after the demo was killed")
        while time.monotonic() < deadline and demo_children(tmp_path):
            time.sleep(0.1)
        assert not demo_children(tmp_path), "processes of the killed demo are still running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_missing_qt_x11_libraries_are_named_as_debian_packages(tmp_path, monkeypatch) -> None:
    from onewindow.demo import debian_package, missing_qt_x11_packages
    assert debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package("libxcb-render-util.so.0") == "libxcb-render-util0"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    # a machine like a fresh server: ldd reports two of Qt's xcb libraries missing
    ldd = tmp_path / "ldd"
    ldd.write_text("#!/bin/sh\necho '\tlibxcb-icccm.so.4 => not found'\necho '\tlibxcb-keysyms.so.1 => not found'\n"
                   "echo '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x0)'\n")
    ldd.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert missing_qt_x11_packages() == ["libxcb-icccm4", "libxcb-keysyms1"]
