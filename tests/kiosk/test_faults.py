"""Faults told plainly to the citizen and published to staff; recovery without a restart."""
from __future__ import annotations

from hall_bus import RequestError
from kiosk.model import Health
from tests.kiosk.conftest import FakePrinter
from tests.kiosk.test_journey import take_number


def test_paper_near_end_warns_and_keeps_issuing(make_kiosk):
    printer = FakePrinter()
    printer.set(Health.WARNING, "near_end")
    k = make_kiosk(printer=printer)
    k.wait_screen("home")
    k.qtbot.waitUntil(lambda: "打印纸即将用完" in k.all_text())
    status = k.bus.status_of("printer-t1")
    assert status["state"] == "warning" and status["detail"]["code"] == "near_end"
    take_number(k)
    k.wait_screen("done")
    assert len(printer.printed) == 1


def test_paper_out_issues_nothing_and_recovers(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.printer.set(Health.ERROR, "paper_out")
    k.wait_screen("fault")                                   # noticed by the idle poll
    assert "打印纸已用完" in k.all_text() and "请联系工作人员" in k.all_text()
    assert k.bus.status_of("printer-t1")["state"] == "error"
    assert all(op != "ticket.issue" for op, _ in k.bus.requests)
    k.printer.set(Health.OK)
    k.wait_screen("home")
    assert k.bus.status_of("printer-t1")["state"] == "ok"


def test_cover_opened_before_confirm_issues_nothing(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.press("zone-z1")
    k.press("service-ss_pension")
    k.wait_screen("confirm")
    k.printer.set(Health.ERROR, "cover_open")
    k.bridge._poll_timer.stop()                              # the touch comes before the next poll
    k.press("confirm")
    k.wait_screen("fault")
    assert "打印机盖未关好" in k.all_text()
    assert all(op != "ticket.issue" for op, _ in k.bus.requests)


def test_paper_runs_out_after_the_server_issued_the_ticket(make_kiosk):
    k = make_kiosk()
    k.printer.fail_next = "paper_out"
    take_number(k)
    k.wait_screen("done")
    assert k.window.outcome.kind == "unprinted"
    assert k.text("ticket-number") == "A001"                 # valid, shown large
    assert "K7Q2" in k.text("verify")
    assert "号票未能打印，但号码有效" in k.all_text()
    assert k.bus.status_of("printer-t1")["state"] == "error"


def test_server_offline_shows_ask_staff_never_a_number(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.bus.server(False)
    k.wait_screen("fault")
    assert "暂时无法取号" in k.all_text() and "请联系工作人员" in k.all_text()
    k.bus.server(True)
    k.wait_screen("home")


def test_broker_connection_lost_and_back(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.bus.set_connected(False)
    k.wait_screen("fault")
    k.bus.set_connected(True)
    k.wait_screen("home")


def test_request_timeout_shows_unreachable_not_a_number(make_kiosk):
    def silent(op, args):
        raise RequestError("timeout", "no reply", "服务器没有响应")
    k = make_kiosk()
    k.bus.answer = silent
    take_number(k)
    k.wait_screen("fault")
    assert "暂时无法取号" in k.all_text()
    assert k.printer.printed == []


def test_id_reader_fault_is_told_and_published(make_kiosk):
    from kiosk.model import DeviceHealth
    k = make_kiosk()
    k.wait_screen("home")
    k.bridge._set_health(DeviceHealth("idcard", Health.ERROR, "fault"))
    k.qtbot.waitUntil(lambda: "身份证阅读器暂不可用" in k.all_text())
    assert k.bus.status_of("idcard-t1")["state"] == "error"
    take_number(k)                                           # walk-in tickets still work
    k.wait_screen("done")
