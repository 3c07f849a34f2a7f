"""End to end with the real hall server: the panel accepts a case (受理) for the ticket it is serving, over a real
broker, gets the full view back, hands out the 受理通知书 and lists the case among the window's open cases."""
from __future__ import annotations

from typing import Any

import pytest

from hall_bus import BusClient
from hall_bus.contract import Op
from hall_bus.idnumber import check_digit
from tests.support.hall import RunningHall
from window_panel.bridge import PanelBridge
from window_panel.model import Action
from window_panel.view import PanelWindow

pytestmark = pytest.mark.e2e
WAIT = 15000
ID_NUMBER = "51030419850612123" + check_digit("51030419850612123")


class Answers:
    """The case dialogs, answered as a staff member would (the forms themselves: tests/window_panel)."""

    def __init__(self, accept: dict[str, Any]) -> None:
        self.accept = accept
        self.shown: list[Any] = []

    def ask_accept(self, ticket: dict, services: list, guides: dict, reader: Any = None) -> dict[str, Any]:
        return {"ticket_id": ticket["id"], **self.accept}

    def show_notice(self, notice: Any) -> None:
        self.shown.append(notice)


def test_the_panel_accepts_a_case_for_the_ticket_it_serves(qtbot, hall: RunningHall) -> None:
    dialogs = Answers({"applicant": {"name": "张伟", "id_number": ID_NUMBER}, "phone": "13812345678", "sms": True,
                       "missing": ["退休审批表"], "note": "容缺受理"})
    bus = BusClient(hall.url, hall.hall, "panel-w15")
    bridge = PanelBridge(bus, "w15")
    replies: list[tuple[str, dict]] = []
    bridge.reply.connect(lambda tag, env: replies.append((tag, env)))
    panel = PanelWindow("w15", bridge, case_dialogs=dialogs)      # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.show()
    bus.start()
    kiosk = hall.client("kiosk-e2e")
    try:
        qtbot.waitUntil(lambda: panel.state.reachable and panel.state.status is not None and bool(panel.catalog),
                        timeout=WAIT)
        qtbot.waitUntil(lambda: panel.cases is not None, timeout=WAIT)          # case.list at connect
        service = next(w for w in panel.catalog["windows"] if w["id"] == "w15")["services"][0]
        ticket = kiosk.request(Op.TICKET_ISSUE, {"service": service, "channel": "walk_in"})
        if panel.state.status != "open":
            assert panel.trigger(Action.PAUSE)                                  # 开始服务
            qtbot.waitUntil(lambda: panel.state.status == "open", timeout=WAIT)
        qtbot.waitUntil(lambda: panel.state.enabled(Action.CALL_NEXT), timeout=WAIT)
        assert panel.trigger(Action.CALL_NEXT)
        qtbot.waitUntil(lambda: (panel.state.current or {}).get("number") == ticket["number"]
                        and panel.state.enabled(Action.ACCEPT), timeout=WAIT)

        assert panel.trigger(Action.ACCEPT)
        qtbot.waitUntil(lambda: any(tag == "case:accept" for tag, _env in replies), timeout=WAIT)
        env = next(env for tag, env in replies if tag == "case:accept")
        assert env["ok"], env
        full = env["data"]
        assert full["window"] == "w15" and full["ticket_id"] == ticket["id"] and full["service"] == service
        assert full["status"] == "accepted" and full["missing"] == ["退休审批表"]
        assert full["applicant"] == {"name": "张伟", "id_number": ID_NUMBER}
        assert full["phone_masked"].startswith("138") and "13812345678" not in str(full)
        assert len(full["query_code"]) == 6 and full["due_date"] and isinstance(full["days_left"], int)

        notice = dialogs.shown[0]                                     # no printer at this window: on screen
        assert notice.kind == "accepted" and full["number"] in notice.text and full["query_code"] in notice.text
        assert full["due_date"] in notice.text
        qtbot.waitUntil(lambda: any(c.get("number") == full["number"] for c in panel.cases or []), timeout=WAIT)
        row = next(r for r in range(panel.case_table.rowCount())
                   if panel.case_table.item(r, 0).text() == full["number"])
        assert panel.case_table.item(row, 2).text() == "已受理"
    finally:
        kiosk.stop()
        bridge.stop()
