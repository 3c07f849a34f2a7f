"""The cases (办件) part of the daily report: what was accepted, done (on time or late), refused, told to come back
(一次性告知) and left overdue on the business day D, by service and by department, and per service the working days
taken against the legal limit (实际用时/法定时限: the reference hall reports cutting limits to 35% of the legal ones).

Definitions (the report's day D, dates on the hall's clock):
- accepted: cases whose first step is 受理 `accepted` on D (容缺受理 included), whatever became of them since;
  refused / incomplete: cases recorded on D as 不予受理 / 一次性告知;
- done: cases whose `done_at` is on D, accepted on any day; on time when done on or before the promised due date
  (stops and extensions as they were when done), else done late;
- overdue: cases still open at the end of D (accepted, in progress, 补正, 特别程序) whose promised due date is
  before D; done-late cases are counted apart;
- days taken: the limit's days (working days, or natural days for a natural-day limit) from acceptance to done,
  stopped days excluded (hall_server.deadlines); ratios are sums over the cases done on D:
  actual/legal = Σ days taken / Σ legal days, promised/legal = Σ promised days / Σ legal days.
A report for a past day sees each case as it stood at the end of that day (its history, stops and extensions up to
D), so running it a week later gives the same figures.
A report over a period [S, D] (a week, a month) counts the same way with "on D" read as "from S to D": accepted,
refused and incomplete when recorded in the period, done when done in it (on time or not as it was when done), and
overdue / open as the cases stood at the end of D (build_range).

Only the non-personal record of a case is read (never the sealed applicant or phone), and cases.csv carries no
token, query code, notes or reasons.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from hall_server import deadlines
from hall_server.calendar import HallCalendar
from hall_server.cases import OPEN, STATUS_ZH
from hall_server.config import HallConfig
from hall_server.store import Store

REFERENCE_RATIO = 0.35      # the reference hall's limits: 35% of the legal ones
OPEN_STATUSES = tuple(sorted(OPEN))

# Columns of cases.csv: what happened to each case, never who applied (no applicant, ID number, phone, token,
# query code, notes or reasons).
CASE_COLUMNS = ["number", "service", "service_name", "department", "department_name", "window", "status",
                "status_zh", "result", "accepted_at", "limit_unit", "promised_days", "legal_days", "due_date",
                "done_at", "on_time", "overdue", "working_days_taken", "days_taken"]
GROUP_COLUMNS = ["accepted", "done", "done_on_time", "done_late", "overdue", "refused", "incomplete", "open",
                 "avg_days_taken", "avg_legal_days", "actual_legal_ratio", "promised_legal_ratio"]


# ---------------------------------------------------------------- the day's cases
@dataclass
class CaseRow:
    """One case as it stood at the end of the report's day."""
    rec: dict[str, Any]
    status: str                 # at the end of D
    first: str                  # the first step: accepted, incomplete or refused
    recorded: date              # the case's business day (its number's)
    accepted_on: date
    due: date | None            # promised due date at the end of D (when done: as it was when done)
    done_on: date | None        # done on or before D
    on_time: bool | None        # done cases only
    overdue: bool               # open at the end of D and past its due date
    working_days: int | None    # working days taken (to done, or so far for an open case)
    days_taken: int | None      # in the limit's unit (= working_days for a working-day limit)


@dataclass
class CaseGroup:
    """Counts of a service, a department or the whole hall."""
    accepted: int = 0
    done: int = 0
    done_on_time: int = 0
    done_late: int = 0
    overdue: int = 0
    refused: int = 0
    incomplete: int = 0
    open: int = 0
    taken_sum: int = 0
    legal_sum: int = 0
    promised_sum: int = 0

    def add(self, r: CaseRow, day: date, since: date | None = None) -> None:
        """Count a case for the day `day`, or for the period [since, day]."""
        first = since or day
        if first <= r.recorded <= day:
            if r.first == "accepted":
                self.accepted += 1
            elif r.first == "refused":
                self.refused += 1
            elif r.first == "incomplete":
                self.incomplete += 1
        if r.done_on is not None and first <= r.done_on <= day:
            self.done += 1
            self.done_on_time += bool(r.on_time)
            self.done_late += not r.on_time
            self.taken_sum += r.days_taken or 0
            self.legal_sum += int(r.rec["legal_days"])
            self.promised_sum += int(r.rec["promised_days"])
        if r.status in OPEN:
            self.open += 1
            self.overdue += r.overdue

    @property
    def any(self) -> bool:
        return bool(self.accepted or self.done or self.refused or self.incomplete or self.open)

    @property
    def avg_days_taken(self) -> float | None:
        return self.taken_sum / self.done if self.done else None

    @property
    def avg_legal_days(self) -> float | None:
        return self.legal_sum / self.done if self.done else None

    @property
    def on_time_rate(self) -> float | None:
        return self.done_on_time / self.done if self.done else None

    @property
    def actual_legal_ratio(self) -> float | None:
        return self.taken_sum / self.legal_sum if self.done and self.legal_sum else None

    @property
    def promised_legal_ratio(self) -> float | None:
        return self.promised_sum / self.legal_sum if self.done and self.legal_sum else None


@dataclass
class CaseDay:
    day: date                   # the (last) day: open and overdue as the cases stood at its end
    config: HallConfig
    rows: list[CaseRow]
    hall: CaseGroup
    services: dict[str, CaseGroup]
    departments: dict[str, CaseGroup]
    alerts: dict[str, int] = field(default_factory=dict)     # case_due_soon / case_overdue raised on D
    since: date | None = None   # a period's first day (None: the day D alone)

    @property
    def start(self) -> date:
        return self.since or self.day

    @property
    def is_period(self) -> bool:
        return self.start != self.day

    def in_period(self, d: date | None) -> bool:
        return d is not None and self.start <= d <= self.day

    def per_day(self) -> dict[date, Counter[str]]:
        """accepted / done / done_on_time / done_late per day of the period (the report's trend and days.csv)."""
        out: dict[date, Counter[str]] = {}
        for r in self.rows:
            if r.first == "accepted" and self.in_period(r.recorded):
                out.setdefault(r.recorded, Counter())["accepted"] += 1
            if r.done_on is not None and self.in_period(r.done_on):
                c = out.setdefault(r.done_on, Counter())
                c["done"] += 1
                c["done_on_time" if r.on_time else "done_late"] += 1
        return out

    @property
    def active(self) -> bool:
        """Anything happened on D (accepted, refused, incomplete, done): the day has case figures of its own."""
        h = self.hall
        return bool(h.accepted or h.refused or h.incomplete or h.done)

    def promised_ratio(self, service: str) -> float | None:
        """The hall's promise for a service: promised/legal over the cases done on D, else from the config."""
        g = self.services.get(service)
        if g is not None and g.promised_legal_ratio is not None:
            return g.promised_legal_ratio
        s = self.config.services_by_id.get(service)
        return s.promised_days / s.legal_days if s is not None and s.legal_days else None

    def department_promised_ratio(self, dept: str) -> float | None:
        g = self.departments.get(dept)
        if g is not None and g.promised_legal_ratio is not None:
            return g.promised_legal_ratio
        svcs = [s for s in self.config.services if s.department == dept]
        legal = sum(s.legal_days for s in svcs)
        return sum(s.promised_days for s in svcs) / legal if legal else None


def _local(ts: str, tz: ZoneInfo) -> datetime:
    d = datetime.fromisoformat(ts)
    return d.astimezone(tz) if d.tzinfo is not None else d


def _date_of(ts: str, tz: ZoneInfo) -> date:
    return _local(ts, tz).date()


def case_records(store: Store, day: date, since: date | None = None) -> list[dict[str, Any]]:
    """The non-personal records of every case that can figure in the report of day D (or of the period [since, D]):
    recorded in it, open now, or done / closed from the day before its first day on (the day before: a margin for
    clocks; exact dates are checked later). Read-only, on the store's connection."""
    first = since or day
    d, s, before = day.isoformat(), first.isoformat(), (first - timedelta(days=1)).isoformat()
    q = ("SELECT record FROM cases WHERE day <= ? AND (day >= ? OR status IN ({}) OR closed_at >= ? "
         "OR substr(json_extract(record, '$.done_at'), 1, 10) >= ?) ORDER BY day, number"
         ).format(",".join("?" * len(OPEN_STATUSES)))
    lock = getattr(store, "_lock", None)
    if lock is not None:
        with lock:
            rows = store.db.execute(q, (d, s, *OPEN_STATUSES, before, before)).fetchall()
    else:
        rows = store.db.execute(q, (d, s, *OPEN_STATUSES, before, before)).fetchall()
    return [json.loads(r[0]) for r in rows]


def natural_days_taken(accepted: date, finished: date, stops: list[deadlines.Stop]) -> int:
    """Calendar days in (accepted, finished] with the clock running (an open stop runs to `finished`)."""
    closed = [(a, b or finished) for a, b in stops]
    n, d = 0, accepted + timedelta(days=1)
    while d <= finished:
        if not any(a <= d <= b for a, b in closed):
            n += 1
        d += timedelta(days=1)
    return n


def as_of(rec: dict[str, Any], day: date, cal: HallCalendar, tz: ZoneInfo) -> CaseRow | None:
    """The case at the end of `day` (None when it did not exist yet)."""
    history = [h for h in rec.get("history") or [] if h.get("ts") and _date_of(h["ts"], tz) <= day]
    if not history:
        return None
    status = str(history[-1]["status"])
    first = str((rec.get("history") or history)[0].get("change") or rec["status"])
    accepted = _date_of(rec["accepted_at"], tz)
    done_on = _date_of(rec["done_at"], tz) if rec.get("done_at") else None
    if done_on is not None and done_on > day:
        done_on = None
    unit = rec["limit_unit"]
    promised = int(rec["promised_days"])

    def clock_at(when: date) -> tuple[list[deadlines.Stop], int]:
        stops: list[deadlines.Stop] = []
        for a, b in rec.get("stops") or []:
            start = date.fromisoformat(a)
            end = date.fromisoformat(b) if b else None
            if start <= when:
                stops.append((start, end if end is not None and end <= when else None))
        extended = sum(1 for h in rec.get("history") or []
                       if h.get("change") == "extend" and h.get("ts") and _date_of(h["ts"], tz) <= when)
        extra = sum(int(e.get("days") or 0) for e in (rec.get("extensions") or [])[:extended])
        return stops, extra

    due = on_time = None
    working = taken = None
    overdue = False
    if first not in ("incomplete", "refused"):
        until = done_on or day
        stops, extra = clock_at(until)
        due = deadlines.due_date(cal, accepted, promised, unit, stops, extra, today=until)
        if done_on is not None or status in OPEN:
            working = deadlines.working_days_taken(cal, accepted, until, stops)
            taken = working if unit == "working_days" else natural_days_taken(accepted, until, stops)
        if done_on is not None:
            on_time = done_on <= due
        elif status in OPEN:
            overdue = due < day
    return CaseRow(rec, status, first, date.fromisoformat(rec["day"]), accepted, due, done_on, on_time, overdue,
                   working, taken)


def build(store: Store, config: HallConfig, day: date) -> CaseDay:
    """Day D's case figures from the store."""
    return build_range(store, config, day, day)


def build_range(store: Store, config: HallConfig, since: date, day: date,
                alerts: dict[str, int] | None = None) -> CaseDay:
    """The case figures of the period [since, day] (since == day: one day), each case as it stood at the end of
    `day`; `alerts`: the case_due_soon / case_overdue alerts of the period when the caller counted them."""
    tz = ZoneInfo(config.hall.timezone)
    cal = config.hall_calendar
    first = min(since, day)
    rows = [r for r in (as_of(rec, day, cal, tz) for rec in case_records(store, day, first)) if r is not None]
    # keep the cases that figure in the period: recorded in it, done in it, or open at its end
    rows = [r for r in rows if first <= r.recorded <= day or (r.done_on is not None and first <= r.done_on <= day)
            or r.status in OPEN]
    hall = CaseGroup()
    services: dict[str, CaseGroup] = {}
    departments: dict[str, CaseGroup] = {}
    for r in rows:
        for g in (hall, services.setdefault(r.rec["service"], CaseGroup()),
                  departments.setdefault(r.rec.get("department") or "", CaseGroup())):
            g.add(r, day, first)
    if alerts is not None:
        return CaseDay(day, config, rows, hall, services, departments,
                       {"case_due_soon": alerts.get("case_due_soon", 0), "case_overdue": alerts.get("case_overdue", 0)},
                       None if first == day else first)
    alerts = {"case_due_soon": 0, "case_overdue": 0}
    lock = getattr(store, "_lock", None)
    q = ("SELECT json_extract(record, '$.kind'), count(*) FROM events WHERE day BETWEEN ? AND ? AND kind='alert' "
         "AND json_extract(record, '$.kind') IN ('case_due_soon', 'case_overdue') GROUP BY 1")
    args = (first.isoformat(), day.isoformat())
    if lock is not None:
        with lock:
            found = store.db.execute(q, args).fetchall()
    else:
        found = store.db.execute(q, args).fetchall()
    for kind, n in found:
        alerts[kind] = n
    return CaseDay(day, config, rows, hall, services, departments, alerts, None if first == day else first)


# ---------------------------------------------------------------- order and names
def service_order(cd: CaseDay) -> list[str]:
    """Services with figures, in the config's order (unknown ones last)."""
    known = [s.id for s in cd.config.services if s.id in cd.services and cd.services[s.id].any]
    return known + sorted(k for k, g in cd.services.items() if g.any and k not in cd.config.services_by_id)


def department_order(cd: CaseDay) -> list[str]:
    known = [d.id for d in cd.config.departments if d.id in cd.departments and cd.departments[d.id].any]
    return known + sorted(k for k, g in cd.departments.items() if g.any and k not in cd.config.departments_by_id)


def service_name(cd: CaseDay, sid: str, lang: str = "zh") -> str:
    s = cd.config.services_by_id.get(sid)
    return sid if s is None else s.name_en if lang == "en" else s.name


def department_name(cd: CaseDay, dept: str, lang: str = "zh") -> str:
    return cd.config.department_name(dept, lang) if dept else "—"


# ---------------------------------------------------------------- CSV
def _ratio(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def write_csv(cd: CaseDay, out: Path, writer: Callable[[Path, list[str], Any], Path]) -> Path:
    """cases.csv: one row per case of the day (recorded on it, done on it, open at its end)."""
    def row(r: CaseRow) -> list[Any]:
        rec = r.rec
        dept = rec.get("department") or ""
        return [rec["number"], rec["service"], service_name(cd, rec["service"]), dept, department_name(cd, dept),
                rec.get("window") or "", r.status, STATUS_ZH.get(r.status, r.status),
                (rec.get("result") or "") if r.done_on else "",
                rec["accepted_at"], rec["limit_unit"], rec["promised_days"], rec["legal_days"],
                r.due.isoformat() if r.due else "", (rec.get("done_at") or "") if r.done_on else "",
                "" if r.on_time is None else int(r.on_time), int(r.overdue),
                "" if r.working_days is None else r.working_days, "" if r.days_taken is None else r.days_taken]

    rows = sorted(cd.rows, key=lambda r: (r.rec["accepted_at"], r.rec["number"]))
    return writer(out / "cases.csv", CASE_COLUMNS, map(row, rows))


def totals(cd: CaseDay) -> dict[str, Any]:
    h = cd.hall
    return {"accepted": h.accepted, "done": h.done, "done_on_time": h.done_on_time, "done_late": h.done_late,
            "overdue": h.overdue, "refused": h.refused, "incomplete": h.incomplete, "open": h.open,
            "actual_legal_ratio": None if h.actual_legal_ratio is None else round(h.actual_legal_ratio, 4)}


# ---------------------------------------------------------------- HTML
def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _days(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _cells(g: CaseGroup) -> str:
    late = f'<td class="bad">{g.done_late}</td>' if g.done_late else "<td>0</td>"
    overdue = f'<td class="bad">{g.overdue}</td>' if g.overdue else "<td>0</td>"
    return (f"<td>{g.accepted}</td><td>{g.done}</td><td>{g.done_on_time}</td>{late}{overdue}"
            f"<td>{g.refused}</td><td>{g.incomplete}</td><td>{g.open}</td><td>{_days(g.avg_days_taken)}</td>")


_HEAD = ("<th>受理<br>Accepted</th><th>办结<br>Done</th><th>按时办结<br>On time</th><th>逾期办结<br>Done late</th>"
         "<th>超期未结<br>Overdue</th><th>不予受理<br>Refused</th><th>一次性告知<br>Incomplete</th>"
         "<th>在办<br>Open</th><th>平均用时<br>Avg days</th>")


def render_section(cd: CaseDay, bar_chart: Callable[..., str]) -> str:
    """The "办件 Cases" section of the daily report (`bar_chart`: the report's horizontal bar chart)."""
    h = cd.hall
    when_zh, when_en = ("本期", "in the period") if cd.is_period else ("今日", "today")
    end_zh = "期末" if cd.is_period else "日终"
    cards = [("受理 Accepted", str(h.accepted)), ("办结 Done", str(h.done)),
             ("按时办结率 On time", _pct(h.on_time_rate)), ("超期未结 Overdue", str(h.overdue)),
             ("不予受理 Refused", str(h.refused)), ("一次性告知 Incomplete", str(h.incomplete)),
             ("实际/法定 Actual/legal", _pct(h.actual_legal_ratio)), ("在办 Open", str(h.open))]
    card_html = "\n".join(f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
                          for k, v in cards)
    services = service_order(cd)
    svc_rows = "\n".join(
        f"<tr><td>{escape(service_name(cd, sid))}<br><small>{escape(service_name(cd, sid, 'en'))}</small></td>"
        f"{_cells(g)}<td>{_legal(cd, sid)}</td><td>{_pct(g.actual_legal_ratio)}</td>"
        f"<td>{_pct(cd.promised_ratio(sid))}</td></tr>"
        for sid in services for g in [cd.services[sid]])
    total_row = (f'<tr class="total"><td>合计 Total</td>{_cells(h)}<td>{_days(h.avg_legal_days)}</td>'
                 f"<td>{_pct(h.actual_legal_ratio)}</td><td>{_pct(h.promised_legal_ratio)}</td></tr>")
    depts = department_order(cd)
    dept_rows = "\n".join(
        f"<tr><td>{escape(department_name(cd, d))}<br><small>{escape(department_name(cd, d, 'en'))}</small></td>"
        f"{_cells(g)}<td>{_pct(g.actual_legal_ratio)}</td><td>{_pct(cd.department_promised_ratio(d))}</td></tr>"
        for d in depts for g in [cd.departments[d]])
    done_services = [sid for sid in services if cd.services[sid].done and cd.services[sid].legal_sum]
    if done_services:
        chart = bar_chart(
            "chart-case-ratio", "实际用时/法定时限 Days taken / legal limit",
            [service_name(cd, sid) for sid in done_services],
            [("实际/法定 Actual/legal", "#1f6fb2",
              [100 * (cd.services[sid].actual_legal_ratio or 0) for sid in done_services]),
             ("承诺/法定 Promised/legal", "#b8c7d6", [100 * (cd.promised_ratio(sid) or 0) for sid in done_services])],
            unit="%")
    else:
        chart = f'<p class="none">{when_zh}无办结办件 No cases done {when_en}</p>'
    alerts = (f"电子监察 Supervision: 临期黄牌 due soon {cd.alerts.get('case_due_soon', 0)} · "
              f"超期红牌 overdue {cd.alerts.get('case_overdue', 0)}")
    return f"""<section id="cases">
<h2>办件 Cases</h2>
<div class="cards">
{card_html}
</div>
<p class="note">{when_zh}办结件的实际用时与承诺时限占法定时限之比（参考：压缩至法定时限的 {REFERENCE_RATIO:.0%}）
Days taken and promised days as a share of the legal limit, cases done {when_en} (reference hall: {REFERENCE_RATIO:.0%}).
<br>{escape(alerts)}</p>
{chart}
<h3>按事项 By service</h3>
<table class="cases">
<tr><th>事项 Service</th>{_HEAD}<th>法定时限<br>Legal days</th><th>实际/法定<br>Actual/legal</th>
<th>承诺/法定<br>Promised/legal</th></tr>
{svc_rows}
{total_row}
</table>
<h3>按部门 By department</h3>
<table class="cases">
<tr><th>部门 Department</th>{_HEAD}<th>实际/法定<br>Actual/legal</th><th>承诺/法定<br>Promised/legal</th></tr>
{dept_rows}
</table>
<p class="note">受理、不予受理、一次性告知：{when_zh}登记；办结：{when_zh}办结（任一受理日），按时 = 不晚于承诺办结日；超期未结：{end_zh}仍在办且已过承诺办结日；
用时按工作日计（补正、特别程序期间不计），实际/法定 = Σ用时 / Σ法定时限。 Days taken: working days from acceptance to done, stops excluded.</p>
</section>"""


def _legal(cd: CaseDay, sid: str) -> str:
    s = cd.config.services_by_id.get(sid)
    g = cd.services.get(sid)
    if g is not None and g.avg_legal_days is not None:
        return _days(g.avg_legal_days).removesuffix(".0")
    return str(s.legal_days) if s is not None else "—"


CSS = """
section#cases h3 { font-size: 14px; margin: 14px 0 4px; }
table.cases { font-size: 12px; } table.cases th { font-size: 11px; font-weight: normal; white-space: nowrap; }
table.cases th:first-child { white-space: normal; } table.cases td { padding: 5px 4px; }
table.cases td.bad { color: #c0392b; font-weight: bold; }
table.cases tr.total td { font-weight: bold; background: #f7f9fb; }
p.note { color: #666; font-size: 12px; } p.none { color: #999; }
"""
