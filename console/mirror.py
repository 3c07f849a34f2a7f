"""The console's mirror of the hall bus: catalog, windows, staff, zones, alerts, notice, presence, device status,
cases near their deadline and the server's audit feed, kept on the asyncio loop; each change marks the screen
parts it touches for every open live stream. paho's thread only hands messages over."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from hall_bus.payloads import (
    Alert, AlertsState, AuditEvent, CaseEvent, Catalog, DeviceStatus, NoticeState, PayloadError, Presence,
    ServerState, StaffState, WindowState, ZoneState,
)
from hall_bus.loop import call_on_loop
from hall_bus.topics import Topics

log = logging.getLogger("onewindow.console.mirror")

FINAL_CASE = frozenset({"done", "delivered", "refused", "incomplete", "withdrawn", "terminated"})
MAX_ALERTS = 200


class Subscriber(Protocol):
    topics: Topics

    def subscribe(self, topic_filter: str, handler: Any, **kw: Any) -> None: ...


@dataclass(eq=False)
class Stream:
    """One open live page: the parts changed since it last drew, and its wake-up."""
    dirty: set[str] = field(default_factory=set)
    alerts: list[dict[str, Any]] = field(default_factory=list)       # new alerts to announce (sound on red)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Seen:
    state: str
    role: str
    at: float


class Mirror:
    """What the console shows, as the bus last said it."""

    def __init__(self, hall: str, *, presence_timeout_s: int = 30, clock: Callable[[], float] = time.time) -> None:
        self.topics = Topics(hall)
        self.presence_timeout_s = presence_timeout_s
        self.clock = clock
        self.started = clock()
        self.catalog: Catalog | None = None
        self.server: ServerState | None = None
        self.windows: dict[str, WindowState] = {}
        self.staff: dict[str, StaffState] = {}
        self.zones: dict[str, ZoneState] = {}
        self.alerts: dict[str, dict[str, Any]] = {}          # open alerts by id
        self.alerts_from_state = False                       # state/alerts seen: it is the list of open alerts
        self.acked: deque[dict[str, Any]] = deque(maxlen=30)  # recently acknowledged (who and when)
        self.notice = NoticeState()
        self.presence: dict[str, Seen] = {}
        self.devices: dict[tuple[str, str], tuple[DeviceStatus, float]] = {}
        self.cases: dict[str, dict[str, Any]] = {}
        self.audit: deque[dict[str, Any]] = deque(maxlen=200)
        self.bus_up = False
        self.on_alert: Callable[[dict[str, Any]], None] | None = None
        self.on_audit: Callable[[dict[str, Any]], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: set[Stream] = set()

    # ------------------------------------------------------------ feeding
    def attach(self, bus: Subscriber, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        t = bus.topics
        for flt in (t.state_catalog, t.state_server, f"{t.base}/state/window/+", f"{t.base}/state/zone/+",
                    f"{t.base}/state/staff/+", t.state_alerts, t.state_notice, t.event_alert, t.event_case,
                    t.event_audit, t.presence_all, t.device_status_all):
            bus.subscribe(flt, self.feed)
        on_connection = getattr(bus, "on_connection", None)
        if on_connection is not None:
            on_connection(self.connection)

    def connection(self, up: bool) -> None:
        self.feed("", {"_bus": up})

    def feed(self, topic: str, payload: dict[str, Any]) -> None:
        """From any thread: the message is applied on the loop (directly when there is no loop yet or we are on it)."""
        call_on_loop(self._loop, self.apply, topic, payload)

    def apply(self, topic: str, payload: dict[str, Any]) -> None:
        if not topic and "_bus" in payload:
            self.bus_up = bool(payload["_bus"])
            self._mark("status")
            return
        parsed = self.topics.parse(topic)
        if parsed is None:
            return
        try:
            self._apply(parsed.kind, parsed.parts, payload)
        except PayloadError as exc:
            log.warning("dropped message on %s: %s", topic, exc)

    def _apply(self, kind: str, parts: tuple[str, ...], payload: dict[str, Any]) -> None:
        head = parts[0] if parts else ""
        key = parts[1] if len(parts) > 1 else ""
        now = self.clock()
        if kind == "state":
            if head == "catalog":
                self.catalog = Catalog.parse(payload)
                self._mark("all")
            elif head == "server":
                self.server = ServerState.parse(payload)
                self._mark("status")
            elif head == "window" and key:
                self.windows[key] = WindowState.parse(payload)
                self._mark(f"win:{key}")
            elif head == "staff" and key:
                self.staff[key] = StaffState.parse(payload)
                self._mark(f"win:{key}")
            elif head == "zone" and key:
                self.zones[key] = ZoneState.parse(payload)
                self._mark("queues")
            elif head == "alerts":
                self._on_alert_state(AlertsState.parse(payload))
            elif head == "notice":
                self.notice = NoticeState.parse(payload)
                self._mark("notice")
        elif kind == "event":
            if head == "alert":
                self._on_alert(Alert.parse(payload).wire())
            elif head == "case":
                self._on_case(CaseEvent.parse(payload))
            elif head == "audit":
                entry = AuditEvent.parse(payload).wire()
                self.audit.appendleft(entry)
                if self.on_audit is not None:
                    self.on_audit(entry)
                self._mark("audit")
        elif kind == "presence" and head:
            p = Presence.parse(payload)
            self.presence[head] = Seen(p.state, p.role, now)
            self._mark("devices")
        elif kind == "device" and len(parts) >= 3 and parts[2] == "status":
            self.devices[(parts[0], parts[1])] = (DeviceStatus.parse(payload), now)
            self._mark("devices")

    # ------------------------------------------------------------ alerts
    def _on_alert_state(self, state: AlertsState) -> None:
        self.alerts_from_state = True
        fresh = {a.id: a.wire() for a in state.alerts}
        for aid, alert in fresh.items():
            if aid not in self.alerts:
                self._new_alert(alert)
        self.alerts = fresh
        self._mark("alerts")

    def _on_alert(self, alert: dict[str, Any]) -> None:
        if alert.get("acked_at") or alert.get("acked_by"):
            self.alerts.pop(alert["id"], None)
            self.acked.appendleft(alert)
        elif alert["id"] not in self.alerts:
            self.alerts[alert["id"]] = alert
            if len(self.alerts) > MAX_ALERTS:
                oldest = min(self.alerts.values(), key=lambda a: a["ts"])
                self.alerts.pop(oldest["id"], None)
            self._new_alert(alert)
        self._mark("alerts")

    def _new_alert(self, alert: dict[str, Any]) -> None:
        if self.on_alert is not None:
            try:
                self.on_alert(alert)
            except Exception:
                log.exception("alert listener failed")
            self._mark("followup")
        for s in self._streams:
            s.alerts.append(alert)

    def open_alerts(self) -> list[dict[str, Any]]:
        """Open alerts, newest first."""
        return sorted(self.alerts.values(), key=lambda a: a.get("ts", ""), reverse=True)

    # ------------------------------------------------------------ cases
    def set_cases(self, cases: list[dict[str, Any]]) -> None:
        """A fresh case.list answer (cases due soon or overdue)."""
        self.cases = {c["number"]: c for c in cases if c.get("status") not in FINAL_CASE}
        self._mark("cases")

    def _on_case(self, ev: CaseEvent) -> None:
        case = ev.case.wire()
        known = self.cases.get(case["number"])
        if known is None:
            return
        if case["status"] in FINAL_CASE:
            self.cases.pop(case["number"], None)
        else:
            self.cases[case["number"]] = {**known, **case}
        self._mark("cases")

    # ------------------------------------------------------------ devices
    def owner_state(self, owner: str) -> str:
        """online, offline, or unknown (never heard of within the presence timeout since the console started)."""
        seen = self.presence.get(owner)
        if seen is not None:
            return seen.state
        return "unknown" if self.clock() - self.started < self.presence_timeout_s else "offline"

    # ------------------------------------------------------------ streams
    def open_stream(self) -> Stream:
        s = Stream()
        self._streams.add(s)
        return s

    def close_stream(self, s: Stream) -> None:
        self._streams.discard(s)

    def mark(self, part: str) -> None:
        self._mark(part)

    def _mark(self, part: str) -> None:
        for s in self._streams:
            s.dirty.add(part)
            s.wake.set()

    @property
    def online(self) -> bool:
        return self.server is not None and self.server.state == "online"
