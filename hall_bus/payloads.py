"""Every payload of the hall bus, declared once (PROTOCOL.md v1 with its part 2): tickets, window, zone and queue
state, the catalog and the per-service guides, call and ticket events, alerts, presence, device status, server
state and the reply envelope. The server builds these; the apps parse them (unknown fields are ignored, a wrong
type is refused); docs/asyncapi.json is generated from them."""
from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from hall_bus.hall import Lang, window_title

PROTOCOL_VERSION = 1

# ---------------------------------------------------------------- shared value types
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
NUMBER_PATTERN = r"^[A-Z]{1,2}[0-9]{3}$"
HALL_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"       # one rule for the hall id in every role's config (it is a topic level)
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"        # ≥ 80 random bits, URL-safe
VERIFY_PATTERN = r"^[A-Za-z0-9]{4,8}$"

Ident = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
HallId = Annotated[str, StringConstraints(pattern=HALL_ID_PATTERN)]
TicketNumber = Annotated[str, StringConstraints(pattern=NUMBER_PATTERN)]
Token = Annotated[str, StringConstraints(pattern=TOKEN_PATTERN)]
Verify = Annotated[str, StringConstraints(pattern=VERIFY_PATTERN)]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]

TicketState = Literal["waiting", "serving", "held", "no_show", "done", "transferred", "expired", "cancelled"]
Channel = Literal["walk_in", "id_card", "appointment", "staff"]
WindowStatus = Literal["open", "paused", "closed"]
DeviceState = Literal["ok", "warning", "error", "offline"]
AlertLevel = Literal["yellow", "red"]
LimitUnit = Literal["working_days", "natural_days"]

TICKET_STATES: tuple[str, ...] = TicketState.__args__      # type: ignore[attr-defined]
CHANNELS: tuple[str, ...] = Channel.__args__               # type: ignore[attr-defined]
WINDOW_STATUSES: tuple[str, ...] = WindowStatus.__args__   # type: ignore[attr-defined]
DEVICE_STATES: tuple[str, ...] = DeviceState.__args__      # type: ignore[attr-defined]

P = TypeVar("P", bound="Part")


def _is_none(value: Any) -> bool:
    return value is None


def omitted(description: str = "", **kw: Any) -> Any:
    """An optional field that is left out of the wire form when it has no value (not sent as null)."""
    return Field(None, exclude_if=_is_none, description=description or None, **kw)


class Part(BaseModel):
    """A piece of a payload. Unknown fields are ignored (PROTOCOL.md: clients of an older version read newer
    payloads); a field of the wrong type is refused."""
    model_config = ConfigDict(extra="ignore", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict that goes on the bus."""
        return self.model_dump(mode="json")

    @classmethod
    def parse(cls: type[P], obj: Any) -> P:
        """Validate a decoded payload; raises PayloadError naming the first bad field."""
        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            raise PayloadError(cls.__name__, exc) from None


class Message(Part):
    """A whole payload on its own topic: carries the protocol version."""
    v: int = PROTOCOL_VERSION


class PayloadError(ValueError):
    """A payload that does not match its model."""

    def __init__(self, model: str, exc: ValidationError) -> None:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(payload)"
        super().__init__(f"{model}: {where}: {first['msg']} ({exc.error_count()} problem(s))")
        self.model = model


# ---------------------------------------------------------------- tickets
class TicketSummary(Part):
    """The public view of a ticket (retained window state, ticket events): no holder data, no token."""
    id: str
    number: str
    service: str
    zone: str
    state: TicketState
    channel: Channel
    priority: bool = False
    issued_at: Timestamp
    called_at: Timestamp | None = None
    service_name: str = ""
    service_name_en: str = ""

    def service_title(self, lang: Lang) -> str:
        return (self.service_name_en or self.service_name) if lang == "en" else self.service_name


class Ticket(TicketSummary):
    """A ticket as its holder's client sees it (replies to ticket.issue, ticket.get, window ops)."""
    window: str | None = None
    ahead: int = 0
    est_wait_s: int = 0
    verify: str = ""
    token: str | None = omitted("only to the client that issued the ticket and in ticket.get replies")
    zone_name: str = ""
    zone_name_en: str = ""
    window_name: str | None = omitted("the window's name, when the ticket has a window")
    window_name_en: str | None = omitted()
    to_window: str | None = omitted("transferred to this window by name")
    grade: int | None = omitted("the citizen's 好差评 grade, once given", ge=1, le=5)
    holder_name: str | None = omitted("masked (张*), only in the reply to the issuing kiosk")

    def window_title(self, lang: Lang) -> str:
        return window_title(self.window_name, self.window_name_en, self.window, lang)


# ---------------------------------------------------------------- retained state
class ServerState(Message):
    state: Literal["online", "offline"]
    version: str = ""
    business_day: str = ""


class HallInfo(Part):
    id: str
    name: str
    name_en: str = ""
    address: str = ""
    phone: str = ""
    notice: str = ""
    notice_en: str = ""


class CatalogZone(Part):
    id: str
    name: str
    name_en: str = ""
    floor: str = ""

    def title(self, lang: Lang) -> str:
        return (self.name_en or self.name) if lang == "en" else self.name


class CatalogService(Part):
    id: str
    zone: str
    prefix: str
    name: str
    name_en: str = ""
    department: str = ""
    promised_days: int | None = None
    legal_days: int | None = None
    limit_unit: LimitUnit = "working_days"
    id_required: bool = False
    bookable: bool = False
    daily_quota: int | None = None
    initials: str = Field("", description="pinyin initials of the Chinese name, upper case (城镇职工… → CZZG…), "
                                          "for search on kiosks and phones")

    def title(self, lang: Lang) -> str:
        return (self.name_en or self.name) if lang == "en" else self.name


class CatalogWindow(Part):
    id: str
    name: str
    name_en: str = ""
    zone: str
    services: tuple[str, ...] = ()


class Department(Part):
    id: str
    name: str
    name_en: str = ""


class PriorityRules(Part):
    age: int | None = None
    appointment: bool = True


class NoShowRule(Part):
    """The missed-number rule in force (hall.toml `[calling] no_show`), for the ticket, the display and the kiosk:
    "manual" (called back by number, all day), "requeue" (back in the queue once, behind the next `requeue_after`
    tickets, for `callback_s` after the no_show), "void" (a missed number is final)."""
    rule: Literal["manual", "requeue", "void"] = "manual"
    requeue_after: int = 3
    callback_s: int = 1800

    def text(self, lang: Lang) -> str:
        """The rule in a citizen's words, as the printed ticket, the kiosk and the hall display state it."""
        m = max(1, self.callback_s // 60)
        zh, en = {
            "void": ("过号作废，请重新取号", "A missed number is void: take a new one"),
            "requeue": ((f"过号顺延{self.requeue_after}位，仅一次（{m}分钟内有效）",
                         f"Missed calls move back {self.requeue_after} places, once, within {m} min")
                        if self.requeue_after > 0 else
                        (f"过号可重新排到队首，仅一次（{m}分钟内有效）",
                         f"Missed calls go back to the front, once, within {m} min")),
        }.get(self.rule, ("过号后可到窗口请工作人员重新呼叫", "If you miss your call, ask at the window to be called again"))
        return en if lang == "en" else zh


class Catalog(Message):
    """`state/catalog`: what every client needs to draw its menus. Guides are per service in `state/guide/{id}`."""
    hall: HallInfo
    status_url: str = Field("", description="the ticket's QR link: {token} is replaced by the ticket's token")
    business_day: str = ""
    issuing_hours: tuple[tuple[str, str], ...] = ()
    zones: tuple[CatalogZone, ...] = ()
    services: tuple[CatalogService, ...] = ()
    windows: tuple[CatalogWindow, ...] = ()
    departments: tuple[Department, ...] = ()
    priority: PriorityRules = PriorityRules()
    no_show_rule: NoShowRule = NoShowRule()

    def zone(self, zone_id: str) -> CatalogZone | None:
        return next((z for z in self.zones if z.id == zone_id), None)

    def service(self, service_id: str) -> CatalogService | None:
        return next((s for s in self.services if s.id == service_id), None)

    def window(self, window_id: str) -> CatalogWindow | None:
        return next((w for w in self.windows if w.id == window_id), None)

    def services_of(self, zone_id: str) -> list[CatalogService]:
        return [s for s in self.services if s.zone == zone_id]

    def hall_title(self, lang: Lang) -> str:
        return (self.hall.name_en or self.hall.name) if lang == "en" else self.hall.name

    def ticket_url(self, token: str) -> str:
        return self.status_url.replace("{token}", token) if self.status_url else ""


class Material(Part):
    name: str
    name_en: str = ""
    copies: int = 1
    original: bool = True

    def title(self, lang: Lang) -> str:
        return (self.name_en or self.name) if lang == "en" else self.name


class Form(Part):
    name: str
    name_en: str = ""
    url: str


class Guide(Message):
    """`state/guide/{service}`: 办事指南 — materials, steps, limits, fees, downloadable forms."""
    service: str
    name: str
    name_en: str = ""
    department: str = Field("", description="the department's name (the catalog's services carry its id)")
    department_en: str = ""
    materials: tuple[Material, ...] = ()
    steps: tuple[str, ...] = ()
    steps_en: tuple[str, ...] = ()
    promised_days: int | None = None
    legal_days: int | None = None
    limit_unit: LimitUnit = "working_days"
    fees: str = ""
    fees_en: str = ""
    forms: tuple[Form, ...] = ()


class ServiceLoad(Part):
    waiting: int = 0
    est_wait_s: int = 0
    longest_wait_s: int = 0


class ZoneState(Message):
    """`state/zone/{zone}`: counts for the zone and each of its services."""
    waiting: int = 0
    serving: int = 0
    open_windows: int = 0
    est_wait_s: int = 0
    last_called: tuple[str, ...] = ()
    services: dict[str, ServiceLoad] = {}


class QueueState(Message):
    """`state/queue/{zone}`: ticket id → [ahead, est_wait_s] for the zone's waiting tickets nearest the front (no
    personal data); `more` waiting tickets are not listed, each with at least as many ahead as the last listed."""
    tickets: dict[str, tuple[int, int]] = {}
    more: int = 0


class WindowState(Message):
    """`state/window/{window}`."""
    status: WindowStatus
    reason: str | None = None
    current: TicketSummary | None = None
    waiting: int = 0
    held: tuple[str, ...] = ()
    no_show: tuple[str, ...] = ()
    name: str = ""
    name_en: str = ""
    zone: str = ""
    services: tuple[str, ...] = ()
    since: Timestamp | None = None


class CallEvent(Message):
    """`event/call`, and each entry of `state/calls`."""
    seq: int
    ticket_id: str
    number: str
    window: str
    window_name: str = ""
    window_name_en: str = ""
    zone: str = ""
    service: str = ""
    recall: bool = False
    text_zh: str = ""
    text_en: str = ""
    ts: Timestamp


class CallsState(Message):
    """`state/calls`: the last 10 calls, newest first."""
    calls: tuple[CallEvent, ...] = ()


class TicketEvent(Message):
    """`event/ticket`: every ticket (and window status) change — the audit and supervision feed."""
    action: str
    ticket: TicketSummary | None = None
    window: str | None = None
    reason: str | None = omitted()
    from_window: str | None = omitted()
    grade: int | None = omitted()
    ts: Timestamp


class Alert(Message):
    """`event/alert` and the entries of `state/alerts`. Each kind adds its own fields beside these (long_wait:
    ticket, zone, service, waited_s; window_paused: window, reason, paused_s; bad_evaluation: ticket, window, grade,
    comment — the comment only on the event, never in reports)."""
    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    level: AlertLevel
    kind: str = Field(description="long_wait, window_paused, bad_evaluation, device_fault, device_offline, "
                                  "case_due_soon, case_overdue, sms_failing, clock, store_lost, storage_full, "
                                  "broker, config")
    target: str = ""
    text_zh: str = ""
    text_en: str = ""
    ts: Timestamp
    acked_by: str | None = None
    acked_at: Timestamp | None = None


class AlertsState(Message):
    """`state/alerts`: open alerts, newest first (≤ 200)."""
    alerts: tuple[Alert, ...] = ()


class Presence(Message):
    """`presence/{client}`; the last will says offline."""
    state: Literal["online", "offline"]
    role: str = ""


class DeviceStatus(Message):
    """`device/{owner client id}/{device}/status`."""
    kind: str
    state: DeviceState
    detail: dict[str, Any] = {}


# ---------------------------------------------------------------- cases (办件, PROTOCOL part 2)
CaseStatus = Literal["incomplete", "refused", "accepted", "in_progress", "needs_materials", "suspended", "done",
                     "delivered", "withdrawn", "terminated"]
CaseChange = Literal["in_progress", "needs_materials", "resumed", "suspended", "extend", "done", "delivered",
                     "withdrawn", "terminated"]
CaseResult = Literal["approved", "rejected"]
CASE_STATUSES: tuple[str, ...] = CaseStatus.__args__       # type: ignore[attr-defined]
CASE_CHANGES: tuple[str, ...] = CaseChange.__args__        # type: ignore[attr-defined]
CASE_NUMBER_PATTERN = r"^[A-Z]{1,6}-\d{8}-\d{4}$"
CaseNumber = Annotated[str, StringConstraints(pattern=CASE_NUMBER_PATTERN)]
QueryCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class CaseStep(Part):
    """One entry of a case's history. The public view keeps `status`, `change` and `ts` only."""
    status: CaseStatus
    change: str = ""
    ts: Timestamp
    actor: str | None = omitted("who made the change (full view only)")
    note: str | None = omitted("full view only")


class Extension(Part):
    days: int
    approved_by: str
    reason: str


class Delivery(Part):
    method: Literal["pickup", "mail"]
    tracking: str | None = None


class ApplicantView(Part):
    name: str
    id_number: str


class CasePublic(Part):
    """A case as citizens, kiosks, web nodes and `event/case` see it: no token, query code, phone, applicant, staff,
    notes, reasons' authors or ticket."""
    number: str
    service: str
    service_name: str = ""
    service_name_en: str = ""
    department: str = ""
    status: CaseStatus
    result: CaseResult | None = None
    accepted_at: Timestamp
    limit_unit: LimitUnit = "working_days"
    promised_days: int = 0
    legal_days: int = 0
    due_date: Day | None = None
    legal_due_date: Day | None = None
    days_left: int | None = None
    clock: Literal["running", "stopped"] = "running"
    missing: tuple[str, ...] = ()
    history: tuple[CaseStep, ...] = ()


class CaseFull(CasePublic):
    """The full view: to the window that accepted it, the service's department and consoles only."""
    id: str
    token: str
    query_code: str
    window: str
    staff: str | None = None
    ticket_id: str | None = None
    reason: str | None = None
    extensions: tuple[Extension, ...] = ()
    delivery: Delivery | None = None
    phone_masked: str | None = None
    sms: bool = False
    applicant: ApplicantView | None = None


class CaseEvent(Message):
    """`event/case`: every change of a case, public view only."""
    case: CasePublic
    change: str
    ts: Timestamp


class CaseListing(Part):
    """The data of `case.list`: newest first, at most 500."""
    cases: tuple[CaseFull, ...] = ()


# ---------------------------------------------------------------- appointments (预约, PROTOCOL part 2)
class Slot(Part):
    start: str
    end: str
    seats: int
    left: int


class SlotsDay(Part):
    """The data of `appointment.slots`: empty on a closed day, with `closed_reason`."""
    date: Day
    service: str
    slots: tuple[Slot, ...] = ()
    closed_reason: str | None = omitted("why no slots: a statutory holiday, the hall closed, beyond days_ahead ...")


class Booking(Part):
    """The data of `appointment.book`."""
    code: str
    service: str
    date: Day
    start: str
    end: str


# ---------------------------------------------------------------- console and staff (PROTOCOL part 2)
class NoticeState(Message):
    """`state/notice`: the hall display's extra ticker line (empty: none)."""
    zh: str = ""
    en: str = ""


class StaffState(Message):
    """`state/staff/{window}`: who is signed in at a window (masked name), or `staff: null`."""
    staff: str | None = None
    name: str | None = None
    since: Timestamp | None = None


class AuditEvent(Message):
    """`event/audit`: a console, staff or department action."""
    actor: str
    client: str
    op: str
    target: str = ""
    ts: Timestamp


class ReprintEvent(Message):
    """`event/reprint/{kiosk}`: print this ticket again at that kiosk."""
    ticket: Ticket


class SignedIn(Part):
    """The data of `staff.sign_in`."""
    staff: str
    name: str
    window: str


class ReplyError(Part):
    code: str
    message: str
    message_zh: str = ""


class Reply(Message):
    """`response/{client}`: `ok` with `data`, or not ok with `error`."""
    id: str | None
    op: str
    ok: bool
    data: dict[str, Any] | None = None
    error: ReplyError | None = None


__all__ = [n for n in dir() if not n.startswith("_") and n not in {"annotations", "Annotated", "Any", "Literal",
                                                                    "TypeVar", "BaseModel", "ConfigDict", "Field",
                                                                    "StringConstraints", "ValidationError"}]
