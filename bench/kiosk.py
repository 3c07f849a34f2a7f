"""Kiosk budgets (ARCHITECTURE.md): cold start to an interactive home screen (subprocess), resident memory, and
touch on "confirm" -> last ticket byte handed to the printer transport. Prints one JSON object.

    .venv/bin/python bench/kiosk.py [--runs 5] [--tickets 30]

Runs a real hall (server subprocess + embedded broker) and the simulated printer and ID-card reader."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.support.hall import start_hall  # noqa: E402

KEY = "bench-key"


def write_config(tmp: Path, broker: str, name: str) -> Path:
    cfg = tmp / f"kiosk-{name}.toml"
    cfg.write_text(f'''id = "{name}"
hall = "daan"
broker = "{broker}"
hmac_key = "env:BENCH_KIOSK_KEY"
fullscreen = false
[printer]
url = "sim://printer"
[idcard]
url = "sim://idcard?card=absent"
''', encoding="utf-8")
    return cfg


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(cfg: Path, runs: int) -> tuple[list[float], list[float]]:
    times, rss = [], []
    env = dict(os.environ, BENCH_KIOSK_KEY=KEY, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "hall_server.cli", "kiosk", "--config", str(cfg), "--windowed"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        ready = None
        for line in proc.stdout:
            if line.startswith("{") and json.loads(line).get("event") == "ready":
                ready = time.perf_counter() - t0
                break
        if ready is None:
            proc.kill()
            raise RuntimeError("kiosk never reached its home screen")
        times.append(ready)
        time.sleep(1.0)                      # settle: device threads, first polls
        rss.append(rss_mb(proc.pid))
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    return times, rss


def touch_to_print(broker: str, tickets: int) -> list[float]:
    """In-process: a real window, bridge, bus and simulated printer; click confirm, time the transport write."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QPushButton

    from kiosk import bridge as bridge_mod
    from kiosk.bridge import KioskBridge
    from kiosk.config import KioskConfig
    from kiosk.hardware import open_devices
    from kiosk.window import KioskWindow

    bridge_mod.LOG_EVENTS = False
    app = QApplication.instance() or QApplication([])
    config = KioskConfig.model_validate({"id": "benchtouch", "broker": broker, "hmac_key": KEY, "fullscreen": False,
                                         "printer": {"url": "sim://printer"}, "idcard": {"url": ""}})
    bridge: KioskBridge | None = None
    ports = open_devices(config, KEY.encode(), lambda: bridge.catalog if bridge else None)
    bridge = KioskBridge(config, printer=ports["printer"], hmac_key=KEY.encode())
    win = KioskWindow(config, bridge)
    win.resize(1080, 1920)
    win.show()
    bridge.start()

    def spin_until(pred, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError("bench: condition not met")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)

    spin_until(lambda: win.current == "home" and ports["printer"].driver.transport is not None)
    transport = ports["printer"].driver.transport
    written: list[float] = []
    original = transport.write

    def timed_write(data: bytes) -> None:
        original(data)
        if len(data) > 32:                   # a ticket job, not a status query
            written.append(time.perf_counter())
    transport.write = timed_write

    svc = next(s for s in win.catalog.services_of("z1") if not s.id_required)
    out = []
    for _ in range(tickets):
        win.do_service(svc.id)
        spin_until(lambda: win.current == "confirm")
        button = win.stack.currentWidget().findChild(QPushButton, "confirm")
        before = len(written)
        t0 = time.perf_counter()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        spin_until(lambda: len(written) > before)
        out.append((written[-1] - t0) * 1000)
        spin_until(lambda: win.current == "done")
        win.go_home()
    bridge.stop()
    win.close()
    app.processEvents()
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--tickets", type=int, default=30)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        hall = start_hall(tmp)
        try:
            cfg = write_config(tmp, hall.url, "bench")
            times, rss = cold_start(cfg, args.runs)
            touch = touch_to_print(hall.url, args.tickets)
        finally:
            hall.stop()
    touch_sorted = sorted(touch)
    result = {
        "bench": "kiosk",
        "cold_start_to_home_s": {"median": round(statistics.median(times), 3), "max": round(max(times), 3),
                                 "runs": len(times), "budget": 2.5},
        "rss_mb": {"median": round(statistics.median(rss), 1), "max": round(max(rss), 1), "budget": 200},
        "touch_to_last_ticket_byte_ms": {
            "p50": round(statistics.median(touch), 1),
            "p95": round(touch_sorted[max(0, int(len(touch) * 0.95) - 1)], 1),
            "max": round(max(touch), 1), "tickets": len(touch), "budget": 300},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
