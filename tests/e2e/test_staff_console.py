"""Staff sign-in and the supervisor console against a real server subprocess on the reference hall
(config/hall.toml: [staff] sign_in_required = true, config/staff.toml with the demo PIN)."""
from __future__ import annotations

import json
import queue
import statistics
import threading
import time
from typing import Any

import pytest

from hall_bus import BusClient, RequestError
from hall_bus.contract import Op
from hall_server.config import load_hall_config
from tests.support.hall import DEMO_PIN, REFERENCE_CONFIG, RunningHall, start_hall

pytestmark = pytest.mark.e2e
CFG = load_hall_config(REFERENCE_CONFIG)
W15_SERVICE = next(s for s in CFG.windows_by_id["w15"].services if not CFG.services_by_id[s].id_required)


@pytest.fixture
def hall(tmp_path) -> Any:
    h = start_hall(tmp_path, config=REFERENCE_CONFIG)
    yield h
    h.stop()


def _collect(client: BusClient, topic: str) -> "queue.Queue[dict[str, Any]]":
    q: queue.Queue[dict[str, Any]] = queue.Queue()
    client.subscribe(topic, lambda _t, p: q.put(p))
    return q


def _wait(q: "queue.Queue[dict[str, Any]]", pred, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        p = q.get(timeout=max(0.01, deadline - time.monotonic()))
        if pred(p):
            return p


def test_a_panel_signs_in_and_calls(hall: RunningHall) -> None:
    panel = hall.client("panel-w15")
    kiosk = hall.client("kiosk-k1")
    staff_state = _collect(panel, hall.topics.state_staff("w15"))
    try:
        with pytest.raises(RequestError) as exc:
            panel.request(Op.WINDOW_OPEN, {"window": "w15"})
        assert exc.value.code == "not_signed_in"
        with pytest.raises(RequestError) as exc:
            panel.request(Op.STAFF_SIGN_IN, {"window": "w15", "staff": "1015", "pin": "0000"})
        assert exc.value.code == "bad_login"
        who = panel.request(Op.STAFF_SIGN_IN, {"window": "w15", "staff": "1015", "pin": DEMO_PIN}, timeout=10)
        assert who == {"staff": "1015", "name": "王*", "window": "w15"}
        assert _wait(staff_state, lambda p: p.get("staff") == "1015")["name"] == "王*"
        panel.request(Op.WINDOW_OPEN, {"window": "w15"})
        t = kiosk.request(Op.TICKET_ISSUE, {"service": W15_SERVICE, "channel": "walk_in"})
        called = panel.request(Op.WINDOW_CALL_NEXT, {"window": "w15"})
        assert called["id"] == t["id"]
        panel.request(Op.STAFF_SIGN_OUT, {"window": "w15"})
        assert _wait(staff_state, lambda p: p.get("staff") is None) == {"v": 1, "staff": None}
        with pytest.raises(RequestError) as exc:
            panel.request(Op.WINDOW_FINISH, {"window": "w15"})
        assert exc.value.code == "not_signed_in"
    finally:
        panel.stop()
        kiosk.stop()


def test_a_console_acks_sets_the_notice_issues_green_reprints_and_cancels(hall: RunningHall) -> None:
    console = hall.client("console-c1")
    kiosk = hall.client("kiosk-k1")
    alerts = _collect(console, hall.topics.state_alerts)
    acks = _collect(console, hall.topics.event_alert)
    notice = _collect(console, hall.topics.state_notice)
    audit = _collect(console, hall.topics.event_audit)
    reprints = _collect(kiosk, hall.topics.event_reprint("kiosk-k1"))
    try:
        # a printer out of paper: device_fault in state/alerts
        kiosk.publish(hall.topics.device_status("kiosk-k1", "printer"),
                      {"v": 1, "kind": "printer", "state": "error", "detail": {"paper": "out"}}, retain=True)
        open_ = _wait(alerts, lambda p: any(a["kind"] == "device_fault" for a in p["alerts"]))
        fault = next(a for a in open_["alerts"] if a["kind"] == "device_fault")
        acked = console.request(Op.ALERT_ACK, {"alert_id": fault["id"], "actor": "值班长"})
        assert acked["acked_by"] == "值班长" and acked["acked_at"]
        _wait(acks, lambda p: p.get("id") == fault["id"] and p.get("acked_by") == "值班长")
        _wait(alerts, lambda p: all(a["id"] != fault["id"] for a in p["alerts"]))
        with pytest.raises(RequestError) as exc:
            console.request(Op.ALERT_ACK, {"alert_id": fault["id"], "actor": "值班长"})
        assert exc.value.code == "conflict"

        assert console.request(Op.NOTICE_SET, {"zh": "系统维护", "en": "Maintenance", "actor": "值班长"}) == {}
        _wait(notice, lambda p: p.get("zh") == "系统维护" and p.get("en") == "Maintenance")

        green = console.request(Op.TICKET_ISSUE, {"service": W15_SERVICE, "channel": "staff", "priority": True,
                                                  "actor": "值班长"})
        assert green["priority"] and green["token"]
        assert console.request(Op.TICKET_REPRINT, {"ticket_id": green["id"], "kiosk": "kiosk-k1",
                                                   "actor": "值班长"}) == {}
        printed = _wait(reprints, lambda p: p["ticket"]["id"] == green["id"])
        assert printed["ticket"]["token"] == green["token"] and printed["ticket"]["number"] == green["number"]
        cancelled = console.request(Op.TICKET_CANCEL, {"ticket_id": green["id"], "reason": "mistake",
                                                       "actor": "值班长"})
        assert cancelled["state"] == "cancelled"
        ops = []
        while len(ops) < 5:
            ops.append(_wait(audit, lambda p: True)["op"])
        assert ops == ["alert.ack", "notice.set", "ticket.issue", "ticket.reprint", "ticket.cancel"]
    finally:
        kiosk.clear_retained(hall.topics.device_status("kiosk-k1", "printer"))
        console.stop()
        kiosk.stop()


def test_102_windows_signing_in_at_once_do_not_hold_up_a_kiosk(hall: RunningHall, capsys) -> None:
    """08:30: every window signs in at once (argon2 on the PIN threads); a kiosk issuing meanwhile stays quick."""
    windows = [w.id for w in CFG.windows][:102]
    members = sorted(n for n, m in CFG.staff_book.members.items() if "*" in m.windows)
    signer = hall.client("panel-w1")          # publishes each window's request on its own request topic
    kiosk = hall.client("kiosk-k1")
    replies: queue.Queue[dict[str, Any]] = queue.Queue()
    for w in windows:
        signer.subscribe(hall.topics.response(f"panel-{w}"), lambda _t, p: replies.put(p))
    time.sleep(0.5)
    svc = next(s.id for s in CFG.services if not s.id_required)
    times: list[float] = []
    stop = threading.Event()

    def issue() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            kiosk.request(Op.TICKET_ISSUE, {"service": svc, "channel": "walk_in"}, timeout=10)
            times.append(time.perf_counter() - t0)
            time.sleep(0.01)
    try:
        issuer = threading.Thread(target=issue, daemon=True)
        issuer.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        for i, w in enumerate(windows):
            signer.publish(hall.topics.request(f"panel-{w}", Op.STAFF_SIGN_IN),
                           {"v": 1, "id": f"sign-{w}", "args": {"window": w, "staff": members[i % len(members)],
                                                                 "pin": DEMO_PIN}})
        got: dict[str, dict[str, Any]] = {}
        while len(got) < len(windows):
            p = replies.get(timeout=60)
            if str(p.get("id", "")).startswith("sign-"):
                got[p["id"]] = p
        all_in = time.monotonic() - t0
        time.sleep(0.3)
        stop.set()
        issuer.join(15)
        assert all(p["ok"] for p in got.values()), [p for p in got.values() if not p["ok"]][:3]
        ordered = sorted(times)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        with capsys.disabled():
            print(json.dumps({"sign_ins": len(windows), "all_signed_in_s": round(all_in, 2),
                              "kiosk_issues": len(times), "issue_p50_ms": round(statistics.median(times) * 1000, 1),
                              "issue_p99_ms": round(p99 * 1000, 1)}))
        assert len(times) >= 20 and p99 < 0.25
    finally:
        stop.set()
        signer.stop()
        kiosk.stop()
