"""Kiosk test fixtures: a kiosk window whose printer (and, where a test needs a card, ID reader) are the real
adapters of kiosk.hardware driving the real drivers over `sim://` pseudo-terminals; the bus is the scripted one
of tests/support/fakebus.py answering like the server. Faults are injected through the simulators, and what a
citizen takes from the printer is read back from the bytes the simulated printer received."""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from devices.printer import printed_text
from kiosk import bridge as bridge_mod
from kiosk.bridge import KioskBridge
from kiosk.config import KioskConfig
from kiosk.hardware import open_devices
from kiosk.journey import Journey
from kiosk.sample import sample_catalog, sample_guides
from kiosk.window import KioskWindow
from tests.support.fakebus import FakeBus

bridge_mod.LOG_EVENTS = False
KEY = b"test-key"


def make_config(**over: Any) -> KioskConfig:
    base: dict[str, Any] = {"id": "t1", "hall": "daan", "broker": "mqtt://127.0.0.1:1", "hmac_key": KEY.decode(),
                            "idle_timeout_s": 30, "elderly_timeout_s": 60, "request_timeout_s": 2,
                            "fullscreen": False,
                            "printer": {"url": "sim://printer", "poll_s": 0.2}, "idcard": {"url": ""}}
    base.update(over)
    return KioskConfig.model_validate(base)


class TicketDesk:
    """The server's replies to the kiosk, as FakeBus.answer: tickets A001, A002, ... and one found ticket."""

    def __init__(self) -> None:
        self.counter = 0
        self.lock = threading.Lock()

    def __call__(self, op: str, args: dict) -> dict:
        if op == "ticket.get":
            return {"id": "t-1", "number": args.get("number", "A001"), "service": "ss_pension", "zone": "z1",
                    "state": "serving", "channel": "walk_in", "issued_at": "2026-11-27T09:41:00+08:00",
                    "window": "w15", "window_name": "15号窗口", "ahead": 0, "verify": "K7Q2"}
        with self.lock:
            self.counter += 1
            n = self.counter
        service = args.get("service", "ss_pension")
        return {"id": f"t-{n}", "number": f"A{n:03d}", "service": service, "zone": "z1", "state": "waiting",
                "channel": args.get("channel", "appointment"), "priority": False, "ahead": 3, "est_wait_s": 420,
                "verify": "K7Q2", "token": f"tok{n:04d}-abcdefghijklmnop",
                "service_name": "养老保险待遇申领", "service_name_en": "Pension benefit claim",
                "issued_at": "2026-11-27T09:41:00+08:00"}


def hall_bus(hall: str = "daan") -> FakeBus:
    """A connected hall: the catalogue, the server online and one zone's load are retained on the broker."""
    bus = FakeBus(hall, connect_on_start=True, answer=TicketDesk())
    bus.retained.update({
        bus.topics.state_catalog: sample_catalog(),
        bus.topics.state_server: {"v": 1, "state": "online"},
        bus.topics.state_zone("z1"): {"v": 1, "waiting": 4, "serving": 2, "est_wait_s": 300, "last_called": []},
        **{bus.topics.state_guide(sid): guide for sid, guide in sample_guides().items()},
    })
    return bus


def shown(w: Any) -> bool:
    """Not hidden on purpose (children added to a visible screen are shown on the next event-loop turn)."""
    while w is not None:
        if w.isHidden() and w.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):
            return False
        w = w.parentWidget()
    return True


class Kiosk:
    """The window under test, its bus, and the simulated printer / ID reader behind the real drivers, with
    helpers that act like a citizen."""

    def __init__(self, qtbot: Any, window: KioskWindow, bridge: KioskBridge, bus: Any = None, printer: Any = None,
                 idcard: Any = None) -> None:
        self.qtbot, self.window, self.bridge, self.bus = qtbot, window, bridge, bus
        self.printer = printer      # devices.simulators.printer.PrinterSimulator
        self.idcard = idcard        # devices.simulators.idcard.IdCardReaderSimulator, when the kiosk has a reader

    @property
    def journey(self) -> Journey:
        """The citizen's journey as the window keeps it (screen, holder, outcome, lookup ...)."""
        return self.window.journey

    @property
    def screen(self) -> str:
        return self.journey.current

    def button(self, name: str) -> QPushButton:
        w = self.window
        b = w.stack.currentWidget().findChild(QPushButton, name) or w.footer.findChild(QPushButton, name)
        assert b is not None, f"no button {name!r} on screen {self.screen!r}"
        return b

    def press(self, name: str) -> None:
        b = self.button(name)
        assert shown(b) and b.isEnabled(), f"button {name!r} on {self.screen!r} cannot be pressed"
        self.qtbot.mouseClick(b, Qt.MouseButton.LeftButton)

    def wait_screen(self, name: str, timeout: int = 5000) -> None:
        self.qtbot.waitUntil(lambda: self.screen == name, timeout=timeout)

    def text(self, name: str) -> str:
        lab = self.window.stack.currentWidget().findChild(QLabel, name)
        assert lab is not None, f"no label {name!r} on screen {self.screen!r}"
        return lab.text()

    def all_text(self) -> str:
        screen = self.window.stack.currentWidget()
        labels = [lab.text() for lab in screen.findChildren(QLabel) if shown(lab)]
        buttons = [b.text() for b in screen.findChildren(QPushButton) if shown(b)]
        return "\n".join(labels + buttons)

    # what came out of the printer: the bytes the simulator received, decoded as the printer would print them
    def printed(self) -> list[str]:
        return [printed_text(job, self.window.config.printer.encoding) for job in list(self.printer.jobs)]

    def wait_printed(self, count: int, timeout: int = 5000) -> list[str]:
        self.qtbot.waitUntil(lambda: len(self.printer.jobs) >= count, timeout=timeout)
        texts = self.printed()
        assert len(texts) == count, texts
        return texts

    def status_of(self, kind: str) -> dict | None:
        """What staff see on device/<kind>-<kiosk>/status."""
        return self.bus.last_retained(self.bus.topics.device_status(self.window.config.client_id, self.window.config.device_id(kind)))


@pytest.fixture
def make_kiosk(qtbot: Any) -> Callable[..., Kiosk]:
    """make_kiosk(printer="sim://printer?paper=near_end", idcard="sim://idcard?card=absent", idle_timeout_s=...)"""
    made: list[Kiosk] = []

    def make(*, printer: str = "sim://printer", idcard: str = "", bus: Any = None, voice: Any = None,
             portrait: bool = True, **config: Any) -> Kiosk:
        cfg = make_config(printer={"url": printer, "poll_s": 0.2}, idcard={"url": idcard, "poll_s": 0.1}, **config)
        bus = bus if bus is not None else hall_bus(cfg.hall)
        br: KioskBridge | None = None
        ports = open_devices(cfg, KEY, lambda: br.catalog if br else None)
        br = KioskBridge(cfg, bus=bus, printer=ports.get("printer"), idcard=ports.get("idcard"), voice=voice,
                         hmac_key=KEY)
        win = KioskWindow(cfg, br, portrait=portrait)
        qtbot.addWidget(win)
        win.resize(*((1080, 1920) if portrait else (1920, 1080)))
        win.show()
        win.journey.started = -1e9      # past the "connecting" grace period
        br.start()
        k = Kiosk(qtbot, win, br, bus)
        made.append(k)
        # the simulators come up with the drivers' transports (opened on the bridge's worker / reader thread)
        driver = ports["printer"].driver
        qtbot.waitUntil(lambda: driver.transport is not None, timeout=5000)
        k.printer = driver.transport.simulator
        if "idcard" in ports:   # the adapter makes its reader on the device worker, after the printer opened
            adapter = ports["idcard"]
            qtbot.waitUntil(lambda: adapter.reader is not None and adapter.reader.transport is not None, timeout=5000)
            k.idcard = adapter.reader.transport.simulator
        return k

    yield make
    for k in made:
        k.bridge.stop()
