"""Requests of the hall bus (PROTOCOL.md v1 with part 2): error codes, the operations (Op) and their argument
models, roles and what each may call, the reply envelope, and validation of everything that arrives. The
payloads the server sends are declared in hall_bus.payloads."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Callable, ClassVar, Literal

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator,
)

from hall_bus.payloads import (  # the value tuples are re-exported for hall_bus's users
    CASE_CHANGES, CASE_STATUSES, CHANNELS, DEVICE_STATES, PROTOCOL_VERSION, TICKET_STATES, WINDOW_STATUSES,
    CaseChange, CaseNumber, CaseResult, CaseStatus, Channel, Day, Delivery, Ident, Part, QueryCode, TicketNumber,
    Token, Verify,
)
from hall_bus.idnumber import IdNumberError, check_id_number

MAX_PAYLOAD = 64 * 1024
MAX_REQUEST_ID = 64


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_OP = "unknown_op"
    FORBIDDEN = "forbidden"
    UNKNOWN_SERVICE = "unknown_service"
    UNKNOWN_WINDOW = "unknown_window"
    UNKNOWN_TICKET = "unknown_ticket"
    CLOSED = "closed"
    QUOTA_EXHAUSTED = "quota_exhausted"
    DUPLICATE_HOLDER = "duplicate_holder"
    NO_TICKET = "no_ticket"
    CONFLICT = "conflict"
    INTERNAL = "internal"
    ID_REQUIRED = "id_required"
    STORAGE_FULL = "storage_full"
    UNKNOWN_CASE = "unknown_case"
    BAD_PHONE = "bad_phone"
    HOLDER_CAP = "holder_cap"
    SLOT_FULL = "slot_full"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    UNKNOWN_APPOINTMENT = "unknown_appointment"
    ALREADY_RATED = "already_rated"
    NOT_SIGNED_IN = "not_signed_in"
    BAD_LOGIN = "bad_login"


# Default Chinese text for each code; handlers may give a more specific one.
ERROR_ZH: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "请求格式错误",
    ErrorCode.UNSUPPORTED_VERSION: "协议版本不受支持",
    ErrorCode.UNKNOWN_OP: "未知操作",
    ErrorCode.FORBIDDEN: "无权执行此操作",
    ErrorCode.UNKNOWN_SERVICE: "没有这项业务",
    ErrorCode.UNKNOWN_WINDOW: "没有这个窗口",
    ErrorCode.UNKNOWN_TICKET: "没有找到这张号票",
    ErrorCode.CLOSED: "现在不在取号时间内",
    ErrorCode.QUOTA_EXHAUSTED: "今日号已取完",
    ErrorCode.DUPLICATE_HOLDER: "您已在排队等候这项业务",
    ErrorCode.NO_TICKET: "当前没有等候的号",
    ErrorCode.CONFLICT: "当前状态不允许此操作",
    ErrorCode.INTERNAL: "服务器内部错误，请联系工作人员",
    ErrorCode.ID_REQUIRED: "这项业务需要刷身份证取号",
    ErrorCode.STORAGE_FULL: "服务器存储空间已满，暂时无法办理，请联系工作人员",
    ErrorCode.UNKNOWN_CASE: "没有找到这个办件，请核对办件编号和查询码",
    ErrorCode.BAD_PHONE: "手机号码不正确",
    ErrorCode.HOLDER_CAP: "您今天的取号或预约次数已达上限",
    ErrorCode.SLOT_FULL: "这个时段已约满，请选择其他时段",
    ErrorCode.TOO_EARLY: "还没到预约时段，请稍后再签到",
    ErrorCode.TOO_LATE: "预约时段已过，请现场取号",
    ErrorCode.UNKNOWN_APPOINTMENT: "没有找到这个预约，请核对后重试",
    ErrorCode.ALREADY_RATED: "您已经评价过了，感谢您的评价",
    ErrorCode.NOT_SIGNED_IN: "本窗口还没有工作人员签到，请先签到",
    ErrorCode.BAD_LOGIN: "工号或密码不正确",
}


class BusError(Exception):
    """A request that cannot be served; carries the protocol error code."""

    def __init__(self, code: ErrorCode | str, message: str, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.message_zh = message_zh or ERROR_ZH[self.code]

    def as_error(self) -> dict[str, str]:
        return {"code": str(self.code), "message": self.message, "message_zh": self.message_zh}


# ---------------------------------------------------------------- operations and their arguments
class Op(StrEnum):
    """Every operation a client may request (the last topic level of `request/{client}/{op}`)."""
    TICKET_ISSUE = "ticket.issue"
    TICKET_GET = "ticket.get"
    TICKET_CANCEL = "ticket.cancel"
    APPOINTMENT_CHECKIN = "appointment.checkin"
    APPOINTMENT_SLOTS = "appointment.slots"
    APPOINTMENT_BOOK = "appointment.book"
    APPOINTMENT_CANCEL = "appointment.cancel"
    TICKET_REPRINT = "ticket.reprint"
    ALERT_ACK = "alert.ack"
    NOTICE_SET = "notice.set"
    STAFF_SIGN_IN = "staff.sign_in"
    STAFF_SIGN_OUT = "staff.sign_out"
    WINDOW_OPEN = "window.open"
    WINDOW_CLOSE = "window.close"
    WINDOW_CALL_NEXT = "window.call_next"
    WINDOW_RECALL = "window.recall"
    WINDOW_CALL = "window.call"
    WINDOW_FINISH = "window.finish"
    WINDOW_NO_SHOW = "window.no_show"
    WINDOW_HOLD = "window.hold"
    WINDOW_TRANSFER = "window.transfer"
    WINDOW_PAUSE = "window.pause"
    WINDOW_RESUME = "window.resume"
    EVALUATION_SUBMIT = "evaluation.submit"
    CASE_ACCEPT = "case.accept"
    CASE_REFUSE = "case.refuse"
    CASE_UPDATE = "case.update"
    CASE_GET = "case.get"
    CASE_LIST = "case.list"

    @property
    def is_window_op(self) -> bool:
        return self.value.startswith("window.")


def _short(n: int) -> Any:
    return StringConstraints(max_length=n)


class Args(BaseModel):
    """Arguments of one request. Strict: a wrong type is refused, never coerced ("1" is no grade); unknown fields
    are ignored (PROTOCOL.md)."""
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    def given(self) -> dict[str, Any]:
        """The arguments the client gave (for logs and digests)."""
        return self.model_dump(exclude_none=True)


def _birth_date(value: str) -> str:
    try:
        born = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date") from None
    if not date(1900, 1, 1) <= born <= date.today():
        raise ValueError(f"{value} is outside 1900-01-01..today")
    return value


class Holder(Args):
    """What a kiosk or web node may send about a person: an HMAC reference of the ID number, never the number."""
    ref: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_=+/-]{8,128}$")]
    birth_date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_birth_date)] | None = None
    display_name: Annotated[str, _short(16)] | None = None


class TicketIssue(Args):
    service: Ident
    channel: Channel
    holder: Holder | None = None
    lang: Literal["zh", "en"] | None = None
    priority: bool | None = None             # the green channel (绿色通道): consoles, channel staff only
    actor: Annotated[str, _short(64)] | None = None


class TicketReprint(Args):
    ticket_id: Ident
    kiosk: Annotated[str, StringConstraints(pattern=r"^kiosk-[A-Za-z0-9_.:-]{1,58}$")]
    actor: Annotated[str, _short(64)] | None = None


class AlertAck(Args):
    alert_id: Annotated[str, _short(160)]
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class NoticeSet(Args):
    """The hall display's ticker line; empty strings clear it."""
    zh: Annotated[str, _short(200)]
    en: Annotated[str, _short(300)] = ""
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)]


StaffNumber = Annotated[str, StringConstraints(pattern=r"^\d{1,12}$")]


class _OneOf(Args):
    """Exactly one of `_one_of` must be given."""
    _one_of: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _exactly_one(self) -> "_OneOf":
        if sum(1 for k in self._one_of if getattr(self, k) is not None) != 1:
            raise ValueError(f"give exactly one of {', '.join(self._one_of)}")
        return self


class TicketGet(_OneOf):
    _one_of = ("ticket_id", "number", "verify", "token")
    ticket_id: Ident | None = None
    number: TicketNumber | None = None
    verify: Verify | None = None
    token: Token | None = None


class TicketCancel(_OneOf):
    """PROTOCOL part 2 (console): a kiosk may cancel only a ticket it issued itself, with reason `unclaimed`."""
    _one_of = ("ticket_id", "number")
    ticket_id: Ident | None = None
    number: TicketNumber | None = None
    reason: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    actor: Annotated[str, _short(64)] | None = None


KIOSK_CANCEL_REASON = "unclaimed"


class AppointmentCheckin(Args):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,32}$")]


ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class AppointmentSlots(Args):
    service: Ident
    date: Day


class AppointmentBook(Args):
    """A booking (预约) under a real name: the web node sends only the HMAC reference and the masked name."""
    service: Ident
    date: Day
    start: ClockTime
    holder: Holder
    phone: Annotated[str, _short(24)] | None = None
    sms: bool = False


class AppointmentCancel(_OneOf):
    """By code and the last four digits of the booking's phone, or the holder's reference."""
    _one_of = ("phone_last4", "holder_ref")
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,32}$")]
    phone_last4: Annotated[str, StringConstraints(pattern=r"^\d{4}$")] | None = None
    holder_ref: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_=+/-]{8,128}$")] | None = None


class WindowArgs(Args):
    window: Ident


class StaffSignIn(WindowArgs):
    staff: StaffNumber                  # numeric, so a keypad can enter it
    pin: Annotated[str, StringConstraints(pattern=r"^\d{4,12}$")]


class StaffSignOut(WindowArgs):
    pass


class WindowOpenClose(WindowArgs):
    staff: Annotated[str, _short(32)] | None = None
    actor: Annotated[str, _short(64)] | None = None     # a console's user (window.close for any window)


class WindowCall(WindowArgs):
    number: TicketNumber


class WindowTransfer(WindowArgs, _OneOf):
    _one_of = ("service", "to_window")
    service: Ident | None = None
    to_window: Ident | None = None


class WindowPause(WindowArgs):
    reason: Annotated[str, _short(64)] | None = None
    actor: Annotated[str, _short(64)] | None = None     # a console's user (window.pause/resume for any window)


class EvaluationSubmit(_OneOf):
    _one_of = ("ticket_id", "verify", "token")
    ticket_id: Ident | None = None
    verify: Verify | None = None
    token: Token | None = None
    grade: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, _short(500)] | None = None


# ---------------------------------------------------------------- cases (办件)
def _id_number(value: str) -> str:
    try:
        return check_id_number(value).number
    except IdNumberError as exc:
        raise ValueError(str(exc)) from None


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Note = Annotated[str, _short(500)]
Actor = Annotated[str, _short(64)]
MaterialName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Applicant(Args):
    """The applicant of a case (an official record: kept encrypted at rest, shown only in the full view)."""
    name: Name
    id_number: Annotated[str, AfterValidator(_id_number)]


class _Consent(Args):
    """A phone is stored only with the citizen's consent to SMS (`sms: true`); without it the phone is dropped."""
    phone: Annotated[str, _short(24)] | None = None
    sms: bool = False
    actor: Actor | None = None
    note: Note | None = None


class CaseAccept(WindowArgs, _Consent):
    ticket_id: Ident | None = None
    service: Ident | None = None
    applicant: Applicant
    missing: Annotated[list[MaterialName], Field(max_length=30)] = []


class CaseRefuse(WindowArgs, _Consent):
    ticket_id: Ident | None = None
    service: Ident
    kind: Literal["incomplete", "refused"]
    reasons: Annotated[str, _short(1000)] = ""
    missing: Annotated[list[MaterialName], Field(max_length=30)] = []
    applicant: Applicant | None = None

    @model_validator(mode="after")
    def _said_why(self) -> "CaseRefuse":
        if self.kind == "incomplete" and not self.missing:
            raise ValueError("incomplete (一次性告知) lists the missing materials")
        if self.kind == "refused" and not self.reasons.strip():
            raise ValueError("refused (不予受理) gives the reasons")
        return self


class CaseUpdate(Args):
    number: CaseNumber
    change: CaseChange
    note: Note | None = None
    actor: Actor | None = None
    days: Annotated[int, Field(ge=1, le=365)] | None = None          # extend
    approved_by: Actor | None = None                                 # extend
    result: CaseResult | None = None                                 # done
    reasons: Annotated[str, _short(1000)] | None = None              # done (rejected), withdrawn, terminated
    delivery: Delivery | None = None                                 # delivered
    missing: Annotated[list[MaterialName], Field(max_length=30)] = []   # needs_materials

    @model_validator(mode="after")
    def _complete(self) -> "CaseUpdate":
        if self.change == "extend" and (self.days is None or not self.approved_by or not (self.note or "").strip()):
            raise ValueError("extend (延期) needs days, approved_by and the reason in note")
        if self.change == "done" and self.result is None:
            raise ValueError("done needs result (approved or rejected)")
        if self.change == "done" and self.result == "rejected" and not (self.reasons or "").strip():
            raise ValueError("a rejected case gives the reasons")
        if self.change == "delivered" and self.delivery is None:
            raise ValueError("delivered needs delivery {method: pickup|mail}")
        if self.change == "needs_materials" and not self.missing:
            raise ValueError("needs_materials (补正) lists the missing materials")
        return self


class CaseGet(Args):
    """`number` + `query_code` (kiosks, web), `token` (web), or `number` alone (panels, consoles, departments)."""
    number: CaseNumber | None = None
    query_code: QueryCode | None = None
    token: Token | None = None

    @model_validator(mode="after")
    def _one_way(self) -> "CaseGet":
        if (self.token is None) == (self.number is None):
            raise ValueError("give number (with query_code where your role needs it) or token")
        if self.token is not None and self.query_code is not None:
            raise ValueError("query_code goes with number, not with token")
        return self


class CaseList(Args):
    window: Ident | None = None
    status: CaseStatus | None = None
    due_before: Day | None = None


# op -> argument model
OPS: dict[Op, type[Args]] = {
    Op.TICKET_ISSUE: TicketIssue,
    Op.TICKET_GET: TicketGet,
    Op.TICKET_CANCEL: TicketCancel,
    Op.APPOINTMENT_CHECKIN: AppointmentCheckin,
    Op.APPOINTMENT_SLOTS: AppointmentSlots,
    Op.APPOINTMENT_BOOK: AppointmentBook,
    Op.APPOINTMENT_CANCEL: AppointmentCancel,
    Op.TICKET_REPRINT: TicketReprint,
    Op.ALERT_ACK: AlertAck,
    Op.NOTICE_SET: NoticeSet,
    Op.STAFF_SIGN_IN: StaffSignIn,
    Op.STAFF_SIGN_OUT: StaffSignOut,
    Op.WINDOW_OPEN: WindowOpenClose,
    Op.WINDOW_CLOSE: WindowOpenClose,
    Op.WINDOW_CALL_NEXT: WindowArgs,
    Op.WINDOW_RECALL: WindowArgs,
    Op.WINDOW_CALL: WindowCall,
    Op.WINDOW_FINISH: WindowArgs,
    Op.WINDOW_NO_SHOW: WindowArgs,
    Op.WINDOW_HOLD: WindowArgs,
    Op.WINDOW_TRANSFER: WindowTransfer,
    Op.WINDOW_PAUSE: WindowPause,
    Op.WINDOW_RESUME: WindowPause,
    Op.EVALUATION_SUBMIT: EvaluationSubmit,
    Op.CASE_ACCEPT: CaseAccept,
    Op.CASE_REFUSE: CaseRefuse,
    Op.CASE_UPDATE: CaseUpdate,
    Op.CASE_GET: CaseGet,
    Op.CASE_LIST: CaseList,
}


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    more = exc.error_count() - 1
    return f"args{loc}: {msg}" + (f" (and {more} more)" if more else "")


def validate_args(op: str, args: Any) -> Args:
    try:
        model = OPS[Op(op)]
    except ValueError:
        raise BusError(ErrorCode.UNKNOWN_OP, f"unknown operation {op[:64]!r}") from None
    if not isinstance(args, dict):
        raise BusError(ErrorCode.BAD_REQUEST, "args: expected object")
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise BusError(ErrorCode.BAD_REQUEST, _problem(exc)) from None


# ---------------------------------------------------------------- roles
class Role(StrEnum):
    KIOSK = "kiosk"
    PANEL = "panel"
    DEVICES = "devices"
    DISPLAY = "display"
    WEB = "web"
    CONSOLE = "console"
    DEPT = "dept"
    SERVER = "onewindow"


_WINDOW_OPS = frozenset(op for op in Op if op.is_window_op)
_ROLE_OPS: dict[Role, frozenset[Op]] = {
    # ticket.cancel: of a ticket the kiosk issued itself (the engine checks), reason `unclaimed` only;
    # case.get: with number + query code (the engine checks)
    Role.KIOSK: frozenset({Op.TICKET_ISSUE, Op.TICKET_GET, Op.TICKET_CANCEL, Op.APPOINTMENT_CHECKIN,
                           Op.EVALUATION_SUBMIT, Op.CASE_GET}),
    # case.*: for its own window's cases (the engine checks the case's window)
    Role.PANEL: _WINDOW_OPS | {Op.TICKET_GET, Op.EVALUATION_SUBMIT, Op.CASE_ACCEPT, Op.CASE_REFUSE, Op.CASE_UPDATE,
                               Op.CASE_GET, Op.CASE_LIST, Op.STAFF_SIGN_IN, Op.STAFF_SIGN_OUT},
    Role.DEVICES: _WINDOW_OPS | {Op.TICKET_GET, Op.EVALUATION_SUBMIT, Op.STAFF_SIGN_IN, Op.STAFF_SIGN_OUT},
    Role.DISPLAY: frozenset(),
    # ticket.get by token only (checked below); evaluation.submit by a ticket token or a case token
    Role.WEB: frozenset({Op.TICKET_GET, Op.APPOINTMENT_SLOTS, Op.APPOINTMENT_BOOK, Op.APPOINTMENT_CANCEL, Op.CASE_GET,
                         Op.EVALUATION_SUBMIT}),
    # window.pause/resume/close for any window; ticket.issue on channel staff only (checked below)
    Role.CONSOLE: frozenset({Op.TICKET_GET, Op.TICKET_CANCEL, Op.TICKET_ISSUE, Op.TICKET_REPRINT, Op.WINDOW_PAUSE,
                             Op.WINDOW_RESUME, Op.WINDOW_CLOSE, Op.ALERT_ACK, Op.NOTICE_SET, Op.CASE_GET,
                             Op.CASE_LIST}),
    # a department's approval system: the cases of its own services (the engine checks)
    Role.DEPT: frozenset({Op.CASE_GET, Op.CASE_LIST, Op.CASE_UPDATE}),
    Role.SERVER: frozenset(),
}
# Who sees the full view of a case (applicant, phone, query code, token) — each only for its own cases.
FULL_CASE_ROLES = frozenset({Role.PANEL, Role.CONSOLE, Role.DEPT})
SERVER_CLIENT_ID = "onewindow-server"


def role_of(client_id: str) -> Role | None:
    """The role is the client id's prefix up to the first '-' (PROTOCOL.md)."""
    if client_id == SERVER_CLIENT_ID:
        return Role.SERVER
    head, sep, name = client_id.partition("-")
    if not sep or not name:
        return None
    try:
        return Role(head)
    except ValueError:
        return None


def may_call(client_id: str, op: str, args: Args | dict[str, Any],
             windows_of: Callable[[str], set[str] | frozenset[str] | None] | None = None) -> bool:
    """Whether this client may call op with these args. windows_of(client) gives the windows a
    devices- controller may act for (None: unknown controller)."""
    role = role_of(client_id)
    if role is None or op not in _ROLE_OPS[role]:
        return False
    if op == Op.TICKET_CANCEL and role is Role.KIOSK:
        reason = args.reason if isinstance(args, TicketCancel) else args.get("reason")
        return reason == KIOSK_CANCEL_REASON
    if op == Op.TICKET_ISSUE:      # staff tickets (and the green channel) from consoles only; kiosks never
        channel = args.channel if isinstance(args, TicketIssue) else args.get("channel")
        priority = args.priority if isinstance(args, TicketIssue) else args.get("priority")
        if role is Role.CONSOLE:
            return channel == "staff"
        return channel != "staff" and not priority
    if role is Role.CONSOLE:       # any window; the console's own users' roles are the console's to enforce
        return True
    if role is Role.WEB and op in (Op.TICKET_GET, Op.EVALUATION_SUBMIT):      # tokens only: a verify code is guessable
        if isinstance(args, (TicketGet, EvaluationSubmit)):
            return args.token is not None
        return args.get("token") is not None and not any(args.get(k) for k in ("ticket_id", "number", "verify"))
    if op == Op.CASE_GET and role in (Role.KIOSK, Role.WEB):       # never by number alone: that is enumeration
        number, code = ((args.number, args.query_code) if isinstance(args, CaseGet)
                        else (args.get("number"), args.get("query_code")))
        return number is None or code is not None
    if Op(op).is_window_op or op in (Op.CASE_ACCEPT, Op.CASE_REFUSE, Op.STAFF_SIGN_IN, Op.STAFF_SIGN_OUT):
        window = args.window if isinstance(args, WindowArgs) else args.get("window")
        if role is Role.PANEL:
            return client_id == f"panel-{window}"
        if role is Role.DEVICES:
            allowed = windows_of(client_id) if windows_of else None
            return allowed is not None and window in allowed
    if op == Op.CASE_LIST and role is Role.PANEL:
        window = args.window if isinstance(args, CaseList) else args.get("window")
        return window is None or client_id == f"panel-{window}"
    return True


# ---------------------------------------------------------------- wire format
@dataclass(frozen=True)
class Request:
    id: str
    args: Args


def encode_json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_json(payload: bytes) -> dict[str, Any]:
    """Decode one bus payload: a UTF-8 JSON object of at most 64 KiB with v ≤ 1."""
    if len(payload) > MAX_PAYLOAD:
        raise BusError(ErrorCode.BAD_REQUEST, f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BusError(ErrorCode.BAD_REQUEST, f"payload is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BusError(ErrorCode.BAD_REQUEST, f"payload is not JSON ({str(exc)[:80]})") from None
    if not isinstance(obj, dict):
        raise BusError(ErrorCode.BAD_REQUEST, f"payload is a JSON {type(obj).__name__}, not an object")
    v = obj.get("v")
    if isinstance(v, bool) or not isinstance(v, int):
        raise BusError(ErrorCode.BAD_REQUEST, "v: missing or not an integer")
    if v > PROTOCOL_VERSION:
        raise BusError(ErrorCode.UNSUPPORTED_VERSION, f"protocol version {v} is not supported (max {PROTOCOL_VERSION})")
    if v < 1:
        raise BusError(ErrorCode.BAD_REQUEST, f"v: {v} is not a protocol version")
    return obj


def request_id_of(payload: bytes) -> str | None:
    """Best-effort request id of a payload that failed validation, so the error can be addressed."""
    try:
        obj = json.loads(payload[:MAX_PAYLOAD].decode("utf-8", "strict"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    rid = obj.get("id") if isinstance(obj, dict) else None
    return rid if isinstance(rid, str) and 0 < len(rid) <= MAX_REQUEST_ID else None


def parse_request(op: str, payload: bytes) -> Request:
    obj = decode_json(payload)
    rid = obj.get("id")
    if not isinstance(rid, str) or not 0 < len(rid) <= MAX_REQUEST_ID:
        raise BusError(ErrorCode.BAD_REQUEST, f"id: must be a string of 1..{MAX_REQUEST_ID} characters")
    args = obj.get("args", {})
    return Request(rid, validate_args(op, args))


def make_ok(rid: str, op: str, data: dict[str, Any] | Part) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "id": rid, "op": str(op), "ok": True,
            "data": data.wire() if isinstance(data, Part) else data}


def make_error(rid: str | None, op: str, err: BusError) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "id": rid, "op": str(op), "ok": False, "error": err.as_error()}


def state_payload(**fields: Any) -> dict[str, Any]:
    """A versioned payload for retained state and events."""
    return {"v": PROTOCOL_VERSION, **fields}
