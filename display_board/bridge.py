"""The display's one link to the bus: retained state and call events become Qt signals with plain dicts."""
from __future__ import annotations

import logging
from typing import Any, Protocol

from PySide6.QtCore import QObject, QSocketNotifier, Signal

from hall_bus import payloads
from hall_bus.gui_thread import Mailbox

log = logging.getLogger("onewindow.display")


class Bus(Protocol):  # hall_bus.BusClient, or a fake in tests
    topics: Any

    def subscribe(self, topic_filter: str, handler: Any, *, model: Any = None) -> None: ...
    def on_connection(self, listener: Any) -> None: ...
    def start(self) -> Any: ...
    def stop(self) -> None: ...


class DisplayBridge(QObject):
    """Handlers run on paho's thread; they are handed to the GUI thread through a mailbox and the signals are
    emitted there (no other thread calls into Qt, see hall_bus.gui_thread)."""
    catalog = Signal(object)
    zone = Signal(str, object)
    calls = Signal(object)
    server = Signal(object)
    call = Signal(object)
    connection = Signal(bool)

    def __init__(self, bus: Bus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus
        self._mailbox = Mailbox().watch(lambda fd: QSocketNotifier(fd, QSocketNotifier.Type.Read, self))
        post = self._mailbox.call
        t = bus.topics
        self._zone_prefix = t.state_zone("")
        # Every payload is checked against its hall_bus model before the board sees it (a bad one is dropped).
        bus.subscribe(t.state_catalog, lambda _t, p: post(self.catalog.emit, p), model=payloads.Catalog)
        bus.subscribe(t.state_server, lambda _t, p: post(self.server.emit, p), model=payloads.ServerState)
        bus.subscribe(t.state_zone("+"), self._on_zone, model=payloads.ZoneState)
        bus.subscribe(t.state_calls, self._on_calls, model=payloads.CallsState)
        bus.subscribe(t.event_call, lambda _t, p: post(self.call.emit, p), model=payloads.CallEvent)
        bus.on_connection(lambda up: post(self.connection.emit, bool(up)))

    def _on_zone(self, topic: str, payload: dict[str, Any]) -> None:
        self._mailbox.call(self.zone.emit, topic.removeprefix(self._zone_prefix), payload)

    def _on_calls(self, _topic: str, payload: dict[str, Any]) -> None:
        self._mailbox.call(self.calls.emit, payload)

    def start(self) -> None:
        self.bus.start()

    def stop(self) -> None:
        self.bus.stop()
        self._mailbox.close()

    def reread_calls(self) -> None:
        """Subscribing again to the same filter makes the broker re-send the retained state/calls."""
        log.info("gap in event/call seq: re-reading state/calls")
        self.bus.subscribe(self.bus.topics.state_calls, self._on_calls, model=payloads.CallsState)
