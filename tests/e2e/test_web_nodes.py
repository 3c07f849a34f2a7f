"""Two `onewindow web` nodes on one real hall: both serve the same ticket page from their own bus mirror, a call at
a window reaches the live stream on the other node, the ticket page's first load stays small, booking pages show
the server's slots, and a form served by one node posts to the other (shared CSRF secret)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.hall import ONEWINDOW, ROOT, RunningHall, start_hall, wait_for_line

ENV = {"ONEWINDOW_ID_HMAC_KEY": "e2e-id-key-0123456789", "ONEWINDOW_WEB_SECRET": "e2e-web-secret-0123456789"}


class WebNode:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def start_web(tmp_path: Path, hall: RunningHall, node_id: str) -> WebNode:
    config = tmp_path / f"web-{node_id}.toml"
    config.write_text((ROOT / "config" / "web.toml").read_text(encoding="utf-8")
                      .replace('id = "w1"', f'id = "{node_id}"', 1), encoding="utf-8")
    log = tmp_path / f"web-{node_id}.log"
    with log.open("w") as err:
        proc = subprocess.Popen(ONEWINDOW + ["web", "--config", str(config), "--listen", "127.0.0.1:0",
                                             "--broker", hall.url, "--log-level", "info"],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
                                env=dict(os.environ, PYTHONUNBUFFERED="1", **ENV))
    line, _reader = wait_for_line(proc, 30)
    if not line:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"web node {node_id} did not become ready: {log.read_text()[-2000:]}")
    ready = json.loads(line)
    assert ready["event"] == "ready" and re.fullmatch(r"http://127\.0\.0\.1:\d+", ready["url"]), ready
    return WebNode(proc, ready["url"], log)


@pytest.fixture
def hall_and_nodes(tmp_path: Path) -> Iterator[tuple[RunningHall, WebNode, WebNode]]:
    hall = start_hall(tmp_path)
    nodes: list[WebNode] = []
    try:
        nodes.append(start_web(tmp_path, hall, "a"))
        nodes.append(start_web(tmp_path, hall, "b"))
        yield hall, nodes[0], nodes[1]
    finally:
        for n in nodes:
            n.stop()
        hall.stop()


def test_two_nodes_serve_the_same_ticket_and_a_call_reaches_the_stream_on_the_other(hall_and_nodes) -> None:
    hall, a, b = hall_and_nodes
    kiosk = hall.client("kiosk-k1")
    panel = hall.client("panel-w1")
    try:
        issued = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        token, number = issued["token"], issued["number"]
        for node in (a, b):
            r = httpx.get(f"{node.url}/t/{token}", timeout=10)
            assert r.status_code == 200 and number in r.text and "城镇职工养老保险参保登记" in r.text
            assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert httpx.get(f"{a.url}/t/{'Q' * 24}", timeout=10).status_code == 404

        # first load of the ticket page with its stylesheet and script, as the wire carries them
        page = httpx.get(f"{a.url}/t/{token}", timeout=10)
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        total = len(page.content) + sum(len(httpx.get(a.url + p, timeout=10).content) for p in assets)
        assert len(assets) == 2 and total < 50_000, (assets, total)

        events: list[tuple[str, dict]] = []
        connected = threading.Event()

        def listen() -> None:
            with httpx.stream("GET", f"{b.url}/t/{token}/events", timeout=20) as s:
                connected.set()
                kind = ""
                for line in s.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        events.append((kind, json.loads(line[6:])))
                        if kind == "call":
                            return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        assert connected.wait(10)
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert events and events[0][0] == "ticket" and events[0][1]["state"] == "waiting"
        panel.request("window.open", {"window": "w1"})
        called = panel.request("window.call_next", {"window": "w1"})
        assert called["number"] == number
        t.join(10)
        assert events[-1][0] == "call" and events[-1][1]["call"] == "请到1号窗口", events
    finally:
        kiosk.stop()
        panel.stop()
    for node in (a, b):
        text = node.log.read_text()
        assert token not in text and "127.0.0.1" not in text.replace(hall.url, "")


def test_booking_pages_show_the_servers_slots_and_a_form_from_one_node_posts_to_the_other(hall_and_nodes) -> None:
    _hall, a, b = hall_and_nodes
    with httpx.Client(base_url=a.url, timeout=10) as ca:
        services = ca.get("/book")
        assert services.status_code == 200 and "/book?service=ss_enroll" in services.text
        days = ca.get("/book?service=ss_enroll").text
        listed = re.findall(r"date=(\d{4}-\d{2}-\d{2})", days)
        assert len(listed) >= 7
        slots_seen = closed_seen = False
        for day in listed:
            r = ca.get(f"/book?service=ss_enroll&date={day}")
            assert r.status_code == 200, r.text
            slots_seen |= 'name="start"' in r.text
            closed_seen |= "这一天不能预约" in r.text or "已约满" in r.text
        assert slots_seen, "no day with slots in the next week"
        day = next(d for d in listed if d > date.today().isoformat() and
                   'name="start"' in ca.get(f"/book?service=ss_enroll&date={d}").text)
        form = ca.get(f"/book?service=ss_enroll&date={day}").text
        start = re.search(r'name="start" value="([^"]+)"(?! disabled)', form).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        cookies = dict(ca.cookies)
    with httpx.Client(base_url=b.url, timeout=10, cookies=cookies) as cb:
        r = cb.post("/book", data={"service": "ss_enroll", "date": day, "start": start, "name": "张三",
                                   "id_number": "11010519491231002X", "phone": "13812345678", "sms": "yes", "consent": "yes",
                                   "csrf": csrf})
        assert r.status_code == 200 and "预约成功" in r.text, r.text[-1500:]
        code = re.search(r'<p class="number">([^<]+)</p>', r.text).group(1)
        page = cb.get("/book/cancel").text
        csrf_b = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        wrong = cb.post("/book/cancel", data={"code": code, "phone_last4": "0000", "csrf": csrf_b})
        assert wrong.status_code == 404
        ok = cb.post("/book/cancel", data={"code": code, "phone_last4": "5678", "csrf": csrf_b})
        assert ok.status_code == 200 and "预约已取消" in ok.text
    assert (date.fromisoformat(day) - date.today()) <= timedelta(days=7)
