"""A citizen looks up a case (办件) at the kiosk against a real hall: the server and broker, a panel that accepted
the case, the kiosk window with its real bridge asking `case.get` by number and query code."""
from __future__ import annotations

import pytest

from hall_bus.contract import Op
from kiosk.bridge import KioskBridge
from kiosk.hardware import open_devices
from kiosk.window import KioskWindow
from tests.kiosk.conftest import Kiosk, make_config
from tests.support.hall import start_hall

pytestmark = pytest.mark.e2e
KEY = b"e2e-case-key"
APPLICANT = {"name": "张三", "id_number": "11010519491231002X"}


def test_case_number_and_query_code_at_the_kiosk(tmp_path, qtbot):
    hall = start_hall(tmp_path)
    panel, issuer = hall.client("panel-w1"), hall.client("kiosk-k9")
    bridge: KioskBridge | None = None
    try:
        panel.request(Op.WINDOW_OPEN, {"window": "w1"}, timeout=5)
        issuer.request(Op.TICKET_ISSUE, {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
        panel.request(Op.WINDOW_CALL_NEXT, {"window": "w1"}, timeout=5)
        case = panel.request(Op.CASE_ACCEPT, {"window": "w1", "applicant": APPLICANT}, timeout=5)
        prefix, day, seq = case["number"].split("-")

        config = make_config(id="c1", broker=hall.url, hall=hall.hall, hmac_key=KEY.decode(), request_timeout_s=5,
                             printer={"url": "sim://printer", "poll_s": 0.2}, idcard={"url": ""}, case_prefix=prefix)
        ports = open_devices(config, KEY, lambda: bridge.catalog if bridge else None)
        bridge = KioskBridge(config, printer=ports.get("printer"), hmac_key=KEY)
        win = KioskWindow(config, bridge, portrait=True)
        qtbot.addWidget(win)
        win.resize(1080, 1920)
        win.show()
        win.journey.started = -1e9
        bridge.start()
        k = Kiosk(qtbot, win, bridge)
        k.wait_screen("home", timeout=10000)
        k.press("action-status")
        k.press("tab-case")
        assert k.button("case-day").text() == day          # the hall's business day: only sequence and code typed

        def ask(code: str) -> None:
            k.press("case-seq")
            k.press("key-CLR")
            for ch in seq + code:
                k.press(f"key-{ch}")
            k.press("key-OK")
            qtbot.waitUntil(lambda: not k.journey.case_busy, timeout=8000)

        wrong = f"{(int(case['query_code']) + 1) % 1_000_000:06d}"
        ask(wrong)
        assert k.text("case-error") == "没有找到这个办件，请核对办件编号和查询码"
        ask(case["query_code"])
        assert k.journey.case_found is not None
        assert k.text("case-number") == case["number"]
        assert k.text("case-status") == "已受理"
        assert k.text("case-days-left").startswith("还剩 ")
        text = k.all_text()
        assert APPLICANT["name"] not in text and APPLICANT["id_number"] not in text
    finally:
        if bridge is not None:
            bridge.stop()
        panel.stop()
        issuer.stop()
        hall.stop()
