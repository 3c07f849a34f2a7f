"""The panel's one link to the bus: retained state, ticket events and request replies as Qt signals with dicts."""
from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import QObject, QSocketNotifier, Signal

from hall_bus import payloads
from hall_bus.gui_thread import Mailbox


class Bus(Protocol):  # hall_bus.BusClient, or a fake in tests
    topics: Any

    def subscribe(self, topic_filter: str, handler: Any, *, model: Any = None) -> None: ...
    def on_connection(self, listener: Any) -> None: ...
    def request_async(self, op: str, args: dict[str, Any], callback: Any, **kw: Any) -> str: ...
    def start(self) -> Any: ...
    def stop(self) -> None: ...


class PanelBridge(QObject):
    """Bus callbacks run on paho's / request worker threads; they are handed to the GUI thread through a
    mailbox and the signals are emitted there (no other thread calls into Qt, see hall_bus.gui_thread)."""
    window_state = Signal(object)
    catalog = Signal(object)
    server = Signal(object)
    ticket_event = Signal(object)
    connection = Signal(bool)
    reply = Signal(str, object)       # (tag of the request, reply envelope)
    guide = Signal(object)            # state/guide/{service}: the materials the case dialogs tick
    staff = Signal(object)            # state/staff/{window}: who is signed in here

    def __init__(self, bus: Bus, window: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus
        self.window = window
        self._mailbox = Mailbox().watch(lambda fd: QSocketNotifier(fd, QSocketNotifier.Type.Read, self))
        post = self._mailbox.call
        t = bus.topics
        # Every payload is checked against its hall_bus model before the panel sees it (a bad one is dropped).
        bus.subscribe(t.state_window(window), lambda _t, p: post(self.window_state.emit, p),
                      model=payloads.WindowState)
        bus.subscribe(t.state_catalog, lambda _t, p: post(self.catalog.emit, p), model=payloads.Catalog)
        bus.subscribe(t.state_server, lambda _t, p: post(self.server.emit, p), model=payloads.ServerState)
        bus.subscribe(t.event_ticket, self._on_ticket_event, model=payloads.TicketEvent)
        bus.subscribe(t.state_guide("+"), lambda _t, p: post(self.guide.emit, p), model=payloads.Guide)
        bus.subscribe(t.state_staff(window), lambda _t, p: post(self.staff.emit, p), model=payloads.StaffState)
        bus.on_connection(lambda up: post(self.connection.emit, bool(up)))

    def _on_ticket_event(self, _topic: str, payload: dict[str, Any]) -> None:
        # {"action": "hold", "ticket": {...}, "window": "w15", "ts": ...}
        ticket = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else payload
        window = payload.get("window") or ticket.get("window")
        if window == self.window:
            self._mailbox.call(self.ticket_event.emit, {**ticket, "window": window})

    def request(self, tag: str, op: str, args: dict[str, Any], *, timeout: float | None = None) -> None:
        """Never blocks: the reply (or a synthetic timeout error) arrives as reply(tag, envelope). With `timeout` the
        request is sent once and waited for that long (staff.sign_in: the server slows repeated bad logins down, and
        a re-send would count as another attempt)."""
        kw = {"timeout": timeout, "attempt": timeout} if timeout else {}
        self.bus.request_async(op, args, lambda env: self._mailbox.call(self.reply.emit, tag, env), **kw)

    def post(self, fn: Any, *args: Any) -> None:
        """Run fn(*args) on the GUI thread (for the printer's and the card reader's threads)."""
        self._mailbox.call(fn, *args)

    def start(self) -> None:
        self.bus.start()

    def stop(self) -> None:
        self.bus.stop()
        self._mailbox.close()
