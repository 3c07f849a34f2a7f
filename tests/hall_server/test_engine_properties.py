"""Property tests of the allocation engine: a hypothesis state machine drives random sequences of every
operation (issue, calls, hold, no-show, transfer, pause, evaluation, supervision, day rollover, restart from
the stored records) and checks the hall's invariants after every step."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from hall_bus.contract import ErrorCode
from hall_server.config import HallConfig
from hall_server.engine import QUEUED, Engine, HallError, Outcome, Ticket, TicketState, WindowState, WindowStatus

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 27, 8, 30, tzinfo=TZ)     # a Friday


def _service(sid: str, zone: str, prefix: str, quota: int) -> dict:
    return {"id": sid, "zone": zone, "prefix": prefix, "name": f"业务{sid}", "name_en": f"Service {sid}",
            "legal_days": 20, "promised_days": 5, "daily_quota": quota,
            "materials": [{"name": "居民身份证", "name_en": "Resident ID card"}],
            "steps": ["取号等候"], "steps_en": ["Take a number"]}


CONFIG = HallConfig.model_validate({
    "hall": {"id": "prop", "name": "测试大厅", "name_en": "Property hall", "timezone": "Asia/Shanghai"},
    "issuing": {"hours": [["08:30", "12:00"], ["13:30", "17:00"]]},
    "supervision": {"long_wait_s": 600, "pause_alert_s": 300},
    "zones": [{"id": "z1", "name": "一区", "name_en": "Zone 1"}, {"id": "z2", "name": "二区", "name_en": "Zone 2"}],
    # A shared by two services; a tiny quota so refusals happen often
    "services": [_service("a1", "z1", "A", 999), _service("a2", "z1", "A", 4),
                 _service("b", "z1", "B", 999), _service("c", "z2", "C", 6)],
    "windows": [
        {"id": "w1", "name": "1号窗口", "name_en": "Window 1", "zone": "z1", "services": ["a1", "b"]},
        {"id": "w2", "name": "2号窗口", "name_en": "Window 2", "zone": "z1", "services": ["a1", "a2"]},
        {"id": "w3", "name": "3号窗口", "name_en": "Window 3", "zone": "z2", "services": ["c"]},
        {"id": "w4", "name": "4号窗口", "name_en": "Window 4", "zone": "z1", "services": ["b", "c"]},
    ],
})
SERVICES = [s.id for s in CONFIG.services]
WINDOWS = [w.id for w in CONFIG.windows]
HOLDERS = [None, None, {"ref": "h1", "birth_date": "1950-01-01"}, {"ref": "h2", "birth_date": "1990-06-01"},
           {"ref": "h3", "birth_date": "1956-11-27"}, {"ref": "h4"}]

# Which refusals each operation may give in this hall (anything else, or a crash, is a bug).
ALLOWED = {
    "issue": {ErrorCode.CLOSED, ErrorCode.QUOTA_EXHAUSTED, ErrorCode.DUPLICATE_HOLDER},
    "call_next": {ErrorCode.NO_TICKET, ErrorCode.CONFLICT},
    "call_number": {ErrorCode.CONFLICT, ErrorCode.UNKNOWN_TICKET},
    "current": {ErrorCode.CONFLICT},
    "transfer": {ErrorCode.CONFLICT},
    "set_window": {ErrorCode.CONFLICT},
    "evaluate": {ErrorCode.CONFLICT, ErrorCode.ALREADY_RATED},   # not finished; rated already
}


def snapshot(e: Engine) -> tuple:
    return ({tid: t.to_record() for tid, t in e.tickets.items()}, {w.id: w.to_record() for w in e.windows.values()},
            dict(e.counters), dict(e.issued_per_service), {s: list(q) for s, q in e.queues.items()}, e.call_seq)


class HallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(CONFIG, rng=random.Random(0))
        self.now = START
        self.engine.roll(self.now, Outcome())
        self.numbers: dict[date, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.alerted: set[str] = set()       # ticket ids that got a long-wait alert
        self.pause_alerts = 0
        self.pauses = 0

    # ------------------------------------------------------------------ helpers
    def tick(self, seconds: int) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def attempt(self, kind: str, fn, *args, **kwargs) -> Outcome | None:
        """Run an operation; a refusal must carry an allowed code and change nothing."""
        before = snapshot(self.engine)
        try:
            return fn(*args, **kwargs)
        except HallError as exc:
            assert exc.code in ALLOWED[kind], (kind, exc.code, exc.message)
            assert snapshot(self.engine) == before, f"refused {kind} changed the state"
            return None

    @staticmethod
    def prefer(data: st.DataObject, preferred: list, fallback: list):
        """Mostly one of `preferred` (so operations do something), sometimes anything (so refusals happen)."""
        if preferred and data.draw(st.sampled_from([True, True, True, False]), label="prefer"):
            return data.draw(st.sampled_from(preferred))
        return data.draw(st.sampled_from(fallback)) if fallback else None

    def busy_window(self, data: st.DataObject) -> str:
        return self.prefer(data, sorted(w.id for w in self.engine.windows.values() if w.current), WINDOWS)

    def pick_ticket(self, data: st.DataObject, states: set[TicketState]) -> Ticket | None:
        tickets = sorted(self.engine.tickets.values(), key=lambda t: t.number)
        return self.prefer(data, [t for t in tickets if t.state in states], tickets)

    def callable_by(self, window: str) -> list[Ticket]:
        services = set(CONFIG.windows_by_id[window].services)
        return [t for t in self.engine.tickets.values() if t.state in QUEUED
                and ((t.to_window is None and t.service in services) or t.to_window == window)]

    def ahead_by_definition(self, t: Ticket) -> int:
        """PROTOCOL.md's `ahead`, brute force: over the windows that may call t (the open ones, or all of them
        before any opens), the fewest earlier tickets that window must call before it reaches t."""
        mine = (t.sort_key(), t.id)
        if t.to_window:
            windows = [t.to_window]
        else:
            windows = [w.id for w in CONFIG.windows if t.service in w.services]
            windows = [w for w in windows if self.engine.windows[w].status is WindowStatus.OPEN] or windows
        return min((sum(1 for o in self.callable_by(w) if (o.sort_key(), o.id) < mine) for w in windows), default=0)

    # ------------------------------------------------------------------ rules
    @initialize(services=st.lists(st.sampled_from(SERVICES), min_size=2, max_size=8))
    def morning_crowd(self, services: list[str]) -> None:
        for s in services:
            self.issue(s, None, 20, True)
    @rule(service=st.sampled_from(SERVICES), holder=st.sampled_from(HOLDERS), dt=st.integers(0, 240),
          all_day=st.booleans())
    def issue(self, service: str, holder: dict | None, dt: int, all_day: bool) -> None:
        now = self.tick(dt)
        counters = dict(self.engine.counters)
        out = self.attempt("issue", self.engine.issue, now, service, "walk_in", holder, open_all_day=all_day)
        if out is None:
            assert self.engine.counters == counters        # a refused request uses no number
            return
        t = self.engine.tickets[out.data["id"]]
        self.numbers[t.day][t.prefix].append(t.seq)
        assert t.number == f"{t.prefix}{t.seq:03d}" and t.state is TicketState.WAITING
        assert out.data["ahead"] == self.ahead_by_definition(t)

    @rule(data=st.data(), dt=st.integers(0, 600))
    def call_next(self, data: st.DataObject, dt: int) -> None:
        now = self.tick(dt)
        window = self.prefer(data, [w for w in WINDOWS if self.callable_by(w)], WINDOWS)
        candidates = self.callable_by(window)
        previous = self.engine.windows[window].current
        last = self.engine.last_call.get(window)
        repeat = (previous is not None and last is not None
                  and (now - last).total_seconds() < CONFIG.calling.repeat_window_s)
        out = self.attempt("call_next", self.engine.call_next, now, window)
        if repeat:     # a repeated call recalls the window's ticket (PROTOCOL part 2, calling)
            if out is None:
                assert self.engine.windows[window].status.value == "paused"
                return
            assert out.data["id"] == previous and self.engine.tickets[previous].state is TicketState.SERVING
            assert [c["recall"] for c in out.calls] == [True]
            return
        if out is None:
            assert not candidates or self.engine.windows[window].status.value == "paused"
            return
        t = self.engine.tickets[out.data["id"]]
        assert t in candidates
        for other in candidates:       # priority class first, then issue time (FIFO)
            assert not (other.priority and not t.priority), (other.number, t.number)
            if other.priority == t.priority:
                assert other.issued_at >= t.issued_at, (other.number, t.number)
        if previous is not None:
            assert self.engine.tickets[previous].state is TicketState.DONE

    @rule(data=st.data(), window=st.sampled_from(WINDOWS), dt=st.integers(0, 120))
    def call_number(self, data: st.DataObject, window: str, dt: int) -> None:
        t = self.pick_ticket(data, {TicketState.HELD, TicketState.NO_SHOW, TicketState.WAITING})
        if t is None:
            return
        if t.state is TicketState.HELD:
            window = self.prefer(data, [t.window], [window])     # mostly the window that holds it
        number = t.number
        out = self.attempt("call_number", self.engine.call_number, self.tick(dt), window, number)
        if out is not None:
            assert out.data["number"] == number and out.data["window"] == window

    @rule(data=st.data(), op=st.sampled_from(["recall", "finish", "no_show", "hold"]), dt=st.integers(0, 900))
    def current_op(self, data: st.DataObject, op: str, dt: int) -> None:
        window = self.busy_window(data)
        current = self.engine.windows[window].current
        out = self.attempt("current", getattr(self.engine, op), self.tick(dt), window)
        assert (out is None) == (current is None)
        if out is not None:
            assert out.data["id"] == current
            expected = {"recall": "serving", "finish": "done", "no_show": "no_show", "hold": "held"}[op]
            assert out.data["state"] == expected

    @rule(data=st.data(), service=st.none() | st.sampled_from(SERVICES), by_window=st.booleans())
    def transfer(self, data: st.DataObject, service: str | None, by_window: bool) -> None:
        window = self.busy_window(data)
        to_window = self.prefer(data, [w for w in WINDOWS if w != window], WINDOWS) if by_window else None
        if service is None and to_window is None:
            return
        current = self.engine.windows[window].current
        before = self.engine.tickets[current] if current else None
        number, issued = (before.number, before.issued_at) if before else (None, None)
        out = self.attempt("transfer", self.engine.transfer, self.tick(5), window, service=service,
                           to_window=to_window)
        if out is not None:
            assert out.data["number"] == number and out.data["issued_at"] == issued.isoformat()
            assert out.data["state"] == "transferred"

    @rule(window=st.sampled_from(WINDOWS), op=st.sampled_from(["open", "close", "pause", "resume", "resume"]),
          dt=st.integers(0, 400))
    def set_window(self, window: str, op: str, dt: int) -> None:
        out = self.attempt("set_window", self.engine.set_window, self.tick(dt), window, op, reason="test")
        if out is not None and op == "pause":
            self.pauses += 1

    @rule(data=st.data(), grade=st.integers(1, 5))
    def evaluate(self, data: st.DataObject, grade: int) -> None:
        t = self.pick_ticket(data, {TicketState.DONE})
        if t is None:
            return
        was_done, was_graded = t.state is TicketState.DONE, t.grade is not None
        out = self.attempt("evaluate", self.engine.evaluate, self.tick(1), grade, ticket_id=t.id)
        assert (out is not None) == (was_done and not was_graded)

    @rule(dt=st.integers(0, 900))
    def supervise(self, dt: int) -> None:
        out = self.engine.supervise(self.tick(dt))
        for ev in out.events:
            assert ev.kind == "alert"
            if ev.payload["kind"] == "long_wait":
                tid = self.engine.by_number[ev.payload["ticket"]]
                assert tid not in self.alerted, "long-wait alert raised twice"
                self.alerted.add(tid)
            else:
                self.pause_alerts += 1
        assert self.pause_alerts <= self.pauses

    @rule(days=st.integers(1, 3))
    def next_day(self, days: int) -> None:
        local = self.now.astimezone(TZ)
        self.now = datetime.combine(local.date() + timedelta(days=days), START.timetz())
        out = Outcome()
        self.engine.roll(self.now, out)
        assert out.rollover == self.now.date()
        assert self.engine.tickets == {} and self.engine.counters == {}
        assert all(t.state is TicketState.EXPIRED for t in out.tickets.values())
        assert all(w.status.value == "closed" for w in self.engine.windows.values())
        self.alerted.clear()

    @rule()
    def restart(self) -> None:
        """The server restarts: today's records (as the store keeps them) rebuild the same hall."""
        e = self.engine
        again = Engine(CONFIG, rng=random.Random(1))
        again.restore(e.day, [Ticket.from_record(t.to_record()) for t in e.tickets.values()],
                      [WindowState.from_record(w.to_record()) for w in e.windows.values()],
                      list(reversed(e.calls_view())))
        assert snapshot(again) == snapshot(e)
        assert [again.window_view(w) for w in WINDOWS] == [e.window_view(w) for w in WINDOWS]
        assert [again.next_for(w) for w in WINDOWS] == [e.next_for(w) for w in WINDOWS]
        self.engine = again

    # ------------------------------------------------------------------ invariants
    @invariant()
    def numbers_unique_and_consecutive(self) -> None:
        e = self.engine
        by_prefix: dict[str, list[int]] = defaultdict(list)
        for t in e.tickets.values():
            by_prefix[t.prefix].append(t.seq)
        for prefix, seqs in by_prefix.items():
            assert sorted(seqs) == list(range(1, e.counters[prefix] + 1)), prefix
        assert len(e.by_number) == len(e.tickets)
        for day, prefixes in self.numbers.items():
            for prefix, seqs in prefixes.items():
                assert seqs == list(range(1, len(seqs) + 1)), (day, prefix, seqs)

    @invariant()
    def queued_iff_waiting_or_transferred(self) -> None:
        e = self.engine
        in_queue: dict[str, str] = {}
        for service, q in e.queues.items():
            assert q == sorted(q)
            for _key, tid in q:
                assert tid not in in_queue, "ticket in two queues"
                in_queue[tid] = service
        for tid, t in e.tickets.items():
            assert isinstance(t.state, TicketState)
            if t.state in QUEUED:
                assert in_queue.get(tid) == t.service
            else:
                assert tid not in in_queue
            assert t.day == e.day

    @invariant()
    def one_window_per_serving_ticket(self) -> None:
        e = self.engine
        currents = [w.current for w in e.windows.values() if w.current]
        assert len(currents) == len(set(currents)), "a ticket served at two windows"
        for w in e.windows.values():
            if w.current:
                t = e.tickets[w.current]
                assert t.state is TicketState.SERVING and t.window == w.id
        serving = [t for t in e.tickets.values() if t.state is TicketState.SERVING]
        assert len(serving) == len(currents)

    @invariant()
    def views_agree_with_a_full_scan(self) -> None:
        """The engine's indexes (queues, held, no-show and directed tickets) give what a scan of every ticket gives."""
        e = self.engine
        for w in WINDOWS:
            view = e.window_view(w)
            assert view["waiting"] == len(self.callable_by(w)), w
            assert view["held"] == sorted(t.number for t in e.tickets.values()
                                          if t.state is TicketState.HELD and t.window == w), w
            assert view["no_show"] == sorted(t.number for t in e.tickets.values()
                                             if t.state is TicketState.NO_SHOW and t.window == w), w
        for z in CONFIG.zones:
            assert e.zone_view(z.id)["waiting"] == sum(1 for t in e.tickets.values()
                                                       if t.state in QUEUED and t.zone == z.id)
        for t in e.tickets.values():
            if t.state in QUEUED:
                assert e.ahead_of(t) == self.ahead_by_definition(t), t.number
        # state/queue/{zone}: every waiting ticket of the zone with the same ahead and estimate its own view gives
        for z in CONFIG.zones:
            queue = e.queue_view(z.id)["tickets"]
            waiting = {t.id: t for t in e.tickets.values() if t.state in QUEUED and t.zone == z.id}
            assert set(queue) == set(waiting), z.id
            for tid, (ahead, est) in queue.items():
                view = e.ticket_view(waiting[tid])
                assert [ahead, est] == [view["ahead"], view["est_wait_s"]], waiting[tid].number

    @invariant()
    def quotas_hold(self) -> None:
        e = self.engine
        for s in CONFIG.services:
            assert e.issued_per_service.get(s.id, 0) <= s.daily_quota
        assert sum(e.issued_per_service.values()) == len(e.tickets)

    @invariant()
    def held_tickets_belong_to_a_window(self) -> None:
        for t in self.engine.tickets.values():
            if t.state in (TicketState.HELD, TicketState.NO_SHOW, TicketState.DONE):
                assert t.window in CONFIG.windows_by_id and t.called_at is not None


HallMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestHall = HallMachine.TestCase
