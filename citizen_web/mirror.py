"""The node's mirror of the hall bus: retained state (catalog, guides, zones, queues, windows, calls, notice, server)
kept on the asyncio loop, and the fan-out that wakes the live ticket pages of exactly the tickets a message is
about. paho's thread only hands messages over (`loop.call_soon_threadsafe`); every change happens on the loop."""
from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from hall_bus.payloads import (
    Catalog, CallEvent, CallsState, Guide, PayloadError, QueueState, ServerState, WindowState, ZoneState,
)
from hall_bus.loop import call_on_loop
from hall_bus.topics import Topics

log = logging.getLogger("onewindow.web.mirror")


class Subscriber(Protocol):
    topics: Topics

    def subscribe(self, topic_filter: str, handler: Any, **kw: Any) -> None: ...


@dataclass(eq=False)
class Watcher:
    """One open live ticket page. The mirror fills its pending fields and sets `wake`; the page's own task takes
    them. Kept small: thousands per node."""
    ticket_id: str
    zone: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    queue: tuple[int, int] | None = None       # newest (ahead, est_wait_s) not yet sent
    call: dict[str, Any] | None = None          # a call event for this ticket not yet sent
    refresh: bool = False                       # the ticket's state may have changed: ask the server once
    listed: bool = False                        # was in the zone's queue state last time
    seen: tuple[int, int] | None = None         # its (ahead, est_wait_s) last handed to the page (sent or pending)


class Mirror:
    """Retained state of one hall, as the pages read it, and the watchers of open ticket pages."""

    def __init__(self, hall: str) -> None:
        self.topics = Topics(hall)
        self.catalog: Catalog | None = None
        self.server: ServerState | None = None
        self.guides: dict[str, Guide] = {}
        self.zones: dict[str, ZoneState] = {}
        self.queues: dict[str, QueueState] = {}
        self.windows: dict[str, WindowState] = {}
        self.calls: CallsState = CallsState()
        self.notice: dict[str, str] = {}
        self.ready = threading.Event()          # catalog held and the server online
        self._loop: asyncio.AbstractEventLoop | None = None
        self._by_ticket: dict[str, set[Watcher]] = {}
        self._by_zone: dict[str, set[Watcher]] = {}

    # ------------------------------------------------------------ feeding
    def attach(self, bus: Subscriber, loop: asyncio.AbstractEventLoop) -> None:
        """Subscribe to what the pages need; messages are applied on `loop`."""
        self._loop = loop
        t = bus.topics
        for topic_filter in (f"{t.base}/state/catalog", f"{t.base}/state/server", f"{t.base}/state/guide/+",
                             f"{t.base}/state/zone/+", f"{t.base}/state/queue/+", f"{t.base}/state/window/+",
                             f"{t.base}/state/calls", f"{t.base}/state/notice", t.event_call):
            bus.subscribe(topic_filter, self.feed)

    def feed(self, topic: str, payload: dict[str, Any]) -> None:
        """From any thread: the message is applied on the loop (directly when there is no loop yet or we are on it)."""
        call_on_loop(self._loop, self.apply, topic, payload)

    def apply(self, topic: str, payload: dict[str, Any]) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None:
            return
        try:
            self._apply(parsed.kind, parsed.parts, payload)
        except PayloadError as exc:
            log.warning("dropped message on %s: %s", topic, exc)
        if self.catalog is not None and self.server is not None and self.server.state == "online":
            self.ready.set()

    def _apply(self, kind: str, parts: tuple[str, ...], payload: dict[str, Any]) -> None:
        head = parts[0] if parts else ""
        key = parts[1] if len(parts) > 1 else ""
        if kind == "event" and head == "call":
            self._on_call(CallEvent.parse(payload))
        elif kind != "state":
            return
        elif head == "catalog":
            self.catalog = Catalog.parse(payload)
        elif head == "server":
            self.server = ServerState.parse(payload)
        elif head == "guide" and key:
            self.guides[key] = Guide.parse(payload)
        elif head == "zone" and key:
            self.zones[key] = ZoneState.parse(payload)
        elif head == "queue" and key:
            self._on_queue(key, QueueState.parse(payload))
        elif head == "window" and key:
            self._on_window(key, WindowState.parse(payload))
        elif head == "calls":
            self.calls = CallsState.parse(payload)
        elif head == "notice":
            self.notice = {k: str(payload.get(k) or "") for k in ("zh", "en")}

    # ------------------------------------------------------------ fan-out
    def _on_queue(self, zone: str, state: QueueState) -> None:
        self.queues[zone] = state
        for w in self._by_zone.get(zone, ()):
            entry = state.tickets.get(w.ticket_id)
            if entry is not None:
                figures = (int(entry[0]), int(entry[1]))
                if figures != w.seen:       # the zone's queue is republished for every ticket issued: most pages'
                    w.queue = w.seen = figures      # figures stay the same, and those pages need nothing sent
                    w.wake.set()
            elif w.listed:                  # it left the queue without a call we saw: transferred, cancelled ...
                w.refresh = True
                w.wake.set()
            w.listed = entry is not None

    def _on_call(self, call: CallEvent) -> None:
        self.calls = CallsState(calls=(call, *[c for c in self.calls.calls if c.seq != call.seq])[:10])
        for w in self._by_ticket.get(call.ticket_id, ()):
            w.call = call.wire()
            w.refresh = True
            w.wake.set()

    def _on_window(self, window: str, state: WindowState) -> None:
        before = self.windows.get(window)
        self.windows[window] = state
        old = before.current.id if before and before.current else None
        new = state.current.id if state.current else None
        if old == new:
            return
        for tid in (old, new):              # finished, set aside, or now served here: ask the server what it is
            for w in self._by_ticket.get(tid or "", ()):
                w.refresh = True
                w.wake.set()

    def watch(self, ticket_id: str, zone: str) -> Watcher:
        w = Watcher(ticket_id, zone)
        entry = self.queues.get(zone, QueueState()).tickets.get(ticket_id)
        w.listed = entry is not None
        w.seen = (int(entry[0]), int(entry[1])) if entry is not None else None     # what the page opens with
        self._by_ticket.setdefault(ticket_id, set()).add(w)
        self._by_zone.setdefault(zone, set()).add(w)
        return w

    def move(self, w: Watcher, zone: str) -> None:
        """The ticket was transferred to another zone."""
        if zone == w.zone:
            return
        self._discard(self._by_zone, w.zone, w)
        w.zone = zone
        w.listed = False
        w.seen = None
        self._by_zone.setdefault(zone, set()).add(w)

    def unwatch(self, w: Watcher) -> None:
        self._discard(self._by_ticket, w.ticket_id, w)
        self._discard(self._by_zone, w.zone, w)

    @staticmethod
    def _discard(index: dict[str, set[Watcher]], key: str, w: Watcher) -> None:
        group = index.get(key)
        if group is not None:
            group.discard(w)
            if not group:
                del index[key]

    @property
    def watching(self) -> int:
        return sum(len(g) for g in self._by_ticket.values())

    # ------------------------------------------------------------ reading
    def queue_entry(self, zone: str, ticket_id: str) -> tuple[int, int] | None:
        entry = self.queues.get(zone, QueueState()).tickets.get(ticket_id)
        return (int(entry[0]), int(entry[1])) if entry is not None else None

    @property
    def online(self) -> bool:
        return self.server is not None and self.server.state == "online"
