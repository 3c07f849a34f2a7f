"""The supervisor console's server side: state/alerts and alert.ack, device faults as alerts, notice.set,
ticket.reprint, the green channel, console cancels and window ops with their actor, and event/audit."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_server.config import load_hall_config
from hall_server.service import _Device
from tests.hall_server.test_staff import NOW, Hall
from tests.support.hall import HALL_CONFIG

CONFIG = load_hall_config(HALL_CONFIG)     # sign-in off: the console's part alone
SVC = next(s for s in CONFIG.services if not s.id_required)
WINDOW = next(w.id for w in CONFIG.windows if SVC.id in w.services)


@pytest.fixture
def hall(tmp_path: Path) -> Any:
    h = Hall(tmp_path, CONFIG)
    yield h
    h.close()


def _alert_ids(h: Hall) -> list[str]:
    h.s._flush()
    return [a["id"] for a in h.last("/state/alerts")["alerts"]]


def test_alerts_stay_in_state_until_acked_and_survive_a_restart(tmp_path: Path) -> None:
    h = Hall(tmp_path, CONFIG)
    t = h.ok("kiosk-k1", "ticket.issue", {"service": SVC.id, "channel": "walk_in"})
    h.now = NOW + timedelta(seconds=CONFIG.supervision.long_wait_s + 60)
    h.s._process([])
    from hall_server.service import _Tick
    h.s._process([_Tick("supervise")])
    ids = _alert_ids(h)
    assert len(ids) == 1 and ids[0].startswith("long_wait-" + t["number"])
    h.now += timedelta(seconds=1)
    h.s._process([_Device("kiosk-k1", "printer", "error", {"paper": "out"})])
    ids = _alert_ids(h)
    assert ids[0].startswith("device_fault-kiosk-k1/printer") and len(ids) == 2     # newest first
    h.close()

    h = Hall(tmp_path, CONFIG)                 # a restart keeps the open alerts
    h.now = NOW + timedelta(seconds=CONFIG.supervision.long_wait_s + 120)
    h.s._publish_all()
    assert [a["id"] for a in h.last("/state/alerts")["alerts"]] == ids
    acked = h.ok("console-c1", "alert.ack", {"alert_id": ids[1], "actor": "supervisor1"})
    assert acked["id"] == ids[1] and acked["acked_by"] == "supervisor1" and acked["acked_at"]
    assert h.last("/event/alert")["acked_by"] == "supervisor1"
    assert _alert_ids(h) == ids[:1]
    audit = h.last("/event/audit")
    assert (audit["actor"], audit["client"], audit["op"], audit["target"]) == \
        ("supervisor1", "console-c1", "alert.ack", ids[1])
    rep = h.request("console-c1", "alert.ack", {"alert_id": ids[1], "actor": "supervisor1"})
    assert rep["error"]["code"] == "conflict"        # already acknowledged (or unknown): conflict
    assert h.request("console-c1", "alert.ack", {"alert_id": "nope", "actor": "x"})["error"]["code"] == "conflict"
    h.close()
    h = Hall(tmp_path, CONFIG)
    h.s._publish_all()
    assert [a["id"] for a in h.last("/state/alerts")["alerts"]] == ids[:1]
    h.close()


def test_a_device_fault_is_raised_once_and_cleared_when_ok(hall: Hall) -> None:
    fault = _Device("kiosk-k1", "printer", "error", {"paper": "out"})
    hall.s._process([fault])
    hall.s._process([fault])                                   # the same fault again: no second alert
    alerts = [a for a in hall.events("/event/alert") if a["kind"] == "device_fault"]
    assert len(alerts) == 1 and alerts[0]["target"] == "kiosk-k1/printer" and alerts[0]["level"] == "red"
    assert "paper=out" in alerts[0]["text_en"]
    hall.s._process([_Device("kiosk-k1", "printer", "ok", {})])
    assert _alert_ids(hall) == []                              # cleared: it left state/alerts
    hall.now += timedelta(seconds=5)
    hall.s._process([fault])                                   # a new fault: a new alert
    assert len([a for a in hall.events("/event/alert") if a["kind"] == "device_fault"]) == 2
    # an acknowledged fault is not raised again until it cleared
    aid = _alert_ids(hall)[0]
    hall.ok("console-c1", "alert.ack", {"alert_id": aid, "actor": "s1"})
    hall.s._process([fault])
    assert _alert_ids(hall) == []


def test_a_device_owner_going_offline_raises_device_offline(hall: Hall) -> None:
    hall.s._process([_Device("kiosk-k2", "", "offline", {})])
    hall.s._process([_Device("console-c1", "", "offline", {})])     # not a device owner
    hall.s._process([_Device("kiosk-k2", "", "offline", {})])       # its last will after the clean offline: once
    offline = [a for a in hall.events("/event/alert") if a["kind"] == "device_offline"]
    assert [a["target"] for a in offline] == ["kiosk-k2"]
    hall.s._process([_Device("kiosk-k2", "", "online", {})])
    assert _alert_ids(hall) == []


def test_notice_is_retained_and_persisted(tmp_path: Path) -> None:
    h = Hall(tmp_path, CONFIG)
    assert h.ok("console-c1", "notice.set", {"zh": "今天下午停电检修", "en": "Power maintenance this afternoon",
                                             "actor": "boss"}) == {}
    t, p, retain = next(x for x in reversed(h.sent) if x[0].endswith("/state/notice"))
    assert retain and p == {"v": 1, "zh": "今天下午停电检修", "en": "Power maintenance this afternoon"}
    assert h.last("/event/audit")["op"] == "notice.set"
    h.close()
    h = Hall(tmp_path, CONFIG)
    h.s._publish_all()
    assert h.last("/state/notice")["zh"] == "今天下午停电检修"
    h.ok("console-c1", "notice.set", {"zh": "", "en": "", "actor": "boss"})
    assert h.last("/state/notice") == {"v": 1, "zh": "", "en": ""}
    h.close()


def test_reprint_goes_to_that_kiosk_with_the_full_ticket(hall: Hall) -> None:
    t = hall.ok("kiosk-k1", "ticket.issue", {"service": SVC.id, "channel": "walk_in"})
    assert hall.ok("console-c1", "ticket.reprint", {"ticket_id": t["id"], "kiosk": "kiosk-k2", "actor": "desk1"}) == {}
    ev = hall.last("/event/reprint/kiosk-k2")
    assert ev["v"] == 1 and ev["ticket"]["number"] == t["number"] and ev["ticket"]["token"] == t["token"]
    assert ev["ticket"]["verify"] == t["verify"]
    audit = hall.last("/event/audit")
    assert audit["op"] == "ticket.reprint" and audit["target"] == f"{t['number']}@kiosk-k2"
    assert not any(r["kind"] == "reprint" for r in hall.s.store.events_of(hall.s.engine.day))   # tokens not kept
    assert hall.request("console-c1", "ticket.reprint", {"ticket_id": "nope", "kiosk": "kiosk-k2"})["error"]["code"] \
        == "unknown_ticket"


def test_green_channel_is_called_first_and_records_the_actor(hall: Hall) -> None:
    elderly = hall.ok("kiosk-k1", "ticket.issue", {"service": SVC.id, "channel": "id_card", "holder": {
        "ref": "holder-ref-0001", "birth_date": "1940-01-01"}})
    assert elderly["priority"]
    plain = hall.ok("console-c1", "ticket.issue", {"service": SVC.id, "channel": "staff", "actor": "desk1"})
    green = hall.ok("console-c1", "ticket.issue", {"service": SVC.id, "channel": "staff", "priority": True,
                                                  "actor": "desk1"})
    assert green["priority"] and green["token"] and not plain["priority"]
    rec = hall.s.engine.tickets[green["id"]]
    assert rec.green and rec.actor == "desk1" and rec.issued_by == "console-c1"
    assert [a["target"] for a in hall.events("/event/audit")] == [plain["number"], green["number"]]
    # a kiosk may not ask for the green channel
    assert hall.request("kiosk-k1", "ticket.issue", {"service": SVC.id, "channel": "walk_in", "priority": True}
                        )["error"]["code"] == "forbidden"
    hall.ok(f"panel-{WINDOW}", "window.open", {"window": WINDOW})
    order = [hall.ok(f"panel-{WINDOW}", "window.call_next", {"window": WINDOW})["id"]]
    for _ in range(2):
        hall.now += timedelta(seconds=30)
        order.append(hall.ok(f"panel-{WINDOW}", "window.call_next", {"window": WINDOW})["id"])
    assert order == [green["id"], elderly["id"], plain["id"]]


def test_console_cancels_and_window_ops_are_audited_with_the_actor(hall: Hall) -> None:
    t = hall.ok("kiosk-k1", "ticket.issue", {"service": SVC.id, "channel": "walk_in"})
    hall.ok(f"panel-{WINDOW}", "window.open", {"window": WINDOW})
    hall.ok("console-c1", "window.pause", {"window": WINDOW, "reason": "meeting", "actor": "boss"})
    hall.ok("console-c1", "window.resume", {"window": WINDOW, "actor": "boss"})
    cancelled = hall.ok("console-c1", "ticket.cancel", {"number": t["number"], "reason": "duplicate",
                                                        "actor": "boss"})
    assert cancelled["state"] == "cancelled"
    hall.ok("console-c1", "window.close", {"window": WINDOW, "actor": "boss"})
    hall.ok("console-c1", "ticket.get", {"ticket_id": t["id"]})         # a read: not audited
    audits = [(a["op"], a["target"], a["actor"]) for a in hall.events("/event/audit")]
    assert audits == [("window.pause", WINDOW, "boss"), ("window.resume", WINDOW, "boss"),
                      ("ticket.cancel", t["number"], "boss"), ("window.close", WINDOW, "boss")]
    stored = hall.s.store.audit_of(hall.s.engine.day)
    assert [(a["op"], a["actor"], a["client"]) for a in stored] == [(op, actor, "console-c1")
                                                                    for op, _t, actor in audits]
    cancel_ev = next(e for e in hall.events("/event/ticket") if e["action"] == "cancel")
    assert cancel_ev["reason"] == "duplicate (boss)"


def test_department_updates_are_audited(hall: Hall) -> None:
    hall.ok(f"panel-{WINDOW}", "window.open", {"window": WINDOW})
    hall.ok("kiosk-k1", "ticket.issue", {"service": SVC.id, "channel": "walk_in"})
    hall.ok(f"panel-{WINDOW}", "window.call_next", {"window": WINDOW})
    case = hall.ok(f"panel-{WINDOW}", "case.accept", {"window": WINDOW, "applicant": {
        "name": "王建国", "id_number": "11010519491231002X"}})
    hall.ok(f"dept-{SVC.department}", "case.update", {"number": case["number"], "change": "in_progress",
                                                       "actor": "审批员"})
    audit = hall.last("/event/audit")
    assert (audit["op"], audit["target"], audit["actor"], audit["client"]) == \
        ("case.update", case["number"], "审批员", f"dept-{SVC.department}")


def test_state_alerts_keeps_the_newest_200_within_the_message_limit() -> None:
    from hall_bus.contract import encode_json
    from hall_server.alerts import AlertBoard
    board = AlertBoard()
    for i in range(300):
        board.add({"v": 1, "id": f"long_wait-A{i:03d}", "level": "yellow", "kind": "long_wait", "target": f"A{i:03d}",
                   "text_zh": "号已等候很久" * 10, "text_en": "has waited a long time " * 5,
                   "ts": f"2026-11-30T09:{i // 60:02d}:{i % 60:02d}+08:00", "acked_by": None, "acked_at": None})
    view = board.view()
    assert len(encode_json(view)) < 64 * 1024 and 50 < len(view["alerts"]) <= 200
    assert view["alerts"][0]["id"] == "long_wait-A299"                  # newest first
    assert len(board.open) == 300                                        # all still open
