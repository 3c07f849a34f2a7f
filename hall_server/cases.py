"""Cases (办件): 一窗受理 → 限时办结 (PROTOCOL part 2, "Cases").

A case is the official record of an application made at a window: accepted (受理, 容缺受理 with missing items),
or recorded as not accepted — `incomplete` (一次性告知: the missing materials listed, the citizen comes back) or
`refused` (不予受理, with reasons and the notice of the right to 行政复议/行政诉讼). It outlives the business day.

This module is pure (no I/O, no bus): the service hands it requests and the clock, and stores and publishes the
`CaseOutcome` it returns in the same transaction as the request's reply. Open cases and today's cases live in
memory; older, finished ones are loaded from the store on demand (`loader`).

State machine (changes → status):

    accepted ──in_progress──▶ in_progress ──done──▶ done ──delivered──▶ delivered
      │  ▲                      │   ▲
      │  └──────resumed─────────┼───┤      needs_materials (补正) and suspended (特别程序) stop the clock;
      ├──needs_materials / suspended ──▶ needs_materials / suspended ──resumed──▶ in_progress
      └──withdrawn / terminated (from any open status) ──▶ withdrawn / terminated
    extend (延期): in accepted / in_progress only, adds days, the status stays.

Deadlines (hall_server.deadlines, on the hall calendar): `due_date` from `promised_days`, `legal_due_date` from
`legal_days`; stops and extensions move both; `days_left` is negative when overdue.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable

from hall_bus import payloads as bus
from hall_bus.contract import BusError, ErrorCode
from hall_server import deadlines
from hall_server.calendar import HallCalendar

OPEN = frozenset({"accepted", "in_progress", "needs_materials", "suspended"})
FINAL = frozenset({"incomplete", "refused", "delivered", "withdrawn", "terminated"})
RUNNING = frozenset({"accepted", "in_progress"})          # the clock runs (容缺受理 included)
STOPPED = frozenset({"needs_materials", "suspended"})

# change -> (statuses it may start from, the status it leads to; None: the status stays)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "in_progress": (frozenset({"accepted"}), "in_progress"),
    "needs_materials": (RUNNING, "needs_materials"),
    "suspended": (RUNNING, "suspended"),
    "resumed": (STOPPED, "in_progress"),
    "extend": (RUNNING, None),
    "done": (RUNNING, "done"),
    "delivered": (frozenset({"done"}), "delivered"),
    "withdrawn": (OPEN, "withdrawn"),
    "terminated": (OPEN, "terminated"),
}

STATUS_ZH = {"incomplete": "一次性告知", "refused": "不予受理", "accepted": "已受理", "in_progress": "办理中",
             "needs_materials": "待补正", "suspended": "特别程序", "done": "已办结", "delivered": "已领取",
             "withdrawn": "已撤回", "terminated": "已终止"}
CHANGE_ZH = {"accepted": "受理", "incomplete": "一次性告知", "refused": "不予受理", "in_progress": "办理",
             "needs_materials": "补正", "suspended": "特别程序", "resumed": "恢复办理", "extend": "延期",
             "done": "办结", "delivered": "领件", "withdrawn": "撤回", "terminated": "终止"}

# SMS kinds by change (PROTOCOL part 2, SMS); case_reminder comes from supervision at half the promised time
SMS_OF_CHANGE = {"accepted": "case_accepted", "incomplete": "case_incomplete", "needs_materials": "case_materials",
                 "done": "case_ready", "delivered": "case_rate"}


@dataclass
class Case:
    id: str
    number: str
    day: date                       # business day of acceptance (the number's day)
    seq: int
    token: str
    query_code: str
    service: str
    department: str
    window: str
    status: str
    accepted_at: datetime
    limit_unit: str
    promised_days: int
    legal_days: int
    staff: str | None = None
    ticket_id: str | None = None
    result: str | None = None
    reason: str | None = None
    missing: list[str] = field(default_factory=list)
    stops: list[list[str | None]] = field(default_factory=list)      # [[stopped on, resumed on | None], ...]
    extensions: list[dict[str, Any]] = field(default_factory=list)
    delivery: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    applicant: dict[str, str] | None = None      # {"name","id_number"}: sealed at rest, full view only
    phone: str | None = None                     # only with consent to SMS; sealed at rest
    consent: dict[str, Any] | None = None        # {"by","at","how"}: who recorded the citizen's consent, when, how
    alerted: list[str] = field(default_factory=list)     # supervision levels already raised ("yellow", "red")
    reminded: bool = False                       # 中途提醒 sent
    done_at: datetime | None = None
    closed_at: datetime | None = None
    erased: bool = False
    grade: int | None = None                     # 办结评议 (一事一评): once per case, 1-5
    comment: str | None = None                   # the rating's comment: never in a view or event; erased with identity
    rated_at: datetime | None = None

    # ------------------------------------------------------------------ derived
    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def clock(self) -> str:
        return "stopped" if self.status in STOPPED else "running"

    def stop_intervals(self) -> list[tuple[date, date | None]]:
        return [(date.fromisoformat(a), date.fromisoformat(b) if b else None) for a, b in self.stops]

    def extra_days(self) -> int:
        return sum(int(e["days"]) for e in self.extensions)

    # ------------------------------------------------------------------ the store's form (no identity, no phone)
    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "day": self.day.isoformat(), "seq": self.seq,
                "token": self.token, "query_code": self.query_code, "service": self.service,
                "department": self.department, "window": self.window, "status": self.status,
                "accepted_at": self.accepted_at.isoformat(), "limit_unit": self.limit_unit,
                "promised_days": self.promised_days, "legal_days": self.legal_days, "staff": self.staff,
                "ticket_id": self.ticket_id, "result": self.result, "reason": self.reason, "missing": self.missing,
                "stops": self.stops, "extensions": self.extensions, "delivery": self.delivery,
                "history": self.history, "consent": self.consent, "sms": self.phone is not None,
                "alerted": self.alerted, "reminded": self.reminded,
                "done_at": self.done_at.isoformat() if self.done_at else None,
                "closed_at": self.closed_at.isoformat() if self.closed_at else None, "erased": self.erased,
                "grade": self.grade, "comment": self.comment,
                "rated_at": self.rated_at.isoformat() if self.rated_at else None}

    @classmethod
    def from_record(cls, r: dict[str, Any], applicant: dict[str, str] | None, phone: str | None) -> "Case":
        return cls(
            id=r["id"], number=r["number"], day=date.fromisoformat(r["day"]), seq=int(r["seq"]), token=r["token"],
            query_code=r["query_code"], service=r["service"], department=r["department"], window=r["window"],
            status=r["status"], accepted_at=datetime.fromisoformat(r["accepted_at"]), limit_unit=r["limit_unit"],
            promised_days=int(r["promised_days"]), legal_days=int(r["legal_days"]), staff=r.get("staff"),
            ticket_id=r.get("ticket_id"), result=r.get("result"), reason=r.get("reason"),
            missing=list(r.get("missing") or []), stops=[list(s) for s in r.get("stops") or []],
            extensions=list(r.get("extensions") or []), delivery=r.get("delivery"),
            history=list(r.get("history") or []), applicant=applicant, phone=phone, consent=r.get("consent"),
            alerted=list(r.get("alerted") or []), reminded=bool(r.get("reminded")),
            done_at=datetime.fromisoformat(r["done_at"]) if r.get("done_at") else None,
            closed_at=datetime.fromisoformat(r["closed_at"]) if r.get("closed_at") else None,
            erased=bool(r.get("erased")), grade=r.get("grade"), comment=r.get("comment"),
            rated_at=datetime.fromisoformat(r["rated_at"]) if r.get("rated_at") else None)


@dataclass
class SmsDraft:
    """A message to write to the SMS outbox in the same transaction as the case change that causes it."""
    kind: str
    ref: str
    phone: str
    values: dict[str, str]


@dataclass
class CaseOutcome:
    data: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)      # changed cases by number
    events: list[dict[str, Any]] = field(default_factory=list)   # event/case payloads
    alerts: list[tuple[str, str, str, str, str, dict[str, Any]]] = field(default_factory=list)
    sms: list[SmsDraft] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cases or self.events or self.alerts or self.sms)


@dataclass(frozen=True)
class ServiceTerms:
    """What a case needs of its service (from hall.toml)."""
    id: str
    name: str
    name_en: str
    department: str
    limit_unit: str
    promised_days: int
    legal_days: int


class CaseBook:
    """Every open case and today's cases, with the rules of PROTOCOL part 2."""

    def __init__(self, calendar: HallCalendar, services: dict[str, ServiceTerms], *, number_prefix: str,
                 yellow_days: int = 2, loader: Callable[[str], Case | None] | None = None,
                 token_loader: Callable[[str], Case | None] | None = None,
                 new_token: Callable[[], str] | None = None, new_code: Callable[[], str] | None = None) -> None:
        self.calendar = calendar
        self.services = services
        self.number_prefix = number_prefix
        self.yellow_days = yellow_days
        self._load = loader or (lambda number: None)
        self._load_token = token_loader or (lambda token: None)
        self.new_token = new_token or (lambda: secrets.token_urlsafe(16))     # 128 bits; short enough for an SMS link
        self.new_code = new_code or (lambda: f"{secrets.randbelow(1_000_000):06d}")
        self.cases: dict[str, Case] = {}           # by number
        self.by_token: dict[str, str] = {}
        self.by_ticket: dict[str, list[str]] = {}       # ticket id -> its cases' numbers (in memory)
        self._due_memo: dict[tuple, tuple[date, date]] = {}
        self.day: date | None = None
        self.seq = 0

    # ------------------------------------------------------------------ restore and days
    def restore(self, day: date, cases: Iterable[Case], mark: int = 0) -> int:
        """Open cases and `day`'s cases from the store; the daily sequence never goes below the side file's `mark`.
        Returns the mark when it was above the stored sequence (cases lost by the store), else 0."""
        self.cases.clear()
        self.by_token.clear()
        self.by_ticket.clear()
        self.day, self.seq = day, 0
        for c in cases:
            self._keep(c)
            if c.day == day:
                self.seq = max(self.seq, c.seq)
        lost = mark if mark > self.seq else 0
        self.seq = max(self.seq, mark)
        return lost

    def roll(self, day: date) -> None:
        """A new business day: the sequence starts again; finished cases of earlier days leave memory."""
        if self.day == day:
            return
        self.day, self.seq = day, 0
        for number in [n for n, c in self.cases.items() if not c.is_open and c.day != day]:
            self._forget(number)

    def _keep(self, c: Case) -> None:
        self.cases[c.number] = c
        self.by_token[c.token] = c.number
        if c.ticket_id:
            self.by_ticket.setdefault(c.ticket_id, []).append(c.number)

    def _forget(self, number: str) -> None:
        c = self.cases.pop(number, None)
        if c is not None:
            self.by_token.pop(c.token, None)
            if c.ticket_id in self.by_ticket:
                self.by_ticket[c.ticket_id] = [n for n in self.by_ticket[c.ticket_id] if n != number]

    def find(self, number: str) -> Case | None:
        c = self.cases.get(number)
        if c is None:
            c = self._load(number)
            if c is not None and (c.is_open or c.day == self.day):
                self._keep(c)
        return c

    def find_token(self, token: str) -> Case | None:
        number = self.by_token.get(token)
        if number is not None:
            return self.cases.get(number)
        return self._load_token(token)

    # ------------------------------------------------------------------ deadlines
    def due(self, c: Case, today: date) -> tuple[date, date]:
        """(due_date, legal_due_date) under the stops and extensions so far. Memoised on everything they depend on
        (many cases share a day and a service; supervision asks for every open case every few seconds)."""
        stops = tuple((a, b) for a, b in c.stop_intervals())
        still_stopped = bool(stops) and stops[-1][1] is None
        key = (c.accepted_at.date(), c.promised_days, c.legal_days, c.limit_unit, stops, c.extra_days(),
               today if still_stopped else None)
        found = self._due_memo.get(key)
        if found is None:
            if len(self._due_memo) > 50_000:
                self._due_memo.clear()
            accepted, extra = key[0], key[5]
            found = self._due_memo[key] = (
                deadlines.due_date(self.calendar, accepted, c.promised_days, c.limit_unit, stops, extra, today=today),
                deadlines.due_date(self.calendar, accepted, c.legal_days, c.limit_unit, stops, extra, today=today))
        return found

    def days_left(self, c: Case, today: date) -> int | None:
        if c.status not in OPEN:
            return None
        due, _legal = self.due(c, today)
        return deadlines.days_left(self.calendar, due, today, c.limit_unit)

    # ------------------------------------------------------------------ views
    def public_view(self, c: Case, today: date) -> bus.CasePublic:
        return bus.CasePublic(**self._public_fields(c, today))

    def full_view(self, c: Case, today: date) -> bus.CaseFull:
        from hall_server.crypto import mask_phone
        return bus.CaseFull(
            **self._public_fields(c, today, full=True), id=c.id, token=c.token, query_code=c.query_code,
            window=c.window, staff=c.staff, ticket_id=c.ticket_id, reason=c.reason,
            extensions=[bus.Extension(**e) for e in c.extensions],
            delivery=bus.Delivery(**c.delivery) if c.delivery else None,
            phone_masked=mask_phone(c.phone) if c.phone else None, sms=c.phone is not None,
            applicant=bus.ApplicantView(**c.applicant) if c.applicant else None)

    def _public_fields(self, c: Case, today: date, full: bool = False) -> dict[str, Any]:
        svc = self.services.get(c.service)
        due = legal = None
        if c.status not in ("incomplete", "refused"):
            d, lg = self.due(c, today)
            due, legal = d.isoformat(), lg.isoformat()
        keep = ("status", "change", "ts", "actor", "note") if full else ("status", "change", "ts")
        return dict(number=c.number, service=c.service, service_name=svc.name if svc else c.service,
                    service_name_en=svc.name_en if svc else c.service, department=c.department, status=c.status,
                    result=c.result, accepted_at=c.accepted_at.isoformat(), limit_unit=c.limit_unit,
                    promised_days=c.promised_days, legal_days=c.legal_days, due_date=due, legal_due_date=legal,
                    days_left=self.days_left(c, today), clock=c.clock, missing=tuple(c.missing),
                    history=[bus.CaseStep(**{k: v for k, v in h.items() if k in keep and v is not None})
                             for h in c.history])

    # ------------------------------------------------------------------ changes
    def _event(self, c: Case, change: str, now: datetime, out: CaseOutcome) -> None:
        out.cases[c.number] = c
        out.events.append(bus.CaseEvent(case=self.public_view(c, now.date()), change=change,
                                        ts=now.isoformat()).wire())

    def _step(self, c: Case, change: str, now: datetime, actor: str, note: str | None) -> None:
        c.history.append({"status": c.status, "change": change, "ts": now.isoformat(), "actor": actor,
                          "note": note or None})

    def _sms(self, c: Case, kind: str, now: datetime, out: CaseOutcome) -> None:
        if c.phone is None or c.erased:
            return
        svc = self.services.get(c.service)
        due, _legal = self.due(c, now.date()) if c.status not in ("incomplete", "refused") else (None, None)
        out.sms.append(SmsDraft(kind=kind, ref=c.number, phone=c.phone, values={
            "number": c.number, "query_code": c.query_code, "service": svc.name if svc else c.service,
            "due_date": f"{due.month}月{due.day}日" if due else "", "missing_count": str(len(c.missing)),
            "token": c.token}))

    def _new(self, now: datetime, day: date, service: ServiceTerms, window: str, status: str, *,
             ticket_id: str | None, applicant: dict[str, str] | None, phone: str | None, actor: str,
             staff: str | None, missing: Iterable[str], reason: str | None, note: str | None,
             consent_how: str) -> Case:
        if self.day != day:
            self.roll(day)
        self.seq += 1
        if self.seq > 9999:
            self.seq -= 1
            raise BusError(ErrorCode.CONFLICT, "the day's case numbers (9999) are used up")
        number = f"{self.number_prefix}-{day:%Y%m%d}-{self.seq:04d}"
        token = self.new_token()
        while token in self.by_token:
            token = self.new_token()
        c = Case(id=f"case-{day:%Y%m%d}-{self.seq:04d}", number=number, day=day, seq=self.seq, token=token,
                 query_code=self.new_code(), service=service.id, department=service.department, window=window,
                 status=status, accepted_at=now, limit_unit=service.limit_unit, promised_days=service.promised_days,
                 legal_days=service.legal_days, staff=staff, ticket_id=ticket_id, reason=reason,
                 missing=list(missing), applicant=applicant, phone=phone,
                 consent={"by": actor, "at": now.isoformat(), "how": consent_how} if phone else None)
        if status in FINAL:
            c.closed_at = now
        self._step(c, status, now, actor, note)
        self._keep(c)
        return c

    def accept(self, now: datetime, day: date, service: str, window: str, *, ticket_id: str | None,
               applicant: dict[str, str], phone: str | None, actor: str, staff: str | None,
               missing: Iterable[str] = (), note: str | None = None) -> CaseOutcome:
        svc = self._service(service)
        if ticket_id is not None and any(self.cases[n].service == service and self.cases[n].is_open
                                         for n in self.by_ticket.get(ticket_id, ()) if n in self.cases):
            raise BusError(ErrorCode.CONFLICT, f"ticket {ticket_id} already has an open case for {service}",
                           "这张号票的这项业务已经受理")
        out = CaseOutcome()
        c = self._new(now, day, svc, window, "accepted", ticket_id=ticket_id, applicant=applicant, phone=phone,
                      actor=actor, staff=staff, missing=missing, reason=None, note=note, consent_how="window")
        self._event(c, "accepted", now, out)
        self._sms(c, SMS_OF_CHANGE["accepted"], now, out)
        out.data = self.full_view(c, now.date()).wire()
        return out

    def refuse(self, now: datetime, day: date, service: str, window: str, kind: str, *, ticket_id: str | None,
               reasons: str, missing: Iterable[str], applicant: dict[str, str] | None, phone: str | None,
               actor: str, staff: str | None, note: str | None = None) -> CaseOutcome:
        svc = self._service(service)
        out = CaseOutcome()
        c = self._new(now, day, svc, window, kind, ticket_id=ticket_id, applicant=applicant, phone=phone,
                      actor=actor, staff=staff, missing=missing, reason=reasons or None, note=note,
                      consent_how="window")
        self._event(c, kind, now, out)
        if kind in SMS_OF_CHANGE:
            self._sms(c, SMS_OF_CHANGE[kind], now, out)
        out.data = self.full_view(c, now.date()).wire()
        return out

    def update(self, now: datetime, c: Case, change: str, *, actor: str, note: str | None = None,
               days: int | None = None, approved_by: str | None = None, result: str | None = None,
               reasons: str | None = None, delivery: dict[str, Any] | None = None,
               missing: Iterable[str] = ()) -> CaseOutcome:
        allowed_from, to = TRANSITIONS[change]
        if c.status not in allowed_from:
            raise BusError(ErrorCode.CONFLICT, f"case {c.number} is {c.status}: {change} is not allowed "
                                               f"(allowed from {', '.join(sorted(allowed_from))})",
                           f"办件当前状态为“{STATUS_ZH[c.status]}”，不能{CHANGE_ZH[change]}")
        today = now.date()
        out = CaseOutcome()
        if change in ("needs_materials", "suspended"):
            c.stops.append([today.isoformat(), None])
            if change == "needs_materials":
                c.missing = list(missing)
        elif change == "resumed":
            c.stops[-1][1] = today.isoformat()
            c.missing = []
        elif change == "extend":
            c.extensions.append({"days": int(days or 0), "approved_by": approved_by or actor,
                                 "reason": note or ""})
        elif change == "done":
            c.result = result
            c.reason = reasons or c.reason
            c.done_at = now
        elif change == "delivered":
            c.delivery = delivery
            c.closed_at = now
        elif change in ("withdrawn", "terminated"):
            c.reason = reasons or note or c.reason
            c.closed_at = now
        if to is not None:
            c.status = to
        self._step(c, change, now, actor, note)
        self._event(c, change, now, out)
        if change in SMS_OF_CHANGE:
            self._sms(c, SMS_OF_CHANGE[change], now, out)
        out.data = self.full_view(c, today).wire()
        return out

    def _service(self, service: str) -> ServiceTerms:
        svc = self.services.get(service)
        if svc is None:
            raise BusError(ErrorCode.UNKNOWN_SERVICE, f"no service {service!r}")
        return svc

    # ------------------------------------------------------------------ lookups by citizens
    def by_code(self, number: str, query_code: str) -> Case:
        """number + query code; a wrong code and an unknown number are the same error (no enumeration)."""
        c = self.find(number)
        if c is None or c.erased or not hmac.compare_digest(c.query_code, query_code):
            raise BusError(ErrorCode.UNKNOWN_CASE, "no case with that number and query code")
        return c

    # ------------------------------------------------------------------ 办结评议
    def rate(self, now: datetime, c: Case, grade: int, comment: str | None, *, bad_grade: int) -> CaseOutcome:
        """The citizen's rating of a case (一事一评: once per case) once it has left the open statuses; a grade of at
        most `bad_grade` raises a bad_evaluation alert on the case number (without the comment)."""
        if c.grade is not None:
            raise BusError(ErrorCode.ALREADY_RATED, f"case {c.number} was already rated", "这个办件已经评价过，感谢您的评价")
        if c.is_open:
            raise BusError(ErrorCode.CONFLICT, f"case {c.number} is still {c.status}", "办件办结后才能评价")
        c.grade = grade
        c.comment = (comment or "").strip()[:500] or None
        c.rated_at = now
        out = CaseOutcome(data={})
        out.cases[c.number] = c
        if grade <= bad_grade:
            svc = self.services.get(c.service)
            name = svc.name if svc else c.service
            out.alerts.append(("bad_evaluation", "red" if grade == 1 else "yellow", c.number,
                               f"办件 {c.number}（{name}）收到差评：{grade}分",
                               f"case {c.number} ({c.service}) was rated {grade} of 5",
                               {"case": c.number, "service": c.service, "department": c.department,
                                "window": c.window, "grade": grade}))
        return out

    # ------------------------------------------------------------------ 电子监察 and 中途提醒
    def supervise(self, now: datetime) -> CaseOutcome:
        """Yellow (at most `yellow_days` left) and red (overdue) cards once per case and level; the 中途提醒 SMS once
        half the promised time has passed."""
        out = CaseOutcome()
        today = now.date()
        for c in list(self.cases.values()):
            if c.status not in RUNNING:
                continue
            left = self.days_left(c, today)
            if left is None:
                continue
            level = "red" if left < 0 else "yellow" if left <= self.yellow_days else None
            if level and level not in c.alerted:
                c.alerted.append(level)
                out.cases[c.number] = c
                svc = self.services.get(c.service)
                name = svc.name if svc else c.service
                if level == "red":
                    out.alerts.append(("case_overdue", "red", c.number,
                                       f"办件 {c.number}（{name}）已超过承诺时限 {-left} 个工作日",
                                       f"case {c.number} ({c.service}) is {-left} working day(s) past its promised date",
                                       {"case": c.number, "service": c.service, "department": c.department,
                                        "window": c.window, "days_left": left}))
                else:
                    out.alerts.append(("case_due_soon", "yellow", c.number,
                                       f"办件 {c.number}（{name}）距承诺时限还剩 {left} 个工作日",
                                       f"case {c.number} ({c.service}) is due in {left} working day(s)",
                                       {"case": c.number, "service": c.service, "department": c.department,
                                        "window": c.window, "days_left": left}))
            if not c.reminded and c.phone is not None and c.promised_days >= 2:
                due, _ = self.due(c, today)
                span = (due - c.accepted_at.date()).days
                if span > 0 and (today - c.accepted_at.date()).days * 2 >= span:
                    c.reminded = True
                    out.cases[c.number] = c
                    self._sms(c, "case_reminder", now, out)
        return out

    # ------------------------------------------------------------------ retention
    def erase(self, c: Case) -> None:
        """After the archive period: identity, phone, consent and notes go; number, service, dates and outcome
        stay for statistics."""
        c.applicant = None
        c.phone = None
        c.consent = None
        c.comment = None
        c.erased = True
        c.history = [{k: v for k, v in h.items() if k != "note"} for h in c.history]
