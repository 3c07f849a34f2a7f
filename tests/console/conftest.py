"""A console in process: the app over a mirror fed by hand and a fake bus answering requests by op, driven by httpx
through the ASGI interface — no sockets. Users: boss (manager), sup (supervisor), desk (desk), password `password1`."""
from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from console.app import create_app
from console.audit import AuditLog
from console.config import ConsoleConfig, FollowupConfig
from console.followup import Followups
from console.mirror import Mirror
from console.users import Role, User, UsersFile, hash_password
from hall_bus.client import RequestError
from hall_bus.topics import Topics
from hall_server.calendar import HallCalendar

TOPICS = Topics("daan")
TODAY = date(2026, 12, 1)
PASSWORD = "password1"
_HASH = hash_password(PASSWORD)


def catalog() -> dict[str, Any]:
    return {"v": 1, "hall": {"id": "daan", "name": "大安区政务服务中心", "name_en": "Da'an Government Service Centre"},
            "business_day": TODAY.isoformat(),
            "zones": [{"id": "z1", "name": "社会保障服务区", "name_en": "Social Security", "floor": "1F"},
                      {"id": "z2", "name": "税务办理服务区", "name_en": "Tax", "floor": "2F"}],
            "services": [{"id": "ss_enroll", "zone": "z1", "prefix": "A", "name": "城镇职工养老保险参保登记",
                          "name_en": "Pension enrolment"},
                         {"id": "tax_invoice", "zone": "z2", "prefix": "C", "name": "发票领用", "name_en": "Invoices"}],
            "windows": [{"id": "w15", "name": "15号窗口", "name_en": "Window 15", "zone": "z1", "services": ["ss_enroll"]},
                        {"id": "w16", "name": "16号窗口", "name_en": "Window 16", "zone": "z1", "services": ["ss_enroll"]},
                        {"id": "w40", "name": "40号窗口", "name_en": "Window 40", "zone": "z2",
                         "services": ["tax_invoice"]}]}


def ticket(number: str = "A023", **kw: Any) -> dict[str, Any]:
    return {"id": f"t-{number}", "number": number, "service": "ss_enroll", "zone": "z1", "state": "waiting",
            "channel": "staff", "priority": True, "issued_at": "2026-12-01T09:00:00+08:00", "ahead": 0,
            "est_wait_s": 60, "verify": "K7Q2", **kw}


def alert(aid: str = "long_wait-A023-1", level: str = "red", kind: str = "long_wait", **kw: Any) -> dict[str, Any]:
    return {"v": 1, "id": aid, "level": level, "kind": kind, "target": "A023", "text_zh": "A023号已等候45分钟",
            "text_en": "A023 has waited 45 min", "ts": "2026-12-01T09:45:00+08:00", **kw}


@dataclass
class FakeBus:
    """Answers requests by op (override per op); every request is recorded. Unknown ops get unknown_op, as the
    server answers an op it does not implement yet."""
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    override: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    topics: Topics = TOPICS

    def request(self, op: str, args: dict[str, Any], *, timeout: float = 8.0) -> dict[str, Any]:
        self.requests.append((op, json.loads(json.dumps(args))))
        if op in self.override:
            return self.override[op](args)
        if op == "ticket.issue":
            return ticket("A031", priority=bool(args.get("priority")))
        if op == "ticket.get":
            return ticket(args.get("number", "A023"))
        if op == "ticket.cancel":
            return ticket(args["number"], state="cancelled")
        if op.startswith("window."):
            return {"v": 1, "status": {"window.pause": "paused", "window.resume": "open"}.get(op, "closed")}
        if op == "case.list":
            return {"cases": []}
        raise RequestError("unknown_op", f"unknown operation {op!r}", "未知操作")

    def ops(self) -> list[str]:
        return [op for op, _ in self.requests]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Node:
    app: Any
    mirror: Mirror
    bus: FakeBus
    clock: Clock
    audit: AuditLog
    followups: Followups

    def client(self, ip: str = "192.0.2.10") -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app, client=(ip, 5000)),
                                 base_url="http://console.test")

    def feed(self, topic: str, payload: dict[str, Any]) -> None:
        self.mirror.apply(topic, payload)


def make_config(**kw: Any) -> ConsoleConfig:
    return ConsoleConfig.model_validate({"id": "t1", "session_secret": "env:X_CONSOLE", "users_file": "users",
                                         **kw})


def make_node(tmp_path: Path, state: bool = True, **config: Any) -> Node:
    clock = Clock()
    mirror = Mirror("daan", clock=lambda: clock.now + 1_700_000_000)
    users = UsersFile(tmp_path / "users", {n: User(n, r, _HASH) for n, r in
                                           (("boss", Role.MANAGER), ("sup", Role.SUPERVISOR), ("desk", Role.DESK))})
    audit = AuditLog(tmp_path / "audit.jsonl")
    followups = Followups(tmp_path / "followup.jsonl", HallCalendar(), FollowupConfig(), today=lambda: TODAY)
    mirror.on_alert = followups.from_alert
    bus = FakeBus()
    app = create_app(make_config(**config), mirror, bus, users=users, secret=b"console-secret-0123456789",
                     audit=audit, followups=followups, clock=clock, today=lambda: TODAY, poll=False)
    node = Node(app, mirror, bus, clock, audit, followups)
    if state:
        feed_state(node)
    return node


def feed_state(node: Node) -> None:
    node.mirror.connection(True)
    node.feed(TOPICS.state_server, {"v": 1, "state": "online", "business_day": TODAY.isoformat()})
    node.feed(TOPICS.state_catalog, catalog())
    node.feed(TOPICS.state_window("w15"), {"v": 1, "status": "open", "waiting": 3, "since": "2026-12-01T08:30:00+08:00",
                                           "current": {"id": "t1", "number": "A020", "service": "ss_enroll",
                                                       "zone": "z1", "state": "serving", "channel": "walk_in",
                                                       "issued_at": "2026-12-01T08:50:00+08:00",
                                                       "called_at": "2026-12-01T09:05:00+08:00"}})
    node.feed(TOPICS.state_window("w16"), {"v": 1, "status": "paused", "reason": "meeting",
                                           "since": "2026-12-01T09:00:00+08:00"})
    node.feed(TOPICS.state_staff("w15"), {"v": 1, "staff": "1015", "name": "王*"})
    node.feed(TOPICS.state_zone("z1"), {"v": 1, "waiting": 12, "serving": 1, "est_wait_s": 900,
                                        "services": {"ss_enroll": {"waiting": 12, "est_wait_s": 900,
                                                                   "longest_wait_s": 2700}}})


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


async def login(client: httpx.AsyncClient, user: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    token = CSRF_RE.search(page.text)
    assert token, page.text[:400]
    return await client.post("/login", data={"csrf": token.group(1), "user": user, "password": password})


async def logged_in(node: Node, user: str) -> tuple[httpx.AsyncClient, str]:
    """A client with a session for `user` and the form token of its session."""
    client = node.client()
    r = await login(client, user)
    assert r.status_code == 303, r.text[:400]
    home = await client.get("/")
    assert home.status_code == 200
    m = CSRF_RE.search(home.text)
    assert m
    return client, m.group(1)
