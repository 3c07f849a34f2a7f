"""Payloads of the hall bus (PROTOCOL.md v1): error codes, operations and their argument schemas,
roles and what each may call, the reply envelope, and validation of everything that arrives."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable

PROTOCOL_VERSION = 1
MAX_PAYLOAD = 64 * 1024
MAX_REQUEST_ID = 64

TICKET_STATES = ("waiting", "serving", "held", "no_show", "done", "transferred", "expired", "cancelled")
CHANNELS = ("walk_in", "id_card", "appointment", "staff")
WINDOW_STATUSES = ("open", "paused", "closed")
DEVICE_STATES = ("ok", "warning", "error", "offline")


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


# ---------------------------------------------------------------- a very small schema language
@dataclass(frozen=True)
class Field:
    kind: type | tuple[type, ...]
    required: bool = False
    max_len: int | None = None
    choices: tuple[Any, ...] | None = None
    lo: int | None = None
    hi: int | None = None
    pattern: str | None = None
    fields: dict[str, "Field"] | None = None   # nested object

    def check(self, path: str, value: Any) -> Any:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        # bool is an int subclass in Python; JSON true is never a number here.
        if isinstance(value, bool) and bool not in kinds:
            raise BusError(ErrorCode.BAD_REQUEST, f"{path}: expected {_names(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise BusError(ErrorCode.BAD_REQUEST,
                           f"{path}: expected {_names(kinds)}, got {type(value).__name__}")
        if isinstance(value, str):
            if self.max_len is not None and len(value) > self.max_len:
                raise BusError(ErrorCode.BAD_REQUEST, f"{path}: longer than {self.max_len} characters")
            if self.pattern and not re.fullmatch(self.pattern, value):
                raise BusError(ErrorCode.BAD_REQUEST, f"{path}: {value[:40]!r} is not valid")
        if self.choices is not None and value not in self.choices:
            raise BusError(ErrorCode.BAD_REQUEST, f"{path}: {value!r} is not one of {list(self.choices)}")
        if isinstance(value, int) and not isinstance(value, bool):
            if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
                raise BusError(ErrorCode.BAD_REQUEST, f"{path}: {value} is outside {self.lo}..{self.hi}")
        if self.fields is not None:
            return check_object(path, value, self.fields)
        return value


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join({str: "string", int: "integer", dict: "object", bool: "boolean",
                        list: "array", float: "number"}.get(k, k.__name__) for k in kinds)


def check_object(path: str, obj: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
    """Validate known fields; unknown fields are ignored (PROTOCOL.md) and dropped."""
    out: dict[str, Any] = {}
    for name, field in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in obj or obj[name] is None:
            if field.required:
                raise BusError(ErrorCode.BAD_REQUEST, f"{sub}: missing")
            continue
        out[name] = field.check(sub, obj[name])
    return out


ID = r"[A-Za-z0-9_.:-]{1,64}"
NUMBER = r"[A-Z]{1,2}[0-9]{3}"

HOLDER = {
    "ref": Field(str, required=True, max_len=128, pattern=r"[A-Za-z0-9_=+/-]{8,128}"),
    "birth_date": Field(str, pattern=r"\d{4}-\d{2}-\d{2}"),
    "display_name": Field(str, max_len=16),
}
WINDOW_ARG = Field(str, required=True, pattern=ID)

# op name -> argument schema
OPS: dict[str, dict[str, Field]] = {
    "ticket.issue": {
        "service": Field(str, required=True, pattern=ID),
        "channel": Field(str, required=True, choices=CHANNELS),
        "holder": Field(dict, fields=HOLDER),
        "lang": Field(str, choices=("zh", "en")),
    },
    "ticket.get": {
        "ticket_id": Field(str, pattern=ID),
        "number": Field(str, pattern=NUMBER),
        "verify": Field(str, pattern=r"[A-Za-z0-9]{4,8}"),
    },
    "appointment.checkin": {"code": Field(str, required=True, pattern=r"[A-Za-z0-9-]{4,32}")},
    "window.open": {"window": WINDOW_ARG, "staff": Field(str, max_len=32)},
    "window.close": {"window": WINDOW_ARG, "staff": Field(str, max_len=32)},
    "window.call_next": {"window": WINDOW_ARG},
    "window.recall": {"window": WINDOW_ARG},
    "window.call": {"window": WINDOW_ARG, "number": Field(str, required=True, pattern=NUMBER)},
    "window.finish": {"window": WINDOW_ARG},
    "window.no_show": {"window": WINDOW_ARG},
    "window.hold": {"window": WINDOW_ARG},
    "window.transfer": {"window": WINDOW_ARG, "service": Field(str, pattern=ID),
                        "to_window": Field(str, pattern=ID)},
    "window.pause": {"window": WINDOW_ARG, "reason": Field(str, max_len=64)},
    "window.resume": {"window": WINDOW_ARG, "reason": Field(str, max_len=64)},
    "evaluation.submit": {
        "ticket_id": Field(str, pattern=ID),
        "verify": Field(str, pattern=r"[A-Za-z0-9]{4,8}"),
        "grade": Field(int, required=True, lo=1, hi=5),
        "comment": Field(str, max_len=500),
    },
}

# Cross-field rules that a flat schema cannot say.
_ONE_OF: dict[str, tuple[str, ...]] = {
    "ticket.get": ("ticket_id", "number", "verify"),
    "window.transfer": ("service", "to_window"),
    "evaluation.submit": ("ticket_id", "verify"),
}


def validate_args(op: str, args: Any) -> dict[str, Any]:
    if op not in OPS:
        raise BusError(ErrorCode.UNKNOWN_OP, f"unknown operation {op!r}")
    if not isinstance(args, dict):
        raise BusError(ErrorCode.BAD_REQUEST, "args: expected object")
    clean = check_object("args", args, OPS[op])
    one_of = _ONE_OF.get(op)
    if one_of and sum(1 for k in one_of if k in clean) != 1:
        raise BusError(ErrorCode.BAD_REQUEST, f"args: give exactly one of {', '.join(one_of)}")
    return clean


# ---------------------------------------------------------------- roles
class Role(StrEnum):
    KIOSK = "kiosk"
    PANEL = "panel"
    DEVICES = "devices"
    DISPLAY = "display"
    SERVER = "onewindow"


_ROLE_OPS: dict[Role, frozenset[str]] = {
    Role.KIOSK: frozenset({"ticket.issue", "ticket.get", "appointment.checkin", "evaluation.submit"}),
    Role.PANEL: frozenset({op for op in OPS if op.startswith("window.")} | {"ticket.get", "evaluation.submit"}),
    Role.DEVICES: frozenset({op for op in OPS if op.startswith("window.")} | {"ticket.get", "evaluation.submit"}),
    Role.DISPLAY: frozenset(),
    Role.SERVER: frozenset(),
}
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


def may_call(client_id: str, op: str, args: dict[str, Any],
             windows_of: Callable[[str], set[str] | frozenset[str] | None] | None = None) -> bool:
    """Whether this client may call op with these args. windows_of(client) gives the windows a
    devices- controller may act for (None: unknown controller)."""
    role = role_of(client_id)
    if role is None or op not in _ROLE_OPS[role]:
        return False
    if op.startswith("window."):
        window = args.get("window")
        if role is Role.PANEL:
            return client_id == f"panel-{window}"
        if role is Role.DEVICES:
            allowed = windows_of(client_id) if windows_of else None
            return allowed is not None and window in allowed
    return True


# ---------------------------------------------------------------- wire format
@dataclass(frozen=True)
class Request:
    id: str
    args: dict[str, Any]


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


def make_ok(rid: str, op: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "id": rid, "op": op, "ok": True, "data": data}


def make_error(rid: str | None, op: str, err: BusError) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "id": rid, "op": op, "ok": False, "error": err.as_error()}


def state_payload(**fields: Any) -> dict[str, Any]:
    """A versioned payload for retained state and events."""
    return {"v": PROTOCOL_VERSION, **fields}
