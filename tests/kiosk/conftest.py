"""Kiosk test fixtures: a kiosk window on an in-process fake bus and fake printer (GUI tests), helpers to
press buttons by object name."""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from paho.mqtt.client import topic_matches_sub
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from hall_bus import Topics
from kiosk import bridge as bridge_mod
from kiosk.bridge import KioskBridge
from kiosk.config import KioskConfig
from kiosk.model import DeviceHealth, Health, Service, Ticket
from kiosk.sample import sample_catalog
from kiosk.window import KioskWindow

bridge_mod.LOG_EVENTS = False


def make_config(**over: Any) -> KioskConfig:
    base: dict[str, Any] = {"id": "t1", "hall": "daan", "broker": "mqtt://127.0.0.1:1", "hmac_key": "test-key",
                            "idle_timeout_s": 30, "elderly_timeout_s": 60, "request_timeout_s": 2,
                            "status_url": "https://q.example/t/{verify}", "fullscreen": False,
                            "printer": {"url": "sim://printer", "poll_s": 0.2}, "idcard": {"url": ""}}
    base.update(over)
    return KioskConfig.model_validate(base)


class FakeBus:
    """Just enough of hall_bus.BusClient: retained state delivered on start, requests answered by a function."""

    def __init__(self, hall: str = "daan") -> None:
        self.topics = Topics(hall)
        self.connected = False
        self.handlers: list[tuple[str, Callable[[str, dict], None]]] = []
        self.listeners: list[Callable[[bool], None]] = []
        self.published: list[tuple[str, dict, bool]] = []
        self.requests: list[tuple[str, dict]] = []
        self.retained: dict[str, dict] = {
            self.topics.state_catalog: sample_catalog(),
            self.topics.state_server: {"v": 1, "state": "online"},
            self.topics.state_zone("z1"): {"v": 1, "waiting": 4, "serving": 2, "est_wait_s": 300, "last_called": []},
        }
        self.counter = 0
        self.answer: Callable[[str, dict], dict] = self.default_answer
        self.lock = threading.Lock()

    def default_answer(self, op: str, args: dict) -> dict:
        if op == "ticket.get":
            return {"id": "t-1", "number": args.get("number", "A001"), "service": "ss_pension", "zone": "z1",
                    "state": "serving", "window": "w15", "window_name": "15号窗口", "ahead": 0, "verify": "K7Q2"}
        with self.lock:
            self.counter += 1
            n = self.counter
        service = args.get("service", "ss_pension")
        return {"id": f"t-{n}", "number": f"A{n:03d}", "service": service, "zone": "z1", "state": "waiting",
                "channel": args.get("channel", "appointment"), "priority": False, "ahead": 3, "est_wait_s": 420,
                "verify": "K7Q2", "service_name": "养老保险待遇申领", "service_name_en": "Pension benefit claim",
                "issued_at": "2026-11-27T09:41:00+08:00"}

    # BusClient surface
    def start(self) -> "FakeBus":
        self.set_connected(True)
        for topic, payload in list(self.retained.items()):
            self.deliver(topic, payload)
        return self

    def stop(self) -> None:
        self.connected = False

    def on_connection(self, listener: Callable[[bool], None]) -> None:
        self.listeners.append(listener)

    def subscribe(self, topic_filter: str, handler: Callable[[str, dict], None], **_kw: Any) -> None:
        self.handlers.append((topic_filter, handler))

    def publish(self, topic: str, payload: dict, *, retain: bool = False, **_kw: Any) -> None:
        self.published.append((topic, payload, retain))

    def request(self, op: str, args: dict, *, timeout: float = 8.0, **_kw: Any) -> dict:
        self.requests.append((op, args))
        return self.answer(op, args)

    # test controls
    def set_connected(self, up: bool) -> None:
        self.connected = up
        for listener in self.listeners:
            listener(up)

    def deliver(self, topic: str, payload: dict) -> None:
        self.retained[topic] = payload
        for flt, handler in self.handlers:
            if topic_matches_sub(flt, topic):
                handler(topic, payload)

    def server(self, online: bool) -> None:
        self.deliver(self.topics.state_server, {"v": 1, "state": "online" if online else "offline"})

    def status_of(self, device: str) -> dict | None:
        topic = self.topics.device_status(device)
        found = [p for t, p, r in self.published if t == topic and r]
        return found[-1] if found else None


class FakePrinter:
    """A PrinterPort whose state the test sets; records what it printed."""

    def __init__(self) -> None:
        self.state = DeviceHealth("printer", Health.OK)
        self.printed: list[Ticket] = []
        self.checklists: list[Service] = []
        self.fail_next: str | None = None

    def open(self) -> None: ...
    def close(self) -> None: ...

    def health(self) -> DeviceHealth:
        return self.state

    def set(self, state: Health, code: str = "") -> None:
        self.state = DeviceHealth("printer", state, code)

    def print_ticket(self, ticket: Ticket, lang: str, progress: Callable[[float], None]) -> None:
        if self.fail_next:
            code, self.fail_next = self.fail_next, None
            self.set(Health.ERROR, code)
            raise RuntimeError(f"printer: {code}")
        progress(1.0)
        self.printed.append(ticket)

    def print_checklist(self, service: Service, lang: str) -> None:
        self.checklists.append(service)


def shown(w: Any) -> bool:
    """Not hidden on purpose (children added to a visible screen are shown on the next event-loop turn)."""
    while w is not None:
        if w.isHidden() and w.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):
            return False
        w = w.parentWidget()
    return True


class Kiosk:
    """The window under test plus its fakes, with helpers that act like a citizen."""

    def __init__(self, qtbot: Any, window: KioskWindow, bridge: KioskBridge, bus: Any, printer: Any) -> None:
        self.qtbot, self.window, self.bridge, self.bus, self.printer = qtbot, window, bridge, bus, printer

    @property
    def screen(self) -> str:
        return self.window.current

    def button(self, name: str) -> QPushButton:
        w = self.window
        b = w.stack.currentWidget().findChild(QPushButton, name) or w.footer.findChild(QPushButton, name)
        assert b is not None, f"no button {name!r} on screen {w.current!r}"
        return b

    def press(self, name: str) -> None:
        b = self.button(name)
        assert shown(b) and b.isEnabled(), f"button {name!r} on {self.screen!r} cannot be pressed"
        self.qtbot.mouseClick(b, Qt.MouseButton.LeftButton)

    def wait_screen(self, name: str, timeout: int = 5000) -> None:
        self.qtbot.waitUntil(lambda: self.window.current == name, timeout=timeout)

    def text(self, name: str) -> str:
        from PySide6.QtWidgets import QLabel
        lab = self.window.stack.currentWidget().findChild(QLabel, name)
        assert lab is not None, f"no label {name!r} on screen {self.screen!r}"
        return lab.text()

    def all_text(self) -> str:
        from PySide6.QtWidgets import QLabel
        screen = self.window.stack.currentWidget()
        labels = [lab.text() for lab in screen.findChildren(QLabel) if shown(lab)]
        buttons = [b.text() for b in screen.findChildren(QPushButton) if shown(b)]
        return "\n".join(labels + buttons)


@pytest.fixture
def make_kiosk(qtbot: Any) -> Callable[..., Kiosk]:
    made: list[Kiosk] = []

    def make(*, config: KioskConfig | None = None, bus: Any = None, printer: Any = None, portrait: bool = True,
             **ports: Any) -> Kiosk:
        config = config or make_config()
        bus = bus if bus is not None else FakeBus(config.hall)
        printer = printer if printer is not None else FakePrinter()
        br = KioskBridge(config, bus=bus, printer=printer, hmac_key=b"test-key", **ports)
        win = KioskWindow(config, br, portrait=portrait)
        qtbot.addWidget(win)
        win.resize(*((1080, 1920) if portrait else (1920, 1080)))
        win.show()
        win.started = -1e9      # past the "connecting" grace period
        br.start()
        k = Kiosk(qtbot, win, br, bus, printer)
        made.append(k)
        return k

    yield make
    for k in made:
        k.bridge.stop()
