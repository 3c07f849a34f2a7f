"""The numbers of `onewindow report` over a period: one business day, a week, a month or any range of days.

Everything is counted over the tickets of the whole period (a month's median wait is the median of the month's
waits, never an average of daily medians), grouped by zone, service, department, window, staff member and day:
tickets, served, no-shows, waits (median, mean, P90: nearest rank), service times, 好差评 (evaluations, satisfied,
bad), pauses (count and minutes), supervision alerts by kind, 差评 follow-up times, and the cases (办件) of the
period (hall_server.report_cases). The output (HTML, CSV, PDF, command line) is hall_server.report's.

Reading is cheap on purpose (a month of a busy hall is 180,000 tickets and a million events): the store's JSON is
read field by field in SQL (json_extract), only the events the report needs, and each ticket becomes one small
slotted row, so a month's report takes seconds (bench/report.py).

Definitions:
- wait = first call − issue (a recall does not restart it); service time = finish − (last) call, served tickets;
- a window's `called` counts its call and call-back actions (ticket events), its other counts the tickets it last
  held; the other groups count the tickets called at least once;
- staff: the `staff` field of a ticket record (the staff member signed in at the window that served it); tickets
  without one are grouped under "" (未签到 — not signed in);
- a pause lasts from window_pause to the window's next resume, open or close that day; a pause still running at
  the end of the day's record ends at the day's last event;
- 差评 follow-up: from a bad_evaluation alert to its acknowledgement (`acked_at` of a stored alert event with the
  same id), when there is one.
"""
from __future__ import annotations

import gc
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from operator import attrgetter
from datetime import date, datetime, timedelta
from typing import Any, Callable, Hashable, Iterable
from zoneinfo import ZoneInfo

from hall_bus.hall import GRADES as HALL_GRADES
from hall_server import report_cases
from hall_server.config import HallConfig
from hall_server.report_cases import CaseDay
from hall_server.stats import percentile
from hall_server.store import Store

GRADES = HALL_GRADES     # 好差评 labels: one home (hall_bus.hall)
SATISFIED = 4            # 满意 and 非常满意 count as satisfied (好评)
NO_STAFF = ""            # tickets whose record names no staff member
NO_STAFF_LABEL = "未签到 —"
MAX_DAYS = 366           # the longest period one report covers
ACK_DAYS = 31            # acknowledgements of the period's alerts are looked for up to this many days after it
# The supervision alerts of event/alert (engine.supervise / evaluate / cases); the citizen's comment stays out.
ALERT_KINDS = {"long_wait": ("等候超时", "Long wait"), "window_paused": ("窗口暂停超时", "Long pause"),
               "bad_evaluation": ("差评", "Bad evaluation"), "case_due_soon": ("办件临期", "Case due soon"),
               "case_overdue": ("办件超期", "Case overdue")}
PAUSE_ENDS = ("window_resume", "window_open", "window_close")
WINDOW_ACTIONS = ("transfer", "window_pause", *PAUSE_ENDS)


# ---------------------------------------------------------------- periods
@dataclass(frozen=True)
class Period:
    start: date
    end: date          # inclusive
    kind: str          # day, week, month, range

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def single_day(self) -> bool:
        return self.start == self.end

    @property
    def label(self) -> str:
        """For file names and titles: 2026-11-27, 2026-W48, 2026-11, 2026-11-03_2026-11-19."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            y, w, _ = self.start.isocalendar()
            return f"{y}-W{w:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def name_zh(self) -> str:
        return {"day": "日报", "week": "周报", "month": "月报"}.get(self.kind, "统计报表")

    @property
    def name_en(self) -> str:
        return {"day": "daily report", "week": "weekly report", "month": "monthly report"}.get(self.kind, "report")


def day_period(d: date) -> Period:
    return Period(d, d, "day")


def week_period(d: date) -> Period:
    """The ISO week (Monday to Sunday) holding d."""
    monday = d - timedelta(days=d.weekday())
    return Period(monday, monday + timedelta(days=6), "week")


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, nxt - timedelta(days=1), "month")


def range_period(start: date, end: date) -> Period:
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"{start} to {end} is more than {MAX_DAYS} days")
    if start == end:
        return day_period(start)
    return Period(start, end, "range")


def parse_month(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"{value!r} is not YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def parse_week(value: str) -> date:
    """A day of the week: YYYY-MM-DD, or the ISO week itself: YYYY-Www."""
    m = re.fullmatch(r"(\d{4})-W(\d{2})", value)
    if m:
        try:
            return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise ValueError(f"{value!r} is no ISO week") from None
    return date.fromisoformat(value)


# ---------------------------------------------------------------- rows and groups
@dataclass(slots=True)
class TicketRow:
    """What the report needs of one ticket (no holder data: never read)."""
    id: str
    day: date
    number: str
    service: str
    zone: str
    channel: str
    priority: bool
    state: str
    issued_at: datetime
    first_called_at: datetime | None
    called_at: datetime | None
    finished_at: datetime | None
    window: str | None
    calls: int
    grade: int | None
    staff: str | None
    wait_s: float | None
    service_s: float | None
    hour: int = 0                   # of issue, on the hall's clock
    done_hour: int | None = None    # of finish (served tickets), on the hall's clock


@dataclass
class Group:
    """Counts and samples of the hall, a zone, service, department, window, staff member or day."""
    tickets: int = 0
    called: int = 0
    served: int = 0
    no_show: int = 0
    held: int = 0
    expired: int = 0
    transferred_out: int = 0
    pauses: int = 0
    pause_s: float = 0.0
    alerts: int = 0
    waits: list[float] = field(default_factory=list)
    service_times: list[float] = field(default_factory=list)
    grades: list[int] = field(default_factory=list)

    def add_rows(self, rows: list[TicketRow], *, count_called: bool = True) -> None:
        self.tickets += len(rows)
        waits = [r.wait_s for r in rows if r.wait_s is not None]
        self.waits += waits
        if count_called:
            self.called += len(waits)
        states = [r.state for r in rows]
        self.served += states.count("done")
        self.no_show += states.count("no_show")
        self.held += states.count("held")
        self.expired += states.count("expired")
        self.service_times += [r.service_s for r in rows if r.service_s is not None]
        self.grades += [r.grade for r in rows if r.grade]

    def merge(self, other: "Group") -> None:
        """Add another group's tickets (a department from its services, the hall from its days)."""
        for name in ("tickets", "called", "served", "no_show", "held", "expired", "transferred_out", "pauses",
                     "pause_s", "alerts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.waits += other.waits
        self.service_times += other.service_times
        self.grades += other.grades

    # the samples are sorted once, on first use (a month's groups hold 180,000 waits)
    _sorted_waits: list[float] | None = field(default=None, repr=False)
    _sorted_service: list[float] | None = field(default=None, repr=False)

    def _waits(self) -> list[float]:
        if self._sorted_waits is None or len(self._sorted_waits) != len(self.waits):
            self._sorted_waits = sorted(self.waits)
        return self._sorted_waits

    def _service(self) -> list[float]:
        if self._sorted_service is None or len(self._sorted_service) != len(self.service_times):
            self._sorted_service = sorted(self.service_times)
        return self._sorted_service

    @property
    def avg_wait_s(self) -> float | None:
        return _mean(self.waits)

    @property
    def median_wait_s(self) -> float | None:
        return _rank(self._waits(), 50)

    @property
    def p90_wait_s(self) -> float | None:
        return _rank(self._waits(), 90)     # nearest rank: a wait someone really had

    @property
    def avg_service_s(self) -> float | None:
        return _mean(self.service_times)

    @property
    def median_service_s(self) -> float | None:
        return _rank(self._service(), 50)

    @property
    def no_show_rate(self) -> float | None:
        return self.no_show / self.called if self.called else None

    @property
    def evaluations(self) -> int:
        return len(self.grades)

    @property
    def satisfied(self) -> int:
        return sum(1 for g in self.grades if g >= SATISFIED)

    def bad(self, bad_grade: int = 2) -> int:
        return sum(1 for g in self.grades if g <= bad_grade)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / len(self.grades) if self.grades else None

    @property
    def avg_grade(self) -> float | None:
        return _mean([float(g) for g in self.grades])

    @property
    def pause_minutes(self) -> float:
        return self.pause_s / 60


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _rank(sorted_xs: list[float], p: float) -> float | None:
    return percentile(sorted_xs, p) if sorted_xs else None


@dataclass
class FollowUp:
    """A 差评 (bad_evaluation alert) and how long until someone acknowledged it."""
    alert_id: str
    ts: datetime
    ticket: str
    window: str
    grade: int | None
    acked_at: datetime | None

    @property
    def seconds(self) -> float | None:
        return max(0.0, (self.acked_at - self.ts).total_seconds()) if self.acked_at else None


@dataclass
class Report:
    period: Period
    config: HallConfig
    tickets: list[TicketRow]
    hall: Group
    zones: dict[str, Group]
    services: dict[str, Group]
    departments: dict[str, Group]
    windows: dict[str, Group]
    staff: dict[str, Group]
    days: dict[date, Group]
    issued_per_hour: Counter[int]
    served_per_hour: Counter[int]
    grades: Counter[int]
    alerts: list[dict[str, Any]] = field(default_factory=list)   # raised in the period, in order, one per id
    followups: list[FollowUp] = field(default_factory=list)
    cases: CaseDay | None = None      # the period's cases (办件), hall_server.report_cases

    @property
    def day(self) -> date:
        """The report's (last) business day."""
        return self.period.end

    @property
    def has_cases(self) -> bool:
        """Cases figure in the report: any recorded, done or still open (a hall without cases shows none)."""
        return self.cases is not None and bool(self.cases.rows)

    @property
    def alert_counts(self) -> Counter[str]:
        return Counter(a["kind"] for a in self.alerts)

    def department_of(self, service: str) -> str:
        s = self.config.services_by_id.get(service)
        return s.department if s is not None else ""


# ---------------------------------------------------------------- reading the store
_TICKET_FIELDS = ("number", "service", "zone", "channel", "priority", "state", "issued_at", "called_at",
                  "finished_at", "window", "calls", "grade", "staff")


def _query(store: Store, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    lock = getattr(store, "_lock", None)
    if lock is None:
        return store.db.execute(sql, args).fetchall()
    with lock:
        return store.db.execute(sql, args).fetchall()


def _ticket_rows(store: Store, period: Period, tz: ZoneInfo, first_call: dict[str, str]) -> list[TicketRow]:
    d0, d1 = period.start.isoformat(), period.end.isoformat()
    cols = ", ".join(f"json_extract(record, '$.{f}')" for f in _TICKET_FIELDS)
    rows: list[TicketRow] = []
    parse = datetime.fromisoformat
    days: dict[str, tuple[date, str]] = {}

    def hour(ts: str) -> int:
        return parse(ts).astimezone(tz).hour

    for (tid, day, number, service, zone, channel, priority, state, issued, called, finished, window, calls, grade,
         staff) in _query(store, f"SELECT id, day, {cols} FROM tickets WHERE day BETWEEN ? AND ? ORDER BY day, rowid",
                          (d0, d1)):
        known = days.get(day)
        if known is None:
            d = date.fromisoformat(day)
            noon = datetime(d.year, d.month, d.day, 12, tzinfo=tz)
            known = days[day] = (d, noon.isoformat()[19:])
        d, offset = known
        issued_at = parse(issued)
        called_at = parse(called) if called else None
        finished_at = parse(finished) if finished else None
        fc = first_call.get(tid)
        first = parse(fc) if fc else called_at
        wait = (first - issued_at).total_seconds() if first else None
        done = state == "done"
        service_s = max(0.0, (finished_at - called_at).total_seconds()) if done and called_at and finished_at else None
        # stored times carry the hall's offset (engine.local): the hour is in the text; else it is converted
        rows.append(TicketRow(tid, d, number, service, zone, channel or "", bool(priority), state, issued_at, first,
                              called_at, finished_at, window or None, int(calls or 0), int(grade) if grade else None,
                              str(staff) if staff else None, wait, service_s,
                              int(issued[11:13]) if issued.endswith(offset) else hour(issued),
                              (int(finished[11:13]) if finished.endswith(offset) else hour(finished))
                              if done and finished else None))
    return rows


# Which ticket events may be a window's (transfer, pause, resume, open, close): the store writes compact JSON with
# the action among the first keys, so the test reads the head of the text; a record laid out otherwise is parsed.
_ACTION_TEST = ("(CASE WHEN instr(substr(record, 1, 60), '\"action\":') > 0 "
                "THEN instr(substr(record, 1, 120), 'window_') > 0 OR instr(substr(record, 1, 120), 'transfer') > 0 "
                "ELSE json_extract(record, '$.action') IN ('transfer', 'window_pause', 'window_resume', 'window_open', "
                "'window_close') END)")


def _window_events(store: Store, period: Period
                   ) -> tuple[dict[str, str], list[tuple[date, str, str | None, str | None, str, str | None]]]:
    """One pass over the period's events: the first call of each ticket (ticket id -> ts; a call event that is no
    recall: the engine's call and call back), and (day, action, window, from_window, ts, staff) of the events that
    count for windows — their calls, transfers and pauses. Only the events that can be those are parsed (the text
    is searched first: a month holds a million events)."""
    q = ("SELECT kind, day, json_extract(record, '$.ticket_id'), json_extract(record, '$.ts'), "
         "json_extract(record, '$.window'), json_extract(record, '$.action'), json_extract(record, '$.from_window'), "
         "json_extract(record, '$.staff') FROM events WHERE day BETWEEN ? AND ? AND "
         "((kind='call' AND NOT coalesce(json_extract(record, '$.recall'), 0)) OR "
         f"(kind='ticket' AND {_ACTION_TEST})) ORDER BY rowid")
    first_call: dict[str, str] = {}
    out: list[tuple[date, str, str | None, str | None, str, str | None]] = []
    days: dict[str, date] = {}
    for kind, d, tid, ts, window, action, from_window, staff in _query(
            store, q, (period.start.isoformat(), period.end.isoformat())):
        if kind == "call":
            if tid and ts and tid not in first_call:
                first_call[tid] = ts
            action = "call"
        elif action not in WINDOW_ACTIONS:
            continue
        day = days.get(d)
        if day is None:
            day = days[d] = date.fromisoformat(d)
        out.append((day, action, window, from_window, ts, staff))
    return first_call, out


def _last_event_ts(store: Store, period: Period) -> dict[date, datetime]:
    """The last event of each day (events are stored in time order): where a pause still running at the end of the
    day's record ends."""
    rows = _query(store, "SELECT day, json_extract(record, '$.ts') FROM events WHERE rowid IN "
                         "(SELECT max(rowid) FROM events WHERE day BETWEEN ? AND ? GROUP BY day)",
                  (period.start.isoformat(), period.end.isoformat()))
    return {date.fromisoformat(d): datetime.fromisoformat(ts) for d, ts in rows if ts}


def _alerts(store: Store, period: Period, tz: ZoneInfo) -> tuple[list[dict[str, Any]], list[FollowUp]]:
    """The period's alerts (one per id, the first stored copy, with `acked_at` from any later copy) and the 差评
    follow-ups. Acknowledgements stored up to ACK_DAYS after the period's last day count too."""
    rows = _query(store, "SELECT day, record FROM events WHERE day BETWEEN ? AND ? AND kind='alert' ORDER BY rowid",
                  (period.start.isoformat(), (period.end + timedelta(days=ACK_DAYS)).isoformat()))
    by_id: dict[str, dict[str, Any]] = {}
    end = period.end.isoformat()
    for day, text in rows:
        ev = json.loads(text)
        if ev.get("kind") not in ALERT_KINDS:
            continue
        key = str(ev.get("id") or f"{ev.get('kind')}-{ev.get('target')}-{ev.get('ts')}")
        first = by_id.get(key)
        if first is None:
            if day > end or ev.get("acked_at"):
                continue                    # raised after the period, or acknowledged in it but raised before
            by_id[key] = first = {**ev, "day": day}
            first.pop("comment", None)      # the citizen's words never reach a report
        if ev.get("acked_at") and not first.get("acked_at"):
            first["acked_at"] = ev["acked_at"]
    alerts = sorted(by_id.values(), key=lambda a: str(a.get("ts", "")))
    followups = []
    for a in alerts:
        if a["kind"] == "bad_evaluation" and a.get("ts"):
            acked = a.get("acked_at")
            followups.append(FollowUp(str(a.get("id", "")), datetime.fromisoformat(a["ts"]).astimezone(tz),
                                      str(a.get("ticket") or ""), str(a.get("window") or ""),
                                      int(a["grade"]) if a.get("grade") else None,
                                      datetime.fromisoformat(acked).astimezone(tz) if acked else None))
    return alerts, followups


def _grouped(rows: Iterable[TicketRow], key: Callable[[TicketRow], Hashable]) -> dict[Any, list[TicketRow]]:
    out: dict[Any, list[TicketRow]] = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return out


def _groups(seed: Iterable[Any], rows: list[TicketRow], key: Callable[[TicketRow], Hashable], *,
            count_called: bool = True) -> dict[Any, Group]:
    groups: dict[Any, Group] = {k: Group() for k in seed}
    for k, rs in _grouped(rows, key).items():
        groups.setdefault(k, Group()).add_rows(rs, count_called=count_called)
    return groups


def build(store: Store, config: HallConfig, period: Period | date) -> Report:
    """The period's statistics from the store (read-only, next to a running server's writer)."""
    if isinstance(period, date):
        period = day_period(period)
    # A month is ~200,000 small acyclic objects: the cyclic collector would walk them again and again while they
    # are made (a third of the time); it is paused meanwhile and put back as it was.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build(store, config, period)
    finally:
        if paused:
            gc.enable()


def _build(store: Store, config: HallConfig, period: Period) -> Report:
    tz = ZoneInfo(config.hall.timezone)
    first_call, window_events = _window_events(store, period)
    rows = _ticket_rows(store, period, tz, first_call)
    del first_call
    zones = _groups((z.id for z in config.zones), rows, attrgetter("zone"))
    services = _groups((s.id for s in config.services), rows, attrgetter("service"))
    departments: dict[str, Group] = {d.id: Group() for d in config.departments}
    dept_of = {s.id: s.department for s in config.services}
    for sid, g in services.items():           # a department's tickets are its services'
        if g.tickets:
            departments.setdefault(dept_of.get(sid, ""), Group()).merge(g)
    windows = _groups((w.id for w in config.windows), [r for r in rows if r.window], attrgetter("window"),
                      count_called=False)
    staff = _groups((), rows, attrgetter("staff"))
    if None in staff:
        staff.setdefault(NO_STAFF, Group()).merge(staff.pop(None))
    days = _groups(period.days, rows, attrgetter("day"))
    hall = Group()
    for g in days.values():                   # the hall's tickets are its days'
        hall.merge(g)
    issued_per_hour: Counter[int] = Counter(r.hour for r in rows)
    served_per_hour: Counter[int] = Counter(r.done_hour for r in rows if r.done_hour is not None)
    grades: Counter[int] = Counter(r.grade for r in rows if r.grade)

    # windows: calls and transfers from the events; pauses (count and length), also per staff member and day
    last_ts = _last_event_ts(store, period)
    paused_since: dict[tuple[date, str], tuple[datetime, str | None]] = {}

    def end_pause(d: date, wid: str, until: datetime) -> None:
        since, who = paused_since.pop((d, wid))
        seconds = max(0.0, (until - since).total_seconds())
        for g in (windows.setdefault(wid, Group()), staff.setdefault(who or NO_STAFF, Group()), days[d], hall):
            g.pause_s += seconds

    for d, action, wid, from_wid, ts, who in window_events:
        if action == "call" and wid:
            windows.setdefault(wid, Group()).called += 1
        elif action == "transfer" and from_wid:
            windows.setdefault(from_wid, Group()).transferred_out += 1
        elif action == "window_pause" and wid and ts:
            when = datetime.fromisoformat(ts)
            if (d, wid) in paused_since:          # paused again without a resume in between: one long pause
                continue
            paused_since[(d, wid)] = (when, who)
            for g in (windows.setdefault(wid, Group()), staff.setdefault(who or NO_STAFF, Group()), days[d], hall):
                g.pauses += 1
        elif action in PAUSE_ENDS and wid and ts and (d, wid) in paused_since:
            end_pause(d, wid, datetime.fromisoformat(ts))
    for (d, wid), (since, _who) in list(paused_since.items()):
        end_pause(d, wid, max(since, last_ts.get(d, since)))

    alerts, followups = _alerts(store, period, tz)
    for a in alerts:
        d = date.fromisoformat(a["day"])
        if d in days:
            days[d].alerts += 1
    hall.alerts = len(alerts)
    cases = report_cases.build_range(store, config, period.start, period.end,
                                     alerts=Counter(a["kind"] for a in alerts if a["kind"].startswith("case_")))
    return Report(period, config, rows, hall, zones, services, departments, windows, staff, days, issued_per_hour,
                  served_per_hour, grades, alerts, followups, cases)


def totals(rep: Report) -> dict[str, Any]:
    """The headline figures (the command's JSON line, the bench)."""
    h = rep.hall

    def r(x: float | None, digits: int = 1) -> float | None:
        return None if x is None else round(x, digits)

    done = [f.seconds for f in rep.followups if f.seconds is not None]
    return {"tickets": h.tickets, "called": h.called, "served": h.served, "no_show": h.no_show,
            "expired": h.expired, "evaluations": h.evaluations, "alerts": len(rep.alerts),
            "avg_wait_s": r(h.avg_wait_s), "median_wait_s": h.median_wait_s, "p90_wait_s": h.p90_wait_s,
            "avg_service_s": r(h.avg_service_s), "satisfaction_rate": r(h.satisfaction_rate, 4),
            "pauses": h.pauses, "pause_minutes": r(h.pause_minutes),
            "bad_evaluations": len(rep.followups), "bad_followed_up": len(done),
            "median_followup_s": percentile(done, 50) if done else None,
            "staff": sum(1 for k, g in rep.staff.items() if k != NO_STAFF and g.tickets)}
