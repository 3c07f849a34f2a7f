"""Plain values the kiosk bridge hands to its screens (no Qt): catalogue, zone load, tickets, device health."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def _s(obj: dict[str, Any], key: str, default: str = "") -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else default


def _i(obj: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _strs(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class Material:
    name: str
    name_en: str
    copies: int = 1
    original: bool = True

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Material":
        return cls(_s(d, "name"), _s(d, "name_en") or _s(d, "name"), _i(d, "copies", 1) or 1,
                   bool(d.get("original", True)))


@dataclass(frozen=True)
class Service:
    id: str
    zone: str
    prefix: str
    name: str
    name_en: str
    legal_days: int | None = None
    promised_days: int | None = None
    materials: tuple[Material, ...] = ()
    steps: tuple[str, ...] = ()
    steps_en: tuple[str, ...] = ()
    appointment: bool = False
    id_required: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Service":
        mats = d.get("materials")
        return cls(
            id=_s(d, "id"), zone=_s(d, "zone"), prefix=_s(d, "prefix"), name=_s(d, "name"),
            name_en=_s(d, "name_en") or _s(d, "name"), legal_days=_i(d, "legal_days"),
            promised_days=_i(d, "promised_days"),
            materials=tuple(Material.from_dict(m) for m in mats if isinstance(m, dict)) if isinstance(mats, list) else (),
            steps=_strs(d, "steps"), steps_en=_strs(d, "steps_en"),
            appointment=bool(d.get("appointment", False)), id_required=bool(d.get("id_required", False)))

    def title(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    name_en: str
    floor: str = ""

    def title(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name


@dataclass(frozen=True)
class Catalog:
    """The public part of the hall config, as published on state/catalog."""
    hall_id: str
    hall_name: str
    hall_name_en: str
    zones: tuple[Zone, ...]
    services: tuple[Service, ...]
    notice: str = ""
    notice_en: str = ""
    business_day: str = ""
    priority_age: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Catalog":
        hall = d.get("hall") if isinstance(d.get("hall"), dict) else {}
        zones = tuple(Zone(_s(z, "id"), _s(z, "name"), _s(z, "name_en") or _s(z, "name"), _s(z, "floor"))
                      for z in d.get("zones", []) if isinstance(z, dict) and _s(z, "id"))
        services = tuple(Service.from_dict(s) for s in d.get("services", []) if isinstance(s, dict) and _s(s, "id"))
        prio = d.get("priority") if isinstance(d.get("priority"), dict) else {}
        return cls(_s(hall, "id"), _s(hall, "name"), _s(hall, "name_en") or _s(hall, "name"), zones, services,
                   _s(hall, "notice"), _s(hall, "notice_en"), _s(d, "business_day"), _i(prio, "age"))

    def zone(self, zone_id: str) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def services_of(self, zone_id: str) -> list[Service]:
        return [s for s in self.services if s.zone == zone_id]

    def hall_title(self, lang: str) -> str:
        return self.hall_name_en if lang == "en" else self.hall_name


@dataclass(frozen=True)
class ZoneLoad:
    waiting: int = 0
    serving: int = 0
    est_wait_s: int = 0
    last_called: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ZoneLoad":
        return cls(_i(d, "waiting", 0) or 0, _i(d, "serving", 0) or 0, _i(d, "est_wait_s", 0) or 0,
                   _strs(d, "last_called"))


@dataclass(frozen=True)
class Ticket:
    id: str
    number: str
    service: str
    zone: str
    state: str
    channel: str = "walk_in"
    priority: bool = False
    ahead: int | None = None
    est_wait_s: int | None = None
    verify: str = ""
    window: str | None = None
    window_name: str = ""
    window_name_en: str = ""
    service_name: str = ""
    service_name_en: str = ""
    zone_name: str = ""
    zone_name_en: str = ""
    holder_name: str = ""
    issued_at: str = ""
    grade: int | None = None          # the citizen's evaluation (1..5), once given

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Ticket":
        window = d.get("window")
        return cls(
            id=_s(d, "id"), number=_s(d, "number"), service=_s(d, "service"), zone=_s(d, "zone"),
            state=_s(d, "state", "waiting"), channel=_s(d, "channel", "walk_in"), priority=bool(d.get("priority")),
            ahead=_i(d, "ahead"), est_wait_s=_i(d, "est_wait_s"), verify=_s(d, "verify"),
            window=window if isinstance(window, str) else None, window_name=_s(d, "window_name"),
            window_name_en=_s(d, "window_name_en"),
            service_name=_s(d, "service_name"), service_name_en=_s(d, "service_name_en") or _s(d, "service_name"),
            zone_name=_s(d, "zone_name"), zone_name_en=_s(d, "zone_name_en") or _s(d, "zone_name"),
            holder_name=_s(d, "holder_name"), issued_at=_s(d, "issued_at"), grade=_i(d, "grade"))

    def service_title(self, lang: str) -> str:
        return self.service_name_en if lang == "en" else self.service_name

    def window_title(self, lang: str) -> str:
        if lang == "en":
            if self.window_name_en:
                return self.window_name_en
            m = re.match(r"(\d+)号窗口", self.window_name)
            return f"Window {m.group(1)}" if m else (self.window_name or self.window or "")
        return self.window_name or self.window or ""


@dataclass(frozen=True)
class Holder:
    """What the kiosk may know and send about an ID card holder: never the number or full name."""
    ref: str
    birth_date: str
    display_name: str

    def as_args(self) -> dict[str, str]:
        return {"ref": self.ref, "birth_date": self.birth_date, "display_name": self.display_name}


class Health(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeviceHealth:
    """One device of this kiosk as the citizen and the staff should hear about it."""
    kind: str                       # printer, idcard, scanner
    state: Health = Health.UNKNOWN
    code: str = ""                  # near_end, paper_out, cover_open, offline, error, ...
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks_issuing(self) -> bool:
        return self.kind == "printer" and self.state in (Health.ERROR, Health.OFFLINE)

    def status_payload(self) -> dict[str, Any]:
        state = "offline" if self.state is Health.UNKNOWN else self.state.value
        return {"v": 1, "kind": self.kind, "state": state, "detail": {"code": self.code, **self.detail}}


class PrintFailed(Exception):
    """A PrinterPort could not print a job; `code` is the kiosk's printer code (paper_out, cover_open, ...)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Connectivity:
    bus: bool = False
    server: bool | None = None        # None: no state/server seen yet

    @property
    def reachable(self) -> bool:
        return self.bus and self.server is True


@dataclass(frozen=True)
class IssueOutcome:
    """The end of one ticket.issue / appointment.checkin attempt."""
    kind: str                         # printed, unprinted, refused, unreachable, printer_blocked, evaluated
    ticket: Ticket | None = None
    code: str = ""
    message: str = ""
    message_zh: str = ""
    detail: str = ""


# ------------------------------------------------------------------ scanned / typed codes
_NUMBER = re.compile(r"[A-Za-z]{1,2}\d{3}")
_VERIFY = re.compile(r"[A-Za-z0-9]{4,8}")
_APPOINTMENT = re.compile(r"[A-Za-z0-9-]{4,32}")


@dataclass(frozen=True)
class CodeQuery:
    kind: str        # number, verify, appointment, invalid
    value: str


def classify_code(text: str, *, for_status: bool = False) -> CodeQuery:
    """A typed or scanned code: a ticket URL (verify code at the end), a ticket number, a verify
    code (status screen) or an appointment code."""
    raw = text.strip()
    if "://" in raw:
        tail = raw.rstrip("/").rsplit("/", 1)[-1]
        tail = tail.rsplit("=", 1)[-1]
        return CodeQuery("verify", tail.upper()) if _VERIFY.fullmatch(tail) else CodeQuery("invalid", raw)
    if _NUMBER.fullmatch(raw):
        return CodeQuery("number", raw.upper())
    if for_status:
        return CodeQuery("verify", raw.upper()) if _VERIFY.fullmatch(raw) else CodeQuery("invalid", raw)
    return CodeQuery("appointment", raw) if _APPOINTMENT.fullmatch(raw) else CodeQuery("invalid", raw)


def minutes(est_wait_s: int | None) -> int | None:
    if est_wait_s is None:
        return None
    return max(1, round(est_wait_s / 60)) if est_wait_s > 0 else 0
