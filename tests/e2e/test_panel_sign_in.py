"""End to end with the real hall server and the shipped hall config (`[staff] sign_in_required = true`, the demo
staff file): the panel's first window op is refused not_signed_in and the sign-in screen stays up; a wrong PIN is
bad_login; the right one signs in (masked name in the header, state/staff/{window} retained), calling works; sign-out
brings the screen back and calling is refused again."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hall_bus import BusClient
from hall_bus.contract import Op
from tests.support import hall as support
from window_panel.bridge import PanelBridge
from window_panel.model import Action
from window_panel.view import PanelWindow

pytestmark = pytest.mark.e2e
WAIT = 15000
if not hasattr(support, "REFERENCE_CONFIG"):
    pytest.skip("the hall server has no staff sign-in yet (tests/support/hall.py REFERENCE_CONFIG)",
                allow_module_level=True)
PIN = getattr(support, "DEMO_PIN", "1234")     # config/staff.toml: every demo PIN is 1234; 1015 王芳 at w15, w16


def _type(qtbot, panel: PanelWindow, staff: str, pin: str) -> None:
    panel.staff_edit.setText(staff)
    panel.pin_edit.setText(pin)
    assert panel.submit_sign_in()
    qtbot.waitUntil(lambda: panel.state.signing is None, timeout=40000)


def test_the_panel_signs_in_before_calling_and_signs_out(qtbot, tmp_path: Path) -> None:
    hall = support.start_hall(tmp_path, config=support.REFERENCE_CONFIG)
    bus = BusClient(hall.url, hall.hall, "panel-w15")
    bridge = PanelBridge(bus, "w15")
    replies: list[tuple[str, dict[str, Any]]] = []
    bridge.reply.connect(lambda tag, env: replies.append((tag, env)))
    staff_states: list[dict[str, Any]] = []
    bridge.staff.connect(staff_states.append)
    panel = PanelWindow("w15", bridge, sign_in_first=True)
    qtbot.addWidget(panel)
    panel.show()
    bus.start()
    kiosk = hall.client("kiosk-e2e")
    try:
        qtbot.waitUntil(lambda: panel.state.reachable and panel.state.status is not None and bool(panel.catalog),
                        timeout=WAIT)
        assert panel.on_sign_in_page and panel.skip_button.isVisible()      # the server has not asked yet
        panel.show_calling()
        assert panel.state.status == "closed"
        assert panel.trigger(Action.PAUSE)                                  # 开始服务: window.open
        qtbot.waitUntil(lambda: panel.on_sign_in_page, timeout=WAIT)
        assert dict(replies)["pause"]["error"]["code"] == "not_signed_in"
        assert panel.state.blocked and not panel.skip_button.isVisible()
        assert panel.sign_msg.text() == "本窗口还没有工作人员签到，请先签到再叫号"

        _type(qtbot, panel, "1015", "0000" if PIN != "0000" else "1111")    # a wrong PIN
        assert dict(replies)["staff:sign_in"]["error"]["code"] == "bad_login"
        assert panel.on_sign_in_page and panel.sign_msg.text().startswith("工号或密码不正确")
        _type(qtbot, panel, "9999", PIN)                                     # an unknown number: the same answer
        assert dict(replies)["staff:sign_in"]["error"]["code"] == "bad_login"
        qtbot.waitUntil(lambda: panel._wait_left() == 0, timeout=WAIT)      # two failures: a short wait
        _type(qtbot, panel, "1015", PIN)
        assert dict(replies)["staff:sign_in"]["ok"], dict(replies)["staff:sign_in"]
        assert not panel.on_sign_in_page and panel.staff_label.text() == "王* · 工号 1015"
        qtbot.waitUntil(lambda: any(s.get("staff") == "1015" for s in staff_states), timeout=WAIT)
        retained = next(s for s in staff_states if s.get("staff") == "1015")
        assert retained["name"] == "王*" and retained.get("since")

        service = next(w for w in panel.catalog["windows"] if w["id"] == "w15")["services"][0]
        ticket = kiosk.request(Op.TICKET_ISSUE, {"service": service, "channel": "walk_in"})
        assert panel.trigger(Action.PAUSE)                                  # now the window opens
        qtbot.waitUntil(lambda: panel.state.status == "open" and panel.state.enabled(Action.CALL_NEXT),
                        timeout=WAIT)
        assert panel.trigger(Action.CALL_NEXT)
        # the number shows with the window's state; the call's reply may still be on its way (busy): then finish
        qtbot.waitUntil(lambda: (panel.state.current or {}).get("number") == ticket["number"]
                        and panel.state.busy is None and panel.state.enabled(Action.FINISH), timeout=WAIT)
        assert panel.trigger(Action.FINISH)
        qtbot.waitUntil(lambda: panel.state.current is None and panel.state.busy is None, timeout=WAIT)

        assert panel.sign_out()
        qtbot.waitUntil(lambda: panel.on_sign_in_page and panel.state.signing is None, timeout=WAIT)
        assert panel.sign_msg.text() == "已签退，请下一位工作人员签到"
        qtbot.waitUntil(lambda: staff_states and staff_states[-1].get("staff") is None, timeout=WAIT)
        assert panel.state.blocked                                          # this hall requires a sign-in
        panel.state.sign_in_required = False                                # as if it were forgotten: the server
        panel.show_calling()                                                # still refuses a call
        qtbot.waitUntil(lambda: panel.state.enabled(Action.CALL_NEXT), timeout=WAIT)
        assert panel.trigger(Action.CALL_NEXT)
        qtbot.waitUntil(lambda: panel.on_sign_in_page, timeout=WAIT)
        assert dict(replies)["call_next"]["error"]["code"] == "not_signed_in"
    finally:
        kiosk.stop()
        bridge.stop()
        hall.stop()
