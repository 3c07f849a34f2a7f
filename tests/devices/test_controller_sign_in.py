"""Keypad sign-in through the device controller: simulated keypads and LED screens on pseudo-terminals, the hall bus
scripted (tests/support/fakebus.py). The keys become staff.sign_in / staff.sign_out for the keypad's window, the
window's LED screen says how it went, and the PIN reaches the request only: never a log line or a display."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devices import controller as ctl
from devices.config import DevicesConfig
from devices.controller import DeviceController
from devices.keypad.protocol import Key
from hall_bus import RequestError
from hall_bus.configfile import validate
from tests.support.fakebus import FakeBus

PIN = "97531"
STAFF = "1015"


class Server:
    """Answers like the hall server with `[staff] sign_in_required = true` and one staff member (1015, PIN 97531)."""

    def __init__(self) -> None:
        self.signed_in: dict[str, str] = {}
        self.lock = threading.Lock()
        self.done = threading.Semaphore(0)

    def __call__(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._answer(op, args)
        finally:
            self.done.release()

    def _answer(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        window = args.get("window", "")
        with self.lock:
            if op == "staff.sign_in":
                if args.get("staff") != STAFF or args.get("pin") != PIN:
                    raise RequestError("bad_login", "wrong staff number or PIN", "工号或密码不正确")
                self.signed_in[window] = args["staff"]
                return {"staff": STAFF, "name": "王*", "window": window}
            if op == "staff.sign_out":
                self.signed_in.pop(window, None)
                return {}
            if window not in self.signed_in:
                raise RequestError("not_signed_in", "nobody is signed in at this window",
                                   "本窗口还没有工作人员签到，请先签到")
            return {"id": "t1", "number": "A001", "state": "serving", "window": window}


@dataclass
class Rig:
    controller: DeviceController
    bus: FakeBus
    server: Server
    pads: Any
    line: Any

    def answered(self, n: int = 1) -> None:
        for _ in range(n):
            assert self.server.done.acquire(timeout=10), "no request reached the server"

    def ops(self) -> list[tuple[str, dict[str, Any]]]:
        return [(op, args) for op, args, _cb in self.bus.requests]


@pytest.fixture
def rig(monkeypatch) -> Iterator[Rig]:
    monkeypatch.setattr(ctl, "NOTE_S", 0.6)
    config = validate("test", {
        "name": "hall", "hall": "daan", "broker": "mqtt://127.0.0.1:9",
        "buses": {"pads": {"kind": "keypad", "url": "sim://keypads?addrs=1,2", "reply_timeout_s": 0.15},
                  "line": {"kind": "bus7e", "url": "sim://bus7e?screens=1", "poll_interval_s": 0.02}},
        "keypads": [{"id": "keypad-w1", "bus": "pads", "addr": 1, "window": "w1", "prefix": "A"},
                    {"id": "keypad-w2", "bus": "pads", "addr": 2, "window": "w2", "prefix": "A"}],
        "screens": [{"id": "led-w1", "bus": "line", "addr": 1, "window": "w1"}],
    }, DevicesConfig)
    server = Server()
    controller = DeviceController(config)
    bus = FakeBus(answer=server)
    controller.bus, controller.topics = bus, bus.topics        # type: ignore[assignment]
    controller.start()
    bus.set_connected(True)
    bus.deliver(bus.topics.state_window("w1"), {"v": 1, "status": "open", "current": None, "waiting": 3,
                                                "name": "1号窗口"})
    pads = controller._buses["pads"].transport.simulator       # type: ignore[union-attr]
    line = controller._buses["line"].transport.simulator       # type: ignore[union-attr]
    assert line.wait_for(lambda s: s.device(1).text == "1号窗口|欢迎光临", 10)
    try:
        yield Rig(controller, bus, server, pads, line)
    finally:
        controller.stop()


def test_keypad_signs_in_with_08_staff_confirm_pin_confirm(rig: Rig) -> None:
    assert rig.pads.press(1, Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps == 1)            # staff number taken: one beep
    assert rig.ops() == []                                                # nothing sent before the PIN
    assert rig.pads.press(1, Key.CONFIRM, tuple(int(c) for c in PIN))
    rig.answered()
    assert rig.ops() == [("staff.sign_in", {"window": "w1", "staff": STAFF, "pin": PIN})]
    assert rig.line.wait_for(lambda s: s.device(1).text == "1号窗口|签到成功 王*")
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps == 2)
    assert rig.line.wait_for(lambda s: s.device(1).text == "1号窗口|欢迎光临", 5)   # the note goes away
    assert PIN not in "".join(rig.pads.keypad(1).shows)                   # the keypad never showed it
    assert rig.pads.press(1, Key.CALL)                                    # signed in: calling works
    rig.answered()
    assert rig.ops()[-1] == ("window.call_next", {"window": "w1"})
    assert rig.pads.wait_for(lambda s: s.keypad(1).display == "001")


def test_pin_typed_key_by_key_signs_in(rig: Rig) -> None:
    assert rig.pads.type_keys(2, [0, 8, 1, 0, 1, 5, Key.CONFIRM] + [int(c) for c in PIN] + [Key.CONFIRM])
    rig.answered()
    assert rig.ops() == [("staff.sign_in", {"window": "w2", "staff": STAFF, "pin": PIN})]
    assert rig.server.signed_in == {"w2": STAFF}


def test_a_wrong_pin_beeps_twice_and_the_screen_says_so(rig: Rig) -> None:
    assert rig.pads.press(1, Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    assert rig.pads.press(1, Key.CONFIRM, (1, 1, 1, 1))
    rig.answered()
    assert rig.line.wait_for(lambda s: s.device(1).text == "1号窗口|工号或密码错误")
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps == 1 + 2)
    assert rig.server.signed_in == {}


def test_calling_before_sign_in_is_refused_and_the_screen_asks_for_it(rig: Rig) -> None:
    assert rig.pads.press(1, Key.CALL)
    rig.answered()
    assert rig.line.wait_for(lambda s: s.device(1).text == "1号窗口|请先签到")
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps == 2)


def test_sign_out_with_08_confirm(rig: Rig) -> None:
    rig.server.signed_in["w1"] = STAFF
    assert rig.pads.press(1, Key.CONFIRM, (0, 8))
    rig.answered()
    assert rig.ops() == [("staff.sign_out", {"window": "w1"})]
    assert rig.line.wait_for(lambda s: s.device(1).text == "1号窗口|已签退")
    assert rig.server.signed_in == {}


def test_an_interrupted_sign_in_sends_nothing_and_the_next_key_works(rig: Rig) -> None:
    rig.server.signed_in["w1"] = STAFF
    assert rig.pads.press(1, Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    assert rig.pads.press(1, Key.CALL, (9, 7))                           # half a PIN, then CALL: refused
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps == 1 + 2)
    assert rig.ops() == []
    assert rig.pads.press(1, Key.CONFIRM, (0, 6))                        # the next sequence is read as ever
    rig.answered()
    assert rig.ops() == [("window.no_show", {"window": "w1"})]


def test_a_pin_after_the_timeout_is_not_sent(rig: Rig, monkeypatch) -> None:
    now = [1000.0]
    rig.controller._clock = lambda: now[0]                               # type: ignore[method-assign]
    assert rig.pads.press(1, Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps == 1)
    now[0] += 31
    assert rig.pads.press(1, Key.CONFIRM, tuple(int(c) for c in PIN))
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps == 1 + 2)
    assert rig.ops() == []


def test_the_pin_is_never_logged(rig: Rig, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for pin in ("1111", PIN):                                            # a bad login, then a good one
        assert rig.pads.press(1, Key.CONFIRM, (0, 8, 1, 0, 1, 5))
        assert rig.pads.press(1, Key.CONFIRM, tuple(int(c) for c in pin))
        rig.answered()
    assert rig.pads.press(1, Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    assert rig.pads.press(1, Key.TRANSFER, tuple(int(c) for c in "86420"))          # interrupted
    assert rig.pads.press(1, Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    assert rig.pads.press(1, Key.CONFIRM, (7, 5, 3))                                # too short
    assert rig.pads.wait_for(lambda s: s.keypad(1).beeps >= 4 * 1 + 2 + 1 + 2 + 2, 10)
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert "signed in at window w1" in logged                         # the log does say what happened
    for secret in ("1111", PIN, "86420", "753"):
        assert secret not in logged
