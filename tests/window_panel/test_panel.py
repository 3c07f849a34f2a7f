"""The window panel as staff see it: buttons follow the ticket, keys act, errors and lost connections show."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt

from window_panel.bridge import PanelBridge
from window_panel.model import Action
from window_panel.view import PanelWindow

TICKET = {"id": "t1", "number": "A023", "service": "ss_enroll", "zone": "z1", "service_name": "城镇职工养老保险参保登记",
          "service_name_en": "Employee pension insurance enrolment", "state": "serving", "channel": "appointment",
          "priority": True, "issued_at": "2026-11-27T10:02:11+08:00", "called_at": "2026-11-27T10:21:40+08:00"}
CATALOG = {"v": 1, "hall": {"id": "daan", "name": "大安区政务服务中心"},
           "zones": [{"id": "z1", "name": "社会保障服务区", "name_en": "Social Security"}],
           "services": [{"id": "ss_enroll", "zone": "z1", "prefix": "A", "name": "参保登记", "name_en": "Enrolment"},
                        {"id": "mi_card", "zone": "z1", "prefix": "B", "name": "社保卡", "name_en": "Social security card"}],
           "windows": [{"id": "w15", "name": "15号窗口", "name_en": "Window 15", "zone": "z1"},
                       {"id": "w16", "name": "16号窗口", "name_en": "Window 16", "zone": "z1"}]}


class StubDialogs:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.asked: list[tuple[str, Any]] = []

    def ask_number(self) -> str | None:
        self.asked.append(("number", None))
        return self.answers.get("number")

    def ask_call_back(self, set_aside: dict) -> str | None:
        self.asked.append(("call_back", sorted(set_aside)))
        return self.answers.get("call_back")

    def ask_transfer(self, catalog: dict, current: dict, window: str) -> dict | None:
        self.asked.append(("transfer", current.get("number")))
        return self.answers.get("transfer")

    def ask_pause_reason(self) -> str | None:
        self.asked.append(("pause", None))
        return self.answers.get("pause")


@pytest.fixture
def make_panel(qtbot, bus):
    def make(lang: str = "zh", status: str = "open", current: dict | None = None) -> PanelWindow:
        bridge = PanelBridge(bus, "w15")
        panel = PanelWindow("w15", bridge, lang=lang, dialogs=StubDialogs(),  # type: ignore[arg-type]
                            clock=lambda: datetime.fromisoformat("2026-11-27T10:24:36+08:00"))
        qtbot.addWidget(panel)
        panel.show()
        panel.activateWindow()                 # shortcuts act in the active window
        qtbot.waitUntil(panel.isActiveWindow)
        with qtbot.waitSignal(panel.changed):
            bus.set_connected(True)
        assert [op for op, _a, _cb in bus.requests] == ["case.list"]     # the window's cases, asked at connect
        bus.requests.clear()                                             # (tests/window_panel/test_panel_cases.py)
        with qtbot.waitSignal(panel.changed):
            bus.deliver(bus.topics.state_catalog, CATALOG)
        with qtbot.waitSignal(panel.changed):
            bus.deliver(bus.topics.state_server, {"v": 1, "state": "online"})
        with qtbot.waitSignal(panel.changed):
            bus.deliver(bus.topics.state_window("w15"),
                        {"v": 1, "status": status, "current": current, "waiting": 7, "held": []})
        return panel
    return make


def enabled(panel: PanelWindow) -> set[Action]:
    return {a for a, b in panel.buttons.items() if b.isEnabled()}


def test_idle_panel_can_call_but_not_finish(make_panel) -> None:
    panel = make_panel()
    assert enabled(panel) == {Action.CALL_NEXT, Action.CALL_NUMBER, Action.CALL_BACK, Action.PAUSE}
    assert "当前无办理中的号" in panel.number.text()
    assert panel.queue.text() == "等候 7 人"
    assert panel.buttons[Action.CALL_NEXT].text() == "呼叫下一位\nF1"
    assert not panel.banner.isVisible()


def test_serving_panel_shows_the_ticket_and_enables_ticket_actions(make_panel) -> None:
    panel = make_panel(current=TICKET)
    assert enabled(panel) == set(Action)
    assert panel.number.text() == "A023"
    assert panel.service.text() == "城镇职工养老保险参保登记"
    assert "等候 19:29" in panel.meta.text() and "办理 02:56" in panel.meta.text()
    assert panel.chip_priority.isVisible() and panel.chip_channel.text() == "预约"


def test_paused_panel_offers_resume_only(make_panel) -> None:
    panel = make_panel(status="paused")
    assert enabled(panel) == {Action.PAUSE}
    assert panel.buttons[Action.PAUSE].text().startswith("恢复服务")


def test_f1_calls_next_without_blocking_and_shows_the_called_ticket(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    qtbot.keyClick(panel, Qt.Key.Key_F1)
    assert [(op, args) for op, args, _cb in bus.requests] == [("window.call_next", {"window": "w15"})]
    assert enabled(panel) == set()            # one request at a time
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={**TICKET, "window": "w15"})
    assert panel.number.text() == "A023"
    assert Action.FINISH in enabled(panel)
    assert "已呼叫 A023" in panel.msg.text()


@pytest.mark.parametrize("key, op", [(Qt.Key.Key_F2, "window.recall"), (Qt.Key.Key_F3, "window.finish"),
                                     (Qt.Key.Key_F4, "window.no_show"), (Qt.Key.Key_F5, "window.hold")])
def test_ticket_keys_send_their_op(make_panel, bus, qtbot, key, op) -> None:
    panel = make_panel(current=TICKET)
    qtbot.keyClick(panel, key)
    assert bus.requests[0][:2] == (op, {"window": "w15"})


def test_finish_key_does_nothing_without_a_ticket(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    qtbot.keyClick(panel, Qt.Key.Key_F3)
    assert bus.requests == []


def test_error_reply_is_shown_in_chinese(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    panel.trigger(Action.CALL_NEXT)
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, error={"code": "no_ticket", "message": "nobody is waiting", "message_zh": "当前没有等候的号"})
    assert panel.msg.text() == "操作失败：当前没有等候的号（no_ticket）"
    assert panel.msg.property("kind") == "error"
    assert Action.CALL_NEXT in enabled(panel)   # usable again


def test_error_reply_is_shown_in_english(make_panel, bus, qtbot) -> None:
    panel = make_panel(lang="en")
    panel.trigger(Action.CALL_NEXT)
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, error={"code": "timeout", "message": "no reply to window.call_next within 8 s",
                            "message_zh": "服务器没有响应"})
    assert panel.msg.text() == "Failed: no reply to window.call_next within 8 s (timeout)"


def test_lost_connection_shows_a_banner_and_disables_everything(make_panel, bus, qtbot) -> None:
    panel = make_panel(current=TICKET)
    with qtbot.waitSignal(panel.changed):
        bus.set_connected(False)
    assert panel.banner.isVisible() and "断开" in panel.banner.text()
    assert enabled(panel) == set()
    with qtbot.waitSignal(panel.changed):
        bus.set_connected(True)
    assert not panel.banner.isVisible()
    assert enabled(panel) == set(Action)


def test_server_offline_shows_a_banner(make_panel, bus, qtbot) -> None:
    panel = make_panel(lang="en")
    with qtbot.waitSignal(panel.changed):
        bus.deliver(bus.topics.state_server, {"v": 1, "state": "offline"})
    assert panel.banner.isVisible() and "server is offline" in panel.banner.text()
    assert enabled(panel) == set()


def test_call_number_asks_for_the_number(make_panel, bus) -> None:
    panel = make_panel()
    panel.dialogs.answers["number"] = "B007"
    panel.trigger(Action.CALL_NUMBER)
    assert bus.requests[0][:2] == ("window.call", {"window": "w15", "number": "B007"})


def test_cancelled_dialog_sends_nothing(make_panel, bus) -> None:
    panel = make_panel(current=TICKET)
    for action in (Action.CALL_NUMBER, Action.CALL_BACK, Action.TRANSFER, Action.PAUSE):
        assert panel.trigger(action) is False
    assert bus.requests == []


def test_call_back_offers_held_tickets(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    with qtbot.waitSignal(panel.changed):
        bus.deliver(bus.topics.state_window("w15"),
                    {"v": 1, "status": "open", "current": None, "waiting": 2, "held": ["A001"]})
    bus.deliver(bus.topics.event_ticket, {"v": 1, "action": "no_show", "window": "w15",
                                          "ts": "2026-11-27T10:20:00+08:00",
                                          "ticket": {**TICKET, "id": "t4", "number": "C004", "state": "no_show"}})
    qtbot.waitUntil(lambda: "C004" in panel.state.set_aside)
    panel.dialogs.answers["call_back"] = "A001"
    panel.trigger(Action.CALL_BACK)
    assert ("call_back", ["A001", "C004"]) in panel.dialogs.asked
    assert ("window.call", {"window": "w15", "number": "A001"}) in [(op, a) for op, a, _ in bus.requests]


def test_transfer_to_a_window(make_panel, bus) -> None:
    panel = make_panel(current=TICKET)
    panel.dialogs.answers["transfer"] = {"to_window": "w16"}
    panel.trigger(Action.TRANSFER)
    assert bus.requests[0][:2] == ("window.transfer", {"window": "w15", "to_window": "w16"})


def test_pause_with_reason_then_resume(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    panel.dialogs.answers["pause"] = "用餐"
    qtbot.keyClick(panel, Qt.Key.Key_F9)
    assert bus.requests[0][:2] == ("window.pause", {"window": "w15", "reason": "用餐"})
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={"status": "paused", "reason": "用餐", "current": None, "waiting": 7})
    assert panel.pill.text() == "暂停" and "用餐" in panel.meta.text()
    qtbot.keyClick(panel, Qt.Key.Key_F9)
    assert bus.requests[1][:2] == ("window.resume", {"window": "w15"})


def test_closed_window_is_opened_with_f9(make_panel, bus, qtbot) -> None:
    panel = make_panel(status="closed")
    assert panel.buttons[Action.PAUSE].text().startswith("开始服务")
    qtbot.keyClick(panel, Qt.Key.Key_F9)
    assert bus.requests[0][:2] == ("window.open", {"window": "w15"})


def test_screenshots_are_written(qapp, tmp_path) -> None:
    from window_panel.screenshots import render_all
    paths = render_all("w15", tmp_path)
    assert len(paths) == 40           # 6 scenes + 4 sign-in + 4 calling dialogs + 4 case dialogs + 2 notices, zh and en
    assert all(p.stat().st_size > 3000 for p in paths)
    assert {p.name for p in paths} >= {f"panel-dialog-{d}-{lang}.png" for lang in ("zh", "en")
                                       for d in ("call-number", "call-back", "transfer", "pause", "accept",
                                                 "accept-invalid", "refuse", "case")}
    assert {p.name for p in paths} >= {f"panel-{n}-{lang}.png" for lang in ("zh", "en")
                                       for n in ("cases", "notice-accepted", "notice-refused", "sign-in",
                                                 "sign-in-bad-login", "sign-in-required", "signed-in")}


def test_real_dialogs_answer_what_the_staff_member_chose(qapp) -> None:
    """The dialogs themselves (the other tests stub them): each builder's answer after a choice."""
    from PySide6.QtWidgets import QComboBox, QLineEdit, QListWidget
    from window_panel.dialogs import PanelDialogs
    from window_panel.i18n import Tr
    from window_panel.screenshots import CATALOG, SET_ASIDE, TICKET
    dialogs = PanelDialogs(Tr("zh"), None)
    d, answer = dialogs.number_dialog()
    d.findChild(QLineEdit).setText("b007")
    assert answer() == "B007"
    d.findChild(QLineEdit).setText("B07")
    assert answer() is None                                   # not a whole number: nothing is called
    d, answer = dialogs.call_back_dialog(SET_ASIDE)
    d.findChild(QListWidget).setCurrentRow(1)
    assert answer() == "A021"                                 # picking from the list fills the number
    d, answer = dialogs.transfer_dialog(CATALOG, TICKET, "w15")
    services, windows = d.lists                               # type: ignore[attr-defined]
    assert "ss_pension" not in [services.item(i).data(Qt.ItemDataRole.UserRole) for i in range(services.count())]
    assert "w15" not in [windows.item(i).data(Qt.ItemDataRole.UserRole) for i in range(windows.count())]
    assert answer() is None                                   # nothing chosen yet
    d.tabs.setCurrentIndex(1)                                 # type: ignore[attr-defined]
    windows.setCurrentRow(0)
    assert answer() == {"to_window": "w14"}
    d, answer = dialogs.pause_dialog()
    d.findChild(QComboBox).setEditText("  培训  ")
    assert answer() == "培训"
