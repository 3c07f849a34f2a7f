"""Every Qt app's bridge hands bus and device callbacks to the GUI thread: the producer thread (paho's, a
request worker, a device reader) never emits a Qt signal itself. PySide6 can crash when a Python thread emits
while the GUI thread deletes or connects receivers (our CI saw it, see hall_bus.gui_thread)."""
from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Qt

from display_board.bridge import DisplayBridge
from kiosk.bridge import KioskBridge
from kiosk.model import DeviceHealth, Health
from kiosk.sample import sample_catalog
from tests.kiosk.conftest import make_config
from tests.support.fakebus import FakeBus
from window_panel.bridge import PanelBridge

DIRECT = Qt.ConnectionType.DirectConnection


class Threads:
    """Slots that remember on which thread each signal was emitted (a direct connection runs the slot on the
    emitting thread; the apps' own queued connections would hide a foreign emitter)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def slot(self, name: str):
        return lambda *_args: self.seen.append((name, threading.get_ident()))

    def names(self) -> set[str]:
        return {n for n, _ in self.seen}

    def all_on(self, ident: int) -> bool:
        return all(who == ident for _, who in self.seen)


def test_display_bridge_emits_on_the_gui_thread(qtbot):
    bus = FakeBus()
    bridge = DisplayBridge(bus)
    rec = Threads()
    for name in ("catalog", "zone", "calls", "server", "call", "connection"):
        getattr(bridge, name).connect(rec.slot(name), DIRECT)
    bus.set_connected(True)
    bus.deliver(bus.topics.state_catalog, sample_catalog())
    bus.deliver(bus.topics.state_zone("z1"), {"v": 1, "waiting": 1, "serving": 0, "est_wait_s": 60, "last_called": []})
    bus.deliver(bus.topics.state_calls, {"v": 1, "calls": []})
    bus.set_server(True)
    bus.deliver(bus.topics.event_call, {"v": 1, "number": "A001", "window": "w1", "seq": 1, "ticket_id": "t-1",
                                        "ts": "2026-11-27T09:00:00+08:00"}, retain=False)
    qtbot.waitUntil(lambda: rec.names() == {"catalog", "zone", "calls", "server", "call", "connection"}, timeout=3000)
    assert rec.all_on(threading.get_ident())
    bridge.stop()


def test_panel_bridge_emits_replies_and_events_on_the_gui_thread(qtbot):
    bus = FakeBus()
    bridge = PanelBridge(bus, "w15")
    rec = Threads()
    for name in ("window_state", "catalog", "server", "ticket_event", "connection", "reply"):
        getattr(bridge, name).connect(rec.slot(name), DIRECT)
    bus.set_connected(True)
    bus.deliver(bus.topics.state_window("w15"), {"v": 1, "status": "open"})
    bus.deliver(bus.topics.state_catalog, sample_catalog())
    bus.set_server(True)
    bus.deliver(bus.topics.event_ticket, {"v": 1, "action": "hold", "window": "w15", "ts": "2026-11-27T09:00:00+08:00",
                                          "ticket": {"id": "t-1", "number": "A001", "service": "ss_pension", "zone": "z1", "state": "held", "channel": "walk_in", "issued_at": "2026-11-27T09:00:00+08:00"}}, retain=False)
    bridge.request("call", "call_next", {"window": "w15"})
    bus.reply(0, data={"ticket": None})
    qtbot.waitUntil(lambda: len(rec.names()) == 6, timeout=3000)
    assert rec.all_on(threading.get_ident())
    bridge.stop()


def test_kiosk_bridge_emits_device_and_bus_news_on_the_gui_thread(qtbot):
    bus = FakeBus(connect_on_start=True, retained={})
    bridge = KioskBridge(make_config(), bus=bus)
    rec = Threads()
    for name in ("catalogChanged", "connectivityChanged", "deviceChanged", "zoneLoadChanged"):
        getattr(bridge, name).connect(rec.slot(name), DIRECT)
    bridge.start()
    bus.deliver(bus.topics.state_catalog, sample_catalog())
    bus.deliver(bus.topics.state_zone("z1"), {"v": 1, "waiting": 2, "serving": 1, "est_wait_s": 90, "last_called": []})
    reporter = threading.Thread(target=bridge.report_device, args=("idcard", "error", "unplugged"))
    reporter.start()
    reporter.join()
    qtbot.waitUntil(lambda: len(rec.names()) == 4, timeout=3000)
    assert rec.all_on(threading.get_ident())
    assert bridge.health("idcard") == DeviceHealth("idcard", Health.ERROR, "unplugged")
    bridge.stop()


def test_a_stopped_bridge_stops_watching_its_mailbox(qtbot):
    bridge = DisplayBridge(FakeBus())
    notifier = bridge._mailbox._notifier
    assert notifier.isEnabled()
    bridge.stop()
    assert not notifier.isEnabled() and bridge._mailbox.closed    # disabled before its descriptor closed
