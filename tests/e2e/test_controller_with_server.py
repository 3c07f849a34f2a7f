"""End to end with the real hall server: keypad press -> server -> LED window screen and keypad show the number."""
from __future__ import annotations

from pathlib import Path

import pytest

from devices.config import DevicesConfig
from devices.controller import DeviceController
from devices.keypad.protocol import Key
from hall_bus.configfile import validate
from tests.support.hall import start_hall
from tests.support.tools import require_tool

pytestmark = [pytest.mark.e2e, pytest.mark.mosquitto]


def test_keypad_call_reaches_the_server_and_the_screen_shows_the_number(tmp_path: Path) -> None:
    require_tool("mosquitto", package="mosquitto")
    hall = start_hall(tmp_path, broker="mosquitto")
    controller = None
    clients = []
    try:
        config = validate("e2e", {
            "name": "hall", "hall": hall.hall, "broker": hall.url,
            "buses": {"pads": {"kind": "keypad", "url": "sim://keypads?addrs=1"},
                      "line": {"kind": "bus7e", "url": "sim://bus7e?screens=1,31", "poll_interval_s": 0.02}},
            "keypads": [{"id": "keypad-w1", "bus": "pads", "addr": 1, "window": "w1", "prefix": "A"}],
            "screens": [{"id": "led-w1", "bus": "line", "addr": 1, "window": "w1"}],
            "strips": [{"id": "strip-z1", "bus": "line", "addr": 31, "zone": "z1"}],
        }, DevicesConfig)
        controller = DeviceController(config).start()
        assert controller.bus.wait_connected(10)
        pads = controller._buses["pads"].transport.simulator
        line = controller._buses["line"].transport.simulator
        panel = hall.client("panel-w1")
        kiosk = hall.client("kiosk-e2e")
        clients += [panel, kiosk]
        panel.request("window.open", {"window": "w1"})
        ticket = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        assert pads.press(1, Key.CALL)
        number = ticket["number"]
        assert line.wait_for(lambda s: s.device(1).number == number and f"请{number}号" in s.device(1).text, 15)
        assert pads.wait_for(lambda s: s.keypad(1).display == number[-3:], 15)
        assert line.wait_for(lambda s: number in s.device(31).text, 15)
    finally:
        if controller is not None:
            controller.stop()
        for c in clients:
            c.stop()
        hall.stop()


def test_a_keypad_pressed_15_times_makes_one_call_and_recalls(tmp_path: Path) -> None:
    """Issue 9, finding 11: CALL pressed 15 times 0.7 s apart is one call and recalls of the same ticket
    (`[calling] repeat_window_s`, default 5), never 15 calls each finishing the citizen just called."""
    import time
    require_tool("mosquitto", package="mosquitto")
    hall = start_hall(tmp_path, broker="mosquitto")
    controller = None
    clients = []
    try:
        config = validate("e2e", {
            "name": "hall", "hall": hall.hall, "broker": hall.url,
            "buses": {"pads": {"kind": "keypad", "url": "sim://keypads?addrs=1"}},
            "keypads": [{"id": "keypad-w1", "bus": "pads", "addr": 1, "window": "w1", "prefix": "A"}],
        }, DevicesConfig)
        controller = DeviceController(config).start()
        assert controller.bus.wait_connected(10)
        pads = controller._buses["pads"].transport.simulator
        panel = hall.client("panel-w1")
        kiosk = hall.client("kiosk-e2e")
        clients += [panel, kiosk]
        panel.request("window.open", {"window": "w1"})
        tickets = [kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}) for _ in range(3)]
        first = tickets[0]["number"]
        for _ in range(15):
            assert pads.press(1, Key.CALL)
            time.sleep(0.7)
        assert pads.wait_for(lambda s: s.keypad(1).display == first[-3:], 15)
        got = [kiosk.request("ticket.get", {"number": t["number"]}) for t in tickets]
        assert got[0]["state"] == "serving" and got[0]["window"] == "w1"
        assert [g["state"] for g in got[1:]] == ["waiting", "waiting"]
    finally:
        if controller is not None:
            controller.stop()
        for c in clients:
            c.stop()
        hall.stop()
