"""A web node in process: the app over a mirror fed by hand and a fake bus answering requests by op (the BusClient
surface the node uses), driven by httpx through the ASGI interface — no sockets."""
from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from citizen_web.app import create_app
from citizen_web.config import WebConfig
from citizen_web.mirror import Mirror
from hall_bus.client import RequestError
from hall_bus.topics import Topics

TOPICS = Topics("daan")
TODAY = date(2026, 12, 1)
TOKEN = "Tk_ticket_0123456789abcdef"
OTHER_TOKEN = "Tk_other_00123456789abcdef"
CASE_TOKEN = "Cs_case_0123456789abcdefgh"
ID_KEY = b"test-id-key-0123456789"
GOOD_ID = "11010519491231002X"          # GB 11643's own example


def catalog() -> dict[str, Any]:
    return {"v": 1, "hall": {"id": "daan", "name": "大安区政务服务中心", "name_en": "Da'an Government Service Centre",
                             "notice": "中午不停办", "notice_en": "Open at noon"},
            "business_day": TODAY.isoformat(), "issuing_hours": [["08:30", "12:00"], ["13:30", "17:00"]],
            "zones": [{"id": "z1", "name": "社会保障服务区", "name_en": "Social Security", "floor": "1F"},
                      {"id": "z2", "name": "税务办理服务区", "name_en": "Tax", "floor": "2F"}],
            "services": [{"id": "ss_enroll", "zone": "z1", "prefix": "A", "name": "城镇职工养老保险参保登记",
                          "name_en": "Pension enrolment", "bookable": True, "legal_days": 20, "promised_days": 5},
                         {"id": "tax_invoice", "zone": "z2", "prefix": "C", "name": "发票领用",
                          "name_en": "Invoices"}],
            "windows": [{"id": "w15", "name": "15号窗口", "zone": "z1", "services": ["ss_enroll"]}],
            "departments": [{"id": "hrss", "name": "人社局", "name_en": "HRSS"}]}


def ticket(state: str = "waiting", *, token: str = TOKEN, tid: str = "t1", number: str = "A023", window: str | None = None,
           grade: int | None = None) -> dict[str, Any]:
    t = {"id": tid, "number": number, "service": "ss_enroll", "zone": "z1", "state": state, "channel": "walk_in",
         "issued_at": "2026-12-01T09:00:00+08:00", "service_name": "城镇职工养老保险参保登记",
         "service_name_en": "Pension enrolment", "ahead": 5, "est_wait_s": 600, "verify": "K7Q2", "token": token}
    if window:
        t.update(window=window, window_name="15号窗口")
    if grade:
        t["grade"] = grade
    return t


CASE = {"number": "DA-20261130-0007", "service": "ss_enroll", "service_name": "城镇职工养老保险参保登记",
        "service_name_en": "Pension enrolment", "status": "done", "result": "approved",
        "accepted_at": "2026-11-30T10:00:00+08:00", "promised_days": 5, "legal_days": 20, "due_date": "2026-12-07",
        "legal_due_date": "2026-12-28", "days_left": 4,
        "history": [{"status": "accepted", "ts": "2026-11-30T10:00:00+08:00"},
                    {"status": "done", "ts": "2026-12-01T10:00:00+08:00"}]}


@dataclass
class FakeBus:
    """Answers requests by op; every request is recorded."""
    tickets: dict[str, dict[str, Any]] = field(default_factory=lambda: {TOKEN: ticket(), OTHER_TOKEN: ticket(
        token=OTHER_TOKEN, tid="t2", number="A024")})
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rated: set[str] = field(default_factory=set)
    bookings: dict[str, dict[str, Any]] = field(default_factory=dict)
    override: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)

    def request(self, op: str, args: dict[str, Any], *, timeout: float = 8.0) -> dict[str, Any]:
        self.requests.append((op, json.loads(json.dumps(args))))
        if op in self.override:
            return self.override[op](args)
        if op == "ticket.get":
            t = self.tickets.get(args.get("token", ""))
            if t is None:
                raise RequestError("unknown_ticket", "no such ticket", "没有找到这张号票")
            return t
        if op == "evaluation.submit":
            token = args["token"]
            if token not in self.tickets and token != CASE_TOKEN:
                raise RequestError("unknown_ticket", "no such ticket", "没有找到这张号票")
            if token in self.rated:
                raise RequestError("already_rated", "already rated", "您已经评价过了")
            self.rated.add(token)
            return {}
        if op == "case.get":
            if args.get("token") == CASE_TOKEN or (args.get("number"), args.get("query_code")) == (
                    "DA-20261130-0007", "123456"):
                return CASE
            raise RequestError("unknown_case", "no such case", "没有找到这个办件")
        if op == "appointment.slots":
            if args["date"] == "2026-12-05":
                return {"date": args["date"], "service": args["service"], "slots": [],
                        "closed_reason": "周末不办公"}
            return {"date": args["date"], "service": args["service"],
                    "slots": [{"start": "09:00", "end": "09:30", "seats": 4, "left": 2},
                              {"start": "09:30", "end": "10:00", "seats": 4, "left": 0}]}
        if op == "appointment.book":
            code = f"B{len(self.bookings) + 1:04d}"
            self.bookings[code] = args
            return {"code": code, "service": args["service"], "date": args["date"], "start": args["start"],
                    "end": "09:30"}
        if op == "appointment.cancel":
            b = self.bookings.get(args["code"])
            if b is None or not b["phone"].endswith(args.get("phone_last4", "-")):
                raise RequestError("unknown_appointment", "no such booking", "没有找到这个预约")
            del self.bookings[args["code"]]
            return {}
        raise RequestError("unknown_op", op, op)


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

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app, client=kw.pop("ip", ("203.0.113.7", 5000))),
                                 base_url="http://web.test", **kw)


def make_config(**limits: int) -> WebConfig:
    return WebConfig.model_validate({"id": "t1", "hmac_key": "env:X_ID", "csrf_secret": "env:X_CSRF",
                                     "limits": {"page_per_minute": 600, "lookup_per_minute": 600,
                                                "post_per_minute": 600, **limits},
                                     "forms": [{"service": "ss_enroll", "name": "参保登记表", "file": "ss-enroll.pdf"}]})


def make_node(config: WebConfig | None = None, state: bool = True) -> Node:
    mirror = Mirror("daan")
    if state:
        feed_state(mirror)
    bus = FakeBus()
    clock = Clock()
    app = create_app(config or make_config(), mirror, bus, id_key=ID_KEY, csrf_secret=b"csrf-secret-0123456789",
                     clock=clock, today=lambda: TODAY)
    return Node(app, mirror, bus, clock)


def feed_state(mirror: Mirror) -> None:
    mirror.apply(TOPICS.state_server, {"v": 1, "state": "online", "business_day": TODAY.isoformat()})
    mirror.apply(TOPICS.state_catalog, catalog())
    mirror.apply(TOPICS.state_zone("z1"), {"v": 1, "waiting": 12, "serving": 2, "open_windows": 3, "est_wait_s": 900,
                                           "services": {"ss_enroll": {"waiting": 12, "est_wait_s": 900}}})
    mirror.apply(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [4, 480], "t2": [5, 600]}})
    mirror.apply(TOPICS.state_guide("ss_enroll"), {
        "v": 1, "service": "ss_enroll", "name": "城镇职工养老保险参保登记", "name_en": "Pension enrolment",
        "department": "人社局", "materials": [{"name": "居民身份证", "name_en": "Resident ID card"}],
        "steps": ["取号", "办理"], "steps_en": ["Take a number", "Be served"], "promised_days": 5, "legal_days": 20,
        "fees": "不收费", "forms": [{"name": "申请表", "url": "https://zwfw.example/form.pdf"}]})
    mirror.apply(TOPICS.state_calls, {"v": 1, "calls": [{"seq": 1, "ticket_id": "t0", "number": "A020",
                                                         "window": "w15", "window_name": "15号窗口",
                                                         "ts": "2026-12-01T09:10:00+08:00"}]})


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch) -> Node:
    return make_node()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    m = CSRF_RE.search(r.text)
    assert m, (path, r.status_code, r.text[:500])
    return m.group(1)
