"""The declared contract: validation of everything that arrives, roles, envelopes, the generated AsyncAPI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall_bus import contract as c
from hall_bus.asyncapi import build
from hall_bus.topics import Topics

ROOT = Path(__file__).resolve().parents[2]


def req(args: dict, **extra) -> bytes:
    return json.dumps({"v": 1, "id": "r1", "args": args, **extra}).encode()


def test_a_valid_issue_request_is_cleaned_of_unknown_fields() -> None:
    r = c.parse_request("ticket.issue", req({"service": "ss_enroll", "channel": "id_card", "extra": 1,
                                              "holder": {"ref": "abcdefgh12345678", "birth_date": "1950-01-02",
                                                         "display_name": "张*", "raw_id": "x"}}))
    assert r.id == "r1"
    assert isinstance(r.args, c.TicketIssue)
    assert r.args.given() == {"service": "ss_enroll", "channel": "id_card",
                      "holder": {"ref": "abcdefgh12345678", "birth_date": "1950-01-02", "display_name": "张*"}}


@pytest.mark.parametrize("payload, code, words", [
    (b"\xff\xfe", "bad_request", "not UTF-8"),
    (b"nope", "bad_request", "not JSON"),
    (b"[1]", "bad_request", "not an object"),
    (b'{"id":"x"}', "bad_request", "v:"),
    (b'{"v":2,"id":"x"}', "unsupported_version", "version 2"),
    (b'{"v":1,"id":""}', "bad_request", "id:"),
    (b'{"v":1,"id":"x","args":{"service":1,"channel":"walk_in"}}', "bad_request", "args.service"),
    (b'{"v":1,"id":"x","args":{"service":"a","channel":"bus"}}', "bad_request", "args.channel"),
    (b'{"v":1,"id":"x","args":{"channel":"walk_in"}}', "bad_request", "args.service: Field required"),
    (b'{"v":1,"id":"x","args":{"service":"a","channel":"walk_in","holder":{"ref":"short"}}}', "bad_request",
     "args.holder.ref"),
    (b'{"v":1,"id":"x","args":{"service":"a b","channel":"walk_in"}}', "bad_request", "args.service"),
])
def test_bad_requests_name_the_problem(payload: bytes, code: str, words: str) -> None:
    with pytest.raises(c.BusError) as e:
        c.parse_request("ticket.issue", payload)
    assert e.value.code == code and words in e.value.message
    assert e.value.message_zh


def test_oversized_payloads_are_refused_before_parsing() -> None:
    with pytest.raises(c.BusError, match="exceeds"):
        c.decode_json(b"{" + b" " * c.MAX_PAYLOAD + b"}")


def test_one_of_rules() -> None:
    with pytest.raises(c.BusError, match="exactly one of ticket_id, number, verify, token"):
        c.validate_args("ticket.get", {})
    with pytest.raises(c.BusError, match="exactly one of"):
        c.validate_args("window.transfer", {"window": "w1", "service": "a", "to_window": "w2"})
    with pytest.raises(c.BusError) as e:
        c.validate_args("evaluation.submit", {"verify": "K7Q2", "grade": 6})
    assert "grade" in e.value.message
    with pytest.raises(c.BusError):
        c.validate_args("evaluation.submit", {"verify": "K7Q2", "grade": True})   # a boolean is no grade


@pytest.mark.parametrize("op, args, where", [
    ("evaluation.submit", {"verify": "K7Q2", "grade": "3"}, "args.grade"),          # a string is no number
    ("evaluation.submit", {"verify": "K7Q2", "grade": 3.0}, "args.grade"),
    ("ticket.issue", {"service": "a", "channel": "walk_in", "lang": 1}, "args.lang"),
    ("window.pause", {"window": "w1", "reason": 5}, "args.reason"),
    ("ticket.get", {"token": "short"}, "args.token"),                               # ≥ 16 characters
    ("ticket.issue", {"service": "a", "channel": "walk_in",
                      "holder": {"ref": "abcdefgh12", "birth_date": "1899-12-31"}}, "args.holder.birth_date"),
    ("ticket.issue", {"service": "a", "channel": "walk_in",
                      "holder": {"ref": "abcdefgh12", "birth_date": "2999-01-01"}}, "args.holder.birth_date"),
])
def test_requests_are_strict_a_wrong_type_is_refused_not_coerced(op: str, args: dict, where: str) -> None:
    with pytest.raises(c.BusError) as e:
        c.validate_args(op, args)
    assert e.value.code == "bad_request" and e.value.message.startswith(where)


def test_every_op_has_an_enum_member_and_an_argument_model() -> None:
    assert set(c.OPS) == set(c.Op) and all(issubclass(m, c.Args) for m in c.OPS.values())
    assert c.validate_args(c.Op.TICKET_GET, {"token": "Zq3x_9kLmN0pQrStUvWxYz"}).token == "Zq3x_9kLmN0pQrStUvWxYz"


def test_unknown_op() -> None:
    with pytest.raises(c.BusError) as e:
        c.validate_args("ticket.print", {})
    assert e.value.code == "unknown_op"


def test_roles() -> None:
    assert c.role_of("kiosk-k1") is c.Role.KIOSK and c.role_of("panel-w15") is c.Role.PANEL
    assert c.role_of("onewindow-server") is c.Role.SERVER
    assert c.role_of("hacker") is None and c.role_of("kiosk-") is None and c.role_of("admin-x") is None
    assert c.may_call("kiosk-k1", "ticket.issue", {})
    assert not c.may_call("kiosk-k1", "window.call_next", {"window": "w1"})
    assert c.may_call("panel-w15", "window.call_next", {"window": "w15"})
    assert not c.may_call("panel-w15", "window.call_next", {"window": "w16"})
    assert not c.may_call("display-d1", "ticket.get", {"number": "A001"})
    allowed = {"devices-hall": {"w1", "w2"}}
    assert c.may_call("devices-hall", "window.recall", {"window": "w2"}, allowed.get)
    assert not c.may_call("devices-hall", "window.recall", {"window": "w3"}, allowed.get)
    assert not c.may_call("devices-other", "window.recall", {"window": "w1"}, allowed.get)


def test_reply_envelopes() -> None:
    ok = c.make_ok("r1", "ticket.issue", {"number": "A001"})
    assert ok == {"v": 1, "id": "r1", "op": "ticket.issue", "ok": True, "data": {"number": "A001"}}
    err = c.make_error("r2", "window.call_next", c.BusError(c.ErrorCode.NO_TICKET, "nobody waits"))
    assert err["ok"] is False and err["error"] == {"code": "no_ticket", "message": "nobody waits",
                                                    "message_zh": "当前没有等候的号"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_bus_error(data: bytes) -> None:
    for op in ("ticket.issue", "window.call", "evaluation.submit"):
        try:
            c.parse_request(op, data)
        except c.BusError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=20))
def test_arbitrary_json_args_never_raise_anything_but_bus_error(args) -> None:
    payload = json.dumps({"v": 1, "id": "x", "args": args}).encode()
    for op in c.OPS:
        try:
            c.parse_request(op, payload)
        except c.BusError:
            pass


def test_topics_are_declared_once_and_parse_back() -> None:
    t = Topics("daan")
    assert t.request("kiosk-k1", "ticket.issue") == "onewindow/daan/request/kiosk-k1/ticket.issue"
    assert t.state_window("w15") == "onewindow/daan/state/window/w15"
    assert t.device_status("kiosk-k1", "printer-k1") == "onewindow/daan/device/kiosk-k1/printer-k1/status"
    p = t.parse(t.request("kiosk-k1", "ticket.issue"))
    assert p is not None and p.kind == "request" and p.parts == ("kiosk-k1", "ticket.issue")
    assert t.parse("onewindow/other/state/calls") is None
    with pytest.raises(ValueError):
        Topics("da/an")


def test_asyncapi_ticket_lists_every_field_the_engine_sends() -> None:
    """0.1's hand-written AsyncAPI Ticket left out fields the engine sent; now both come from one model."""
    import random
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from hall_server.config import load_hall_config
    from hall_server.engine import Engine
    eng = Engine(load_hall_config(ROOT / "config" / "hall.toml"), rng=random.Random(1))
    sid = next(s.id for s in eng.config.services if not s.id_required)
    ticket = eng.issue(datetime(2026, 11, 27, 9, tzinfo=ZoneInfo("Asia/Shanghai")), sid, "walk_in",
                       {"ref": "abcdefgh12", "birth_date": "1950-01-01", "display_name": "张*"}).data
    schema = build()["components"]["schemas"]["Ticket"]
    assert set(ticket) <= set(schema["properties"]), set(ticket) - set(schema["properties"])
    assert {"token", "holder_name", "ahead", "est_wait_s", "verify"} <= set(ticket)


def test_committed_asyncapi_matches_the_declarations() -> None:
    committed = json.loads((ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8"))
    assert committed == build(), "regenerate: python -m hall_bus.asyncapi > docs/asyncapi.json"
    assert set(c.OPS) <= {k.rsplit("/", 1)[1] for k in committed["channels"] if "/request/" in k}


def test_one_hall_id_rule_for_every_role() -> None:
    """The hall id is a topic level: the server, kiosk, display and device controller accept exactly the same ids."""
    from typing import Annotated
    from pydantic import TypeAdapter, ValidationError
    from devices.config import DevicesConfig
    from display_board.config import DisplayConfig
    from hall_server.config import HallInfo
    from kiosk.config import KioskConfig
    fields = [HallInfo.model_fields["id"], KioskConfig.model_fields["hall"], DisplayConfig.model_fields["hall"],
              DevicesConfig.model_fields["hall"]]
    for f in fields:
        hall_id = TypeAdapter(Annotated[f.annotation, *f.metadata])
        for good in ("daan", "da-an_2", "Z9"):
            assert hall_id.validate_python(good) == good
        for bad in ("da/an", "da+an", "#", "", "x" * 33, "da an", "da.an"):
            with pytest.raises(ValidationError):
                hall_id.validate_python(bad)


def test_ticket_cancel_args_and_who_may_call_it() -> None:
    a = c.validate_args("ticket.cancel", {"number": "A001", "reason": "unclaimed"})
    assert isinstance(a, c.TicketCancel) and a.number == "A001"
    for bad in ({"reason": "unclaimed"}, {"number": "A001", "ticket_id": "x1", "reason": "unclaimed"},
                {"number": "A001"}, {"number": "A001", "reason": 3}):
        with pytest.raises(c.BusError) as info:
            c.validate_args("ticket.cancel", bad)
        assert info.value.code == c.ErrorCode.BAD_REQUEST
    assert c.may_call("kiosk-k1", "ticket.cancel", a)
    assert not c.may_call("kiosk-k1", "ticket.cancel", {"number": "A001", "reason": "left"})
    assert not c.may_call("panel-w1", "ticket.cancel", a)
    assert not c.may_call("display-d1", "ticket.cancel", a)


def test_part_two_roles() -> None:
    """PROTOCOL part 2, Roles: what web-, console- and dept- clients may call, and the staff ops of windows."""
    token = {"token": "t" * 22}
    assert c.may_call("web-n1", "ticket.get", token) and not c.may_call("web-n1", "ticket.get", {"verify": "AB12"})
    assert c.may_call("web-n1", "evaluation.submit", {**token, "grade": 5})
    assert not c.may_call("web-n1", "evaluation.submit", {"ticket_id": "x", "grade": 5})
    assert c.may_call("web-n1", "appointment.book", {}) and not c.may_call("web-n1", "window.call_next", {"window": "w1"})
    assert not c.may_call("kiosk-k1", "case.get", {"number": "DA-20261130-0001"})
    assert c.may_call("kiosk-k1", "case.get", {"number": "DA-20261130-0001", "query_code": "123456"})
    assert c.may_call("console-office", "window.close", {"window": "w77"})
    assert not c.may_call("console-office", "window.call_next", {"window": "w77"})
    assert c.may_call("console-office", "ticket.issue", {"service": "s", "channel": "staff", "priority": True})
    assert not c.may_call("console-office", "ticket.issue", {"service": "s", "channel": "walk_in"})
    assert not c.may_call("kiosk-k1", "ticket.issue", {"service": "s", "channel": "staff"})
    assert not c.may_call("kiosk-k1", "ticket.issue", {"service": "s", "channel": "walk_in", "priority": True})
    assert c.may_call("panel-w15", "staff.sign_in", {"window": "w15"})
    assert not c.may_call("panel-w15", "staff.sign_in", {"window": "w16"})
    assert c.may_call("devices-hall", "staff.sign_in", {"window": "w2"}, {"devices-hall": {"w2"}}.get)
    assert c.may_call("dept-hrss", "case.update", {}) and not c.may_call("dept-hrss", "ticket.get", {})
