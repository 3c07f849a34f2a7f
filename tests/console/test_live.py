"""The console's mirror and live stream: 差评 become follow-up tasks with working-day deadlines (overdue: a red
alert), devices turn red when their owner goes offline, cases near their deadline come from case.list and leave
when done, the event stream sends the changed window and the new red alert, and the users file."""
from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from console.app import poll_cases
from console.users import Role, UsersFile, check_password, run_user
from tests.console.conftest import TOPICS, Node, alert, logged_in, make_node, run


def test_a_bad_evaluation_becomes_a_task_with_working_day_deadlines_and_an_overdue_step_alerts(tmp_path: Path) -> None:
    node = make_node(tmp_path)
    # Friday 2026-12-04: call back by Monday 12-07, fix within 15 working days (12-25)
    node.feed(TOPICS.event_alert, alert("bad_evaluation-w15-1", "red", "bad_evaluation", ticket="A020", window="w15",
                                        grade=1, ts="2026-12-04T16:00:00+08:00", text_zh="A020号收到差评：1分"))
    task = node.followups.tasks["bad_evaluation-w15-1"]
    assert (task.callback_due, task.fix_due) == ("2026-12-07", "2026-12-25")
    node.feed(TOPICS.event_alert, alert("long_wait-A1-1"))
    assert len(node.followups.tasks) == 1                         # other alerts are no tasks
    node.followups.today = lambda: date(2026, 12, 8)
    overdue = node.followups.overdue_alerts()
    assert [a["kind"] for a in overdue] == ["followup_callback_overdue"] and overdue[0]["level"] == "red"

    async def go() -> None:
        c, csrf = await logged_in(node, "sup")
        async with aclosing(c):
            assert "回访的回访已逾期" not in (await c.get("/")).text
            assert "A020 的回访已逾期" in (await c.get("/")).text
            r = await c.post("/followup", data={"csrf": csrf, "task": task.id, "step": "callback", "note": "已致电"})
            assert r.status_code == 200
            assert "A020 的回访已逾期" not in (await c.get("/")).text
            r = await c.post("/followup", data={"csrf": csrf, "task": task.id, "step": "callback"})
            assert r.status_code == 409                               # recorded once
        d, dcsrf = await logged_in(node, "desk")
        async with aclosing(d):
            r = await d.post("/followup", data={"csrf": dcsrf, "task": task.id, "step": "fix"})
            assert r.status_code == 403
    run(go())
    assert task.done["callback"].by == "sup" and task.done["callback"].note == "已致电"
    # the tasks survive a restart of the console
    again = make_node(tmp_path, state=False)
    assert again.followups.tasks[task.id].done["callback"].by == "sup"


def test_a_device_turns_offline_when_its_owner_goes_offline(node: Node) -> None:
    from console.app import devices_view
    con = node.app.state.console
    node.feed(TOPICS.presence("kiosk-k1"), {"v": 1, "state": "online", "role": "kiosk"})
    node.feed(TOPICS.device_status("kiosk-k1", "k1-printer"), {"v": 1, "kind": "printer", "state": "warning",
                                                               "detail": {"code": "near_end"}})
    rows = devices_view(con, "zh")
    assert [(r["device"], r["state"], r["text"]) for r in rows] == [("k1-printer", "warning", "纸将用完")]
    node.feed(TOPICS.presence("kiosk-k1"), {"v": 1, "state": "offline", "role": "kiosk"})     # its last will
    assert devices_view(con, "zh")[0]["state"] == "offline"
    # a device whose owner was never heard of is offline once the presence timeout has passed
    node.feed(TOPICS.device_status("devices-hall", "eval-w1"), {"v": 1, "kind": "evaluator", "state": "ok"})
    assert node.mirror.owner_state("devices-hall") == "unknown"
    node.clock.now += 31
    assert {r["device"]: r["state"] for r in devices_view(con, "en")}["eval-w1"] == "offline"


def test_cases_near_their_deadline_come_from_case_list_and_leave_when_done(node: Node) -> None:
    case = {"number": "DA-20261130-0007", "service": "ss_enroll", "service_name": "城镇职工养老保险参保登记",
            "status": "in_progress", "accepted_at": "2026-11-20T10:00:00+08:00", "due_date": "2026-12-02",
            "days_left": 1, "window": "w15"}
    node.bus.override["case.list"] = lambda args: {"cases": [case, {**case, "number": "DA-20261130-0008",
                                                                    "status": "done"}]}
    con = node.app.state.console

    async def go() -> None:
        task = asyncio.create_task(poll_cases(con))
        await asyncio.sleep(0.2)
        task.cancel()
    run(go())
    assert node.bus.requests[0] == ("case.list", {"due_before": "2026-12-05"})
    assert list(node.mirror.cases) == ["DA-20261130-0007"]
    node.feed(TOPICS.event_case, {"v": 1, "change": "done", "ts": "2026-12-01T10:00:00+08:00",
                                  "case": {**{k: case[k] for k in ("number", "service", "accepted_at")},
                                           "status": "done"}})
    assert node.mirror.cases == {}


def test_the_stream_sends_the_changed_window_and_announces_a_red_alert(node: Node) -> None:
    async def go() -> None:
        c, _csrf = await logged_in(node, "desk")
        cookie = c.cookies.get("ow_console")
        await c.aclose()
        chunks: asyncio.Queue[bytes] = asyncio.Queue()
        start: dict[str, Any] = {}
        gone = asyncio.Event()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": "/events", "raw_path": b"/events", "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"console.test"), (b"cookie", f"ow_console={cookie}".encode())],
                 "client": ("192.0.2.10", 1), "server": ("console.test", 80)}

        async def receive() -> dict[str, Any]:
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.put_nowait(message.get("body", b""))

        task = asyncio.create_task(node.app(scope, receive, send))
        await asyncio.wait_for(chunks.get(), 3)              # the retry line: the stream is open
        headers = dict(start["headers"])
        assert headers[b"content-type"].startswith(b"text/event-stream") and headers[b"x-accel-buffering"] == b"no"
        node.feed(TOPICS.state_window("w40"), {"v": 1, "status": "paused", "reason": "system",
                                               "since": "2026-12-01T09:00:00+08:00"})
        node.feed(TOPICS.event_alert, alert("a9", "red", text_zh="红色告警"))
        events: dict[str, list[Any]] = {}
        buffer = ""
        while not {"patch", "alert"} <= events.keys():
            buffer += (await asyncio.wait_for(chunks.get(), 3)).decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if "event" in fields:
                    events.setdefault(fields["event"], []).append(json.loads(fields["data"]))
        gone.set()
        task.cancel()
        patch = {p["id"]: p["html"] for p in events["patch"][0]}
        assert "win-w40" in patch and "系统故障" in patch["win-w40"]
        assert "part-alerts" in patch and "红色告警" in patch["part-alerts"]
        assert events["alert"][0] == {"id": "a9", "level": "red", "text": "红色告警"}
    run(go())


def test_console_user_writes_an_argon2_line_and_the_file_reports_bad_lines(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users"
    monkeypatch.setenv("PW", "s3cret-pass")
    assert run_user([str(path), "wang", "manager", "--password-env", "PW"]) == 0
    assert run_user([str(path), "li", "desk", "--password-env", "PW"]) == 0
    monkeypatch.setenv("PW", "short")
    assert run_user([str(path), "zhao", "desk", "--password-env", "PW"]) == 1
    users = UsersFile.read(path)
    assert {u.name: u.role for u in users.users.values()} == {"wang": Role.MANAGER, "li": Role.DESK}
    assert check_password(users.users["wang"], "s3cret-pass") and not check_password(users.users["wang"], "x")
    assert not check_password(None, "s3cret-pass")
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text(path.read_text() + "zhou:boss:$argon2id$x\nqian:desk:plain\n")
    problems = UsersFile.read(path).problems
    assert any("role 'boss'" in p for p in problems) and any("not an argon2 hash" in p for p in problems)
