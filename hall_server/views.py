"""How the engine's state looks on the bus: each view is built as its hall_bus.payloads model (so the contract is
checked where it is made) and handed out in its wire form, ready for the store and the bus. A mixin of Engine: the
views read its queues, windows and tickets and change nothing."""
from __future__ import annotations

import bisect
import heapq
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from hall_bus import payloads as bus
from hall_server.records import QUEUED, Ticket, WindowStatus, _iso

_FOREVER = float("inf")

if TYPE_CHECKING:
    from hall_server.engine import Engine

MAX_QUEUE_ENTRIES = 1000     # tickets listed in state/queue/{zone}; the rest are counted (`more`)


class BusViews:
    """Engine's views for replies, retained state and events (mixed into Engine)."""

    def ticket_view(self: "Engine", t: Ticket, *, with_holder: bool = False, with_token: bool = True) -> dict[str, Any]:
        """The ticket as its holder's client sees it. The token goes to the issuing client and to ticket.get
        replies (PROTOCOL part 2), never into retained state or events."""
        svc = self.config.services_by_id.get(t.service)
        zone = self.config.zones_by_id.get(t.zone)
        win = self.config.windows_by_id.get(t.window or "")
        ahead = self.ahead_of(t)
        return bus.Ticket(
            id=t.id, number=t.number, service=t.service, zone=t.zone, state=t.state.value, channel=t.channel,
            priority=t.priority, issued_at=t.issued_at.isoformat(), called_at=_iso(t.called_at), window=t.window,
            ahead=ahead, est_wait_s=self.est_wait_s(t) if t.state in QUEUED else 0, verify=t.verify,
            token=(t.token or None) if with_token else None,
            service_name=svc.name if svc else t.service, service_name_en=svc.name_en if svc else t.service,
            zone_name=zone.name if zone else t.zone, zone_name_en=zone.name_en if zone else t.zone,
            window_name=win.name if win else None, window_name_en=win.name_en if win else None,
            to_window=t.to_window, grade=t.grade,
            holder_name=t.display_name if with_holder else None,
        ).wire()

    def _summary(self: "Engine", t: Ticket) -> bus.TicketSummary:
        svc = self.config.services_by_id.get(t.service)
        return bus.TicketSummary(
            id=t.id, number=t.number, service=t.service, zone=t.zone, state=t.state.value, channel=t.channel,
            priority=t.priority, issued_at=t.issued_at.isoformat(), called_at=_iso(t.called_at),
            service_name=svc.name if svc else t.service, service_name_en=svc.name_en if svc else t.service)

    def ticket_summary(self: "Engine", t: Ticket) -> dict[str, Any]:
        """Public (retained) view: no holder data, no token."""
        return self._summary(t).wire()

    def window_view(self: "Engine", wid: str) -> dict[str, Any]:
        w = self.windows[wid]
        cfg = self.config.windows_by_id[wid]
        cur = self.tickets.get(w.current) if w.current else None
        mine = self.window_services[wid]
        waiting = sum(len(self.queues[sid]) for sid in mine)
        for target, ids in self.directed.items():     # transfers to a named window (rare)
            for tid in ids:
                inside = self.tickets[tid].service in mine
                waiting += (target == wid and not inside) - (target != wid and inside)
        held = [self.tickets[tid].number for tid in self.held if self.tickets[tid].window == wid]
        no_show = [self.tickets[tid].number for tid in self.no_shows if self.tickets[tid].window == wid]
        return bus.WindowState(
            status=w.status.value, reason=w.reason, current=self._summary(cur) if cur else None, waiting=waiting,
            held=sorted(held), no_show=sorted(no_show), name=cfg.name, name_en=cfg.name_en, zone=cfg.zone,
            services=list(cfg.services), since=_iso(w.since)).wire()

    def zone_view(self: "Engine", zid: str, now: datetime | None = None) -> dict[str, Any]:
        """Counts of the zone and of each of its services (waiting, the estimate for a ticket issued now, longest wait
        so far). The zone's own estimate: its services' mean smoothed time x its waiting tickets / its open windows
        (before opening: all of them), on the clock (the time to opening added)."""
        services = [s.id for s in self.config.services if s.zone == zid]
        waiting = sum(len(self.queues[s]) for s in services)
        serving = sum(1 for w in self.windows.values()
                      if w.current and self.config.windows_by_id[w.id].zone == zid)
        open_windows = sum(1 for w in self.config.windows if w.zone == zid
                           and self.windows[w.id].status is WindowStatus.OPEN)
        if services:
            avg = sum(self.avg_service_s(s) for s in services) / len(services)
        else:
            avg = 0.0
        scheduled = open_windows or sum(1 for w in self.config.windows if w.zone == zid)   # before opening: hall.toml's
        est = int(round(self._on_the_clock(avg * waiting / max(1, scheduled), open_windows > 0, now)))
        last_called = [c["number"] for c in self.recent_calls if c.get("zone") == zid][:5]
        per_service = {}
        for sid in services:
            q = self.queues[sid]
            # the queue is sorted by (priority class, issue time, ...): the oldest heads one of the two classes
            heads = [q[0], q[min(bisect.bisect_left(q, ((1,),)), len(q) - 1)]] if q else []
            oldest = min((self.tickets[tid].issued_at for _k, tid in heads), default=None)
            per_service[sid] = bus.ServiceLoad(
                waiting=len(q), est_wait_s=self.est_new_s(sid, now),
                longest_wait_s=max(0, int((now - oldest).total_seconds())) if oldest and now else 0)
        return bus.ZoneState(waiting=waiting, serving=serving, open_windows=open_windows, est_wait_s=est,
                             last_called=last_called, services=per_service).wire()

    def queue_view(self: "Engine", zid: str) -> dict[str, Any]:
        """ticket id → [ahead, est_wait_s] for the zone's waiting tickets (state/queue/{zone}), so a web node can keep
        every open ticket page current without asking the server. The MAX_QUEUE_ENTRIES tickets nearest the front
        are listed (about 35 KB, under the 64 KiB message limit); `more` counts the others, each of which has at
        least MAX_QUEUE_ENTRIES ahead. It runs on every flush, so it is kept: a plain issue appends to it, anything
        else that moves the queues recomputes it, at a cost bounded by that cap, not by the queue. What is kept is
        each ticket's calling time; the estimates are put on the clock of the latest operation here (the time to
        opening, a lunch break), as est_wait_s does."""
        cached = self._queue_cache.get(zid)
        if cached is None:
            cached = self._queue_cache[zid] = self._queue_entries(zid)
        entries, more, _last = cached
        spans = {True: self._calling_spans(None, True), False: self._calling_spans(None, False)}
        tickets = {tid: (a, int(round(_along(spans[open_now], calling))))
                   for tid, (a, calling, open_now) in entries.items()}
        # Built without re-validating ~1,000 entries on every flush (the test suite checks it against the model).
        return bus.QueueState.model_construct(tickets=tickets, more=more).wire()

    def _queue_entries(self: "Engine", zid: str) -> tuple[dict[str, tuple[int, float, bool]], int, int]:
        """The zone's state/queue computed afresh: (ticket id -> (ahead, calling time, a window that may call it is
        open), tickets not listed, the largest ahead listed)."""
        services = self._zone_services(zid)
        total = sum(len(self.queues[s]) for s in services)
        best: dict[str, int] = {}
        if any(self.directed.values()):            # a transfer to a named window: the general rule, ticket by ticket
            for _key, tid in islice(heapq.merge(*(self.queues[s] for s in services)), MAX_QUEUE_ENTRIES):
                best[tid] = self.ahead_of(self.tickets[tid])
        else:
            # Without named transfers a window calls its services' queues merged in key order, so a ticket's place
            # in that merge is what the window calls before it; `ahead` is the smallest place over the windows that
            # may call it (ahead_of's rule, for the whole zone). Windows with the same services share one merge.
            groups: dict[tuple[str, ...], set[str]] = {}     # a window's services -> the zone's services it calls
            for sid in services:
                callers = self._windows_for_service(sid)
                if not callers:                          # no window serves it: its own queue is all there is
                    for place, (_key, tid) in enumerate(islice(self.queues[sid], MAX_QUEUE_ENTRIES)):
                        best[tid] = place
                for wid in callers:
                    groups.setdefault(tuple(self.window_services[wid]), set()).add(sid)
            for window_services, called in groups.items():
                merged = heapq.merge(*(self.queues[s] for s in window_services))
                for place, (_key, tid) in enumerate(islice(merged, MAX_QUEUE_ENTRIES)):
                    if self.tickets[tid].service in called and place < best.get(tid, MAX_QUEUE_ENTRIES):
                        best[tid] = place
        if len(best) > MAX_QUEUE_ENTRIES:
            best = dict(sorted(best.items(), key=lambda kv: kv[1])[:MAX_QUEUE_ENTRIES])
        # est_wait_s's calling time and open windows, the latter looked up once per service
        open_now = {sid: self.open_windows_for(sid) > 0 for sid in services}
        entries = {}
        for tid, a in best.items():
            t = self.tickets[tid]
            entries[tid] = (a, self.calling_s(t), self.open_for(t) if t.to_window else open_now[t.service])
        return entries, total - len(entries), max((e[0] for e in entries.values()), default=0)

    def _queue_append(self: "Engine", t: Ticket) -> None:
        """A ticket just issued joins its zone's kept state/queue without recomputing it: it is last in every merge
        of its windows, so nobody else's place moves (priority tickets and named transfers never come here)."""
        cached = self._queue_cache.get(t.zone)
        if cached is None:
            return
        entries, more, last = cached
        if not self._sorts_last(t):                 # the clock went back: compute afresh
            del self._queue_cache[t.zone]
            return
        ahead = self.ahead_of(t)
        if len(entries) < MAX_QUEUE_ENTRIES:
            entries[t.id] = (ahead, self.calling_s(t), self.open_for(t))
            self._queue_cache[t.zone] = (entries, more, max(last, ahead))
        elif ahead >= last:                         # behind everyone listed: counted, not listed
            self._queue_cache[t.zone] = (entries, more + 1, last)
        else:                                       # it belongs to the front: who is listed changes
            del self._queue_cache[t.zone]

    def _sorts_last(self: "Engine", t: Ticket) -> bool:
        """Whether t comes after every ticket waiting at any window that serves its service (true for a ticket just
        issued unless the clock went back)."""
        key = (t.sort_key(), t.id)
        return all(not q or q[-1] <= key for w in self.service_windows.get(t.service, ())
                   for q in (self.queues[s] for s in self.window_services[w]))

    def _zone_services(self: "Engine", zid: str) -> list[str]:
        cached = self._services_of_zone.get(zid)
        if cached is None:
            cached = self._services_of_zone[zid] = [s.id for s in self.config.services if s.zone == zid]
        return cached

    def _windows_for_service(self: "Engine", sid: str) -> list[str]:
        windows = self.service_windows.get(sid, [])
        open_now = [w for w in windows if self.windows[w].status is WindowStatus.OPEN]
        return open_now or windows

    def calls_view(self: "Engine") -> list[dict[str, Any]]:
        return list(self.recent_calls)


def _along(spans: list[tuple[float, float]], seconds: float) -> float:
    """Seconds from now until `seconds` of the spans' time (from, to: seconds from now, in order) have passed."""
    for begin, end in spans:
        if seconds <= end - begin:
            return begin + seconds
        seconds -= end - begin
    return spans[-1][1] + seconds if spans else seconds
