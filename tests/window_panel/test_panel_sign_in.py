"""Staff sign-in at the panel (签到): the sign-in screen, bad logins with the wait, not_signed_in blocking calls,
the masked name in the header, sign-out (button and Shift+F12), sign-in at the keypad seen through state/staff,
and halls without sign-in calling as before. The PIN is masked, cleared once sent and never logged."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from tests.support.fakebus import FakeBus
from window_panel.bridge import PanelBridge
from window_panel.model import Action, PanelState, bad_login_wait_s, sign_in_problem
from window_panel.view import SIGN_IN_TIMEOUT_S, PanelWindow

PIN = "97531"
NOT_SIGNED_IN = {"code": "not_signed_in", "message": "nobody is signed in at window w15: staff.sign_in first",
                 "message_zh": "本窗口还没有工作人员签到，请先签到"}
BAD_LOGIN = {"code": "bad_login", "message": "wrong staff number or PIN", "message_zh": "工号或密码不正确"}


class Bus(FakeBus):
    """FakeBus that also keeps the request options (the sign-in's longer, single-send timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict[str, Any]] = []

    def request_async(self, op: str, args: dict[str, Any], callback: Any, **kw: Any) -> str:
        self.options.append(kw)
        return super().request_async(op, args, callback)


@pytest.fixture
def bus() -> Bus:
    return Bus()


@pytest.fixture
def make_panel(qtbot, bus):
    def make(lang: str = "zh", sign_in_first: bool = True, staff: dict | None = None) -> PanelWindow:
        panel = PanelWindow("w15", PanelBridge(bus, "w15"), lang=lang, sign_in_first=sign_in_first,
                            clock=lambda: datetime.fromisoformat("2026-11-27T08:30:00+08:00"))
        qtbot.addWidget(panel)
        panel.show()
        panel.activateWindow()
        qtbot.waitUntil(panel.isActiveWindow)
        with qtbot.waitSignal(panel.changed):
            bus.set_connected(True)
        bus.requests.clear()                                         # case.list at connect
        bus.options.clear()
        with qtbot.waitSignal(panel.changed):
            bus.deliver(bus.topics.state_server, {"v": 1, "state": "online"})
        with qtbot.waitSignal(panel.changed):
            bus.deliver(bus.topics.state_window("w15"),
                        {"v": 1, "status": "open", "current": None, "waiting": 7, "name": "15号窗口"})
        if staff is not None:
            with qtbot.waitSignal(panel.changed):
                bus.deliver(bus.topics.state_staff("w15"), {"v": 1, **staff})
        return panel
    return make


def ops(bus: Bus) -> list[tuple[str, dict[str, Any]]]:
    return [(op, args) for op, args, _cb in bus.requests]


def type_in(qtbot, panel: PanelWindow, staff: str, pin: str) -> None:
    panel.staff_edit.clear()
    qtbot.keyClicks(panel.staff_edit, staff)
    qtbot.keyClick(panel.staff_edit, Qt.Key.Key_Return)              # Enter moves on to the PIN
    assert panel.pin_edit.hasFocus()
    qtbot.keyClicks(panel.pin_edit, pin)


def sign_in(qtbot, panel: PanelWindow, bus: Bus, staff: str = "1015", pin: str = PIN, *,
            name: str = "王*") -> None:
    type_in(qtbot, panel, staff, pin)
    qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    i = len(bus.requests) - 1
    assert bus.requests[i][:2] == ("staff.sign_in", {"window": "w15", "staff": staff, "pin": pin})
    with qtbot.waitSignal(panel.changed):
        bus.reply(i, data={"staff": staff, "name": name, "window": "w15"})


# ---------------------------------------------------------------- pure rules
@pytest.mark.parametrize(("staff", "pin", "problem"), [
    ("1015", "1234", None), ("1", "123456789012", None), ("", "1234", "bad_staff"),
    ("1234567890123", "1234", "bad_staff"), ("10a5", "1234", "bad_staff"), ("１０１５", "1234", "bad_staff"),
    ("1015", "123", "bad_pin"), ("1015", "1234567890123", "bad_pin"), ("1015", "12 34", "bad_pin"),
])
def test_sign_in_fields_are_checked_before_sending(staff: str, pin: str, problem: str | None) -> None:
    assert sign_in_problem(staff, pin) == problem


def test_bad_logins_wait_longer_but_never_lock_out() -> None:
    assert [bad_login_wait_s(n) for n in range(1, 9)] == [0, 1, 2, 4, 8, 16, 30, 30]
    assert bad_login_wait_s(1000) == 30


def test_calling_is_blocked_only_after_the_server_asked_for_a_sign_in() -> None:
    state = PanelState("w15", connected=True, server_online=True, status="open")
    assert state.enabled(Action.CALL_NEXT)
    state.sign_in_required = True
    assert state.blocked and not state.enabled(Action.CALL_NEXT) and not state.enabled(Action.PAUSE)
    state.apply_staff_state({"v": 1, "staff": "1015", "name": "王*", "since": "2026-11-27T08:30:02+08:00"})
    assert not state.blocked and state.enabled(Action.CALL_NEXT)
    state.apply_staff_state({"v": 1, "staff": None})
    assert state.blocked


# ---------------------------------------------------------------- the screen
def test_the_panel_opens_on_the_sign_in_screen_with_a_masked_pin(make_panel) -> None:
    panel = make_panel()
    assert panel.on_sign_in_page and panel.pages.currentIndex() == 1
    assert panel.pin_edit.echoMode() is QLineEdit.EchoMode.Password
    assert panel.staff_edit.hasFocus()
    assert panel.skip_button.isVisible()                              # the server has not asked for a sign-in
    assert panel.staff_label.text() == "未签到"
    assert panel.sign_window.text() == "15号窗口"


def test_only_digits_go_into_the_fields(make_panel, qtbot) -> None:
    panel = make_panel()
    qtbot.keyClicks(panel.staff_edit, "10a1-5 99999999999")
    qtbot.keyClicks(panel.pin_edit, "12x34")
    assert panel.staff_edit.text() == "101599999999"                   # 12 digits at most
    assert panel.pin_edit.text() == "1234"


def test_sign_in_sends_number_and_pin_once_and_shows_the_masked_name(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    type_in(qtbot, panel, "1015", PIN)
    qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    assert ops(bus) == [("staff.sign_in", {"window": "w15", "staff": "1015", "pin": PIN})]
    assert bus.options == [{"timeout": SIGN_IN_TIMEOUT_S, "attempt": SIGN_IN_TIMEOUT_S}]   # sent once, waited long
    assert panel.pin_edit.text() == ""                                 # the PIN lives in the request only
    assert not panel.sign_in_button.isEnabled() and panel.sign_msg.text() == "正在核对工号和密码…"
    qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)                 # no second request while one is out
    assert len(bus.requests) == 1
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={"staff": "1015", "name": "王*", "window": "w15"})
    assert not panel.on_sign_in_page and panel.pages.currentIndex() == 0
    assert panel.staff_label.text() == "王* · 工号 1015"
    assert panel.sign_button.text() == "签退  Shift+F12"
    assert "签到成功：王* · 工号 1015" in panel.msg.text()
    assert ("case.list", {"window": "w15"}) in ops(bus)               # cases asked again once signed in


def test_a_bad_login_says_so_and_repeated_ones_make_the_panel_wait(make_panel, bus, qtbot, monkeypatch) -> None:
    panel = make_panel()
    now = [datetime(2026, 11, 27, 8, 30)]
    monkeypatch.setattr(panel, "_now", lambda: now[0])
    for attempt in (1, 2):
        type_in(qtbot, panel, "1015", "1111")
        assert panel.submit_sign_in()
        with qtbot.waitSignal(panel.changed):
            bus.reply(len(bus.requests) - 1, error=BAD_LOGIN)
        assert panel.on_sign_in_page and panel.sign_msg.property("kind") == "error"
    assert panel.sign_msg.text() == "工号或密码不正确。多次输错后需稍等：请 1 秒后再试（不会锁定账号）"
    assert not panel.sign_in_button.isEnabled() and panel.sign_in_button.text() == "请稍候 1 秒"
    assert panel.pin_edit.hasFocus() and panel.staff_edit.text() == "1015"   # the number stays, the PIN does not
    type_in(qtbot, panel, "1015", PIN)
    assert not panel.submit_sign_in()                                  # still waiting: nothing sent
    now[0] += timedelta(seconds=1.5)
    panel._render_sign_in()
    assert panel.sign_in_button.isEnabled()
    assert panel.submit_sign_in()
    with qtbot.waitSignal(panel.changed):
        bus.reply(len(bus.requests) - 1, data={"staff": "1015", "name": "王*", "window": "w15"})
    assert panel.state.bad_logins == 0 and not panel.on_sign_in_page


def test_the_english_bad_login_tells_the_person_to_wait(make_panel, bus, qtbot, monkeypatch) -> None:
    panel = make_panel(lang="en")
    panel.state.bad_logins = 3
    type_in(qtbot, panel, "1015", "1111")
    assert panel.submit_sign_in()
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, error=BAD_LOGIN)
    assert panel.sign_msg.text().startswith("Wrong staff number or PIN. After repeated mistakes please wait 4 s")


def test_wrong_fields_are_explained_and_not_sent(make_panel, bus, qtbot) -> None:
    panel = make_panel(lang="en")
    type_in(qtbot, panel, "1015", "12")
    qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    assert bus.requests == [] and panel.sign_msg.text() == "The PIN has 4 to 12 digits"
    panel.staff_edit.clear()
    assert not panel.submit_sign_in() and panel.sign_msg.text() == "The staff number has 1 to 12 digits"


def test_a_hall_without_sign_in_calls_as_before(make_panel, bus, qtbot) -> None:
    """The server never answers not_signed_in: skip the screen (or not) and call."""
    panel = make_panel()
    qtbot.mouseClick(panel.skip_button, Qt.MouseButton.LeftButton)
    assert not panel.on_sign_in_page
    qtbot.keyClick(panel, Qt.Key.Key_F1)
    assert ops(bus) == [("window.call_next", {"window": "w15"})]
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={"id": "t1", "number": "A001", "state": "serving", "window": "w15"})
    assert panel.number.text() == "A001"
    qtbot.keyClick(panel, Qt.Key.Key_F12, Qt.KeyboardModifier.ShiftModifier)   # the sign-in screen on demand
    assert panel.on_sign_in_page and panel.skip_button.isVisible()


def test_not_signed_in_shows_the_sign_in_screen_and_blocks_calling(make_panel, bus, qtbot) -> None:
    panel = make_panel(sign_in_first=False)
    assert not panel.on_sign_in_page
    qtbot.keyClick(panel, Qt.Key.Key_F1)
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, error=NOT_SIGNED_IN)
    assert panel.on_sign_in_page and not panel.skip_button.isVisible()    # no way round it now
    assert panel.sign_msg.text() == "本窗口还没有工作人员签到，请先签到再叫号"
    assert not any(b.isEnabled() for b in panel.buttons.values())
    assert not panel.trigger(Action.CALL_NEXT) and len(bus.requests) == 1
    panel.show_calling()
    assert panel.on_sign_in_page                                         # cannot be skipped
    sign_in(qtbot, panel, bus)
    assert not panel.on_sign_in_page and panel.buttons[Action.CALL_NEXT].isEnabled()
    qtbot.keyClick(panel, Qt.Key.Key_F1)
    assert ops(bus)[-1] == ("window.call_next", {"window": "w15"})


def test_not_signed_in_on_a_case_op_or_the_case_list_asks_too(make_panel, bus, qtbot) -> None:
    panel = make_panel(sign_in_first=False)
    panel.refresh_cases()
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, error=NOT_SIGNED_IN)
    assert panel.on_sign_in_page and panel.state.blocked


def test_a_keypad_sign_in_opens_the_calling_page_and_shows_the_name(make_panel, bus, qtbot) -> None:
    panel = make_panel(sign_in_first=False)
    qtbot.keyClick(panel, Qt.Key.Key_F1)
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, error=NOT_SIGNED_IN)
    with qtbot.waitSignal(panel.changed):                             # signed in at the keypad
        bus.deliver(bus.topics.state_staff("w15"), {"v": 1, "staff": "1015", "name": "王*",
                                                    "since": "2026-11-27T08:30:02+08:00"})
    assert not panel.on_sign_in_page and panel.staff_label.text() == "王* · 工号 1015"
    assert panel.buttons[Action.CALL_NEXT].isEnabled()
    with qtbot.waitSignal(panel.changed):                             # signed out at the keypad
        bus.deliver(bus.topics.state_staff("w15"), {"v": 1, "staff": None})
    assert panel.on_sign_in_page and not panel.buttons[Action.CALL_NEXT].isEnabled()


def test_a_retained_sign_in_skips_the_screen_at_start(make_panel) -> None:
    panel = make_panel(staff={"staff": "1015", "name": "王*", "since": "2026-11-27T08:30:02+08:00"})
    assert not panel.on_sign_in_page and panel.staff_label.text() == "王* · 工号 1015"


@pytest.mark.parametrize("how", ["button", "key"])
def test_sign_out_by_button_or_shift_f12(make_panel, bus, qtbot, how: str) -> None:
    panel = make_panel(staff={"staff": "1015", "name": "王*", "since": "2026-11-27T08:30:02+08:00"})
    if how == "button":
        qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)
    else:
        qtbot.keyClick(panel, Qt.Key.Key_F12, Qt.KeyboardModifier.ShiftModifier)
    assert ops(bus) == [("staff.sign_out", {"window": "w15"})]
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={})
    assert panel.on_sign_in_page and panel.staff_label.text() == "未签到"
    assert panel.sign_msg.text() == "已签退，请下一位工作人员签到"


def test_f12_alone_still_opens_the_selected_case(make_panel, qtbot) -> None:
    panel = make_panel(staff={"staff": "1015", "name": "王*"})
    opened: list[int] = []
    panel.open_case = lambda row: opened.append(row) or True               # type: ignore[method-assign]
    qtbot.keyClick(panel, Qt.Key.Key_F12)
    assert opened == [0] and panel.state.signing is None


def test_the_pin_is_never_logged(make_panel, bus, qtbot, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    panel = make_panel()
    type_in(qtbot, panel, "1015", "24680")
    panel.submit_sign_in()
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, error=BAD_LOGIN)
    sign_in(qtbot, panel, bus)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "24680" not in logged and PIN not in logged
    assert "24680" not in panel.sign_msg.text() + panel.msg.text() + panel.staff_label.text()
