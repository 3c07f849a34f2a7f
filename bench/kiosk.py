"""Kiosk budgets (ARCHITECTURE.md): cold start to an interactive home screen (subprocess), resident memory, and
touch on "confirm" -> last ticket byte handed to the printer transport. Prints one JSON object.

    .venv/bin/python bench/kiosk.py [--runs 5] [--tickets 30]

Runs a real hall (server subprocess + embedded broker) and the simulated printer and ID-card reader."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hall_server.stats import percentile  # noqa: E402
from tests.support.hall import start_hall, wait_for_line  # noqa: E402
from tests.support.kiosk_probe import touch_to_print  # noqa: E402

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


READY_TIMEOUT_S = 30.0       # the budget is 2.5 s; a kiosk that takes this long is broken, not slow


def _is_ready(line: str) -> bool:
    try:
        return line.startswith("{") and json.loads(line).get("event") == "ready"
    except ValueError:
        return False


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
        proc = subprocess.Popen([sys.executable, "-m", "onewindow", "kiosk", "--config", str(cfg), "--windowed"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line, reader = wait_for_line(proc, READY_TIMEOUT_S, _is_ready)
        if not line:
            proc.kill()
            proc.wait()
            reader.join(2)
            raise RuntimeError(f"kiosk never reached its home screen: "
                               f"{'it exited' if line == '' else f'no ready line within {READY_TIMEOUT_S:g} s'}")
        times.append(time.perf_counter() - t0)
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
            touch = touch_to_print(hall.url, args.tickets, KEY)
        finally:
            hall.stop()
    result = {
        "bench": "kiosk",
        "cold_start_to_home_s": {"median": round(percentile(times, 50), 3), "max": round(max(times), 3),
                                 "runs": len(times), "budget": 2.5},
        "rss_mb": {"median": round(percentile(rss, 50), 1), "max": round(max(rss), 1), "budget": 200},
        "touch_to_last_ticket_byte_ms": {
            "p50": round(percentile(touch, 50), 1), "p95": round(percentile(touch, 95), 1),
            "max": round(max(touch), 1), "tickets": len(touch), "budget": 300},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
