"""Ticket round trip (ticket.issue request → durable commit → reply) through a real server subprocess, with the
embedded broker and with Mosquitto; plus server restart-to-ready with 100,000 tickets of history.
Prints one JSON object. Usage: .venv/bin/python bench/ticket_roundtrip.py [--quick]"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall_bus import BusClient  # noqa: E402
from hall_server.config import load_hall_config  # noqa: E402
from hall_server.engine import Engine  # noqa: E402
from hall_server.store import Store  # noqa: E402
from tests.support.hall import HALL_CONFIG, Mosquitto, start_server  # noqa: E402


def bench_config(tmp: Path) -> Path:
    """The reference hall with every quota at 999, so thousands of tickets can be issued."""
    text = HALL_CONFIG.read_text(encoding="utf-8")
    import re
    text = re.sub(r"daily_quota = \d+", "daily_quota = 999", text)
    out = tmp / "hall-bench.toml"
    out.write_text(text, encoding="utf-8")
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_kiosks(url: str, n_kiosks: int, per_kiosk: int, services: list[str], interval: float = 0.0) -> dict:
    """n_kiosks clients each issuing per_kiosk tickets: back to back (interval 0: saturation, throughput) or one
    every `interval` seconds at a random phase (latency under a steady load)."""
    clients = [BusClient(url, "daan", f"kiosk-bench{n_kiosks}-{i}").start() for i in range(n_kiosks)]
    for c in clients:
        assert c.wait_connected(10) and c.subscribed.wait(10)
    lat: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n_kiosks + 1)

    def work(i: int, c: BusClient) -> None:
        mine = []
        rng = random.Random(i)
        barrier.wait()
        next_at = time.perf_counter() + rng.uniform(0, interval)
        for k in range(per_kiosk):
            if interval:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            svc = services[(i * per_kiosk + k) % len(services)]
            t0 = time.perf_counter()
            c.request("ticket.issue", {"service": svc, "channel": "walk_in"}, timeout=30)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for c in clients:
        c.stop()
    return {"kiosks": n_kiosks, "tickets": len(lat), "interval_s": interval, "p50_ms": round(statistics.median(lat), 2),
            "p99_ms": round(pct(lat, 99), 2), "max_ms": round(max(lat), 2),
            "tickets_per_s": round(len(lat) / wall, 1)}


def bench_broker(kind: str, tmp: Path, conf: Path, quick: bool) -> dict:
    data = tmp / f"data-{kind}"
    mosq = None
    if kind == "mosquitto":
        mosq = Mosquitto(tmp).start()
        proc, ready, _log = start_server(data, broker_url=mosq.url, config=conf)
    else:
        proc, ready, _log = start_server(data, config=conf)
    url = ready["broker"]
    cfg = load_hall_config(conf)
    services = [s.id for s in cfg.services]
    try:
        single = run_kiosks(url, 1, 100 if quick else 400, services)
        steady = run_kiosks(url, 50, 5 if quick else 16, services, interval=0.5)
        many = run_kiosks(url, 50, 10 if quick else 40, services)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        if mosq:
            mosq.stop()
    return {"one_kiosk": single, "fifty_kiosks_steady": steady, "fifty_kiosks_saturated": many}


def fill_history(conf: Path, data: Path, total: int) -> int:
    """100,000 tickets over the previous days (and some today), written through the engine and the store."""
    cfg = load_hall_config(conf)
    store = Store(data / "daan.sqlite3")
    rng = random.Random(1)
    now = datetime.now(Engine(cfg).tz)
    services = [s.id for s in cfg.services]
    per_day = 4000
    days = total // per_day
    written = 0
    for d in range(days, -1, -1):
        engine = Engine(cfg, rng=rng)
        day_start = (now - timedelta(days=d)).replace(hour=8, minute=30, second=0, microsecond=0)
        count = per_day if d else 300
        outs = []
        for i in range(count):
            t = day_start + timedelta(seconds=i * 7)
            outs.append((engine.issue(t, services[i % len(services)], "walk_in", open_all_day=True), None, None, None))
        store.commit_many(outs, engine.windows, engine.day)
        written += count
    store.close()
    return written


def bench_restart(tmp: Path, conf: Path, quick: bool) -> dict:
    data = tmp / "data-restart"
    data.mkdir()
    n = fill_history(conf, data, 20_000 if quick else 100_000)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        proc, _ready, _log = start_server(data, config=conf)
        runs.append(time.perf_counter() - t0)
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    return {"history_tickets": n, "restart_to_ready_s": round(min(runs), 3), "runs_s": [round(r, 3) for r in runs],
            "note": "process start (Python imports, config, store load of today, broker start) to the ready line"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        conf = bench_config(tmp)
        result = {"bench": "ticket_roundtrip", "machine_cores": __import__("os").cpu_count(),
                  "embedded": bench_broker("embedded", tmp, conf, args.quick),
                  "mosquitto": bench_broker("mosquitto", tmp, conf, args.quick),
                  "restart": bench_restart(tmp, conf, args.quick),
                  "targets": {"p99_ms_50_kiosks": 10, "tickets_per_s_mosquitto": 1000, "restart_s": 1.5},
                  "notes": "fifty_kiosks_steady: each of 50 kiosks issues one ticket every 0.5 s (100 tickets/s, "
                           "50x a busy hall's peak); fifty_kiosks_saturated: back to back, no think time, so its "
                           "latency is queueing (Little's law: 50 in flight / throughput). Load generator, broker "
                           "and server share this machine's cores."}
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
