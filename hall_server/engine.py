"""The allocation engine: tickets, queues, windows and calls of one hall — pure (no I/O, no clock).

Every operation takes `now` (an aware datetime) and returns an `Outcome`: the reply data, the tickets and
windows it changed (for the store) and the events it raised (for the bus). Errors are `HallError`s carrying
the protocol error code. The service layer persists an outcome in one transaction before replying.
"""
from __future__ import annotations

import bisect
import heapq
import random
import secrets
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from hall_bus import payloads as bus
from hall_bus.contract import BusError, ErrorCode
from hall_bus.hall import age_on, call_text, window_in_sentence
from hall_server import booking
from hall_server.config import HallConfig, parse_clock
from hall_server.records import (
    BOOKED, CHECKED_IN, OPEN_STATES, QUEUED, Appointment, Ticket, TicketState, WindowState, WindowStatus,
)
from hall_server.views import _FOREVER, BusViews, _along

VERIFY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: read aloud and typed by citizens
RECENT_CALLS = 10
SERVICE_TIME_SAMPLES = 20
SERVICE_TIME_ALPHA = 0.2      # the weight of one finished ticket in its service's smoothed service time
SERVICE_TIME_CLAMP = 3.0      # one service time counts as at most 3x and at least 1/3 of the configured average
MAX_COUNTER = 999


class HallError(BusError):
    """A request the hall cannot serve (carries the protocol error code)."""


@dataclass
class _Replay:
    """The calls replayed for the estimates (Engine._replay_afresh): seconds of calling time from now."""
    start: dict[str, float]              # waiting ticket id -> when a window calls it
    free: dict[str, float]               # window taking part -> when it has called every ticket it may call
    callers: dict[str, list[str]]        # service -> the windows taking part that call it
    avg: dict[str, float]                # service -> the smoothed service time the replay used


class _ServiceTimes(dict):
    """service -> smoothed service time, filled on first use (a replay needs the services that have tickets, not all
    121); kept with the replay, which is dropped whenever a service time changes."""

    def __init__(self, lookup: Callable[[str], float]) -> None:
        super().__init__()
        self._lookup = lookup

    def __missing__(self, service: str) -> float:
        try:
            value = self._lookup(service)
        except KeyError:            # a service no longer in hall.toml (its tickets are being cancelled)
            value = 0.0
        self[service] = value
        return value


@dataclass
class Event:
    kind: str                       # "call" | "ticket" | "alert" | "alert_ack" | "alert_clear" | "audit" | "reprint"
    payload: dict[str, Any]         # the wire form of a CallEvent, TicketEvent, Alert, AuditEvent... (hall_bus.payloads)
    to: str | None = None           # the addressee of a per-client event (reprint: the kiosk's client id)


@dataclass
class Outcome:
    data: dict[str, Any] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)      # changed tickets by id
    windows: set[str] = field(default_factory=set)                # window ids whose own state changed
    publish_windows: set[str] = field(default_factory=set)        # windows whose waiting count may have changed
    zones: set[str] = field(default_factory=set)                  # zones whose public state changed
    events: list[Event] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)     # call events (also in events)
    appointments: list[Appointment] = field(default_factory=list)
    rollover: date | None = None                                  # a new business day started
    cases: dict[str, Any] = field(default_factory=dict)           # changed cases (hall_server.cases.Case) by number
    sms: list[dict[str, Any]] = field(default_factory=list)       # SMS outbox rows {kind, ref, phone, text, at}
    staff: set[str] = field(default_factory=set)                  # windows whose signed-in staff member changed
    notice: dict[str, str] | None = None                          # the display ticker's line, set (notice.set)

    @property
    def stores(self) -> bool:
        """Whether this outcome changes anything that must be committed before its reply goes out."""
        return bool(self.tickets or self.windows or self.events or self.appointments or self.cases or self.sms
                    or self.notice is not None)

    def touch(self, t: Ticket) -> None:
        self.tickets[t.id] = t
        self.zones.add(t.zone)


class Engine(BusViews):
    """All queue state of one hall for the current business day."""

    def __init__(self, config: HallConfig, *, rng: random.Random | None = None,
                 new_token: Callable[[], str] | None = None) -> None:
        self.config = config
        self.tz = ZoneInfo(config.hall.timezone)
        self.rng = rng or random.Random()
        # Tokens open a ticket's page to whoever holds them: cryptographic randomness (128 bits), never self.rng.
        self.new_token = new_token or (lambda: secrets.token_urlsafe(16))
        self.day: date | None = None
        self.tickets: dict[str, Ticket] = {}
        self.orphans = Outcome()     # what restore() cancelled because the configuration no longer has it
        self.by_number: dict[str, str] = {}
        self.by_verify: dict[str, str] = {}
        self.by_token: dict[str, str] = {}
        self.by_holder: dict[str, list[str]] = {}   # ID-card holder ref -> today's ticket ids (duplicate check)
        self.counters: dict[str, int] = {}
        self.issued_per_service: dict[str, int] = {}
        # per service: waiting ticket sort keys (priority, issued_at, seq, prefix) -> ticket id, kept sorted
        self.queues: dict[str, list[tuple[tuple[int, datetime, int, str], str]]] = {s.id: [] for s in config.services}
        self.windows: dict[str, WindowState] = {w.id: WindowState(w.id) for w in config.windows}
        self.call_seq = 0
        self.recent_calls: deque[dict[str, Any]] = deque(maxlen=RECENT_CALLS)
        self.last_call: dict[str, datetime] = {}  # window -> when it last called (or recalled): repeats recall
        self.service_times: dict[str, deque[float]] = {s.id: deque(maxlen=SERVICE_TIME_SAMPLES) for s in config.services}
        # service -> its smoothed service time (see _record_service_time); none yet: the configured avg_service_s
        self.service_ewma: dict[str, float] = {}
        self.clock: datetime | None = None         # the latest operation's `now`: the views' estimates count from it
        self._replay_cache: _Replay | None = None  # the calls replayed for the estimates (see _replay)
        self._last_issued_at: datetime | None = None   # the latest issue time today: issue times never tie
        self._period_issued: dict[tuple[str, int], int] | None = None   # (service, hours period) -> issued today
        self._reserved_period: dict[tuple[str, int], int] = {}          # (service, period) -> bookings not checked in
        self.appointments: dict[str, Appointment] = {}
        self._reserved: dict[str, int] | None = None   # service -> today's web bookings not checked in (see below)
        self._checkins: dict[str, list[str]] | None = None   # holder ref -> ticket ids of today's booking check-ins
        self.requeue_keys: dict[str, tuple[int, datetime, int, str]] = {}   # requeued no-shows: their place in line
        self.requeued: set[str] = set()           # ids of requeued no-shows waiting again ([calling] no_show requeue)
        self.directed: dict[str, set[str]] = {}   # window -> queued tickets transferred to it by name
        self.held: set[str] = set()               # ids of held (挂起) tickets
        self.no_shows: set[str] = set()           # ids of no-show (过号) tickets, callable back until the day ends
        # window -> services it calls from (config), and service -> windows
        self.window_services = {w.id: list(w.services) for w in config.windows}
        self._services_of_zone: dict[str, list[str]] = {}
        # zone -> (ticket id -> (ahead, est_wait_s), tickets not listed): state/queue as last computed. A plain issue
        # only appends to it; every other change to queues, windows or service times drops it (see _queues_moved).
        self._queue_cache: dict[str, tuple[dict[str, tuple[int, int]], int, int]] = {}   # + the largest ahead listed
        self.service_windows: dict[str, list[str]] = {s.id: [] for s in config.services}
        for w in config.windows:
            for s in w.services:
                self.service_windows[s].append(w.id)

    def reconfigure(self, config: HallConfig) -> None:
        """A reloaded config of the same hall (same ids and structure: the service checks that): texts, quotas,
        hours, rules and default service times apply from the next operation."""
        self.config = config
        self._services_of_zone.clear()
        self._period_issued = None      # hours or period quotas may have changed
        self._bookings_moved()
        self._queues_moved()

    # ------------------------------------------------------------------ restore
    def restore(self, day: date, tickets: Iterable[Ticket], windows: Iterable[WindowState],
                calls: Iterable[dict[str, Any]], appointments: Iterable[Appointment] = (),
                now: datetime | None = None) -> None:
        """Rebuild today's state from the store (tickets of `day`, window states, today's call events). Open tickets
        of a service, or held or served at a window, that the configuration no longer has are cancelled (with the
        reason); `self.orphans` holds those changes and their events for the service to store, publish and alert."""
        self._reset_day(day)
        self.orphans = Outcome()
        when = now or datetime.combine(day, datetime.min.time(), self.tz)
        self.clock = when
        for t in sorted(tickets, key=lambda t: (t.issued_at, t.seq)):
            self._adopt(t, when)
            self._index(t, appended=False)
        for t in list(self.tickets.values()):
            if t.state is TicketState.WAITING and t.finished_at is not None and t.service in self.queues:
                self._dequeue(t)            # a requeued no_show: back to its place behind the tickets after it
                self._requeue(t)
        for w in windows:
            if w.id in self.windows:
                if w.current and (w.current not in self.tickets
                                  or self.tickets[w.current].state is not TicketState.SERVING):
                    w.current = None               # its ticket was cancelled with its removed service
                    self.orphans.windows.add(w.id)
                self.windows[w.id] = w
        for c in calls:
            self.call_seq = max(self.call_seq, int(c["seq"]))
            self.recent_calls.appendleft(c)
            at = datetime.fromisoformat(c["ts"])
            if c.get("window") and (c["window"] not in self.last_call or at > self.last_call[c["window"]]):
                self.last_call[c["window"]] = at
        for a in appointments:
            self.appointments[a.code] = a
        self._bookings_moved()
        self._period_issued = None      # counted afresh with the appointments known (a check-in counts in its slot's)
        for t in sorted(self.tickets.values(), key=lambda t: t.finished_at or t.issued_at):
            if t.state is TicketState.DONE and t.called_at and t.finished_at and t.service in self.service_times:
                self._record_service_time(t.service, (t.finished_at - t.called_at).total_seconds())
        self._queues_moved()

    def raise_counters(self, marks: dict[str, int]) -> dict[str, tuple[int, int]]:
        """Numbers already given out today by the side file's marks: the counters never go below them (a store
        that lost tickets must not issue those numbers again). Returns prefix -> (restored, mark) where the mark
        was higher."""
        lost = {}
        for prefix, mark in marks.items():
            have = self.counters.get(prefix, 0)
            if mark > have:
                lost[prefix] = (have, mark)
                self.counters[prefix] = mark
        return lost

    def _adopt(self, t: Ticket, now: datetime) -> None:
        """A stored ticket under today's configuration: an open one whose service, or whose holding or serving
        window, was removed from hall.toml is cancelled; a named transfer to a removed window waits for its
        service's windows instead."""
        if t.state not in OPEN_STATES and t.state is not TicketState.NO_SHOW:
            return
        if t.to_window and t.to_window not in self.windows:
            t.to_window = None
            self.orphans.touch(t)
        why = None
        if t.service not in self.config.services_by_id:
            why = f"service {t.service} was removed from the configuration"
        elif t.state in (TicketState.SERVING, TicketState.HELD) and t.window and t.window not in self.windows:
            why = f"window {t.window} was removed from the configuration"
        if why is None:
            return
        t.state = TicketState.CANCELLED
        t.finished_at = self.local(now)
        self.orphans.tickets[t.id] = t
        if t.zone in self.config.zones_by_id:
            self.orphans.zones.add(t.zone)
        self.orphans.events.append(Event("ticket", bus.TicketEvent(
            action="cancel", ticket=self._summary(t), window=t.window, ts=self.local(now).isoformat(),
            reason=why).wire()))

    def _reset_day(self, day: date) -> None:
        self.day = day
        self.tickets.clear()
        self.by_number.clear()
        self.by_verify.clear()
        self.by_token.clear()
        self.by_holder.clear()
        self.counters.clear()
        self.issued_per_service.clear()
        self._period_issued = None
        for q in self.queues.values():
            q.clear()
        self.directed.clear()
        self.held.clear()
        self.no_shows.clear()
        self.requeue_keys.clear()
        self.requeued.clear()
        self.call_seq = 0
        self.recent_calls.clear()
        self.last_call.clear()
        self._queues_moved()

    def _index(self, t: Ticket, *, appended: bool) -> None:
        self.tickets[t.id] = t
        if self._last_issued_at is None or t.issued_at > self._last_issued_at:
            self._last_issued_at = t.issued_at
        self.by_number[t.number] = t.id
        self.by_verify[t.verify] = t.id
        if t.token:
            self.by_token[t.token] = t.id
        if t.holder_ref:
            self.by_holder.setdefault(t.holder_ref, []).append(t.id)
        self.counters[t.prefix] = max(self.counters.get(t.prefix, 0), t.seq)
        quota_service = t.issued_for or t.service
        self.issued_per_service[quota_service] = self.issued_per_service.get(quota_service, 0) + 1
        if self._period_issued is not None:
            self._count_in_period(t)
        if t.state in QUEUED:
            self._enqueue(t, appended=appended)
        elif t.state is TicketState.HELD:
            self.held.add(t.id)
        elif t.state is TicketState.NO_SHOW and self.config.calling.no_show == "manual":
            self.no_shows.add(t.id)     # callable back by number (the other rules make a no_show final)

    # ------------------------------------------------------------------ time
    def business_day(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)

    def roll(self, now: datetime, out: Outcome) -> None:
        """Start a new business day when `now` is past the current one: leftovers expire, counters restart."""
        self.clock = now
        today = self.business_day(now)
        if self.day == today:
            return
        if self.day is not None and today < self.day:
            return      # the business day only moves forward: a clock behind it keeps the day (the service alerts)
        if self.day is not None:
            for t in self.tickets.values():
                if t.state in OPEN_STATES:
                    t.state = TicketState.EXPIRED
                    t.finished_at = self.local(now)
                    out.touch(t)
                    out.events.append(self._ticket_event(t, "expire", now))
            for w in self.windows.values():
                if w.signed_in:                # a new business day starts with nobody signed in
                    w.signed_in = None
                    w.signed_in_at = None
                    out.windows.add(w.id)
                    out.staff.add(w.id)
                if w.current or w.status is not WindowStatus.CLOSED:
                    w.current = None
                    w.last_finished = None
                    w.status = WindowStatus.CLOSED
                    w.reason = None
                    w.since = now
                    w.alerted = False
                    out.windows.add(w.id)
            out.zones.update(z.id for z in self.config.zones)
            out.rollover = today
        # bookings of the days gone by that nobody checked in: no_show (the no-show rule counts them per holder)
        out.appointments.extend(booking.mark_no_shows(self.appointments.values(), today, self.local(now)))
        kept_appointments = {c: a for c, a in self.appointments.items() if a.day >= today}
        self._reset_day(today)
        self.appointments = kept_appointments
        self._bookings_moved()

    def is_issuing(self, now: datetime, open_all_day: bool) -> bool:
        return self.closed_why(now, open_all_day) is None

    def closed_why(self, now: datetime, open_all_day: bool) -> tuple[str, str] | None:
        """Why no number is issued at `now` (English, Chinese), or None when issuing. The day comes from the hall
        calendar (statutory holidays closed, 调休 weekend days open, [issuing] closed_days / extra_days), the time
        from `[issuing] hours`; `--open-all-day` ignores both."""
        if open_all_day:
            return None
        local = self.local(now)
        hours = ", ".join(f"{a}-{b}" for a, b in self.config.issuing.hours)
        day = booking.day_closed(self.config.hall_calendar, local.date())
        if day is not None:
            zh, en = day
            return (f"no numbers are issued today ({en}); numbers are issued {hours} on the hall's working days",
                    f"今日不取号（{zh}），取号时间为工作日 {hours}")
        clock = local.time()
        if any(parse_clock(a) <= clock < parse_clock(b) for a, b in self.config.issuing.hours):
            return None
        return f"numbers are issued {hours} on working days", f"取号时间为工作日 {hours}"

    # ------------------------------------------------------------------ queues
    def _enqueue(self, t: Ticket, *, appended: bool = False) -> None:
        """Queue t. `appended`: a ticket just issued, which no one waiting has to let ahead unless it is a priority
        ticket (it sorts after every waiting one of its class, in every window's merge)."""
        bisect.insort(self.queues[t.service], (self._key(t), t.id))
        if t.to_window:
            self.directed.setdefault(t.to_window, set()).add(t.id)
        if appended and not t.priority and self._after_every_directed(t) and self._sorts_last(t):
            self._replay_append(t)
            self._queue_append(t)
        else:
            self._queues_moved()

    def _key(self, t: Ticket) -> tuple[int, datetime, int, str]:
        """t's place in its queue: its own sort key, or the place it was requeued to after a no_show."""
        return self.requeue_keys.get(t.id) or t.sort_key()

    def _directed_tickets(self) -> Iterable[tuple[str, Ticket]]:
        """(target window, ticket) of every queued ticket transferred to a window by name (few at any time)."""
        for target, ids in self.directed.items():
            for tid in ids:
                yield target, self.tickets[tid]

    def _after_every_directed(self, t: Ticket) -> bool:
        key = (self._key(t), t.id)
        return all((self._key(d), d.id) < key for _w, d in self._directed_tickets() if d.id != t.id)

    def _queues_moved(self) -> None:
        """Who waits where, which windows are open or how long a service takes has changed: every zone's
        state/queue and the replay behind the estimates are computed afresh when next asked for."""
        self._queue_cache.clear()
        self._replay_cache = None

    def _dequeue(self, t: Ticket) -> None:
        self._queues_moved()
        q = self.queues[t.service]
        i = bisect.bisect_left(q, (self._key(t), t.id))
        if i < len(q) and q[i][1] == t.id:
            del q[i]
        if t.to_window:
            self.directed.get(t.to_window, set()).discard(t.id)

    def _callable_for(self, window: str, t: Ticket) -> bool:
        return t.to_window is None or t.to_window == window

    def next_for(self, window: str) -> Ticket | None:
        """The ticket this window calls next: priority class, then issue time, over its services,
        plus tickets transferred to this window by name."""
        best: tuple[Any, str] | None = None
        for sid in self.window_services[window]:
            for key, tid in self.queues[sid]:
                t = self.tickets[tid]
                if self._callable_for(window, t):
                    if best is None or (key, tid) < best:
                        best = (key, tid)
                    break
        for tid in self.directed.get(window, ()):   # transferred to this window by name
            cand = (self._key(self.tickets[tid]), tid)
            if best is None or cand < best:
                best = cand
        return self.tickets[best[1]] if best else None

    def ahead_of(self, t: Ticket) -> int:
        """Tickets that will be called before this one. A window calls the earliest ticket (priority class, then
        issue time) over all the services it serves plus the tickets transferred to it by name, so before it
        reaches `t` it calls every earlier one of those; `t` goes to whichever of its windows gets there first.
        `ahead` is therefore the smallest such count over the windows that can call it: the open ones, or all
        of them before the hall opens. (A window serving only t's service gives t's place in its own queue.)"""
        if t.state not in QUEUED:
            return 0
        key = (self._key(t), t.id)
        # named transfers ahead of t (few): each counts only at its own window, whatever queue it sits in
        directed = [(target, d) for target, d in self._directed_tickets() if (self._key(d), d.id) < key]
        windows = self._windows_that_may_call(t)
        if not windows:                        # a service no window serves: its own queue is all there is
            return bisect.bisect_left(self.queues[t.service], key)
        best: int | None = None
        for w in windows:
            services = self.window_services[w]
            n = sum(bisect.bisect_left(self.queues[sid], key) for sid in services)
            for target, d in directed:         # bisect counted those of w's services; correct for the named ones
                inside = d.service in services
                n += (target == w and not inside) - (target != w and inside)
            best = n if best is None else min(best, n)
            if best == 0:
                break
        return best or 0

    def _windows_that_may_call(self, t: Ticket) -> list[str]:
        if t.to_window:
            return [t.to_window]
        windows = self.service_windows.get(t.service, [])
        open_now = [w for w in windows if self.windows[w].status is WindowStatus.OPEN]
        return open_now or windows

    def avg_service_s(self, service: str) -> float:
        """The service's smoothed service time: an exponentially weighted average of its finished tickets, seeded by
        the configured avg_service_s (so one quick or slow finish moves it a little, never to that one time)."""
        ewma = self.service_ewma.get(service)
        return ewma if ewma is not None else float(self.config.services_by_id[service].avg_service_s)

    def _record_service_time(self, service: str, seconds: float) -> None:
        """A finished ticket's service time: kept (the last SERVICE_TIME_SAMPLES) and folded into the smoothed
        average with weight SERVICE_TIME_ALPHA, clamped to [avg/3, 3 x avg] of the configured avg_service_s."""
        self.service_times[service].append(seconds)
        base = float(self.config.services_by_id[service].avg_service_s)
        x = min(max(seconds, base / SERVICE_TIME_CLAMP), base * SERVICE_TIME_CLAMP)
        current = self.service_ewma.get(service, base)
        self.service_ewma[service] = current + SERVICE_TIME_ALPHA * (x - current)

    def open_windows_for(self, service: str) -> int:
        return sum(1 for w in self.service_windows[service] if self.windows[w].status is WindowStatus.OPEN)

    # ------------------------------------------------------------------ estimates
    # est_wait_s replays the calls: every window that may call calls the earliest ticket it may call as soon as it is
    # free, each ticket taking its service's smoothed time (avg_service_s). A window serving several services spends
    # its time on all of them, so a service's windows are not each counted in full for every service they serve. The
    # replay gives calling time from now; the hall's hours turn that into time on the clock (_on_the_clock).
    def _replay(self) -> _Replay:
        """The replay of today's queues as they stand (kept until the queues, windows or service times change)."""
        if self._replay_cache is None:
            self._replay_cache = self._replay_afresh()
        return self._replay_cache

    def _replay_afresh(self) -> _Replay:
        """Windows that take part: the open ones, with all their services; one that is not open only for those of its
        services that no open window serves (before opening: every window of hall.toml, for all of them), and for the
        tickets transferred to it by name. A free window starts now; the busy ones free up in the order they called
        their current ticket, evenly over its service time: with k busy, after 1/(k+1), 2/(k+1) ... k/(k+1) of it
        (one busy window: half of it, the ticket under way being half done on average)."""
        avg = _ServiceTimes(self.avg_service_s)          # each service's smoothed time, looked up when first needed
        open_windows = [wid for wid, w in self.windows.items() if w.status is WindowStatus.OPEN]
        served = {s for wid in open_windows for s in self.window_services.get(wid, ())}
        callers: dict[str, tuple[str, ...]] = {}
        for wid, services in self.window_services.items():
            is_open = self.windows[wid].status is WindowStatus.OPEN
            callers[wid] = services if is_open else tuple(s for s in services if s not in served)
        directed: dict[str, list[tuple[Any, str]]] = {}
        for target, d in self._directed_tickets():
            directed.setdefault(target, []).append((self._key(d), d.id))
        named = {tid for items in directed.values() for _k, tid in items}
        for items in directed.values():
            items.sort()
        queues = {s: [item for item in q if item[1] not in named] if named else q for s, q in self.queues.items()}
        taking_part = [w for w in self.windows if callers.get(w) or directed.get(w)]
        busy = sorted((self.tickets[self.windows[w].current].called_at or datetime.min.replace(tzinfo=self.tz), w)
                      for w in taking_part if self.windows[w].current in self.tickets)
        heap: list[tuple[float, str]] = [(0.0, w) for w in taking_part if self.windows[w].current not in self.tickets]
        for rank, (_called, w) in enumerate(busy, 1):
            current = self.tickets[self.windows[w].current]
            heap.append((avg[current.service] * rank / (len(busy) + 1), w))
        heapq.heapify(heap)
        at = {s: 0 for s in queues}
        at_named = {w: 0 for w in directed}
        start: dict[str, float] = {}
        free: dict[str, float] = {}
        while heap:
            f, w = heapq.heappop(heap)
            best, where = None, None
            for s in callers.get(w, ()):
                q, i = queues[s], at[s]
                if i < len(q) and (best is None or q[i] < best):
                    best, where = q[i], s
            mine = directed.get(w)
            if mine and at_named[w] < len(mine) and (best is None or mine[at_named[w]] < best):
                best, where = mine[at_named[w]], None
            if best is None:
                free[w] = f                  # nothing more for this window
                continue
            if where is None:
                at_named[w] += 1
            else:
                at[where] += 1
            tid = best[1]
            start[tid] = f
            heapq.heappush(heap, (f + avg[self.tickets[tid].service], w))
        by_service: dict[str, list[str]] = {}
        for w in taking_part:
            for s in callers.get(w, ()):
                by_service.setdefault(s, []).append(w)
        return _Replay(start, free, {s: sorted(ws) for s, ws in by_service.items()}, avg)

    def _replay_append(self, t: Ticket) -> None:
        """A ticket just issued, after every ticket its windows may call: the first of its windows to run out of
        earlier tickets calls it (what the replay afresh would give), so the kept replay takes it in place."""
        r = self._replay_cache
        if r is None:
            return
        windows = r.callers.get(t.service)
        if not windows:
            self._replay_cache = None
            return
        w = min(windows, key=lambda w: (r.free[w], w))
        r.start[t.id] = r.free[w]
        r.free[w] += r.avg[t.service]

    def calling_s(self, t: Ticket) -> float:
        """Calling time (the hall's hours, from now) until t is called, by the replay."""
        r = self._replay()
        got = r.start.get(t.id)
        return got if got is not None else self.ahead_of(t) * self.avg_service_s(t.service)

    def calling_new_s(self, service: str) -> float:
        """Calling time until a ticket of `service` issued now would be called."""
        r = self._replay()
        windows = r.callers.get(service)
        if not windows:
            return len(self.queues[service]) * self.avg_service_s(service)
        return min(r.free[w] for w in windows)

    def open_for(self, t: Ticket) -> bool:
        """Whether a window that may call t is open now."""
        return any(self.windows[w].status is WindowStatus.OPEN for w in self._windows_that_may_call(t))

    def est_wait_s(self, t: Ticket, now: datetime | None = None) -> int:
        """The ticket's estimated wait: its calling time by the replay, on the clock (`now`: the latest operation's)."""
        return int(round(self._on_the_clock(self.calling_s(t), self.open_for(t), now)))

    def est_new_s(self, service: str, now: datetime | None = None) -> int:
        """The estimated wait of a ticket of `service` issued now."""
        return int(round(self._on_the_clock(self.calling_new_s(service), self.open_windows_for(service) > 0, now)))

    def _on_the_clock(self, seconds: float, open_now: bool, now: datetime | None = None) -> float:
        return _along(self._calling_spans(now, open_now), seconds)

    def _calling_spans(self, now: datetime | None, open_now: bool) -> list[tuple[float, float]]:
        """When the windows call, in seconds from `now` (default: the latest operation's time): the periods of
        `[issuing] hours` still to come today, the last one without end (the windows serve who is left after it). The
        time before the next period (before opening, over lunch) is skipped, unless a window that may call is open
        now: then it is taken to go on calling until the period starts."""
        now = now or self.clock
        if now is None:
            return [(0.0, _FOREVER)]
        local = self.local(now)
        hours = self.config.issuing.hours
        spans: list[tuple[float, float]] = []
        for i, (a, b) in enumerate(hours):
            end = _FOREVER if i == len(hours) - 1 else \
                (datetime.combine(local.date(), parse_clock(b), self.tz) - local).total_seconds()
            if end <= 0:
                continue
            begin = max(0.0, (datetime.combine(local.date(), parse_clock(a), self.tz) - local).total_seconds())
            if open_now and not spans:
                begin = 0.0
            spans.append((begin, end))
        return spans

    # ------------------------------------------------------------------ lookups
    def _window(self, wid: str) -> WindowState:
        w = self.windows.get(wid)
        if w is None:
            raise HallError(ErrorCode.UNKNOWN_WINDOW, f"no window {wid!r}")
        return w

    def find(self, *, ticket_id: str | None = None, number: str | None = None,
             verify: str | None = None, token: str | None = None) -> Ticket:
        tid = ticket_id or (self.by_number.get(number) if number else None) or \
            (self.by_verify.get(verify.upper()) if verify else None) or \
            (self.by_token.get(token) if token else None)
        t = self.tickets.get(tid) if tid else None
        if t is None:
            what = ticket_id or number or verify or ("(token)" if token else None)   # a token is never logged
            raise HallError(ErrorCode.UNKNOWN_TICKET, f"no ticket {what!r} today")
        return t

    # ------------------------------------------------------------------ events
    def _ticket_event(self, t: Ticket, action: str, now: datetime, **extra: Any) -> Event:
        return Event("ticket", bus.TicketEvent(action=action, ticket=self._summary(t), window=t.window,
                                               ts=self.local(now).isoformat(), **extra).wire())

    def _alert(self, now: datetime, kind: str, level: str, target: str, text_zh: str, text_en: str,
               **detail: Any) -> Event:
        """A supervision alert (PROTOCOL part 2), its id unique in the hall: kind, target and when it was raised."""
        return Event("alert", bus.Alert(id=f"{kind}-{target}-{self.local(now):%Y%m%d%H%M%S}", level=level, kind=kind,
                                        target=target, text_zh=text_zh, text_en=text_en,
                                        ts=self.local(now).isoformat(), **detail).wire())

    def _call_event(self, t: Ticket, window: str, now: datetime, recall: bool, out: Outcome) -> None:
        self.call_seq += 1
        cfg = self.config.windows_by_id[window]
        ev = bus.CallEvent(
            seq=self.call_seq, ticket_id=t.id, number=t.number, window=window, window_name=cfg.name,
            window_name_en=cfg.name_en, zone=t.zone, service=t.service, recall=recall,
            text_zh=call_text(t.number, window_in_sentence(cfg.name, cfg.name_en, window, "zh"), "zh", recall=recall),
            text_en=call_text(t.number, window_in_sentence(cfg.name, cfg.name_en, window, "en"), "en", recall=recall),
            ts=self.local(now).isoformat()).wire()
        self.recent_calls.appendleft(ev)
        self.last_call[window] = now
        out.calls.append(ev)
        out.events.append(Event("call", ev))
        out.zones.add(t.zone)

    # ------------------------------------------------------------------ operations
    def issue(self, now: datetime, service: str, channel: str, holder: dict[str, Any] | None = None, *,
              open_all_day: bool = False, appointment: Appointment | None = None,
              issued_by: str | None = None, green: bool = False, actor: str | None = None) -> Outcome:
        """`ticket.issue`. green: the green channel (绿色通道) of a console's staff ticket — called before every
        other ticket; actor: the console user who issued it."""
        out = Outcome()
        self.roll(now, out)
        svc = self.config.services_by_id.get(service)
        if svc is None:
            raise HallError(ErrorCode.UNKNOWN_SERVICE, f"no service {service!r}")
        why = self.closed_why(now, open_all_day)
        if why is not None:
            raise HallError(ErrorCode.CLOSED, *why)
        reserved = 0 if appointment is not None else self._seats_booked(service, self.day or self.business_day(now))
        if self.issued_per_service.get(service, 0) + reserved >= svc.daily_quota:
            raise HallError(ErrorCode.QUOTA_EXHAUSTED, f"today's {svc.daily_quota} numbers for {service} are all taken",
                            f"“{svc.name}”今日{svc.daily_quota}个号已取完，请改日或网上预约办理")
        self._check_period_quota(svc, now, appointment)
        seq = self.counters.get(svc.prefix, 0) + 1
        if seq > MAX_COUNTER:
            raise HallError(ErrorCode.QUOTA_EXHAUSTED, f"prefix {svc.prefix} has used all {MAX_COUNTER} numbers today",
                            f"{svc.prefix}类号今日已全部发完")
        if svc.id_required and holder is None and channel in ("walk_in", "id_card"):
            raise HallError(ErrorCode.ID_REQUIRED, f"{service} needs the holder's ID card",
                            f"“{svc.name}”需要刷身份证取号")
        ref = holder.get("ref") if holder else None
        if ref:
            for t in (self.tickets[tid] for tid in self.by_holder.get(ref, ())):
                if t.service == service and t.state in OPEN_STATES:
                    raise HallError(ErrorCode.DUPLICATE_HOLDER,
                                    f"this person already holds {t.number} for {service}",
                                    f"您已取得{t.number}号，正在等候此项业务，请勿重复取号")
            cap = self.config.issuing.holder_daily_cap
            if cap and appointment is None and self.holder_tickets_today(ref) >= cap:
                raise HallError(ErrorCode.HOLDER_CAP,
                                f"this person has taken {cap} numbers today: the hall issues at most {cap} a day "
                                "to one person",
                                f"您今天已取号{cap}次，本大厅每人每天最多取号{cap}次，请明天再来或网上预约")
        priority = False
        birth = holder.get("birth_date") if holder else None
        if birth:
            priority = (age_on(birth, self.business_day(now)) or 0) >= self.config.priority.age
        if appointment is not None and self.config.priority.appointment:
            priority = True
        if green:
            priority = True
        day = self.day or self.business_day(now)
        number = f"{svc.prefix}{seq:03d}"
        verify = self._new_verify()
        t = Ticket(id=f"{day:%Y%m%d}{number}{self.rng.getrandbits(24):06x}", day=day, number=number,
                   prefix=svc.prefix, seq=seq, service=service, zone=svc.zone, channel=channel, priority=priority,
                   issued_at=self._issue_time(now), verify=verify, holder_ref=ref, birth_date=birth,
                   display_name=(holder or {}).get("display_name"),
                   appointment=appointment.code if appointment else None, issued_for=service,
                   token=self._new_token(), issued_by=issued_by, green=green, actor=actor)
        self._index(t, appended=True)
        out.touch(t)
        if appointment is not None:
            appointment.ticket_id = t.id
            appointment.status = CHECKED_IN
            appointment.changed_at = self.local(now)
            self._bookings_moved()
            out.appointments.append(appointment)
        out.events.append(self._ticket_event(t, "issue", now))
        out.publish_windows.update(self.service_windows[service])
        out.data = self.ticket_view(t, with_holder=True)
        return out

    def _issue_time(self, now: datetime) -> datetime:
        """The new ticket's issue time: `now`, or a microsecond after the latest one when that is not earlier. The
        requests of one batch share their `now`; in the order they were taken they are issued, so a ticket just issued
        sorts after every waiting one and joins the kept queue views and estimate replay in place (without this, a
        batch's tickets tied on time and fell back on their numbers, and each issue recomputed the replay: a hall
        with thousands waiting before opening slowed from about 440 to 140 tickets/s). A clock stepped back by
        more than a second is left as it is (the views compute afresh)."""
        at = self.local(now)
        last = self._last_issued_at
        if last is not None and at <= last < at + timedelta(seconds=1):
            at = last + timedelta(microseconds=1)
        return at

    # ------------------------------------------------------------------ period quotas (时段限号)
    def _ticket_period(self, t: Ticket) -> int:
        """The `[issuing] hours` period whose quota a ticket used: a booking's check-in its slot's, others their
        issue time's."""
        a = self.appointments.get(t.appointment) if t.appointment else None
        clock = parse_clock(a.start) if a is not None else self.local(t.issued_at).time()
        return self.config.issuing.period_of(clock)

    def _count_in_period(self, t: Ticket) -> None:
        assert self._period_issued is not None
        sid = t.issued_for or t.service
        if self.config.issuing.period_quotas_of(sid) is not None:
            key = (sid, self._ticket_period(t))
            self._period_issued[key] = self._period_issued.get(key, 0) + 1

    def issued_in_period(self, service: str, period: int) -> int:
        """Tickets issued today for `service` that used `period`'s quota (counted once, then kept up to date)."""
        if self._period_issued is None:
            self._period_issued = {}
            for t in self.tickets.values():
                self._count_in_period(t)
        return self._period_issued.get((service, period), 0)

    def _period_names(self) -> list[tuple[str, str]]:
        """Each hours period's name (Chinese, English): 上午 / 下午 / 晚上 by its start, or its times when two
        periods would share a name."""
        hours = self.config.issuing.hours
        names = []
        for a, _b in hours:
            h = parse_clock(a).hour
            names.append(("上午", "morning") if h < 12 else ("下午", "afternoon") if h < 18 else ("晚上", "evening"))
        if len(set(names)) < len(names):
            names = [(f"{a}-{b}时段", f"{a}-{b} period") for a, b in hours]
        return names

    def _check_period_quota(self, svc: Any, now: datetime, appointment: Appointment | None) -> None:
        """`[[issuing.period_quotas]]`: the period's numbers (a check-in: its slot's period) less the bookings of that
        period not checked in yet; when they are all taken, `quota_exhausted` names the period and when the next
        period with numbers left opens (the last: today's numbers are all taken)."""
        quotas = self.config.issuing.period_quotas_of(svc.id)
        if quotas is None:
            return
        day = self.day or self.business_day(now)
        clock = parse_clock(appointment.start) if appointment is not None else self.local(now).time()
        p = self.config.issuing.period_of(clock)

        def full(i: int, booked: bool) -> bool:
            return self.issued_in_period(svc.id, i) + (self._seats_booked(svc.id, day, i) if booked else 0) >= quotas[i]

        if not full(p, appointment is None):
            return
        names = self._period_names()
        zh, en = names[p]
        nxt = next((j for j in range(p + 1, len(quotas)) if not full(j, True)), None)
        if nxt is None:
            raise HallError(ErrorCode.QUOTA_EXHAUSTED,
                            f"{svc.name_en}: today's numbers are all taken (the {en}'s {quotas[p]} were the last)",
                            f"“{svc.name}”今日号已取完，请改日或网上预约办理")
        start = self.config.issuing.hours[nxt][0]
        raise HallError(ErrorCode.QUOTA_EXHAUSTED,
                        f"{svc.name_en}: the {en}'s numbers are all taken; the {names[nxt][1]}'s are issued from {start}",
                        f"“{svc.name}”{zh}号已取完，{names[nxt][0]} {start} 起可取号")

    def _new_token(self) -> str:
        while True:
            token = self.new_token()
            if token not in self.by_token:
                return token

    def _new_verify(self) -> str:
        while True:
            code = "".join(self.rng.choice(VERIFY_ALPHABET) for _ in range(4))
            if code not in self.by_verify:
                return code

    def appointments_changed(self) -> None:
        """A booking was added, cancelled or checked in (the booking desk tells the engine): recount the seats."""
        self._bookings_moved()

    def _bookings_moved(self) -> None:
        self._reserved = None
        self._reserved_period = {}
        self._checkins = None

    def holder_tickets_today(self, ref: str) -> int:
        """What `[issuing] holder_daily_cap` counts: the holder's tickets of today (any service, any state but
        cancelled) plus the tickets of today's check-ins of their web bookings (not cancelled either)."""
        if self._checkins is None:
            self._checkins = {}
            for a in self.appointments.values():
                if a.holder_ref and a.ticket_id and a.status == CHECKED_IN:
                    self._checkins.setdefault(a.holder_ref, []).append(a.ticket_id)
        ids = set(self.by_holder.get(ref, ())) | set(self._checkins.get(ref, ()))
        return sum(1 for tid in ids if tid in self.tickets and self.tickets[tid].state is not TicketState.CANCELLED)

    def _seats_booked(self, service: str, day: date, period: int | None = None) -> int:
        """Web bookings of `day` not checked in yet: their seats come out of the day's quota (walk-ins cannot take
        them), and out of their slot's period quota (`period`: the bookings of that hours period). Counted once per
        change of the bookings, not per ticket."""
        if self._reserved is None:
            self._reserved = {}
            self._reserved_period = {}
            issuing = self.config.issuing
            for a in self.appointments.values():
                if a.day == day and a.status == BOOKED and a.source == "web":
                    self._reserved[a.service] = self._reserved.get(a.service, 0) + 1
                    key = (a.service, issuing.period_of(parse_clock(a.start)))
                    self._reserved_period[key] = self._reserved_period.get(key, 0) + 1
        if period is not None:
            return self._reserved_period.get((service, period), 0)
        return self._reserved.get(service, 0)

    def checkin(self, now: datetime, code: str, *, open_all_day: bool = False,
                issued_by: str | None = None) -> Outcome:
        """`appointment.checkin`: the booking's ticket (a priority ticket when `[priority] appointment`), within its
        slot's grace (too_early / too_late); checking in again shows the same ticket. A cancelled booking, or one
        that is unknown, is `unknown_appointment`."""
        appt = self.appointments.get(code.upper()) or self.appointments.get(code)
        if appt is None or appt.status not in (BOOKED, CHECKED_IN):
            raise HallError(ErrorCode.UNKNOWN_APPOINTMENT, f"no appointment {booking.mask_code(code)!r}",
                            "没有找到这个预约码，请核对后重试")
        if appt.ticket_id and appt.ticket_id in self.tickets:
            out = Outcome()
            out.data = self.ticket_view(self.tickets[appt.ticket_id])   # checking in twice shows the same ticket
            return out
        today = self.day or self.business_day(now)
        rules = self.config.booking_rules(appt.service) if appt.service in self.config.services_by_id else None
        if rules is not None:
            try:
                booking.check_in_window(appt, rules, self.local(now), today)
            except BusError as exc:
                raise HallError(exc.code, exc.message, exc.message_zh) from None
        elif appt.day != today:
            raise HallError(ErrorCode.TOO_EARLY if appt.day > today else ErrorCode.TOO_LATE,
                            f"the appointment is for {appt.day.isoformat()}", f"该预约的办理日期是{appt.day.isoformat()}，不是今天")
        # A web booking's day is a booking day of the hall calendar and its slot lies in the issuing hours: the slot
        # and its grace govern, not the hall's issuing hours (the minutes before the hall opens).
        return self.issue(now, appt.service, "appointment", None, open_all_day=open_all_day or appt.source == "web",
                          appointment=appt, issued_by=issued_by)

    def get(self, now: datetime, **key: str | None) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        out.data = self.ticket_view(self.find(**key))
        return out

    def cancel(self, now: datetime, reason: str, *, ticket_id: str | None = None, number: str | None = None,
               actor: str | None = None, only_issued_by: str | None = None) -> Outcome:
        """`ticket.cancel` (PROTOCOL part 2): the ticket leaves its queue for good (state `cancelled`, ticket event
        `cancel` with the reason). only_issued_by: a kiosk, which may cancel only a ticket it issued itself."""
        out = Outcome()
        self.roll(now, out)
        t = self.find(ticket_id=ticket_id, number=number)
        if only_issued_by is not None and t.issued_by != only_issued_by:
            raise HallError(ErrorCode.FORBIDDEN, f"{t.number} was not issued by {only_issued_by}",
                            "只能取消本机发出的号")
        if t.state not in (TicketState.WAITING, TicketState.TRANSFERRED, TicketState.HELD, TicketState.NO_SHOW,
                           TicketState.SERVING):
            raise HallError(ErrorCode.CONFLICT, f"{t.number} is {t.state.value} and cannot be cancelled",
                            f"{t.number}号当前状态为{_STATE_ZH[t.state]}，不能取消")
        if t.state in QUEUED:
            self._dequeue(t)
        self.requeue_keys.pop(t.id, None)
        self.requeued.discard(t.id)
        self.held.discard(t.id)
        self.no_shows.discard(t.id)
        if t.state is TicketState.SERVING and t.window and self.windows[t.window].current == t.id:
            self.windows[t.window].current = None
            self._queues_moved()
            out.windows.add(t.window)
        if t.window:
            out.publish_windows.add(t.window)
        out.publish_windows.update(self.service_windows.get(t.service, ()))
        t.state = TicketState.CANCELLED
        t.finished_at = self.local(now)
        out.touch(t)
        extra = {"reason": reason} if not actor else {"reason": f"{reason} ({actor})"}
        out.events.append(self._ticket_event(t, "cancel", now, **extra))
        out.data = self.ticket_view(t)
        return out

    def _start_serving(self, w: WindowState, t: Ticket, now: datetime, out: Outcome, action: str) -> None:
        if t.state in QUEUED:
            self._dequeue(t)
        self.requeue_keys.pop(t.id, None)
        self.requeued.discard(t.id)
        self.held.discard(t.id)
        self.no_shows.discard(t.id)
        self._queues_moved()              # a window is busy: the estimates of its services change
        t.state = TicketState.SERVING
        t.called_at = self.local(now) if t.called_at is None or action != "recall" else t.called_at
        t.window = w.id
        t.to_window = None
        t.calls += 1
        if w.signed_in:
            t.served_by = w.signed_in
        w.current = t.id
        out.touch(t)
        out.windows.add(w.id)
        out.publish_windows.update(self.service_windows[t.service])
        out.events.append(self._ticket_event(t, action, now))
        self._call_event(t, w.id, now, recall=False, out=out)

    def _finish_current(self, w: WindowState, now: datetime, out: Outcome) -> Ticket | None:
        if not w.current:
            return None
        t = self.tickets[w.current]
        t.state = TicketState.DONE
        t.finished_at = self.local(now)
        if t.called_at:
            self._record_service_time(t.service, max(0.0, (now - t.called_at).total_seconds()))
            self._queues_moved()          # the service's estimates change
        w.current = None
        w.last_finished = t.id
        out.touch(t)
        out.windows.add(w.id)
        out.events.append(self._ticket_event(t, "finish", now))
        return t

    @staticmethod
    def _refuse_paused(w: WindowState) -> None:
        if w.status is WindowStatus.PAUSED:
            raise HallError(ErrorCode.CONFLICT, f"window {w.id} is paused; resume first", "窗口已暂停服务，请先恢复")

    def _open_if_closed(self, w: WindowState, now: datetime, out: Outcome) -> None:
        if w.status is WindowStatus.CLOSED:    # a keypad has no open key: the first call opens the window
            w.status = WindowStatus.OPEN
            self._queues_moved()
            w.since = now
            out.windows.add(w.id)
            out.zones.add(self.config.windows_by_id[w.id].zone)

    def call_next(self, now: datetime, window: str) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        self._refuse_paused(w)
        if self._repeated_call(w, now):
            return self.recall(now, window)
        expired = [(t, self.requeue_keys.get(t.id)) for t in self._expired_requeues(now)]
        for t, _key in expired:
            self._void_missed(t, now, out)      # requeued no-shows past their callback time are skipped for good
        nxt = self.next_for(window)
        if nxt is None:
            for t, key in expired:              # nothing happens on an error: they go back until supervise()
                t.state = TicketState.WAITING
                self.requeued.add(t.id)
                if key:
                    self.requeue_keys[t.id] = key
                self._enqueue(t)
            raise HallError(ErrorCode.NO_TICKET, f"nobody waits for window {window}", "当前没有等候的号")
        self._open_if_closed(w, now, out)
        self._finish_current(w, now, out)
        self._start_serving(w, nxt, now, out, "call")
        out.data = self.ticket_view(nxt)
        return out

    def call_number(self, now: datetime, window: str, number: str) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        t = self.find(number=number)
        if t.id == w.current and self._repeated_call(w, now):
            return self.recall(now, window)
        if t.state not in (TicketState.WAITING, TicketState.TRANSFERRED, TicketState.HELD, TicketState.NO_SHOW):
            raise HallError(ErrorCode.CONFLICT, f"{number} is {t.state.value} and cannot be called",
                            f"{number}号当前状态为{_STATE_ZH[t.state]}，不能呼叫")
        rule = self.config.calling.no_show
        if t.state is TicketState.NO_SHOW and rule != "manual" or self._callback_over(t, now):
            raise HallError(ErrorCode.CONFLICT, f"{number} missed its call and is void ([calling] no_show = {rule}): "
                                                "a new number is needed",
                            f"{number}号已过号作废，请重新取号")
        if t.state is TicketState.HELD and t.window != window:
            raise HallError(ErrorCode.CONFLICT, f"{number} is held by window {t.window}",
                            f"{number}号由其他窗口挂起")
        if t.service not in self.window_services[window] and t.to_window != window and t.window != window:
            raise HallError(ErrorCode.CONFLICT, f"window {window} does not serve {t.service}",
                            "本窗口不办理该号的业务")
        self._refuse_paused(w)
        self._open_if_closed(w, now, out)
        self._finish_current(w, now, out)
        if t.state is TicketState.NO_SHOW and t.window:
            out.windows.add(t.window)       # its no-show list changes when another window calls it back
        self._start_serving(w, t, now, out, "call_back" if t.state in (TicketState.HELD, TicketState.NO_SHOW) else "call")
        out.data = self.ticket_view(t)
        return out

    def _repeated_call(self, w: WindowState, now: datetime) -> bool:
        """A call within `[calling] repeat_window_s` of the window's previous call (a keypad key pressed again, a
        double click) repeats it: the window's current ticket is recalled, not finished for the next one."""
        last = self.last_call.get(w.id)
        if last is None or not w.current:
            return False
        t = self.tickets.get(w.current)
        if t is None or t.state is not TicketState.SERVING or t.window != w.id:
            return False
        return (now - last).total_seconds() < self.config.calling.repeat_window_s

    def _current(self, w: WindowState) -> Ticket:
        if not w.current:
            raise HallError(ErrorCode.CONFLICT, f"window {w.id} serves no ticket", "本窗口当前没有正在办理的号")
        return self.tickets[w.current]

    def recall(self, now: datetime, window: str) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        t = self._current(w)
        t.calls += 1
        out.touch(t)
        out.events.append(self._ticket_event(t, "recall", now))
        self._call_event(t, window, now, recall=True, out=out)
        out.data = self.ticket_view(t)
        return out

    def finish(self, now: datetime, window: str) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        self._current(w)
        t = self._finish_current(w, now, out)
        assert t is not None
        out.data = self.ticket_view(t)
        return out

    def no_show(self, now: datetime, window: str) -> Outcome:
        """`window.no_show` (过号) under `[calling] no_show`: "manual" — set aside, callable back by number all day;
        "void" — final; "requeue" — the first time back into its queue (`_requeue`), with `finished_at` marking
        when it was missed (that is how a restart knows it), the second time final."""
        rule = self.config.calling.no_show
        if rule == "requeue" and self.day == self.business_day(now):     # (a new day: _set_aside rolls first)
            t = self._current(self._window(window))
            if t.finished_at is None and t.service in self.queues:
                return self._requeue_missed(now, window, t)
        out = self._set_aside(now, window, TicketState.NO_SHOW, "no_show")
        if rule != "manual":
            t = self.tickets[out.data["id"]]
            self.no_shows.discard(t.id)
            t.finished_at = self.local(now)
        return out

    def _requeue_missed(self, now: datetime, window: str, t: Ticket) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        w.current = None
        self._queues_moved()
        t.state = TicketState.WAITING
        t.finished_at = self.local(now)     # when it was missed: the callback time counts from here
        self._requeue(t)
        out.touch(t)
        out.windows.add(window)
        out.publish_windows.update(self.service_windows[t.service])
        n = self.config.calling.requeue_after
        out.events.append(self._ticket_event(t, "no_show", now, reason=f"requeued behind {n} (过号顺延{n}位)"))
        out.data = self.ticket_view(t)
        return out

    def _requeue(self, t: Ticket) -> None:
        """Queue a missed ticket again behind the next `requeue_after` tickets of its queue that were already
        waiting when it was called (fewer: behind the last of them; none: first). Only tickets issued before its
        call count, so a restart, which knows only the stored tickets, puts it back in the same place or later,
        never earlier (a ticket called after the no_show no longer counts then)."""
        n = self.config.calling.requeue_after
        before = t.called_at or t.issued_at
        behind = [k for k, tid in self.queues[t.service]
                  if tid != t.id and tid not in self.requeue_keys and self.tickets[tid].issued_at <= before]
        self.requeue_keys.pop(t.id, None)
        self.requeued.add(t.id)
        if n and behind:
            cls, issued_at, seq, prefix = behind[min(n, len(behind)) - 1]
            self.requeue_keys[t.id] = (cls, issued_at, seq, prefix + "~")   # right after that ticket
        self._enqueue(t)

    def _callback_over(self, t: Ticket, now: datetime) -> bool:
        """A requeued ticket whose `[calling] callback_s` has run out."""
        return (t.state is TicketState.WAITING and t.finished_at is not None
                and (now - t.finished_at).total_seconds() > self.config.calling.callback_s)

    def _void_missed(self, t: Ticket, now: datetime, out: Outcome) -> None:
        """A requeued ticket reached after its callback time: a final no_show (it left its queue already)."""
        if t.state in QUEUED:
            self._dequeue(t)
        self.requeue_keys.pop(t.id, None)
        self.requeued.discard(t.id)
        t.state = TicketState.NO_SHOW
        out.touch(t)
        out.publish_windows.update(self.service_windows.get(t.service, ()))
        out.events.append(self._ticket_event(t, "no_show", now, reason="callback time over (过号顺延已超时)"))

    def _expired_requeues(self, now: datetime) -> list[Ticket]:
        return [self.tickets[tid] for tid in sorted(self.requeued) if self._callback_over(self.tickets[tid], now)]

    def hold(self, now: datetime, window: str) -> Outcome:
        return self._set_aside(now, window, TicketState.HELD, "hold")

    def _set_aside(self, now: datetime, window: str, state: TicketState, action: str) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        t = self._current(w)
        t.state = state
        (self.held if state is TicketState.HELD else self.no_shows).add(t.id)
        w.current = None
        self._queues_moved()              # a window is free: the estimates of its services change
        out.touch(t)
        out.windows.add(window)
        out.events.append(self._ticket_event(t, action, now))
        out.data = self.ticket_view(t)
        return out

    def transfer(self, now: datetime, window: str, service: str | None = None,
                 to_window: str | None = None) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        t = self._current(w)
        if to_window is not None:
            if to_window not in self.windows:
                raise HallError(ErrorCode.UNKNOWN_WINDOW, f"no window {to_window!r}")
            if to_window == window:
                raise HallError(ErrorCode.CONFLICT, "cannot transfer to the same window", "不能转到本窗口")
        if service is not None:
            svc = self.config.services_by_id.get(service)
            if svc is None:
                raise HallError(ErrorCode.UNKNOWN_SERVICE, f"no service {service!r}")
            out.zones.add(t.zone)     # the old zone's serving count drops
            t.service = service
            t.zone = svc.zone
        t.state = TicketState.TRANSFERRED
        t.to_window = to_window
        t.window = None
        w.current = None
        self._queues_moved()
        self._enqueue(t)          # keeps its number and issue time, so it goes in ahead of later tickets
        out.touch(t)
        out.windows.add(window)
        out.publish_windows.update(self.service_windows[t.service])
        if to_window:
            out.publish_windows.add(to_window)
        out.events.append(self._ticket_event(t, "transfer", now, from_window=window))
        out.data = self.ticket_view(t)
        return out

    def set_window(self, now: datetime, window: str, op: str, reason: str | None = None,
                   staff: str | None = None) -> Outcome:
        """window.open / close / pause / resume."""
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        target = {"open": WindowStatus.OPEN, "resume": WindowStatus.OPEN, "pause": WindowStatus.PAUSED,
                  "close": WindowStatus.CLOSED}[op]
        if op == "resume" and w.status is not WindowStatus.PAUSED:
            raise HallError(ErrorCode.CONFLICT, f"window {window} is not paused", "窗口未处于暂停状态")
        if op == "pause" and w.status is WindowStatus.CLOSED:
            raise HallError(ErrorCode.CONFLICT, f"window {window} is closed", "窗口已关闭")
        if op == "close" and w.current:
            raise HallError(ErrorCode.CONFLICT, f"window {window} still serves {self.tickets[w.current].number}",
                            "请先办结当前号再关闭窗口")
        if w.status is not target:
            w.status = target
            self._queues_moved()
            w.since = now
            w.alerted = False
        w.reason = reason if target is WindowStatus.PAUSED else None
        if staff is not None:
            w.staff = staff
        if op == "close" and w.signed_in:      # closing the window signs its staff member out
            w.signed_in = None
            w.signed_in_at = None
            out.staff.add(window)
        out.windows.add(window)
        out.zones.add(self.config.windows_by_id[window].zone)
        out.events.append(Event("ticket", bus.TicketEvent(action=f"window_{op}", ticket=None, window=window,
                                                          reason=w.reason, ts=self.local(now).isoformat()).wire()))
        out.data = self.window_view(window)
        return out

    def evaluate(self, now: datetime, grade: int, comment: str | None = None, *, ticket_id: str | None = None,
                 verify: str | None = None, token: str | None = None) -> Outcome:
        out = Outcome()
        self.roll(now, out)
        t = self.find(ticket_id=ticket_id, verify=verify, token=token)
        if t.state is not TicketState.DONE:
            raise HallError(ErrorCode.CONFLICT, f"{t.number} is not finished yet", "业务办结后才能评价")
        if t.grade is not None:
            raise HallError(ErrorCode.ALREADY_RATED, f"{t.number} was already evaluated", "该号已评价过，感谢您的评价")
        t.grade = grade
        out.touch(t)
        out.events.append(self._ticket_event(t, "evaluate", now, grade=grade))
        if grade <= self.config.supervision.bad_grade:
            name = self._window_name(t.window)
            out.events.append(self._alert(
                now, "bad_evaluation", "red" if grade == 1 else "yellow", t.window or t.number,
                f"{t.number}号（{name}）收到差评：{grade}分",
                f"{t.number} ({self._window_name(t.window, 'en')}) was rated {grade} of 5",
                ticket=t.number, window=t.window, grade=grade, comment=(comment or "")[:200],
                **({"staff": t.served_by} if t.served_by else {})))
        out.data = {}
        return out

    def _window_name(self, wid: str | None, lang: str = "zh") -> str:
        cfg = self.config.windows_by_id.get(wid or "")
        if cfg is None:
            return wid or ""
        return cfg.name_en if lang == "en" else cfg.name

    def supervise(self, now: datetime) -> Outcome:
        """Alerts for long waits and long pauses, each raised once."""
        out = Outcome()
        self.roll(now, out)
        sup = self.config.supervision
        for t in self._expired_requeues(now):
            self._void_missed(t, now, out)
        waiting_zones: set[str] = set()
        for t in self.tickets.values():
            if t.state in QUEUED:
                waiting_zones.add(t.zone)
            if t.state in QUEUED and not t.alerted and (now - t.issued_at).total_seconds() >= sup.long_wait_s:
                t.alerted = True
                out.touch(t)
                minutes = int((now - t.issued_at).total_seconds() // 60)
                out.events.append(self._alert(
                    now, "long_wait", "yellow", t.number, f"{t.number}号已等候{minutes}分钟",
                    f"{t.number} has waited {minutes} min", ticket=t.number, zone=t.zone, service=t.service,
                    waited_s=int((now - t.issued_at).total_seconds())))
        for w in self.windows.values():
            if w.status is WindowStatus.PAUSED and not w.alerted and w.since and \
                    (now - w.since).total_seconds() >= sup.pause_alert_s:
                w.alerted = True
                out.windows.add(w.id)
                name = self.config.windows_by_id[w.id].name
                paused = int((now - w.since).total_seconds())
                out.events.append(self._alert(
                    now, "window_paused", "yellow", w.id, f"{name}已暂停服务{paused // 60}分钟",
                    f"{self._window_name(w.id, 'en')} has been paused for {paused // 60} min",
                    window=w.id, reason=w.reason, paused_s=paused))
        # Before opening and through a break nothing happens, yet the estimates count down to the opening: the zones
        # whose waiting tickets no open window serves go out again each tick (the estimates count from this `now`).
        serving_zones = {self.config.windows_by_id[w.id].zone for w in self.windows.values()
                         if w.status is WindowStatus.OPEN}
        out.zones |= waiting_zones - serving_zones
        return out

    # ------------------------------------------------------------------ staff sign-in, console
    def signed_in_at(self, window: str) -> str | None:
        """The staff number signed in at a window (None: nobody)."""
        w = self.windows.get(window)
        return w.signed_in if w else None

    def sign_in(self, now: datetime, window: str, staff: str) -> Outcome:
        """`staff.sign_in` once the PIN was checked (the service checks it off the worker): one staff member at one
        window at a time — signing in here signs them out wherever else they were."""
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        for other in self.windows.values():
            if other.signed_in == staff and other.id != window:
                other.signed_in = None
                other.signed_in_at = None
                out.windows.add(other.id)
                out.staff.add(other.id)
        if w.signed_in != staff:
            w.signed_in = staff
            w.signed_in_at = self.local(now)
        out.windows.add(window)
        out.staff.add(window)
        return out

    def sign_out(self, now: datetime, window: str) -> Outcome:
        """`staff.sign_out`: nobody is signed in at the window any more (signing out twice is no error)."""
        out = Outcome()
        self.roll(now, out)
        w = self._window(window)
        w.signed_in = None
        w.signed_in_at = None
        out.windows.add(window)
        out.staff.add(window)
        out.data = {}
        return out

    def reprint(self, now: datetime, ticket_id: str, kiosk: str) -> Outcome:
        """`ticket.reprint`: the ticket as its issuing kiosk printed it (token included), for `kiosk` alone
        (event/reprint/{kiosk}); a ticket that is finished, expired or cancelled is not printed again."""
        out = Outcome()
        self.roll(now, out)
        t = self.find(ticket_id=ticket_id)
        if t.state in (TicketState.DONE, TicketState.EXPIRED, TicketState.CANCELLED):
            raise HallError(ErrorCode.CONFLICT, f"{t.number} is {t.state.value}: nothing to reprint",
                            f"{t.number}号{_STATE_ZH[t.state]}，无需补打")
        out.events.append(Event("reprint", bus.ReprintEvent.parse(
            {"ticket": self.ticket_view(t, with_holder=True)}).wire(), to=kiosk))
        out.data = {}
        return out

    def add_appointments(self, appointments: Iterable[Appointment]) -> None:
        """The booking platform's file (again): new codes are added, known ones get the file's service and times but
        keep their check-in; a code the citizen web gave out is never replaced by a file's row."""
        for a in appointments:
            existing = self.appointments.get(a.code)
            if existing is not None and existing.source == "web" and a.source != "web":
                continue
            self.appointments[a.code] = replace(a, ticket_id=existing.ticket_id, status=existing.status,
                                                changed_at=existing.changed_at) if existing else a
        self._bookings_moved()
        self._period_issued = None      # a check-in counts in its slot's period: a changed slot moves it


_STATE_ZH = {TicketState.WAITING: "等候中", TicketState.SERVING: "办理中", TicketState.HELD: "挂起",
             TicketState.NO_SHOW: "过号", TicketState.DONE: "已办结", TicketState.TRANSFERRED: "已转移",
             TicketState.EXPIRED: "已过期", TicketState.CANCELLED: "已取消"}


__all__ = ["Engine", "Ticket", "TicketState", "WindowState", "WindowStatus", "Outcome", "Event", "HallError",
           "Appointment"]
