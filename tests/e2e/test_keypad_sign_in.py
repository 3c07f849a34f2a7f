"""End to end with the real hall server and the shipped hall config (`[staff] sign_in_required = true`, the demo
staff file): a wired keypad at window 15 is refused a call until `08 1015 0F <PIN> 0F` signs 王芳 in; the window's LED
screen says what happened (请先签到, 工号或密码错误, 签到成功 王*, 已签退), the keypad then calls, and `08 0F` signs out."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from devices.config import DevicesConfig
from devices.controller import DeviceController
from devices.keypad.protocol import Key
from hall_bus.configfile import validate
from tests.support import hall as support

pytestmark = pytest.mark.e2e
if not hasattr(support, "REFERENCE_CONFIG"):
    pytest.skip("the hall server has no staff sign-in yet (tests/support/hall.py REFERENCE_CONFIG)",
                allow_module_level=True)
PIN = getattr(support, "DEMO_PIN", "1234")
WRONG = "0000" if PIN != "0000" else "1111"


def _digits(text: str) -> tuple[int, ...]:
    return tuple(int(c) for c in text)


def test_keypad_signs_in_calls_and_signs_out(tmp_path: Path) -> None:
    hall = support.start_hall(tmp_path, config=support.REFERENCE_CONFIG)
    controller = None
    clients = []
    try:
        config = validate("e2e", {
            "name": "hall", "hall": hall.hall, "broker": hall.url,
            "buses": {"pads": {"kind": "keypad", "url": "sim://keypads?addrs=1"},
                      "line": {"kind": "bus7e", "url": "sim://bus7e?screens=1", "poll_interval_s": 0.02}},
            "keypads": [{"id": "keypad-w15", "bus": "pads", "addr": 1, "window": "w15", "prefix": "A"}],
            "screens": [{"id": "led-w15", "bus": "line", "addr": 1, "window": "w15"}],
        }, DevicesConfig)
        controller = DeviceController(config).start()
        assert controller.bus.wait_connected(10)
        pads = controller._buses["pads"].transport.simulator          # type: ignore[union-attr]
        line = controller._buses["line"].transport.simulator          # type: ignore[union-attr]
        watcher = hall.client("console-e2e")
        kiosk = hall.client("kiosk-e2e")
        clients += [watcher, kiosk]
        staff: list[dict[str, Any]] = []
        got_staff = threading.Event()

        def on_staff(_topic: str, payload: dict[str, Any]) -> None:
            staff.append(payload)
            if payload.get("staff") == "1015":
                got_staff.set()
        watcher.subscribe(watcher.topics.state_staff("w15"), on_staff)
        service = "ss_enroll"                                               # one of window 15's services
        ticket = kiosk.request("ticket.issue", {"service": service, "channel": "walk_in"})

        assert pads.press(1, Key.CALL)                                       # nobody signed in: refused
        assert line.wait_for(lambda s: "请先签到" in s.device(1).text, 15)
        assert pads.wait_for(lambda s: s.keypad(1).beeps == 2, 15)

        assert pads.press(1, Key.CONFIRM, _digits("081015"))                 # staff number: one beep
        assert pads.wait_for(lambda s: s.keypad(1).beeps == 3, 15)
        assert pads.press(1, Key.CONFIRM, _digits(WRONG))
        assert line.wait_for(lambda s: "工号或密码错误" in s.device(1).text, 15)
        assert pads.wait_for(lambda s: s.keypad(1).beeps == 5, 15)

        assert pads.type_keys(1, [0, 8, 1, 0, 1, 5, Key.CONFIRM, *_digits(PIN), Key.CONFIRM])
        assert line.wait_for(lambda s: "签到成功 王*" in s.device(1).text, 20)
        assert got_staff.wait(10)                                            # state/staff/w15, retained
        assert next(s for s in staff if s.get("staff") == "1015")["name"] == "王*"
        for shown in pads.keypad(1).shows:                                  # the PIN was never on the keypad
            assert PIN not in shown

        assert pads.press(1, Key.CALL)                                       # signed in: the call goes through
        number = ticket["number"]
        assert pads.wait_for(lambda s: s.keypad(1).display == number[-3:], 15)
        assert line.wait_for(lambda s: f"请{number}号" in s.device(1).text, 15)

        assert pads.press(1, Key.CONFIRM, (0, 8))                            # 08 0F: sign out
        assert line.wait_for(lambda s: "已签退" in s.device(1).text, 15)
        assert pads.wait_for(lambda s: s.keypad(1).beeps == 8, 15)         # 2 + 1 + 2 + 1 + 1, and 1 for this
        kiosk.request("ticket.issue", {"service": service, "channel": "walk_in"})
        assert pads.press(1, Key.CALL)                                       # refused again
        assert pads.wait_for(lambda s: s.keypad(1).beeps == 10, 15)
        assert line.wait_for(lambda s: "请先签到" in s.device(1).text, 15)
    finally:
        if controller is not None:
            controller.stop()
        for c in clients:
            c.stop()
        hall.stop()
