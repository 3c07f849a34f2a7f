"""The kiosk against a real hall: the server subprocess on a real broker, the simulated ticket printer
(sim://printer) and ID-card reader (sim://idcard) over pseudo-terminals, the real bridge and drivers."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.bridge import KioskBridge
from kiosk.hardware import open_devices
from kiosk.window import KioskWindow
from tests.kiosk.conftest import Kiosk, make_config
from tests.support.hall import HALL_CONFIG, RunningHall, start_hall, start_server

pytestmark = pytest.mark.e2e
KEY = b"e2e-hall-key"


def write_hall_config(tmp: Path) -> tuple[Path, dict[str, str]]:
    """The reference hall config plus an appointments file with one code per nearby day."""
    text = HALL_CONFIG.read_text(encoding="utf-8")
    text = text.replace('# file = "appointments.csv"', 'file = "appointments.csv"')
    assert 'file = "appointments.csv"' in text
    codes = {}
    rows = ["code,service,date,start,end"]
    today = dt.date.today()
    for delta in (-1, 0, 1):
        day = (today + dt.timedelta(days=delta)).isoformat()
        codes[day] = f"E2E-{day.replace('-', '')}"
        rows.append(f"{codes[day]},ss_enroll,{day},00:00,23:59")   # the slot's grace holds at any hour of the run
    cfg = tmp / "hall.toml"
    cfg.write_text(text, encoding="utf-8")
    (tmp / "appointments.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return cfg, codes


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("hall")
    cfg, codes = write_hall_config(tmp)
    proc, ready, log_path = start_server(tmp / "data", config=cfg)
    running = RunningHall(ready["broker"], ready["hall"], tmp / "data", proc, None, ready, log_path)
    running.codes = codes  # type: ignore[attr-defined]
    yield running
    running.stop()


class Watcher:
    """A second client on the hall bus that remembers the retained device statuses the kiosk publishes."""

    def __init__(self, hall: RunningHall, name: str) -> None:
        self.status: dict[str, dict[str, Any]] = {}
        self.tickets: list[dict[str, Any]] = []
        self.evaluations: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.client = hall.client(f"display-watch-{name}")
        self.client.subscribe(hall.topics.device_status_all, self._on_status)
        self.client.subscribe(hall.topics.event_ticket, self._on_ticket)

    def _on_ticket(self, _topic: str, payload: dict[str, Any]) -> None:
        if isinstance(payload.get("ticket"), dict) and payload.get("action") in ("issue", "checkin"):
            self.tickets.append(payload["ticket"])
        if isinstance(payload.get("ticket"), dict) and payload.get("action") == "evaluate":
            self.evaluations.append({**payload["ticket"], "grade": payload.get("grade")})

    def _on_status(self, topic: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.status[topic.split("/")[-2]] = payload


@pytest.fixture
def real_kiosk(qtbot, hall):
    made: list[tuple[KioskBridge, Watcher]] = []

    def make(name: str, *, printer: str = "sim://printer", idcard: str = "sim://idcard?card=absent",
             on: RunningHall | None = None, **over: Any) -> tuple[Kiosk, Any, Any, Watcher]:
        h = on or hall
        config = make_config(id=name, broker=h.url, hall=h.hall, hmac_key=KEY.decode(), request_timeout_s=3,
                             printer={"url": printer, "poll_s": 0.2}, idcard={"url": idcard, "poll_s": 0.1}, **over)
        bridge: KioskBridge | None = None
        ports = open_devices(config, KEY, lambda: bridge.catalog if bridge else None)
        bridge = KioskBridge(config, printer=ports.get("printer"), idcard=ports.get("idcard"), hmac_key=KEY)
        win = KioskWindow(config, bridge, portrait=True)
        qtbot.addWidget(win)
        win.resize(1080, 1920)
        win.show()
        win.journey.started = -1e9
        watcher = Watcher(h, name)
        bridge.start()
        made.append((bridge, watcher))
        k = Kiosk(qtbot, win, bridge, None, None)
        k.wait_screen("home", timeout=10000)
        qtbot.waitUntil(lambda: ports["printer"].driver.transport is not None, timeout=5000)
        printer_sim = ports["printer"].driver.transport.simulator
        qtbot.waitUntil(lambda: getattr(ports["idcard"].reader, "transport", None) is not None, timeout=5000)
        idcard_sim = ports["idcard"].reader.transport.simulator
        return k, printer_sim, idcard_sim, watcher

    yield make
    for bridge, watcher in made:
        bridge.stop()
        watcher.client.stop()


def first_service(k: Kiosk, zone: str) -> str:
    return next(s.id for s in k.journey.catalog.services_of(zone) if not s.id_required)


def take(k: Kiosk, zone: str, service: str) -> None:
    k.press("home") if k.screen not in ("home",) and k.button("home").isVisible() else None
    k.wait_screen("home")
    k.press(f"zone-{zone}")
    k.wait_screen("zone")
    if k.journey.catalog.services_of(zone).index(k.journey.catalog.service(service)) >= k.screens_per_page():
        raise AssertionError("service not on the first page")
    k.press(f"service-{service}")
    k.wait_screen("confirm")
    k.press("confirm")


Kiosk.screens_per_page = lambda self: self.window.screens["zone"].per_page()  # type: ignore[attr-defined]


def test_whole_journey_prints_the_servers_number(real_kiosk):
    k, printer, _idcard, watcher = real_kiosk("e1")
    assert k.journey.catalog.hall_name == "大安区政务服务中心"
    svc = first_service(k, "z2")
    take(k, "z2", svc)
    k.wait_screen("done", timeout=10000)
    tk = k.journey.outcome.ticket
    assert k.journey.outcome.kind == "printed"
    assert k.text("ticket-number") == tk.number and tk.number[0] == k.journey.catalog.service(svc).prefix
    assert printer.wait_jobs(1, timeout=5)
    printed = printer.printed_texts()[-1]
    assert tk.number in printed and "大安区政务服务中心" in printed
    k.qtbot.waitUntil(lambda: watcher.status.get("printer-e1", {}).get("state") == "ok", timeout=5000)
    k.qtbot.waitUntil(lambda: any(t.get("number") == tk.number for t in watcher.tickets), timeout=5000)
    k.press("finish")
    k.wait_screen("home")


def test_id_card_ticket_with_age_priority_and_one_per_person(real_kiosk):
    k, _printer, idcard, _w = real_kiosk("e2")
    idcard.insert("elder")                                   # 李秀英, born 1946: 70+ priority
    k.qtbot.waitUntil(lambda: k.journey.holder is not None, timeout=5000)
    assert k.text("greeting") == "李*，您好！"
    assert "李秀英" not in k.all_text()
    svc = first_service(k, "z3")
    take(k, "z3", svc)
    k.wait_screen("done", timeout=10000)
    tk = k.journey.outcome.ticket
    assert tk.channel == "id_card" and tk.priority
    assert "优先号" in k.all_text()
    k.press("finish")
    k.wait_screen("home")
    idcard.remove()
    k.qtbot.waitUntil(lambda: k.window.bridge._idcard.reader.current_card is None, timeout=5000)
    idcard.insert("elder")                                   # the same person, the same service again
    k.qtbot.waitUntil(lambda: k.journey.holder is not None, timeout=5000)
    take(k, "z3", svc)
    k.wait_screen("message", timeout=10000)
    assert k.text("refusal") == k.journey.outcome.message_zh and k.journey.outcome.code == "duplicate_holder"


def test_appointment_checkin_by_wedge_scanner(real_kiosk, hall, qtbot):
    k, printer, _idcard, _w = real_kiosk("e3")
    day = k.journey.catalog.business_day
    code = hall.codes[day]
    qtbot.keyClicks(k.window, code)
    qtbot.keyClick(k.window, Qt.Key.Key_Return)
    k.wait_screen("done", timeout=10000)
    tk = k.journey.outcome.ticket
    assert tk.channel == "appointment" and tk.service == "ss_enroll"
    assert printer.wait_jobs(1, timeout=5)
    # and the ticket's own QR (the hall's status_url with the ticket's token) finds it again
    k.press("finish")
    k.wait_screen("home")
    assert tk.token and len(tk.token) >= 16 and tk.token not in tk.verify
    k.window.on_scanned(k.bridge.catalog.ticket_url(tk))
    k.wait_screen("status")
    k.qtbot.waitUntil(lambda: k.journey.lookup is not None, timeout=5000)
    assert k.text("status-number") == tk.number


def test_paper_out_cover_open_near_end_and_recovery(real_kiosk):
    k, printer, _idcard, watcher = real_kiosk("e4")
    printer.set_fault(paper="near_end")
    k.qtbot.waitUntil(lambda: "打印纸即将用完" in k.all_text(), timeout=5000)
    k.qtbot.waitUntil(lambda: watcher.status.get("printer-e4", {}).get("state") == "warning", timeout=5000)
    svc = first_service(k, "z5")
    take(k, "z5", svc)
    k.wait_screen("done", timeout=10000)                     # near end: still issuing
    k.press("finish")
    printer.set_fault(paper="out")
    k.wait_screen("fault", timeout=5000)
    assert "打印纸已用完" in k.all_text()
    k.qtbot.waitUntil(lambda: watcher.status.get("printer-e4", {}).get("state") == "error", timeout=5000)
    issued = len(watcher.tickets)
    printer.set_fault(paper="ok", cover="open")
    k.qtbot.waitUntil(lambda: "打印机盖未关好" in k.all_text(), timeout=5000)
    assert len(watcher.tickets) == issued                    # nothing was issued meanwhile
    printer.set_fault(cover="closed")
    k.wait_screen("home", timeout=5000)
    k.qtbot.waitUntil(lambda: watcher.status.get("printer-e4", {}).get("state") == "ok", timeout=5000)


def test_paper_out_after_issue_keeps_the_ticket_valid(real_kiosk):
    k, printer, _idcard, _w = real_kiosk("e5")
    svc = first_service(k, "z6")
    k.press("zone-z6")
    k.press(f"service-{svc}")
    k.wait_screen("confirm")
    # the server answers, then the paper runs out between the status check and the job
    original = k.window.bridge._printer.print_ticket

    def run_out(ticket, lang, progress):
        printer.set_fault(paper="out")
        return original(ticket, lang, progress)
    k.window.bridge._printer.print_ticket = run_out
    k.press("confirm")
    k.wait_screen("done", timeout=10000)
    assert k.journey.outcome.kind == "unprinted"
    tk = k.journey.outcome.ticket
    assert k.text("ticket-number") == tk.number and tk.verify in k.text("verify")
    k.window.bridge._printer.print_ticket = original
    printer.set_fault(paper="ok")


def test_server_down_then_back_without_restart(real_kiosk, tmp_path):
    own = start_hall(tmp_path, "mosquitto")
    try:
        k, _printer, _idcard, _w = real_kiosk("e6", on=own)
        own.kill()                                           # last will: state/server offline
        k.wait_screen("fault", timeout=10000)
        assert "暂时无法取号" in k.all_text()
        proc, ready, log_path = start_server(own.data, broker_url=own.mosquitto.url)
        own.proc, own.log_path = proc, log_path
        k.wait_screen("home", timeout=15000)
        take(k, "z1", first_service(k, "z1"))
        k.wait_screen("done", timeout=10000)
    finally:
        own.stop()


def test_evaluation_at_the_kiosk_after_service(real_kiosk, hall):
    """好差评 without an evaluator: the citizen looks the finished ticket up at a kiosk and rates it, once."""
    from tests.e2e.test_calling import service_of
    k, _printer, _idcard, watcher = real_kiosk("e7")
    window = "w31"
    service = service_of(hall, window)
    kiosk_bus = hall.client("kiosk-e7-desk")
    panel = hall.client(f"panel-{window}")
    try:
        t = kiosk_bus.request("ticket.issue", {"service": service, "channel": "walk_in"})
        assert panel.request("window.call", {"window": window, "number": t["number"]})["state"] == "serving"
        panel.request("window.finish", {"window": window})
    finally:
        panel.stop()
        kiosk_bus.stop()
    k.press("action-status")
    k.wait_screen("status")
    for ch in t["number"]:
        k.press(f"key-{ch}")
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.lookup is not None, timeout=5000)
    assert k.journey.lookup.ticket.state == "done"
    k.press("eval-4")
    k.qtbot.waitUntil(lambda: k.journey.lookup.ticket.grade == 4, timeout=5000)
    assert k.text("eval-thanks").endswith("满意")
    k.qtbot.waitUntil(lambda: any(e.get("number") == t["number"] for e in watcher.evaluations), timeout=5000)
    # looking it up again shows the rating from the server, and offers no second one
    k.press("query-again")
    for ch in t["number"]:
        k.press(f"key-{ch}")
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.lookup is not None and k.journey.lookup.ticket.grade == 4, timeout=5000)
    assert "eval-5" not in {b.objectName() for b in k.window.findChildren(QPushButton) if b.isVisible()}


@pytest.mark.mosquitto
def test_a_ticket_committed_while_the_broker_froze_is_cancelled_when_nobody_claims_it(real_kiosk, tmp_path):
    """Issue 9, finding 8: the broker freezes while a citizen asks for a number; the kiosk gives up on them
    ("unreachable"), the citizen leaves, the broker comes back and the server's answer arrives late. The kiosk
    asked again under the same request id (one ticket, not two) and cancels it as unclaimed."""
    import os
    import signal
    from tests.support.tools import require_tool
    require_tool("mosquitto", package="mosquitto")
    own = start_hall(tmp_path, broker="mosquitto")
    try:
        k, printer, _idcard, watcher = real_kiosk("f8", on=own)
        svc = first_service(k, "z2")
        assert own.mosquitto is not None and own.mosquitto.proc is not None
        os.kill(own.mosquitto.proc.pid, signal.SIGSTOP)              # the broker freezes
        try:
            take(k, "z2", svc)
            k.wait_screen("fault", timeout=10000)
            assert k.journey.outcome.kind == "unreachable"
            k.window.go_home()                                       # the citizen walks away
        finally:
            os.kill(own.mosquitto.proc.pid, signal.SIGCONT)
        k.qtbot.waitUntil(lambda: len(watcher.tickets) >= 1, timeout=15000)
        [issued] = watcher.tickets                                   # one ticket, however often it was asked
        staff = own.client("display-f8-check")
        staff_kiosk = own.client("kiosk-f8-check")

        def state() -> str:
            return staff_kiosk.request("ticket.get", {"number": issued["number"]})["state"]
        k.qtbot.waitUntil(lambda: state() == "cancelled", timeout=15000)
        assert printer.jobs == []
        assert len(watcher.tickets) == 1
        staff.stop()
        staff_kiosk.stop()
    finally:
        own.stop()
