"""Ticket round trip (ticket.issue request → durable commit → reply) through a real server subprocess, with the
embedded broker and with Mosquitto; throughput sustained for at least 30 s; plus server restart-to-ready with
100,000 tickets of history (and the idempotency records the server keeps), as the median of several restarts.
Prints one JSON object. Usage: .venv/bin/python bench/ticket_roundtrip.py [--quick] [--duration S]"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import queue
import random
import sys
import tempfile
import threading
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall_bus import BusClient  # noqa: E402
from hall_bus.contract import Op, make_ok  # noqa: E402
from hall_server.config import load_hall_config  # noqa: E402
from hall_server.engine import Engine  # noqa: E402
from hall_server.stats import percentile, summary  # noqa: E402
from hall_server.store import REPLY_KEEP_DAYS, Store  # noqa: E402
from tests.support.hall import HALL_CONFIG, start_hall, start_server  # noqa: E402

REQUEST_TIMEOUT_S = 10.0      # one ticket.issue; a server that stops answering fails the bench, never hangs it


# ---------------------------------------------------------------- the bench hall
def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k, ensure_ascii=False)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)      # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {type(v).__name__}")


def toml_dumps(data: dict[str, Any]) -> str:
    """TOML for the shapes of a hall file (scalars, tables, arrays of tables); checked by a round trip."""
    def is_aot(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    def body(table: dict[str, Any], name: str) -> list[str]:
        lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()
                 if not isinstance(v, dict) and not is_aot(v)]
        for k, v in table.items():
            if isinstance(v, dict):
                lines += ["", f"[{name}.{_toml_key(k)}]" if name else f"[{_toml_key(k)}]",
                          *body(v, f"{name}.{_toml_key(k)}" if name else _toml_key(k))]
            elif is_aot(v):
                for row in v:
                    full = f"{name}.{_toml_key(k)}" if name else _toml_key(k)
                    lines += ["", f"[[{full}]]", *body(row, full)]
        return lines

    text = "\n".join(body(data, "")) + "\n"
    if tomllib.loads(text) != data:
        raise AssertionError("bench TOML writer lost something of the hall file")
    return text


def bench_config(tmp: Path, *, own_prefixes: bool = False, repeat_window_s: float | None = None) -> Path:
    """The reference hall for load: every quota at 999 (the most a service may have) and every service open to
    walk-ins (the load generator has no ID cards). With `own_prefixes` every service gets a prefix of its own (AA,
    AB, ...: a prefix numbers at most 999 tickets a day), so the day holds 121 x 999 tickets and a saturated run can
    last 30 s. (Copies of the services, as this bench made with 45, would pass the catalog's 64 KiB limit.)"""
    data = tomllib.loads(HALL_CONFIG.read_text(encoding="utf-8"))
    if repeat_window_s is not None:      # a bench calling as fast as it can: every call a new citizen
        data.setdefault("calling", {})["repeat_window_s"] = repeat_window_s
    data.get("issuing", {}).pop("period_quotas", None)      # no period quotas either (时段限号)
    for svc in data["services"]:
        svc["daily_quota"] = 999
        svc["id_required"] = False
    if own_prefixes:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        for i, svc in enumerate(data["services"]):
            svc["prefix"] = letters[i // 26] + letters[i % 26]
    out = tmp / f"hall-bench-{'own' if own_prefixes else 'shared'}-{repeat_window_s}.toml"
    out.write_text(toml_dumps(data), encoding="utf-8")
    return out


def _kiosk_group(url: str, first: int, count: int, n_kiosks: int, per_kiosk: int, services: list[str],
                 interval: float, start_at: float, until: float, out: "mp.Queue") -> None:
    """One load-generator process driving `count` kiosks (each its own MQTT client and thread)."""
    sys.setswitchinterval(0.0005)   # as the server does: a reply must not wait 5 ms for the GIL
    try:
        _drive(url, first, count, n_kiosks, per_kiosk, services, interval, start_at, until, out)
    except BaseException as exc:    # tell the parent instead of leaving it waiting
        out.put(([], [], start_at, -1.0, f"{type(exc).__name__}: {exc}"))


def _drive(url: str, first: int, count: int, n_kiosks: int, per_kiosk: int, services: list[str],
           interval: float, start_at: float, until: float, out: "mp.Queue") -> None:
    """Each kiosk issues per_kiosk tickets, or (until > 0) as many as it can until that wall-clock time."""
    clients = [BusClient(url, "daan", f"kiosk-bench{n_kiosks}-{first + i}").start() for i in range(count)]
    for c in clients:
        if not (c.wait_connected(10) and c.subscribed.wait(10)):
            raise TimeoutError(f"{c.client_id} could not connect to {url}")
    lat: list[float] = []
    done_at: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def work(i: int, c: BusClient) -> None:
        mine, stamps = [], []
        rng = random.Random(i)
        next_at = start_at + rng.uniform(0, interval)
        time.sleep(max(0.0, start_at - time.time()))
        k = 0
        try:
            while (time.time() < until) if until else (k < per_kiosk):
                if interval:
                    time.sleep(max(0.0, next_at - time.time()))
                    next_at += interval
                svc = services[(i * 7919 + k) % len(services)]
                t0 = time.perf_counter()
                c.request(Op.TICKET_ISSUE, {"service": svc, "channel": "walk_in"}, timeout=REQUEST_TIMEOUT_S)
                mine.append((time.perf_counter() - t0) * 1000)
                stamps.append(time.time())
                k += 1
        except Exception as exc:        # a refusal or a timeout: the run is not a measurement
            full = " (the bench hall's day is full: shorten --duration)" if "quota" in str(exc) else ""
            with lock:
                failures.append(f"kiosk {i}, ticket {k}: {type(exc).__name__}: {exc}{full}")
        with lock:
            lat.extend(mine)
            done_at.extend(stamps)

    threads = [threading.Thread(target=work, args=(first + i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.time()
    for c in clients:
        c.stop()
    out.put((lat, done_at, start_at, end, failures[0] if failures else None))


def run_kiosks(url: str, n_kiosks: int, per_kiosk: int, services: list[str], interval: float = 0.0,
               processes: int | None = None, duration: float = 0.0) -> dict:
    """n_kiosks clients each issuing per_kiosk tickets (or, with `duration`, as many as they can for that many
    seconds): back to back (interval 0: saturation, throughput) or one every `interval` seconds at a random phase
    (latency under a steady load). In a hall every kiosk is its own machine; here they are spread over a few
    processes so the load generator's GIL does not add its own queue."""
    processes = processes or min(n_kiosks, 5)
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    start_at = time.time() + 3.0 + 0.1 * processes     # all groups connected before the clock starts
    until = start_at + duration if duration else 0.0
    per_group = [n_kiosks // processes + (1 if g < n_kiosks % processes else 0) for g in range(processes)]
    procs, first = [], 0
    for count in per_group:
        p = ctx.Process(target=_kiosk_group, args=(url, first, count, n_kiosks, per_kiosk, services, interval,
                                                   start_at, until, out))
        p.start()
        procs.append(p)
        first += count
    # The deadline: the planned run, plus one request timeout for the last ticket in flight, plus start-up.
    planned = duration or (per_kiosk * max(interval, 0.05))
    deadline = time.monotonic() + (start_at - time.time()) + planned + REQUEST_TIMEOUT_S + 60
    results = []
    try:
        for _ in procs:
            try:
                results.append(out.get(timeout=max(1.0, deadline - time.monotonic())))
            except queue.Empty:
                raise TimeoutError(f"load generator: {len(procs) - len(results)} of {len(procs)} groups gave no "
                                   f"result by the deadline (server or broker hung?)") from None
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
    errors = [err for *_rest, err in results if err]
    if errors:
        raise RuntimeError(f"load generator failed: {errors[0]}")
    lat = [x for r, *_rest in results for x in r]
    stamps = sorted(x for _r, d, *_rest in results for x in d)
    wall = max(e for _r, _d, _s, e, _err in results) - start_at
    result = {"kiosks": n_kiosks, "processes": processes, "tickets": len(lat), "interval_s": interval,
              "seconds": round(wall, 2), "p50_ms": round(percentile(lat, 50), 2),
              "p99_ms": round(percentile(lat, 99), 2), "max_ms": round(max(lat), 2),
              "tickets_per_s": round(len(lat) / wall, 1)}
    if duration:
        # tickets per second in each 5 s slice: sustained means the last slices keep up with the first
        slices = [0] * max(1, math.ceil(duration / 5))
        for t in stamps:
            slices[min(len(slices) - 1, max(0, int((t - start_at) // 5)))] += 1
        result["tickets_per_s_by_5s"] = [round(n / 5, 1) for n in slices]
    return result


def bench_broker(kind: str, tmp: Path, conf: Path, big_conf: Path, quick: bool, duration: float) -> dict:
    """Latency on the reference hall itself (121 services, as a hall runs); throughput on `big_conf`, whose services
    each numbering with a prefix of their own give the day room for 30 s of saturation."""
    hall = start_hall(tmp, kind, data=tmp / f"data-{kind}", config=conf)
    services = [s.id for s in load_hall_config(conf).services]
    try:
        single = run_kiosks(hall.url, 1, 100 if quick else 400, services)
        steady = run_kiosks(hall.url, 50, 5 if quick else 30, services, interval=0.5)
    finally:
        hall.stop()
    hall = start_hall(tmp, kind, data=tmp / f"data-{kind}-big", config=big_conf)
    services = [s.id for s in load_hall_config(big_conf).services]
    try:
        many = run_kiosks(hall.url, 50, 0, services, duration=duration)
    finally:
        hall.stop()
    return {"one_kiosk": single, "fifty_kiosks_steady": steady, "fifty_kiosks_saturated": many}


def fill_history(conf: Path, data: Path, total: int) -> tuple[int, int]:
    """`total` tickets over the previous days and some today, written through the engine and the store as the
    server writes them: each issued by a kiosk request whose reply is kept as its idempotency record for the days
    the server keeps them (REPLY_KEEP_DAYS; older ones the server has pruned). Returns (tickets, replies)."""
    cfg = load_hall_config(conf)
    store = Store(data / f"{cfg.hall.id}.sqlite3")
    rng = random.Random(1)
    now = datetime.now(Engine(cfg).tz)
    services = [s.id for s in cfg.services]
    per_day = 4000
    days = total // per_day
    written = replies = 0
    for d in range(days, -1, -1):
        engine = Engine(cfg, rng=rng)
        day_start = (now - timedelta(days=d)).replace(hour=8, minute=30, second=0, microsecond=0)
        count = per_day if d else 300
        if not d:            # today's tickets were issued before now, whatever the time of day the bench runs
            day_start = max(now.replace(hour=0, minute=0, second=0, microsecond=0),
                            min(day_start, now - timedelta(seconds=count * 7 + 60)))
        keep = d <= REPLY_KEEP_DAYS
        outs = []
        for i in range(count):
            t = day_start + timedelta(seconds=i * 7)
            outcome = engine.issue(t, services[i % len(services)], "walk_in", open_all_day=True)
            rid = f"{day_start:%Y%m%d}-{i:05d}"
            outs.append((outcome, f"kiosk-k{i % 4 + 1}", rid, make_ok(rid, Op.TICKET_ISSUE, outcome.data))
                        if keep else (outcome, None, None, None))
        store.commit_many(outs, engine.windows, engine.day)
        written += count
        replies += count if keep else 0
    store.close()
    return written, replies


def bench_lookups(tmp: Path, conf: Path, quick: bool) -> dict:
    """50 steady kiosks beside a stream of one unknown verify-code lookup a second (what a mistyped status query, or a
    stranger on the citizen web, sends), over 100,000 stored tickets, on the server's own broker: the lookups must
    not hold up the issues."""
    data = tmp / "data-lookups"
    data.mkdir()
    fill_history(conf, data, 10_000 if quick else 100_000)
    hall = start_hall(tmp, "embedded", data=data, config=conf)
    services = [s.id for s in load_hall_config(conf).services]
    stop, took = threading.Event(), []
    try:
        alone = run_kiosks(hall.url, 50, 5 if quick else 30, services, interval=0.5)
        asker = hall.client("kiosk-lookups")

        def stream() -> None:
            rng = random.Random(2)
            while not stop.wait(1.0):
                code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(5))   # never issued
                t0 = time.perf_counter()
                try:
                    asker.request(Op.TICKET_GET, {"verify": code}, timeout=REQUEST_TIMEOUT_S)
                except Exception:         # unknown_ticket is the answer expected
                    pass
                took.append((time.perf_counter() - t0) * 1000)
        thread = threading.Thread(target=stream, daemon=True)
        thread.start()
        beside = run_kiosks(hall.url, 50, 5 if quick else 30, services, interval=0.5)
        stop.set()
        thread.join(REQUEST_TIMEOUT_S + 2)
        asker.stop()
    finally:
        stop.set()
        hall.stop()
    return {"history_tickets": 100_000 if not quick else 10_000, "fifty_kiosks_steady": alone,
            "fifty_kiosks_steady_with_lookups": beside,
            "lookup_ms": summary(took) if took else None}


def bench_restart(tmp: Path, conf: Path, quick: bool, runs: int) -> dict:
    data = tmp / "data-restart"
    data.mkdir()
    n, replies = fill_history(conf, data, 20_000 if quick else 100_000)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc, _ready, _log = start_server(data, config=conf, timeout=30)
        times.append(time.perf_counter() - t0)
        proc.terminate()
        try:
            proc.wait(10)
        except Exception:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    return {"history_tickets": n, "idempotency_records": replies, "runs": runs,
            "restart_to_ready_s": round(percentile(times, 50), 3),
            "min_s": round(min(times), 3), "max_s": round(max(times), 3), "runs_s": [round(r, 3) for r in times],
            "note": "median of the runs: process start (Python imports, config, store load of today, the reply "
                    "keys, broker start) to the ready line"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small runs to try the bench; not the figures")
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds of the saturated run (default 30, the least for a throughput figure; --quick 5)")
    ap.add_argument("--restarts", type=int, default=5, help="restarts whose median is the restart figure")
    args = ap.parse_args()
    duration = args.duration if args.duration is not None else (5.0 if args.quick else 30.0)
    if duration < 30 and not args.quick:
        ap.error("--duration below 30 s gives no sustained throughput figure (use --quick to try the bench)")
    # Every service with its own prefix: the day holds 121 x 999 tickets (30 s at up to ~2,900 tickets/s after the
    # other runs).
    base = len(tomllib.loads(HALL_CONFIG.read_text(encoding="utf-8"))["services"])
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        conf = bench_config(tmp)
        big_conf = bench_config(tmp, own_prefixes=True)
        result = {"bench": "ticket_roundtrip", "machine_cores": os.cpu_count(), "quick": args.quick,
                  "services": base, "capacity_tickets": base * 999,
                  "saturated_duration_s": duration,
                  # the server's own broker: the supervised Mosquitto child (default), the amqtt fallback
                  "embedded": bench_broker("embedded", tmp, conf, big_conf, args.quick, duration),
                  "amqtt": bench_broker("amqtt", tmp, conf, big_conf, args.quick, duration),
                  "mosquitto": bench_broker("mosquitto", tmp, conf, big_conf, args.quick, duration),
                  "unknown_lookups": bench_lookups(tmp, conf, args.quick),
                  "restart": bench_restart(tmp, bench_config(tmp), args.quick, args.restarts),
                  "targets": {"p99_ms_50_kiosks": 10, "tickets_per_s_mosquitto": 1000, "restart_s": 1.5},
                  "notes": "fifty_kiosks_steady: each of 50 kiosks issues one ticket every 0.5 s (100 tickets/s, "
                           "50x a busy hall's peak) on the reference hall; fifty_kiosks_saturated: back to back for the "
                           "whole duration, no think time, so its latency is queueing (Little's law: 50 in flight / "
                           "throughput), on the reference hall with a prefix per service so the day's quotas hold "
                           "that many tickets. Load generator, broker and server share this machine's cores."}
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
