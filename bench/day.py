"""A busy day at the reference hall, compressed: kiosks issue thousands of tickets over all 121 services while all 102
windows call and finish them, through a real server subprocess on Mosquitto. Checks that nothing slows down or
grows as the day fills: server memory (VmRSS) sampled all along, issue and call latency in the first and the
last thousand tickets, the SQLite file at the end, and the day's books (every ticket issued once, done once).
Prints one JSON object. Usage: .venv/bin/python bench/day.py [--tickets N] [--broker mosquitto|embedded]"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ticket_roundtrip import bench_config  # noqa: E402
from hall_bus import BusClient, RequestError  # noqa: E402
from hall_bus.contract import Op  # noqa: E402
from hall_server.stats import summary  # noqa: E402
from tests.support.hall import start_hall  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def connect(url: str, client_id: str) -> BusClient:
    c = BusClient(url, "daan", client_id).start()
    if not (c.wait_connected(10) and c.subscribed.wait(10)):
        raise TimeoutError(f"{client_id} could not connect to {url}")
    return c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=6000, help="tickets in the day (a busy district hall: 3-6 k)")
    ap.add_argument("--kiosks", type=int, default=6)
    ap.add_argument("--rate", type=float, default=100.0,
                    help="tickets per second over all kiosks (a real hall: a few per minute; this is a day in a minute)")
    ap.add_argument("--broker", choices=("mosquitto", "embedded"), default="mosquitto")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-day-"))
    hall = start_hall(work, args.broker, config=bench_config(work))
    proc, url = hall.proc, hall.url
    stop = threading.Event()
    samples: list[tuple[float, int, float]] = []        # (seconds since start, tickets issued, RSS MB)
    issued_numbers: list[str] = []
    issue_ms: list[float] = []
    call_ms: list[float] = []
    finished: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    t0 = time.monotonic()

    def sampler() -> None:
        while not stop.is_set():
            samples.append((round(time.monotonic() - t0, 1), len(issued_numbers), round(rss_mb(proc.pid), 1)))
            stop.wait(0.5)

    probe = connect(url, "display-bench-day")
    catalog: list[dict] = []
    probe.subscribe(probe.topics.state_catalog, lambda _t, p: catalog.append(p))
    deadline = time.monotonic() + 10
    while not catalog:
        if time.monotonic() > deadline:
            hall.stop()
            raise TimeoutError("no state/catalog from the server within 10 s")
        time.sleep(0.01)
    services = [s["id"] for s in catalog[0]["services"]]
    windows = [w["id"] for w in catalog[0]["windows"]]

    def kiosk(k: int) -> None:
        c = connect(url, f"kiosk-day{k}")
        interval = args.kiosks / args.rate
        due = time.monotonic() + k * interval / args.kiosks
        try:
            for i in range(k, args.tickets, args.kiosks):
                time.sleep(max(0.0, due - time.monotonic()))
                due += interval
                start = time.perf_counter()
                try:
                    t = c.request(Op.TICKET_ISSUE, {"service": services[i % len(services)], "channel": "walk_in"})
                except RequestError as exc:
                    errors[f"issue:{exc.code}"] += 1
                    continue
                with lock:
                    issue_ms.append((time.perf_counter() - start) * 1000)
                    issued_numbers.append(t["number"])
        finally:
            c.stop()

    def window(w: str) -> None:
        rng = random.Random(w)
        c = connect(url, f"panel-{w}")
        try:
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    t = c.request(Op.WINDOW_CALL_NEXT, {"window": w})
                except RequestError as exc:
                    if exc.code != "no_ticket":
                        errors[f"call:{exc.code}"] += 1
                    if kiosks_done.is_set():
                        return
                    stop.wait(0.25)               # staff press "call" again a little later
                    continue
                with lock:
                    call_ms.append((time.perf_counter() - start) * 1000)
                stop.wait(rng.uniform(0.2, 1.0))  # the service itself, compressed
                c.request(Op.WINDOW_FINISH, {"window": w})
                with lock:
                    finished[t["number"]] += 1
        finally:
            c.stop()

    kiosks_done = threading.Event()
    sample_thread = threading.Thread(target=sampler, daemon=True)
    sample_thread.start()
    rss_start = rss_mb(proc.pid)
    window_threads = [threading.Thread(target=window, args=(w,), daemon=True) for w in windows]
    kiosk_threads = [threading.Thread(target=kiosk, args=(k,), daemon=True) for k in range(args.kiosks)]
    for t in window_threads + kiosk_threads:
        t.start()
    # Deadlines: the kiosks' planned time plus one request timeout; then the windows get 120 s to empty the hall.
    planned_end = time.monotonic() + args.tickets / args.rate + 30
    for t in kiosk_threads:
        t.join(max(0.0, planned_end - time.monotonic()))
    kiosks_done.set()
    windows_end = time.monotonic() + 120
    for t in window_threads:
        t.join(max(0.0, windows_end - time.monotonic()))
    hung = [t.name for t in kiosk_threads + window_threads if t.is_alive()]
    elapsed = time.monotonic() - t0
    stop.set()
    sample_thread.join(5)
    if hung:
        hall.stop()
        print(f"bench/day.py: {len(hung)} kiosk/window threads still running past their deadline (server hung?)",
              file=sys.stderr)
        return 1
    rss_end = rss_mb(proc.pid)
    probe.stop()
    hall.stop()
    db = next((work / "data").glob("*.sqlite3"))
    wal = db.with_name(db.name + "-wal")
    duplicates = [n for n, k in Counter(issued_numbers).items() if k > 1]
    first, last = slice(0, 1000), slice(-1000, None)
    peak = max(s[2] for s in samples) if samples else rss_end
    print(json.dumps({
        "bench": "day", "broker": args.broker, "tickets_asked": args.tickets, "tickets_issued": len(issued_numbers),
        "tickets_finished": sum(finished.values()), "windows": len(windows), "kiosks": args.kiosks,
        "seconds": round(elapsed, 1),
        "issue_ms": {"first_1000": summary(issue_ms[first]), "last_1000": summary(issue_ms[last])},
        "call_next_ms": {"first_1000": summary(call_ms[first]), "last_1000": summary(call_ms[last])},
        "server_rss_mb": {"start": round(rss_start, 1), "peak": peak, "end": round(rss_end, 1),
                          "samples": samples[:: max(1, len(samples) // 20)]},
        "sqlite_mb": round((db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 2**20, 2),
        "books": {"duplicate_numbers": duplicates, "finished_twice": [n for n, k in finished.items() if k > 1],
                  "issued_not_finished": len(set(issued_numbers) - set(finished)), "errors": dict(errors)},
    }, ensure_ascii=False))
    return 0 if not duplicates and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
