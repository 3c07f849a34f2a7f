"""Cases (办件) end to end: the real server (subprocess) on its own broker, a window panel, a department's system,
a kiosk and a web node over MQTT; SMS to a local SMS platform over HTTP — exactly once across a kill -9, retried
through an outage that raises `sms_failing`; no identity on any event, retained message or log line, nor in clear in
the database."""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hall_bus import BusClient, RequestError
from hall_bus.contract import Op
from tests.support.hall import HALL_CONFIG, RunningHall, start_hall
from tests.support.sms_platform import Platform, Smsd, wait_for

APPLICANT = {"name": "欧阳秀英", "id_number": "510304194810150028"}     # born 1948 in a district created in 1983
PHONE = "13912345678"


def hall_config(tmp_path: Path, platform: Platform | None, alert_after_s: int = 600, gateway: str = "") -> Path:
    text = HALL_CONFIG.read_text(encoding="utf-8")
    text += (f'\n[sms]\ngateway = "{gateway or platform.url}"\nsignature = "【大安政务】"\n'
             f'alert_after_s = {alert_after_s}\nretry_max_s = 2\n')
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def platform() -> Iterator[Platform]:
    p = Platform()
    yield p
    p.close()


class Wire:
    """Every message on the hall's topics, to scan for personal data."""

    def __init__(self, hall: RunningHall) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = BusClient(hall.url, hall.hall, "display-wiretap").start()
        assert self.client.wait_connected(10)
        self.client.subscribe(f"onewindow/{hall.hall}/#", self._on, raw=True)
        assert self.client.subscribed.wait(10)

    def _on(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.messages.append((topic, payload))

    def close(self) -> None:
        self.client.stop()


def accept_one(hall: RunningHall, kiosk: BusClient, panel: BusClient, *, phone: str | None = PHONE) -> dict:
    kiosk.request(Op.TICKET_ISSUE, {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
    panel.request(Op.WINDOW_CALL_NEXT, {"window": "w1"}, timeout=5)
    args: dict = {"window": "w1", "applicant": APPLICANT, "note": "容缺：劳动合同后补", "missing": ["劳动合同"]}
    if phone:
        args.update(phone=phone, sms=True)
    case = panel.request(Op.CASE_ACCEPT, args, timeout=5)
    panel.request(Op.WINDOW_FINISH, {"window": "w1"}, timeout=5)
    return case


def test_a_case_from_acceptance_to_delivery_by_role(tmp_path, platform) -> None:
    hall = start_hall(tmp_path, config=hall_config(tmp_path, platform))
    wire = Wire(hall)
    kiosk, panel, other_panel, dept, other_dept, web = (hall.client(c) for c in (
        "kiosk-k1", "panel-w1", "panel-w2", "dept-hrss", "dept-tax", "web-n1"))
    try:
        panel.request(Op.WINDOW_OPEN, {"window": "w1"}, timeout=5)
        case = accept_one(hall, kiosk, panel)
        number, code, token = case["number"], case["query_code"], case["token"]
        assert re.fullmatch(r"DA-\d{8}-0001", number) and case["status"] == "accepted"
        assert case["applicant"] == APPLICANT and case["phone_masked"] == "139****5678"
        assert case["department"] == "hrss" and case["missing"] == ["劳动合同"]

        # who may do what (PROTOCOL part 2, Roles)
        def refused(client: BusClient, op: Op, args: dict) -> str:
            with pytest.raises(RequestError) as e:
                client.request(op, args, timeout=5)
            return e.value.code
        assert refused(kiosk, Op.CASE_GET, {"number": number}) == "forbidden"           # no enumeration by number
        assert refused(web, Op.CASE_LIST, {}) == "forbidden"
        assert refused(kiosk, Op.CASE_ACCEPT, {"window": "w1", "applicant": APPLICANT}) == "forbidden"
        assert refused(other_panel, Op.CASE_ACCEPT, {"window": "w1", "applicant": APPLICANT}) == "forbidden"
        assert refused(other_panel, Op.CASE_UPDATE, {"number": number, "change": "in_progress"}) == "forbidden"
        assert refused(other_dept, Op.CASE_UPDATE, {"number": number, "change": "in_progress"}) == "unknown_case"
        assert refused(other_dept, Op.CASE_GET, {"number": number}) == "unknown_case"
        wrong = "000000" if code != "000000" else "111111"
        assert refused(kiosk, Op.CASE_GET, {"number": number, "query_code": wrong}) == "unknown_case"
        assert refused(panel, Op.CASE_ACCEPT, {"window": "w1", "applicant": APPLICANT, "phone": "12345",
                                               "sms": True}) == "bad_phone"
        assert refused(panel, Op.CASE_UPDATE, {"number": number, "change": "resumed"}) == "conflict"

        # citizens see the public view; the department and the window the full one
        public = kiosk.request(Op.CASE_GET, {"number": number, "query_code": code}, timeout=5)
        assert public["status"] == "accepted" and "applicant" not in public and "query_code" not in public
        assert web.request(Op.CASE_GET, {"token": token}, timeout=5) == public
        assert other_panel.request(Op.CASE_GET, {"number": number}, timeout=5) == public
        assert dept.request(Op.CASE_GET, {"number": number}, timeout=5)["applicant"] == APPLICANT
        assert [c["number"] for c in dept.request(Op.CASE_LIST, {}, timeout=5)["cases"]] == [number]
        assert other_dept.request(Op.CASE_LIST, {}, timeout=5)["cases"] == []
        assert [c["number"] for c in panel.request(Op.CASE_LIST, {"status": "accepted"}, timeout=5)["cases"]] == [number]

        # the department moves it on; the window hands it out
        for change, extra in (("in_progress", {}), ("needs_materials", {"missing": ["补充说明"]}), ("resumed", {}),
                              ("done", {"result": "approved"})):
            got = dept.request(Op.CASE_UPDATE, {"number": number, "change": change, "actor": "审批系统", **extra},
                               timeout=5)
        assert got["status"] == "done" and got["result"] == "approved"
        got = panel.request(Op.CASE_UPDATE, {"number": number, "change": "delivered",
                                             "delivery": {"method": "pickup"}}, timeout=5)
        assert [h["change"] for h in got["history"]] == ["accepted", "in_progress", "needs_materials", "resumed",
                                                          "done", "delivered"]
        assert got["history"][1]["actor"] == "审批系统"

        # one SMS per consented change that sends one: 办件确认, 补正, 领件通知, 办结评议
        texts = wait_for(lambda: len(platform.accepted) >= 4 and [json.loads(b)["text"] for _h, b in
                                                                   platform.requests], timeout=15)
        assert len(platform.accepted) == len(set(platform.accepted)) == 4
        assert code in texts[0] and number in texts[0]
        assert "/c/" + token in texts[3]
        assert all(json.loads(b)["to"] == PHONE for _h, b in platform.requests)

        # no identity on the wire (events, retained state, other clients' replies), in the log or the database; the
        # window's own request and the replies to the window and its department carry it (the broker's ACL lets
        # only the server read requests and each client its own replies)
        time.sleep(0.5)
        for topic, payload in wire.messages:
            if topic.endswith(("/response/panel-w1", "/response/dept-hrss")) or "/request/" in topic:
                continue
            text = payload.decode("utf-8")
            for secret in (APPLICANT["name"], APPLICANT["id_number"], PHONE):
                assert secret not in text, (topic, secret)
            if "/event/" in topic or "/state/" in topic:
                assert code not in text and token not in text, topic
        events = [json.loads(p) for t, p in wire.messages if t.endswith("/event/case")]
        assert [e["change"] for e in events] == ["accepted", "in_progress", "needs_materials", "resumed", "done",
                                                 "delivered"]
    finally:
        for c in (kiosk, panel, other_panel, dept, other_dept, web):
            c.stop()
        wire.close()
        hall.stop()
    log = hall.log()
    for secret in (APPLICANT["name"], APPLICANT["id_number"], PHONE, code):
        assert secret not in log
    raw = b"".join(p.read_bytes() for p in hall.data.glob("daan.sqlite3*"))
    for secret in (APPLICANT["name"], APPLICANT["id_number"], PHONE):
        assert secret.encode("utf-8") not in raw


def test_sms_exactly_once_across_a_kill_9_and_an_outage(tmp_path, platform) -> None:
    """The SMS platform is down while six cases are accepted, then the server is killed (-9). After the restart the
    platform comes back: each acknowledged case gets its message exactly once, and a further restart sends
    nothing again."""
    config = hall_config(tmp_path, platform, alert_after_s=10)
    platform.down = True
    hall = start_hall(tmp_path, config=config)
    kiosk, panel = hall.client("kiosk-k1"), hall.client("panel-w1")
    alerts: list[dict] = []
    panel.request(Op.WINDOW_OPEN, {"window": "w1"}, timeout=5)
    numbers = [accept_one(hall, kiosk, panel)["number"] for _ in range(6)]
    kiosk.stop()
    panel.stop()
    wait_for(lambda: len(platform.requests) >= 6, timeout=15)       # tried, refused (503)
    hall.kill()
    assert platform.accepted == []

    hall = start_hall(tmp_path, config=config, data=hall.data)
    watcher = hall.client("display-watch")
    watcher.subscribe(f"onewindow/{hall.hall}/event/alert", lambda _t, p: alerts.append(json.loads(p)), raw=True)
    try:
        # still down: the oldest message passes alert_after_s (10 s) and the hall hears of it
        wait_for(lambda: any(a["kind"] == "sms_failing" for a in alerts), timeout=25)
        platform.down = False
        wait_for(lambda: len(set(platform.accepted)) >= 6, timeout=20)
        time.sleep(1.5)
    finally:
        watcher.stop()
        hall.stop()
    text_of = {m["id"]: m["text"] for m in (json.loads(b) for _h, b in platform.requests)}   # retries: same id
    assert len(platform.accepted) == len(set(platform.accepted)) == 6
    assert sorted(n for n in numbers for i in platform.accepted if n in text_of[i]) == sorted(numbers)   # one each

    hall = start_hall(tmp_path, config=config, data=hall.data)
    try:
        time.sleep(3)
    finally:
        hall.stop()
    assert len(platform.accepted) == 6


def test_a_case_accepted_at_a_window_reaches_gammu_smsd(tmp_path) -> None:
    """Through the GSM modem's daemon (gammu-smsd, Gammu's dummy phone): the 办件确认 in Chinese, UCS-2, once."""
    gammu = tmp_path / "gammu"
    gammu.mkdir()
    smsd = Smsd(gammu)
    hall = start_hall(tmp_path, config=hall_config(tmp_path, None, gateway=f"gammu-smsd://{smsd.rc}"))
    kiosk, panel = hall.client("kiosk-k1"), hall.client("panel-w1")
    try:
        panel.request(Op.WINDOW_OPEN, {"window": "w1"}, timeout=5)
        case = accept_one(hall, kiosk, panel)
        sent = wait_for(lambda: list((gammu / "sent").glob(f"OUT*_{PHONE}_S*.txt")), timeout=15)
        text = sent[0].read_bytes()[2:].decode("utf-16-le")
        assert text.startswith("【大安政务】") and case["number"] in text and case["query_code"] in text
        wait_for(lambda: "SMS sent on device" in smsd.log_text(), timeout=10)
        assert re.search(r'Found 1 sms to "%s" with text ".*" cod 1 ' % PHONE, smsd.log_text())
    finally:
        kiosk.stop()
        panel.stop()
        hall.stop()
        smsd.stop()
    assert len(list((gammu / "sent").iterdir())) == 1 and smsd.proc.returncode == 0
