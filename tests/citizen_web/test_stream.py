"""The live ticket stream: from the mirror only, for its own ticket only — ahead/wait updates (at most one a
second), the call, the finish — without asking the server except when the mirror says the ticket changed."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.citizen_web.conftest import OTHER_TOKEN, TOKEN, TOPICS, Node, make_node, ticket


class Stream:
    """Calls the ASGI app for one SSE URL and hands out its events; `close()` is the browser going away."""

    def __init__(self, node: Node, path: str) -> None:
        self.node = node
        self.path = path
        self.start: dict[str, Any] = {}
        self.buffer = ""
        self.chunks: asyncio.Queue[str] = asyncio.Queue()
        self.gone = asyncio.Event()

    async def open(self) -> "Stream":
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": self.path, "raw_path": self.path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"web.test")], "client": ("203.0.113.7", 1), "server": ("web.test", 80)}

        async def receive() -> dict[str, Any]:
            await self.gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.start = message
            elif message["type"] == "http.response.body":
                self.chunks.put_nowait(message.get("body", b"").decode())

        self.task = asyncio.create_task(self.node.app(scope, receive, send))
        return self

    async def event(self, timeout: float = 3.0) -> tuple[str, dict[str, Any] | str]:
        while "\n\n" not in self.buffer:
            self.buffer += await asyncio.wait_for(self.chunks.get(), timeout)
        block, self.buffer = self.buffer.split("\n\n", 1)
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if block.startswith(":"):
            return "comment", block
        if "event" not in fields:
            return "control", block
        return fields["event"], json.loads(fields["data"])

    async def no_event(self, seconds: float) -> None:
        try:
            got = await self.event(seconds)
        except (asyncio.TimeoutError, TimeoutError):
            return
        raise AssertionError(f"unexpected event {got}")

    async def close(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, 3)


def call_event(tid: str, number: str, seq: int = 2) -> dict[str, Any]:
    return {"v": 1, "seq": seq, "ticket_id": tid, "number": number, "window": "w15", "window_name": "15号窗口",
            "zone": "z1", "ts": "2026-12-01T09:30:00+08:00"}


def test_the_stream_pushes_ahead_updates_and_the_call_for_its_own_ticket_only() -> None:
    node = make_node()

    async def go() -> None:
        s = await Stream(node, f"/t/{TOKEN}/events").open()
        assert await s.event() == ("control", "retry: 3000")
        headers = dict(s.start["headers"])
        assert headers[b"content-type"].startswith(b"text/event-stream")
        assert headers[b"x-accel-buffering"] == b"no" and headers[b"cache-control"] == b"no-store"
        kind, first = await s.event()
        assert kind == "ticket" and first["ahead"] == "4 人" and first["state_text"] == "等候中"
        requests_before = len(node.bus.requests)

        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [3, 360], "t2": [4, 480]}})
        assert await s.event() == ("queue", {"ahead": "3 人", "wait": "约 6 分钟"})
        node.clock.now += 2
        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t2": [0, 0], "t1": [0, 0]}})
        assert await s.event() == ("queue", {"ahead": "下一位就是您", "wait": "无需等候"})
        assert len(node.bus.requests) == requests_before          # queue updates come from the mirror only

        node.mirror.feed(TOPICS.event_call, call_event("t2", "A024"))     # someone else's call
        await s.no_event(0.3)
        node.bus.tickets[TOKEN] = ticket("serving", window="w15")
        node.mirror.feed(TOPICS.event_call, call_event("t1", "A023", seq=3))
        kind, call = await s.event()
        assert kind == "call" and call["call"] == "请到15号窗口" and call["window"] == "15号窗口"
        kind, fresh = await s.event()
        assert kind == "ticket" and fresh["state"] == "serving" and fresh["call"] == "请到15号窗口"

        # finished: the window moves on to another ticket; the page learns it without polling
        node.mirror.feed(TOPICS.state_window("w15"), {"v": 1, "status": "open", "current": {
            "id": "t1", "number": "A023", "service": "ss_enroll", "zone": "z1", "state": "serving",
            "channel": "walk_in", "issued_at": "2026-12-01T09:00:00+08:00"}})
        assert (await s.event())[0] == "ticket"
        node.bus.tickets[TOKEN] = ticket("done", window="w15")
        node.mirror.feed(TOPICS.state_window("w15"), {"v": 1, "status": "open", "current": None})
        kind, done = await s.event()
        assert kind == "ticket" and done["state"] == "done" and done["rate"] is True and done["final"] is True
        await asyncio.wait_for(s.task, 3)                   # a finished ticket's stream ends
        assert node.mirror.watching == 0
    asyncio.run(go())


def test_queue_updates_are_coalesced_to_one_a_second() -> None:
    node = make_node()

    async def go() -> None:
        s = await Stream(node, f"/t/{TOKEN}/events").open()
        await s.event(), await s.event()
        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [3, 360]}})
        assert (await s.event())[1]["ahead"] == "3 人"
        for ahead in (2, 1):       # within the same second: held back, only the newest goes out later
            node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [ahead, 60 * ahead]}})
        await s.no_event(0.3)
        node.clock.now += 1.0
        node.mirror.feed(TOPICS.state_zone("z1"), {"v": 1})     # any wake-up after the second has passed
        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [1, 60]}})
        assert await s.event() == ("queue", {"ahead": "1 人", "wait": "约 1 分钟"})
        await s.close()
        assert node.mirror.watching == 0
    asyncio.run(go())


def test_a_ticket_that_leaves_the_queue_without_a_call_is_asked_for_again() -> None:
    node = make_node()

    async def go() -> None:
        s = await Stream(node, f"/t/{OTHER_TOKEN}/events").open()
        await s.event(), await s.event()
        node.bus.tickets[OTHER_TOKEN] = ticket("cancelled", token=OTHER_TOKEN, tid="t2", number="A024")
        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [0, 0]}})
        kind, data = await s.event()
        assert kind == "ticket" and data["state"] == "cancelled" and data["final"]
        await asyncio.wait_for(s.task, 3)
    asyncio.run(go())


def test_an_unknown_token_gets_a_404_so_the_browser_stops_retrying() -> None:
    node = make_node()

    async def go() -> None:
        s = await Stream(node, "/t/Zz_unknown_0123456789abcd/events").open()
        await asyncio.wait_for(s.task, 3)
        assert s.start["status"] == 404
    asyncio.run(go())


def test_open_streams_per_address_are_capped() -> None:
    from tests.citizen_web.conftest import make_config
    node = make_node(make_config(max_streams_per_ip=2))

    async def go() -> None:
        streams = [await Stream(node, f"/t/{TOKEN}/events").open() for _ in range(2)]
        for s in streams:
            await s.event()
        third = await Stream(node, f"/t/{TOKEN}/events").open()
        await asyncio.wait_for(third.task, 3)
        assert third.start["status"] == 429
        for s in streams:
            await s.close()
        again = await Stream(node, f"/t/{TOKEN}/events").open()
        assert (await again.event())[0] == "control"
        await again.close()
    asyncio.run(go())
