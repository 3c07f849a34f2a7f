"""The citizen web under load: one `onewindow web` node on a real hall server (external Mosquitto), thousands of open
ticket pages (SSE), calls at windows, and booking through the real forms. Prints one JSON object.

    .venv/bin/python bench/web.py [--quick] [--pages 5000] [--tickets 1000] [--calls 20] [--call-every 2]
        [--users 50] [--book-every 2] [--book-for 30]

Measured (issue 11 item 7; targets in brackets):
  - call → the called ticket's pages get their `call` event: p50/p99 [p99 ≤ 100 ms];
  - call → every other open page of the zone has its `queue` update (ahead one less): p50/p99 of the slowest page
    of each call [≤ 1 s: the node coalesces a page's queue updates to one a second];
  - node memory per open page: VmRSS of the node before and after opening them, divided by their number;
  - booking round trip: `users` simulated citizens, each booking every `book_every` s through the real forms (GET the
    slot page for the CSRF cookie and token, POST the form) while the pages stay open: p50/p99 of the POST [≤ 50 ms];
  - first-load bytes of /t/{token}: the HTML, CSS and JS responses as they cross the wire (headers included, no
    compression), what a phone fetches with an empty cache.
(Reference: the leading commercial mobile-ticket app refreshes its ticket page by polling every 15 s.)

The load generator is one asyncio process on raw sockets (no HTTP library): a page is a socket and a small parser
that only stamps the arrival of `ticket`, `call` and `queue` events. The machine's 2 cores are shared by Mosquitto,
the hall server, the node and the generator, so the latencies include the generator's own turn on the CPU.

Setup notes (also in the JSON): every page comes from 127.0.0.1, so the bench node's web.toml raises the per-address
limits (page/lookup/post per minute, max_streams_per_ip) that would otherwise stop it at 20 streams; a prefix numbers
at most 999 tickets a day, so the bench hall clones ss_enroll (same windows, a prefix of its own) to hold more, and
every bench ticket is of ss_enroll or a clone, so every call at one of its windows moves every other ticket up by
one; with more pages than tickets, several pages watch each ticket (page i watches ticket i mod tickets)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from urllib.parse import urlencode
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ticket_roundtrip import toml_dumps  # noqa: E402
from hall_bus import BusClient  # noqa: E402
from hall_bus.contract import Op  # noqa: E402
from hall_bus.idnumber import check_digit  # noqa: E402
from hall_server.stats import summary  # noqa: E402
from tests.support.hall import (HALL_CONFIG, ONEWINDOW, RunningHall, all_day_issuing, start_hall,  # noqa: E402
                                wait_for_line)

SERVICE = "ss_enroll"
ENV = {"ONEWINDOW_ID_HMAC_KEY": "bench-id-key-0123456789", "ONEWINDOW_WEB_SECRET": "bench-web-secret-0123456789"}
BENCH_LIMITS = {"page_per_minute": 100000, "lookup_per_minute": 100000, "post_per_minute": 100000,
                "max_streams_per_ip": 100000}


# ---------------------------------------------------------------- configs
def hall_config(tmp: Path, tickets: int) -> tuple[Path, list[str], list[str]]:
    """The shipped hall with ss_enroll (and clones of it) at 999 a day, issuing and booking every day all day, slots
    of 10 minutes with 50 seats; → (path, the bench services, the windows that call them)."""
    data = tomllib.loads(HALL_CONFIG.read_text(encoding="utf-8"))
    all_day_issuing(data["issuing"])
    data["issuing"].pop("period_quotas", None)      # every quota at 999 below: no period quotas either (时段限号)
    data["issuing"]["weekdays"] = [1, 2, 3, 4, 5, 6, 7]
    data["booking"]["slot_minutes"] = 10
    data["booking"]["seats"] = 50
    if "staff" in data:        # the staff file is relative to the shipped hall.toml; the bench calls without sign-in
        f = Path(data["staff"].get("file", "staff.toml"))
        data["staff"]["file"] = str(f if f.is_absolute() else HALL_CONFIG.parent / f)
        data["staff"]["sign_in_required"] = False
    for svc in data["services"]:
        svc["daily_quota"] = 999
        svc["id_required"] = False
    base = next(s for s in data["services"] if s["id"] == SERVICE)
    services = [SERVICE]
    windows = [w for w in data["windows"] if SERVICE in w["services"]]
    for k in range(1, (tickets + 998) // 999):
        clone = {**base, "id": f"{SERVICE}.b{k}", "prefix": "X" + "ABCDEFGHJKLMNPQRSTUVWYZ"[k - 1],
                 "appointment": False}
        data["services"].append(clone)
        services.append(clone["id"])
        for w in windows:
            w["services"] = [*w["services"], clone["id"]]
    out = tmp / "hall-web-bench.toml"
    out.write_text(toml_dumps(data), encoding="utf-8")
    return out, services, [w["id"] for w in windows]


def web_config(tmp: Path) -> Path:
    text = (ROOT / "config" / "web.toml").read_text(encoding="utf-8").replace('id = "w1"', 'id = "bench"', 1)
    for key, value in BENCH_LIMITS.items():
        text, n = re.subn(rf"^{key} = \d+", f"{key} = {value}", text, count=1, flags=re.M)
        assert n == 1, key
    out = tmp / "web-bench.toml"
    out.write_text(text, encoding="utf-8")
    return out


def start_node(tmp: Path, hall: RunningHall) -> tuple[subprocess.Popen, str]:
    log = (tmp / "web-node.log").open("w")
    proc = subprocess.Popen(ONEWINDOW + ["web", "--config", str(web_config(tmp)), "--listen", "127.0.0.1:0",
                                         "--broker", hall.url, "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1", **ENV))
    line, _ = wait_for_line(proc, 60)
    if not line:
        proc.kill()
        raise RuntimeError(f"the web node did not start: {(tmp / 'web-node.log').read_text()[-2000:]}")
    return proc, json.loads(line)["url"]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- tickets
def issue_tickets(hall: RunningHall, n: int, services: list[str], kiosks: int = 4) -> list[dict]:
    """n tickets from `kiosks` kiosk clients in parallel, 999 per service; returned in issue order (queue order)."""
    plan = [services[i // 999] for i in range(n)]
    lock = threading.Lock()
    issued: list[tuple[int, dict]] = []
    clients = [hall.client(f"kiosk-bench{k}") for k in range(kiosks)]
    order = iter(range(n))

    def work(c: BusClient) -> None:
        while True:
            with lock:
                i = next(order, None)
            if i is None:
                return
            t = c.request(Op.TICKET_ISSUE, {"service": plan[i], "channel": "walk_in"}, timeout=30)
            with lock:
                issued.append((time.monotonic_ns(), t))

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.stop()
    return [t for _ns, t in sorted(issued, key=lambda x: x[0])]


# ---------------------------------------------------------------- raw HTTP
async def http(host: str, port: int, method: str, path: str, headers: dict[str, str] | None = None,
               body: bytes = b"") -> tuple[int, dict[str, list[str]], bytes, int]:
    """One request on its own connection → (status, headers, body, bytes received on the wire)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        raw = await reader.read(-1)
    finally:
        writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    hdrs: dict[str, list[str]] = {}
    for h in header_lines:
        k, _, v = h.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    if "chunked" in ",".join(hdrs.get("transfer-encoding", [])):
        out = bytearray()
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        rest = bytes(out)
    return int(status_line.split()[1]), hdrs, rest, len(raw)


class Pages:
    """The open ticket pages: per page the arrival times of its events (time.monotonic())."""

    def __init__(self, n: int) -> None:
        self.call: list[list[float]] = [[] for _ in range(n)]
        self.queue: list[list[float]] = [[] for _ in range(n)]
        self.opened: list[float] = [0.0] * n
        self.closed: list[bool] = [False] * n
        self.failed: list[str] = []
        self.open_count = 0
        self.all_open = asyncio.Event()
        self.writers: list[Any] = []

    async def page(self, i: int, host: str, port: int, token: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            started = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection(host, port, limit=1 << 16)
                self.writers.append(writer)
                writer.write(f"GET /t/{token}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                             "Accept: text/event-stream\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                if status != 200:
                    raise RuntimeError(f"HTTP {status}")
                chunked = b"chunked" in head.lower()
                buf = b""
                while not self.opened[i]:               # up to the first `ticket` event: the page is open
                    buf, _ = await self._read(reader, chunked, buf, i)
                    if buf is None:
                        raise RuntimeError("closed before its first event")
            except Exception as exc:        # noqa: BLE001 - counted and reported
                self.failed.append(f"{type(exc).__name__}: {exc}")
                self._count()
                return
        self.opened[i] = time.monotonic() - started
        self._count()
        while True:
            buf, _ = await self._read(reader, chunked, buf, i)
            if buf is None:
                self.closed[i] = True
                return

    def _count(self) -> None:
        self.open_count += 1
        if self.open_count == len(self.opened):
            self.all_open.set()

    async def _read(self, reader: asyncio.StreamReader, chunked: bool, buf: bytes, i: int) -> tuple[Any, None]:
        if chunked:
            size = await reader.readline()
            n = int(size.strip() or b"0", 16) if size else 0
            if n == 0:
                return None, None
            data = (await reader.readexactly(n + 2))[:-2]
        else:
            data = await reader.read(1 << 16)
            if not data:
                return None, None
        now = time.monotonic()
        buf += data
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if event.startswith(b"event: queue"):
                self.queue[i].append(now)
            elif event.startswith(b"event: call"):
                self.call[i].append(now)
            elif event.startswith(b"event: ticket") and not self.opened[i]:
                self.opened[i] = -1.0               # marked open; the caller stores the time it took
        return buf, None


# ---------------------------------------------------------------- booking users
def id_numbers() -> Any:
    """Distinct valid GB 11643 numbers (Beijing Xicheng, born 1950-2000)."""
    day = date(1950, 1, 1)
    while True:
        for seq in range(1, 1000):
            first17 = f"110102{day:%Y%m%d}{seq:03d}"
            yield first17 + check_digit(first17)
        day += timedelta(days=1)


async def booking_user(u: int, users: int, host: str, port: int, days: list[str], every: float, until: float,
                       ids: Any, post_ms: list[float], get_ms: list[float], outcomes: dict[str, int]) -> None:
    await asyncio.sleep(every * u / users)          # the users spread over the period
    cookie = ""
    n = 0
    while time.monotonic() < until:
        began = time.monotonic()
        day = days[(u + n) % len(days)]
        n += 1
        headers = {"Cookie": cookie} if cookie else {}
        t0 = time.monotonic()
        status, hdrs, body, _ = await http(host, port, "GET", f"/book?service={SERVICE}&date={day}", headers)
        get_ms.append((time.monotonic() - t0) * 1000)
        for sc in hdrs.get("set-cookie", []):
            if sc.startswith("ow_csrf="):
                cookie = sc.split(";", 1)[0]
        text = body.decode("utf-8", "replace")
        csrf = re.search(r'name="csrf" value="([^"]+)"', text)
        slots = re.findall(r'name="start" value="([^"]+)"(?! disabled)', text)
        if status != 200 or not csrf or not slots:
            why = f"slot page {status}" + ("" if slots else f" without free slots ({day})")
            outcomes[why] = outcomes.get(why, 0) + 1
        else:
            form = {"service": SERVICE, "date": day, "start": random.choice(slots), "name": "张三",
                    "id_number": next(ids), "phone": f"138{random.randrange(10**8):08d}", "consent": "yes",
                    "csrf": csrf.group(1)}
            data = urlencode(form).encode()
            t0 = time.monotonic()
            status, _h, body, _ = await http(host, port, "POST", "/book",
                                             {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                                             data)
            post_ms.append((time.monotonic() - t0) * 1000)
            ok = status == 200 and "预约成功".encode() in body
            key = "booked" if ok else f"POST {status}"
            outcomes[key] = outcomes.get(key, 0) + 1
        await asyncio.sleep(max(0.0, every - (time.monotonic() - began)))


# ---------------------------------------------------------------- the run
def say(text: str) -> None:
    print(f"[bench/web {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def run(args: argparse.Namespace, url: str, node_pid: int, tickets: list[dict], windows: list[str],
              panels: dict[str, BusClient]) -> dict[str, Any]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    port_n = int(port)
    out: dict[str, Any] = {}

    # first load of a ticket page: HTML + the CSS and JS it links, bytes on the wire
    token = tickets[-1]["token"]
    _s, _h, html, wire_html = await http(host, port_n, "GET", f"/t/{token}")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html.decode())
    sizes = {"html": wire_html}
    for a in assets:
        sizes["css" if ".css" in a else "js"] = (await http(host, port_n, "GET", a))[3]
    out["first_load_t_bytes"] = {**sizes, "total": sum(sizes.values()), "target": "< 50000", "compression": "none"}

    # open the pages
    n_pages = args.pages
    pages = Pages(n_pages)
    gate = asyncio.Semaphore(args.open_concurrency)
    rss_before = rss_kb(node_pid)
    t_open = time.monotonic()
    tasks = [asyncio.create_task(pages.page(i, host, port_n, tickets[i % len(tickets)]["token"], gate))
             for i in range(n_pages)]
    try:
        await asyncio.wait_for(pages.all_open.wait(), args.open_timeout)
    except asyncio.TimeoutError:
        pass
    open_s = time.monotonic() - t_open
    say(f"{sum(1 for o in pages.opened if o > 0)} pages open in {open_s:.1f} s ({len(pages.failed)} failed)")
    await asyncio.sleep(2)          # let the node settle (its queue fan-out of the opening, garbage)
    rss_after = rss_kb(node_pid)
    opened = sum(1 for o in pages.opened if o > 0)
    out["pages"] = {"open": opened, "asked": n_pages, "distinct_tickets": len(tickets),
                    "pages_per_ticket": round(n_pages / len(tickets), 2), "failed": len(pages.failed),
                    "failures": sorted(set(pages.failed))[:5], "open_all_s": round(open_s, 1),
                    "open_one_ms": summary([o * 1000 for o in pages.opened if o > 0], 1)}
    out["node_memory"] = {"rss_before_kb": rss_before, "rss_after_kb": rss_after,
                          "kb_per_open_page": round((rss_after - rss_before) / max(1, opened), 1)}

    # calls: call_next at the windows in turn (a window again only after [calling] repeat_window_s)
    by_number = {t["number"]: i for i, t in enumerate(tickets)}
    pages_of: dict[int, list[int]] = {}
    for p in range(n_pages):
        pages_of.setdefault(p % len(tickets), []).append(p)
    loop = asyncio.get_running_loop()
    calls: list[tuple[float, int]] = []
    cpu0 = cpu_s(node_pid)
    gen0 = time.process_time()
    for k in range(args.calls):
        w = list(panels)[k % len(panels)]
        t0 = time.monotonic()
        reply = await loop.run_in_executor(None, lambda w=w: panels[w].request(Op.WINDOW_CALL_NEXT, {"window": w},
                                                                               timeout=30))
        calls.append((t0, by_number[reply["number"]]))
        await asyncio.sleep(max(0.0, args.call_every - (time.monotonic() - t0)))
    await asyncio.sleep(2.0)
    say(f"{len(calls)} calls made")
    node_cpu_calls = cpu_s(node_pid) - cpu0
    gen_cpu_calls = time.process_time() - gen0

    call_ms: list[float] = []
    fanout_ms: list[float] = []
    missing = 0
    called: set[int] = set()
    for k, (t0, tidx) in enumerate(calls):
        called.add(tidx)
        t_next = calls[k + 1][0] if k + 1 < len(calls) else float("inf")
        for p in pages_of.get(tidx, []):
            got = [t for t in pages.call[p] if t >= t0]
            if got:
                call_ms.append((got[0] - t0) * 1000)
        slowest = 0.0
        for p in range(n_pages):
            if p % len(tickets) in called or pages.opened[p] <= 0 or pages.closed[p]:
                continue
            got = [t for t in pages.queue[p] if t0 <= t < t_next + 1.0]
            if not got:
                missing += 1
                continue
            slowest = max(slowest, got[0] - t0)
        fanout_ms.append(slowest * 1000)
    out["call_to_called_page_ms"] = {**summary(call_ms, 1), "target_p99": 100}
    out["call_to_all_other_pages_queue_ms"] = {**summary(fanout_ms, 1), "target": "≤ 1000 (coalesced ≤ 1/s a page)",
                                               "pages_per_call": n_pages - len(pages_of.get(calls[0][1], [])),
                                               "pages_without_update": missing}
    out["calls"] = {"n": len(calls), "every_s": args.call_every, "windows": len(panels),
                    "node_cpu_s_per_call": round(node_cpu_calls / max(1, len(calls)), 3),
                    "generator_cpu_s_per_call": round(gen_cpu_calls / max(1, len(calls)), 3)}

    # booking while the pages stay open
    today = date.today()
    days = []                  # the days after today the hall takes bookings on (the server's calendar decides)
    for d in range(1, 8):
        day = (today + timedelta(days=d)).isoformat()
        if b'name="start"' in (await http(host, port_n, "GET", f"/book?service={SERVICE}&date={day}"))[2]:
            days.append(day)
    post_ms: list[float] = []
    get_ms: list[float] = []
    outcomes: dict[str, int] = {}
    ids = id_numbers()
    until = time.monotonic() + args.book_for
    cpu0 = cpu_s(node_pid)
    await asyncio.gather(*(booking_user(u, args.users, host, port_n, days, args.book_every, until, ids, post_ms, get_ms, outcomes)
                           for u in range(args.users)))
    out["booking"] = {"users": args.users, "days": days, "every_s": args.book_every, "seconds": args.book_for,
                      "post_ms": {**summary(post_ms, 1), "target_p99": 50}, "slot_page_get_ms": summary(get_ms, 1),
                      "outcomes": outcomes, "node_cpu_share": round((cpu_s(node_pid) - cpu0) / args.book_for, 3),
                      "open_pages_meanwhile": sum(1 for p in range(n_pages) if pages.opened[p] > 0
                                                  and not pages.closed[p])}
    for wr in pages.writers:
        wr.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small numbers (500 pages, 5 calls, 10 users for 10 s)")
    ap.add_argument("--pages", type=int, default=5000)
    ap.add_argument("--tickets", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--call-every", type=float, default=2.0)
    ap.add_argument("--windows", type=int, default=6, help="windows calling in turn (≥ 3 with 2 s between calls)")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--book-every", type=float, default=2.0)
    ap.add_argument("--book-for", type=float, default=30.0)
    ap.add_argument("--open-concurrency", type=int, default=64)
    ap.add_argument("--open-timeout", type=float, default=300.0)
    args = ap.parse_args(argv)
    if args.quick:
        args.pages, args.tickets, args.calls, args.users, args.book_for = 500, 100, 5, 10, 10.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))       # the node (a child) inherits it
    if hard < args.pages + 500:
        print(json.dumps({"error": f"open file limit {hard} < {args.pages + 500}"}))
        return 1
    with tempfile.TemporaryDirectory(prefix="web-bench-") as d:
        tmp = Path(d)
        config, services, windows = hall_config(tmp, args.tickets)
        hall = start_hall(tmp, "mosquitto", config=config, timeout=60)
        node = None
        try:
            node, url = start_node(tmp, hall)
            t0 = time.monotonic()
            tickets = issue_tickets(hall, args.tickets, services)
            issue_s = time.monotonic() - t0
            say(f"{len(tickets)} tickets issued in {issue_s:.1f} s")
            panels = {w: hall.client(f"panel-{w}") for w in windows[:args.windows]}
            try:
                result = asyncio.run(run(args, url, node.pid, tickets, windows, panels))
            finally:
                for c in panels.values():
                    c.stop()
            result = {
                "bench": "web", "quick": args.quick, "cores": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
                "broker": "mosquitto (external)", "issue_s": round(issue_s, 1), **result,
                "setup": {
                    "node_limits_raised": BENCH_LIMITS,
                    "why": "every page comes from 127.0.0.1; the shipped limits allow 20 streams and 20 lookups a "
                           "minute per address",
                    "tickets": f"{len(tickets)} of {', '.join(services)} (one zone, one queue order); page i "
                               f"watches ticket i mod {len(tickets)}",
                    "generator": "one asyncio process, raw sockets; latencies include its own CPU turn",
                    "reference": "the leading commercial mobile-ticket app polls every 15 s",
                },
            }
            print(json.dumps(result, ensure_ascii=False, indent=1))
        finally:
            if node is not None:
                node.terminate()
                try:
                    node.wait(10)
                except subprocess.TimeoutExpired:
                    node.kill()
                    node.wait()
            hall.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
