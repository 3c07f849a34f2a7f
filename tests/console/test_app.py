"""The console through its ASGI interface: logins (argon2, growing delay, never a lockout), sessions that expire,
the roles enforced on the server side of the console, every action sent with the user as actor and written to
the audit log, the server's refusals shown in its own words, and the hall page drawn from the mirror."""
from __future__ import annotations

import json
from contextlib import aclosing

from hall_bus.client import RequestError
from tests.console.conftest import PASSWORD, TOPICS, Node, alert, logged_in, login, run


def test_login_page_has_security_headers_and_a_wrong_password_is_refused(node: Node) -> None:
    async def go() -> None:
        async with node.client() as c:
            page = await c.get("/login")
            assert page.status_code == 200 and "值班长控制台" in page.text
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
            assert "charset=utf-8" in page.headers["content-type"]
            r = await login(c, "boss", "wrong-password")
            assert r.status_code == 401 and "用户名或密码不正确" in r.text
            r = await login(c, "nobody", "wrong-password")
            assert r.status_code == 401 and "用户名或密码不正确" in r.text      # the same words for an unknown user
            home = await c.get("/")
            assert home.status_code == 303 and home.headers["location"].startswith("/login")
    run(go())
    failed = [e for e in node.audit.recent if e["action"] == "login"]
    assert [e["ok"] for e in failed] == [False, False]
    assert "wrong-password" not in (node.audit.path.read_text())


def test_a_login_shows_the_hall_with_windows_staff_queues_in_chinese_and_english(node: Node) -> None:
    async def go() -> None:
        c, _csrf = await logged_in(node, "desk")
        async with aclosing(c):
            home = (await c.get("/")).text
            assert 'id="win-w15"' in home and "A020" in home and "王*" in home
            assert 'id="win-w16"' in home and "暂停" in home and "会议" in home
            assert "城镇职工养老保险参保登记" in home and "45 分钟" in home      # longest wait of the service
            assert "desk · 服务台" in home
            en = await c.get("/?lang=en")
            assert "Window 15" in en.text and "Pension enrolment" in en.text and "45 min" in en.text
            assert (await c.get("/")).text.count("Hall windows") == 1            # the switch is remembered
    run(go())


def test_repeated_failures_slow_down_per_user_and_per_address_but_never_lock_out(node: Node) -> None:
    async def go() -> None:
        async with node.client() as c:
            for _ in range(3):
                assert (await login(c, "sup", "bad-password")).status_code == 401
            r = await login(c, "sup")                    # even the right password must wait now
            assert r.status_code == 429 and r.headers["retry-after"] == "2"
            node.clock.now += 2.1
            assert (await login(c, "sup", "bad-password")).status_code == 401
            r = await login(c, "sup")
            assert r.status_code == 429 and r.headers["retry-after"] == "4"     # the delay grows
            # another name from the same address waits too; the user from another address too
            assert (await login(c, "boss")).status_code == 429
        async with node.client(ip="192.0.2.99") as other:
            assert (await login(other, "sup")).status_code == 429
            assert (await login(other, "boss")).status_code == 303
        node.clock.now += 4.1
        async with node.client() as c:
            assert (await login(c, "sup")).status_code == 303                   # no lockout
    run(go())


def test_an_idle_session_expires_and_the_stream_is_refused(node: Node) -> None:
    async def go() -> None:
        c, _csrf = await logged_in(node, "sup")
        async with aclosing(c):
            node.clock.now += 1700
            assert (await c.get("/")).status_code == 200                        # use restarts the idle time
            node.clock.now += 1801
            r = await c.get("/")
            assert r.status_code == 303 and "expired=1" in r.headers["location"]
            assert (await c.get("/events")).status_code == 401
            page = await c.get(r.headers["location"])
            assert "登录已过期" in page.text
    run(go())


def test_a_desk_user_cannot_close_cancel_or_ack_and_nothing_reaches_the_server(node: Node) -> None:
    async def go() -> None:
        c, csrf = await logged_in(node, "desk")
        async with aclosing(c):
            r = await c.post("/window/w15/close", data={"csrf": csrf})
            assert r.status_code == 403 and "无权操作" in r.text and "值班长（管理员）" in r.text
            r = await c.post("/act/cancel", data={"csrf": csrf, "number": "A023", "reason": "duplicate"})
            assert r.status_code == 403
            r = await c.post("/alerts/ack", data={"csrf": csrf, "alert_id": "x"})
            assert r.status_code == 403
            assert (await c.get("/audit")).status_code == 403
            home = (await c.get("/")).text
            assert 'id="form-cancel"' not in home and 'id="form-notice"' not in home
            win = (await c.get("/window/w15")).text
            assert 'id="close"' not in win and 'id="pause"' not in win
    run(go())
    assert node.bus.requests == []


def test_a_green_channel_ticket_goes_out_as_a_staff_ticket_with_the_actor_and_is_audited(node: Node) -> None:
    node.feed(TOPICS.presence("kiosk-k1"), {"v": 1, "state": "online", "role": "kiosk"})
    node.bus.override["ticket.reprint"] = lambda args: {}

    async def go() -> None:
        c, csrf = await logged_in(node, "desk")
        async with aclosing(c):
            r = await c.post("/act/issue", data={"csrf": csrf, "service": "ss_enroll", "priority": "1"})
            assert r.status_code == 200 and "A031" in r.text and "绿色通道" in r.text
            r = await c.post("/act/issue", data={"csrf": csrf, "service": "ss_enroll", "priority": "1",
                                                 "kiosk": "kiosk-k1"})
            assert r.status_code == 200 and "kiosk-k1" in r.text
            r = await c.post("/act/issue", data={"csrf": csrf, "service": "no_such"})
            assert r.status_code == 400
    run(go())
    assert node.bus.requests[0] == ("ticket.issue", {"service": "ss_enroll", "channel": "staff", "priority": True,
                                                     "actor": "desk"})
    assert node.bus.requests[2] == ("ticket.reprint", {"ticket_id": "t-A031", "kiosk": "kiosk-k1", "actor": "desk"})
    lines = [json.loads(x) for x in node.audit.path.read_text().splitlines()]
    issued = [e for e in lines if e["action"] == "ticket.issue"]
    assert issued and issued[0]["user"] == "desk" and issued[0]["role"] == "desk" and issued[0]["ok"] and issued[0]["ts"]


def test_a_form_without_the_session_token_is_refused(node: Node) -> None:
    async def go() -> None:
        c, _csrf = await logged_in(node, "boss")
        async with aclosing(c):
            r = await c.post("/window/w15/close", data={"csrf": "forged"})
            assert r.status_code == 403 and "表单已过期" in r.text
            r = await c.post("/window/w15/close", data={})
            assert r.status_code == 403
    run(go())
    assert node.bus.requests == []


def test_supervisor_cancels_pauses_and_resumes_and_manager_closes_and_sets_the_notice(node: Node) -> None:
    async def go() -> None:
        c, csrf = await logged_in(node, "sup")
        async with aclosing(c):
            r = await c.post("/act/cancel", data={"csrf": csrf, "number": "a023", "reason": "duplicate"})
            assert r.status_code == 200 and "A023" in r.text
            assert (await c.post("/window/w15/pause", data={"csrf": csrf, "reason": "break"})).status_code == 200
            assert (await c.post("/window/w16/resume", data={"csrf": csrf})).status_code == 200
            assert (await c.post("/window/w15/close", data={"csrf": csrf})).status_code == 403
            assert (await c.post("/notice", data={"csrf": csrf, "zh": "x"})).status_code == 403
            assert (await c.post("/act/cancel", data={"csrf": csrf, "number": "A023", "reason": "whim"})
                    ).status_code == 400
        m, mcsrf = await logged_in(node, "boss")
        async with aclosing(m):
            assert (await m.post("/window/w15/close", data={"csrf": mcsrf})).status_code == 200
            r = await m.post("/notice", data={"csrf": mcsrf, "zh": "系统维护", "en": "Maintenance"})
            assert r.status_code == 409 and "未知操作" in r.text and "unknown_op" in r.text
            assert "sup" in (await m.get("/users")).text
            audit = (await m.get("/audit")).text
            assert "ticket.cancel" in audit and "window.close" in audit and "notice.set" in audit
    run(go())
    assert node.bus.requests[:3] == [
        ("ticket.cancel", {"number": "A023", "reason": "duplicate", "actor": "sup"}),
        ("window.pause", {"window": "w15", "actor": "sup", "reason": "break"}),
        ("window.resume", {"window": "w16", "actor": "sup"})]
    assert node.bus.requests[3] == ("window.close", {"window": "w15", "actor": "boss"})
    assert node.bus.requests[4] == ("notice.set", {"zh": "系统维护", "en": "Maintenance", "actor": "boss"})
    refused = [e for e in node.audit.recent if e["action"] == "notice.set"]
    assert refused[0]["ok"] is False and refused[0]["result"] == "unknown_op"


def test_an_alert_is_listed_newest_first_and_acknowledged_by_the_user(node: Node) -> None:
    node.feed(TOPICS.event_alert, alert("a1", "yellow", ts="2026-12-01T09:00:00+08:00", text_zh="旧告警"))
    node.feed(TOPICS.event_alert, alert("a2", "red", ts="2026-12-01T09:30:00+08:00", text_zh="新告警"))
    node.bus.override["alert.ack"] = lambda args: {**alert(args["alert_id"]), "acked_by": args["actor"],
                                                   "acked_at": "2026-12-01T09:31:00+08:00"}

    async def go() -> None:
        c, csrf = await logged_in(node, "sup")
        async with aclosing(c):
            home = (await c.get("/")).text
            assert home.index("新告警") < home.index("旧告警")
            r = await c.post("/alerts/ack", data={"csrf": csrf, "alert_id": "a2"})
            assert r.status_code == 200 and "已确认" in r.text
            # the server's ack goes out on event/alert and the alert leaves the open list
            node.feed(TOPICS.event_alert, alert("a2", "red", text_zh="新告警", acked_by="sup",
                                                acked_at="2026-12-01T09:31:00+08:00"))
            home = (await c.get("/")).text
            assert 'data-alert="a2"' not in home and "sup 于 09:31 确认" in home
    run(go())
    assert node.bus.requests == [("alert.ack", {"alert_id": "a2", "actor": "sup"})]


def test_an_ack_the_server_does_not_know_yet_shows_its_refusal(node: Node) -> None:
    node.feed(TOPICS.event_alert, alert("a2"))

    async def go() -> None:
        c, csrf = await logged_in(node, "sup")
        async with aclosing(c):
            r = await c.post("/alerts/ack", data={"csrf": csrf, "alert_id": "a2"})
            assert r.status_code == 409 and "服务器拒绝了操作" in r.text and "unknown_op" in r.text
            assert 'data-alert="a2"' in (await c.get("/")).text
    run(go())


def test_the_state_alerts_list_is_the_open_alerts_once_the_server_publishes_it(node: Node) -> None:
    node.feed(TOPICS.event_alert, alert("a1"))
    node.feed(TOPICS.state_alerts, {"v": 1, "alerts": [alert("a3", "yellow", text_zh="第三个")]})
    assert list(node.mirror.alerts) == ["a3"] and node.mirror.alerts_from_state


def test_a_timeout_is_said_as_such(node: Node) -> None:
    def slow(args: dict) -> dict:
        raise RequestError("timeout", "no reply to ticket.issue within 8 s", "服务器没有响应，请稍后再试或联系工作人员")
    node.bus.override["ticket.issue"] = slow

    async def go() -> None:
        c, csrf = await logged_in(node, "desk")
        async with aclosing(c):
            r = await c.post("/act/issue", data={"csrf": csrf, "service": "ss_enroll", "priority": "1"})
            assert r.status_code == 504 and "服务器没有响应" in r.text
    run(go())


def test_reprint_looks_the_number_up_then_sends_it_to_the_kiosk(node: Node) -> None:
    node.bus.override["ticket.reprint"] = lambda args: {}

    async def go() -> None:
        c, csrf = await logged_in(node, "desk")
        async with aclosing(c):
            r = await c.post("/act/reprint", data={"csrf": csrf, "number": "A023", "kiosk": "kiosk-k1"})
            assert r.status_code == 200, r.text
    run(go())
    assert node.bus.requests == [("ticket.get", {"number": "A023"}),
                                 ("ticket.reprint", {"ticket_id": "t-A023", "kiosk": "kiosk-k1", "actor": "desk"})]


def test_logout_ends_the_session(node: Node) -> None:
    async def go() -> None:
        c, csrf = await logged_in(node, "desk")
        async with aclosing(c):
            cookie = c.cookies.get("ow_console")
            assert (await c.post("/logout", data={"csrf": csrf})).status_code == 303
            c.cookies.set("ow_console", cookie)
            assert (await c.get("/")).status_code == 303
    run(go())


def test_password_is_never_in_the_audit_log(node: Node) -> None:
    async def go() -> None:
        async with node.client() as c:
            await login(c, "boss", PASSWORD)
    run(go())
    assert PASSWORD not in node.audit.path.read_text()
