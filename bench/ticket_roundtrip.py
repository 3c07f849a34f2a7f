"""Ticket round trip (ticket.issue request → durable commit → reply) through a real server subprocess, with the
embedded broker and with Mosquitto; plus server restart-to-ready with 100,000 tickets of history.
Prints one JSON object. Usage: .venv/bin/python bench/ticket_roundtrip.py [--quick]"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import statistics
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
from tests.support.hall import HALL_CONFIG, start_hall, start_server  # noqa: E402


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


def _kiosk_group(url: str, first: int, count: int, n_kiosks: int, per_kiosk: int, services: list[str],
                 interval: float, start_at: float, out: "mp.Queue") -> None:
    """One load-generator process driving `count` kiosks (each its own MQTT client and thread)."""
    sys.setswitchinterval(0.0005)   # as the server does: a reply must not wait 5 ms for the GIL
    try:
        _drive(url, first, count, n_kiosks, per_kiosk, services, interval, start_at, out)
    except BaseException as exc:    # tell the parent instead of leaving it waiting
        out.put(([], start_at, -1.0, f"{type(exc).__name__}: {exc}"))


def _drive(url: str, first: int, count: int, n_kiosks: int, per_kiosk: int, services: list[str],
           interval: float, start_at: float, out: "mp.Queue") -> None:
    clients = [BusClient(url, "daan", f"kiosk-bench{n_kiosks}-{first + i}").start() for i in range(count)]
    for c in clients:
        if not (c.wait_connected(10) and c.subscribed.wait(10)):
            raise TimeoutError(f"{c.client_id} could not connect to {url}")
    lat: list[float] = []
    lock = threading.Lock()

    def work(i: int, c: BusClient) -> None:
        mine = []
        rng = random.Random(i)
        next_at = start_at + rng.uniform(0, interval)
        time.sleep(max(0.0, start_at - time.time()))
        for k in range(per_kiosk):
            if interval:
                time.sleep(max(0.0, next_at - time.time()))
                next_at += interval
            svc = services[(i * per_kiosk + k) % len(services)]
            t0 = time.perf_counter()
            c.request("ticket.issue", {"service": svc, "channel": "walk_in"}, timeout=30)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=work, args=(first + i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.time()
    for c in clients:
        c.stop()
    out.put((lat, start_at, end, None))


def run_kiosks(url: str, n_kiosks: int, per_kiosk: int, services: list[str], interval: float = 0.0,
               processes: int | None = None) -> dict:
    """n_kiosks clients each issuing per_kiosk tickets: back to back (interval 0: saturation, throughput) or one
    every `interval` seconds at a random phase (latency under a steady load). In a hall every kiosk is its own
    machine; here they are spread over a few processes so the load generator's GIL does not add its own queue."""
    processes = processes or min(n_kiosks, 5)
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    start_at = time.time() + 3.0 + 0.1 * processes     # all groups connected before the clock starts
    per_group = [n_kiosks // processes + (1 if g < n_kiosks % processes else 0) for g in range(processes)]
    procs, first = [], 0
    for count in per_group:
        p = ctx.Process(target=_kiosk_group, args=(url, first, count, n_kiosks, per_kiosk, services, interval,
                                                   start_at, out))
        p.start()
        procs.append(p)
        first += count
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    errors = [err for *_rest, err in results if err]
    if errors:
        raise RuntimeError(f"load generator failed: {errors[0]}")
    lat = [x for r, _s, _e, _err in results for x in r]
    wall = max(e for _r, _s, e, _err in results) - start_at
    return {"kiosks": n_kiosks, "processes": processes, "tickets": len(lat), "interval_s": interval,
            "p50_ms": round(statistics.median(lat), 2), "p99_ms": round(pct(lat, 99), 2),
            "max_ms": round(max(lat), 2), "tickets_per_s": round(len(lat) / wall, 1)}


def bench_broker(kind: str, tmp: Path, conf: Path, quick: bool) -> dict:
    hall = start_hall(tmp, kind, data=tmp / f"data-{kind}", config=conf)
    services = [s.id for s in load_hall_config(conf).services]
    try:
        single = run_kiosks(hall.url, 1, 100 if quick else 400, services)
        steady = run_kiosks(hall.url, 50, 5 if quick else 30, services, interval=0.5)
        many = run_kiosks(hall.url, 50, 10 if quick else 40, services)
    finally:
        hall.stop()
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
