"""Bus event → console screen update, with the whole hall live: a real hall server (private Mosquitto), `onewindow
console --demo-login` as a subprocess, logged in over HTTP with its live stream (/events) open; all windows opened
from their panel clients, tickets issued from kiosk clients, a device controller's devices reporting; then events
driven at a steady rate — window call / finish / pause / resume (requests as a panel sends them), device status
changes (as a devices- client publishes them), alerts (event/alert, and the server's device_fault alert raised by a
device's error) — each timed from sending it to the console's SSE message that shows it. Prints one JSON object.

    .venv/bin/python bench/console.py [--quick] [--rate 10] [--events 600] [--devices 20]

Target (issue 12): p99 ≤ 200 ms with the whole hall live (102 windows, 20 devices).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from hall_bus import BusClient, RequestError  # noqa: E402
from hall_bus.contract import Op, encode_json  # noqa: E402
from hall_server.config import load_hall_config  # noqa: E402
from hall_server.stats import summary  # noqa: E402
from tests.support.hall import HALL_CONFIG, ONEWINDOW, start_hall, wait_for_line  # noqa: E402

TARGET_P99_MS = 200.0
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
OWNER = "devices-hall"
KINDS = ("keypad", "led", "evaluator", "strip")


class Screen:
    """The console's live stream as a browser gets it: every SSE message with its arrival time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.messages: list[tuple[float, str, str]] = []     # (perf_counter, event, data)
        self.stop = threading.Event()
        self.error: str | None = None

    def listen(self, url: str, cookies: httpx.Cookies) -> None:
        try:
            with httpx.Client(base_url=url, cookies=cookies, timeout=httpx.Timeout(10, read=60)) as s:
                with s.stream("GET", "/events") as r:
                    event = "message"
                    for line in r.iter_lines():
                        if self.stop.is_set():
                            return
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: "):
                            with self.cond:
                                self.messages.append((time.perf_counter(), event, line[6:]))
                                self.cond.notify_all()
                        elif not line:
                            event = "message"
        except Exception as exc:       # the bench reports it rather than hanging
            if not self.stop.is_set():
                self.error = f"{type(exc).__name__}: {exc}"

    def find(self, since: float, test: Callable[[str, str], bool], start: int = 0) -> tuple[float | None, int]:
        with self.cond:
            msgs = self.messages[start:]
        for i, (t, ev, data) in enumerate(msgs):
            if t >= since and test(ev, data):
                return t, start + i
        return None, start

    def wait(self, since: float, test: Callable[[str, str], bool], timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        pos = 0
        while True:
            t, pos = self.find(since, test, pos)
            if t is not None:
                return t
            with self.cond:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))


def window_cell(data: str, wid: str) -> str | None:
    """The window's cell in a patch message (its own patch, or the whole map)."""
    try:
        patches = json.loads(data)
    except ValueError:
        return None
    for p in patches if isinstance(patches, list) else []:
        html = p.get("html", "")
        i = html.find(f'<a id="win-{wid}" ')
        if i >= 0:
            return html[i:html.find("</a>", i)]
    return None


def device_row(data: str, device: str) -> str | None:
    try:
        patches = json.loads(data)
    except ValueError:
        return None
    for p in patches if isinstance(patches, list) else []:
        if p.get("id") == "part-devices":
            m = re.search(rf'<tr class="dev (\w+)"><td>{OWNER}</td><td>{re.escape(device)}</td>', p.get("html", ""))
            return m.group(1) if m else None
    return None


def proc_usage(pid: int) -> tuple[float, float]:
    """(RSS MiB, CPU seconds user+system) of a process from /proc."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return round(rss, 1), cpu


def device_status(kind: str, state: str, code: str = "") -> dict[str, Any]:
    return {"v": 1, "kind": kind, "state": state, "detail": {"code": code} if code else {}}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer events and tickets (a smoke run)")
    ap.add_argument("--rate", type=float, default=10.0, help="events per second")
    ap.add_argument("--events", type=int, default=600)
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--driven", type=int, default=0,
                    help="windows the window events rotate over (default 24; --quick 12); all are open")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each event's screen update")
    args = ap.parse_args(argv)
    n_events = 120 if args.quick else args.events

    cfg = load_hall_config(HALL_CONFIG)
    windows = [w for w in cfg.windows]
    services = [s for s in cfg.services if not s.id_required]
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    hall = start_hall(tmp, "mosquitto")
    clients: list[BusClient] = []
    console: subprocess.Popen | None = None
    screen = Screen()
    result: dict[str, Any] = {"bench": "console", "target_p99_ms": TARGET_P99_MS, "broker": "mosquitto",
                              "windows": len(windows), "devices": args.devices, "rate_per_s": args.rate,
                              "quick": args.quick}
    try:
        with (tmp / "console.log").open("w") as log:
            console = subprocess.Popen([*ONEWINDOW, "console", "--config", str(ROOT / "config" / "console.toml"),
                                        "--listen", "127.0.0.1:0", "--broker", hall.url, "--data",
                                        str(tmp / "console-data"), "--demo-login"],
                                       stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT,
                                       env=dict(os.environ, PYTHONUNBUFFERED="1"))
        line, _ = wait_for_line(console, 30)
        if not line:
            raise RuntimeError(f"console did not start: {(tmp / 'console.log').read_text()[-2000:]}")
        ready = json.loads(line)
        url, login = ready["url"], ready["demo_login"]

        # ---- the whole hall live: panels open every window, kiosks issue, a device controller reports
        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            panels = dict(zip((w.id for w in windows),
                              pool.map(lambda w: hall.client(f"panel-{w.id}"), windows)))
        clients += panels.values()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda w: panels[w.id].request(Op.WINDOW_OPEN, {"window": w.id}, timeout=20), windows))
        kiosks = [hall.client(f"kiosk-bench{i}") for i in range(1, 4)]
        clients += kiosks
        # the windows the events go to, spread over the hall (each sees call, finish, pause and resume in turn);
        # every service gets a queue, and each driven window's first service enough tickets for its calls
        n_driven = min(len(windows), args.driven or (12 if args.quick else 24))
        driven = [windows[i * len(windows) // n_driven] for i in range(n_driven)]
        window_events = n_events * 7 // 10
        calls_each = -(-window_events // (4 * n_driven)) + 1
        served = {s for w in windows for s in w.services}
        walk_in = {s.id for s in services}
        issue = [s.id for s in services if s.id in served]
        for w in driven:
            first = next((s for s in w.services if s in walk_in), None)
            issue += [first] * calls_each if first else []
        jobs = [(kiosks[i % len(kiosks)], sid) for i, sid in enumerate(issue)]
        with ThreadPoolExecutor(6) as pool:
            issued = sum(1 for ok in pool.map(lambda j: _issue(*j), jobs) if ok)
        devices = hall.client(OWNER)      # its presence: online (retained), as the device controller's
        clients.append(devices)
        dev_ids = [f"{KINDS[i % len(KINDS)]}-b{i + 1:02d}" for i in range(args.devices)]
        dev_state = {d: "ok" for d in dev_ids}
        for d in dev_ids:
            devices.publish(hall.topics.device_status(OWNER, d), device_status(d.split("-")[0], "ok"), retain=True)
        alerter = hall.client("display-bench")     # any client may publish on event/ in the test broker
        clients.append(alerter)
        result["setup_s"] = round(time.perf_counter() - t0, 1)
        result["tickets_issued"] = issued
        result["driven_windows"] = len(driven)

        # ---- the supervisor logs in and opens the live page's stream
        http = httpx.Client(base_url=url, timeout=10)
        page = http.get("/login")
        r = http.post("/login", data={"csrf": CSRF_RE.search(page.text).group(1), "user": login["user"],
                                      "password": login["password"]})
        assert r.status_code == 303, r.text[:300]
        home = http.get("/")
        assert home.status_code == 200 and 'id="win-w1"' in home.text, home.text[:300]
        threading.Thread(target=screen.listen, args=(url, http.cookies), daemon=True).start()
        time.sleep(1.0)
        if screen.error:
            raise RuntimeError(f"live stream: {screen.error}")
        rss0, cpu0 = proc_usage(console.pid)

        # ---- events at a steady rate; each waits for its screen update on a helper thread
        lat: dict[str, list[float]] = {}
        missed: dict[str, int] = {}
        refused: dict[str, int] = {}
        lock = threading.Lock()
        step = {w.id: 0 for w in windows}           # call -> finish -> pause -> resume per window
        order = [w.id for w in driven]
        rss_peak = 0.0

        def record(kind: str, sent: float, t: float | None) -> None:
            with lock:
                if t is None:
                    missed[kind] = missed.get(kind, 0) + 1
                else:
                    lat.setdefault(kind, []).append((t - sent) * 1000)

        def window_event(wid: str) -> None:
            s = step[wid] % 4
            step[wid] += 1
            kind = ("call", "finish", "pause", "resume")[s]
            op = (Op.WINDOW_CALL_NEXT, Op.WINDOW_FINISH, Op.WINDOW_PAUSE, Op.WINDOW_RESUME)[s]
            sent = time.perf_counter()
            try:
                out = panels[wid].request(op, {"window": wid, **({"reason": "break"} if s == 2 else {})}, timeout=10)
            except RequestError:
                with lock:
                    refused[kind] = refused.get(kind, 0) + 1
                if s == 0:
                    step[wid] += 1       # nothing to call: no finish either
                return
            if s == 0:
                number = out["number"]
                test = lambda ev, d: ev == "patch" and f'<b class="wnum">{number}</b>' in (window_cell(d, wid) or "")
            elif s == 1:
                test = lambda ev, d: ev == "patch" and (lambda c: c is not None and 'class="wnum"' not in c
                                                        and 'class="win open' in c)(window_cell(d, wid))
            elif s == 2:
                test = lambda ev, d: ev == "patch" and 'class="win paused' in (window_cell(d, wid) or "")
            else:
                test = lambda ev, d: ev == "patch" and 'class="win open' in (window_cell(d, wid) or "")
            record(kind, sent, screen.wait(sent, test, args.timeout))

        def device_event(dev: str) -> None:
            new = "error" if dev_state[dev] == "ok" else "ok"
            dev_state[dev] = new
            sent = time.perf_counter()
            devices.publish(hall.topics.device_status(OWNER, dev),
                            device_status(dev.split("-")[0], new, "bench_fault" if new == "error" else ""),
                            retain=True)
            if new == "error":     # the server raises device_fault; the console announces it (an SSE alert)
                t_alert: list[float | None] = []
                th = threading.Thread(target=lambda: t_alert.append(screen.wait(
                    sent, lambda ev, d: ev == "alert" and f"{dev} " in d, args.timeout)))
                th.start()
            record(f"device_{new}", sent, screen.wait(sent, lambda ev, d: ev == "patch" and device_row(d, dev) == new,
                                                      args.timeout))
            if new == "error":
                th.join()
                record("device_fault_alert", sent, t_alert[0])

        def alert_event(i: int) -> None:
            aid = f"long_wait-bench-{i}"
            alert = {"v": 1, "id": aid, "level": "yellow", "kind": "long_wait", "target": f"A{i % 1000:03d}",
                     "text_zh": f"基准测试告警{i}", "text_en": f"bench alert {i}",
                     "ts": time.strftime("%Y-%m-%dT%H:%M:%S+08:00"), "acked_by": None, "acked_at": None}
            sent = time.perf_counter()
            alerter.publish(hall.topics.event_alert, encode_json(alert))
            record("alert", sent, screen.wait(sent, lambda ev, d: ev == "alert" and f'"{aid}"' in d, args.timeout))

        interval = 1.0 / args.rate
        start = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            futures = []
            wi = di = 0
            for i in range(n_events):
                target = start + i * interval
                delay = target - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                slot = i % 10
                if slot in (3, 8):
                    futures.append(pool.submit(device_event, dev_ids[di % len(dev_ids)]))
                    di += 1
                elif slot == 6:
                    futures.append(pool.submit(alert_event, i))
                else:
                    futures.append(pool.submit(window_event, order[wi % len(order)]))
                    wi += 1
                if i % 20 == 0:
                    rss_peak = max(rss_peak, proc_usage(console.pid)[0])
            for f in futures:
                f.result()
        elapsed = time.perf_counter() - start
        rss, cpu1 = proc_usage(console.pid)
        rss_peak = max(rss_peak, rss)
        every = [v for vs in lat.values() for v in vs]
        overall = summary(every)
        result.update({
            "events": n_events, "drive_s": round(elapsed, 1),
            "update_ms": overall, "by_kind_ms": {k: summary(v) for k, v in sorted(lat.items())},
            "missed": missed, "refused": refused,
            "console": {"rss_start_mb": rss0, "rss_mb": rss, "rss_peak_mb": rss_peak,
                        "cpu_pct": round(100 * (cpu1 - cpu0) / elapsed, 1) if elapsed else None},
            "sse_messages": len(screen.messages),
            "ok": bool(every) and overall.get("p99", 1e9) <= TARGET_P99_MS and not missed,
        })
        if screen.error:
            result["stream_error"] = screen.error
        http.close()
    finally:
        screen.stop.set()
        for c in clients:
            try:
                c.stop()
            except Exception:
                pass
        if console is not None and console.poll() is None:
            console.terminate()
            try:
                console.wait(10)
            except subprocess.TimeoutExpired:
                console.kill()
        if console is not None and console.stdout:
            console.stdout.close()
        hall.stop()
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def _issue(kiosk: BusClient, service: str) -> bool:
    try:
        kiosk.request(Op.TICKET_ISSUE, {"service": service, "channel": "walk_in"}, timeout=10)
        return True
    except RequestError:
        return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
