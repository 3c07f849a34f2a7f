"""The admins' hall config (config/hall.toml) as typed, validated models."""
from __future__ import annotations

import tomllib
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, StringConstraints, field_validator, model_validator

from hall_bus import payloads as bus
from hall_bus.configfile import ConfigError, ConfigModel, key_path, load_toml
from hall_bus.payloads import HallId, Ident
from hall_server.calendar import CalendarSettings, HallCalendar
from hall_server.sms.settings import SmsSettings

# Ident: ids of zones, services and windows, as the bus declares them (hall_bus.payloads)
Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
BOOKING_CODE_LENGTH = 10    # appointment codes (hall_server.booking): 10 of 32 characters, 50 bits
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]

__all__ = ["HallConfig", "load_hall_config", "ConfigError"]


def parse_clock(value: str) -> time:
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


class HallInfo(ConfigModel):
    id: HallId
    name: Text
    name_en: Text
    timezone: str = "Asia/Shanghai"
    address: str = ""
    phone: str = ""
    notice: str = ""
    notice_en: str = ""
    status_url: str = Field("https://zwfw.example.gov.cn/t/{token}",
                            description="the ticket's QR link (the citizen web's /t/{token}); {token} is replaced by "
                                        "the ticket's long random token. The one source of the printed link.")

    @field_validator("status_url")
    @classmethod
    def _status_url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// address")
        if "{token}" not in v:
            raise ValueError("must contain {token} (the ticket's token; the short verify code is guessable)")
        if "{verify}" in v or "{ticket_id}" in v:
            raise ValueError("only {token} may be filled in: a verify code or ticket id in a public link can be guessed")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class PeriodQuota(ConfigModel):
    """`[[issuing.period_quotas]]` (时段限号): numbers per `[issuing] hours` period for some services, one quota per
    period in order (e.g. morning 60, afternoon 40). A service's daily_quota still applies as well; web bookings of
    a slot come out of its period's quota."""
    services: list[Ident] = Field(min_length=1)
    quotas: list[Annotated[int, Field(ge=0, le=999)]] = Field(min_length=1)


class Issuing(ConfigModel):
    hours: list[tuple[ClockTime, ClockTime]] = Field(min_length=1)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] | None = Field(
        None, description="deprecated and ignored: the hall calendar decides the issuing days (statutory holidays "
                          "closed, 调休 weekend days open, closed_days / extra_days); check-config warns")
    closed_days: list[date] = Field([], description="the hall's own closed days (issuing and booking only; never "
                                                     "statutory deadlines)")
    extra_days: list[date] = Field([], description="the hall's own extra opening days (issuing and booking only)")
    holder_daily_cap: int = Field(0, ge=0, le=100, description="tickets one holder (by ID-card ref) may take a day "
                                                               "over all services, cancelled ones not counted, "
                                                               "appointment check-ins counted; 0: no cap")
    period_quotas: list[PeriodQuota] = Field([], description="时段限号: numbers per hours period for the services "
                                                             "named (quotas follow hours one for one); a service "
                                                             "without an entry has its daily_quota only")

    @cached_property
    def _period_quotas(self) -> dict[str, list[int]]:
        return {sid: list(pq.quotas) for pq in self.period_quotas for sid in pq.services}

    def period_quotas_of(self, service: str) -> list[int] | None:
        """The service's quota per `hours` period, or None (its daily_quota alone applies)."""
        return self._period_quotas.get(service)

    def period_of(self, clock: time) -> int:
        """The `hours` period a clock time belongs to: the one it falls in; between periods or before the first, the
        next one to open; after the last, the last."""
        for i, (_a, b) in enumerate(self.hours):
            if clock < parse_clock(b):
                return i
        return len(self.hours) - 1

    def warnings(self) -> list[str]:
        if self.weekdays is not None:
            return ["issuing.weekdays is ignored: issuing days follow the hall calendar (statutory holidays, 调休 "
                    "working weekend days, [issuing] closed_days / extra_days); remove it"]
        return []

    @field_validator("hours")
    @classmethod
    def _ordered(cls, v: list[tuple[str, str]]) -> list[tuple[str, str]]:
        last = None
        for i, (start, end) in enumerate(v):
            if parse_clock(start) >= parse_clock(end):
                raise ValueError(f"hours[{i}]: start {start} is not before end {end}")
            if last is not None and parse_clock(start) < last:
                raise ValueError(f"hours[{i}]: overlaps or precedes the previous period")
            last = parse_clock(end)
        return v


class Priority(ConfigModel):
    age: int = Field(70, ge=50, le=120, description="holders at least this old (from the ID birth date) are called first")
    appointment: bool = True


class Supervision(ConfigModel):
    long_wait_s: int = Field(1800, ge=60)
    pause_alert_s: int = Field(900, ge=60)
    bad_grade: int = Field(2, ge=1, le=5)
    check_interval_s: int = Field(15, ge=1, le=600)
    case_yellow_days: int = Field(2, ge=0, le=30, description="电子监察: a yellow card when a case has at most this "
                                                             "many working days left; red when overdue")


class Calling(ConfigModel):
    repeat_window_s: float = Field(5, ge=0, le=60, description="a call at a window within this many seconds of that "
                                                              "window's previous call recalls the same ticket")
    no_show: Literal["manual", "requeue", "void"] = Field(
        "manual", description="the missed-number rule (过号): \"manual\" — a no_show ticket can be called back by "
                              "number all day; \"requeue\" — the first no_show puts it back in its queue behind the "
                              "next requeue_after waiting tickets, for callback_s, and a second no_show (or the "
                              "callback time running out) is final; \"void\" — no_show is final")
    requeue_after: int = Field(3, ge=0, le=100, description="\"requeue\": waiting tickets called before a requeued one")
    callback_s: int = Field(1800, ge=60, le=86400, description="\"requeue\": how long after its no_show a requeued "
                                                              "ticket keeps its place; a window reaching it later "
                                                              "makes it a final no_show")


class StoreSettings(ConfigModel):
    """`[store]`: online backups of the hall's database (the SQLite backup API, never a stopped server)."""
    backup_dir: str | None = Field(None, description="where backups go (relative to the data directory); "
                                                    "default: backups/ in the data directory")
    backup_every_min: int = Field(30, ge=0, le=1440, description="minutes between backups; 0: only at rollover")
    backups_keep: int = Field(48, ge=1, le=10000, description="newest backups kept; older ones are deleted")


class CasesSettings(ConfigModel):
    """`[cases]`: 办件 numbers, the key that seals applicants' identities at rest, the archive period."""
    number_prefix: str = Field("DA", pattern=r"^[A-Z]{1,6}$", description="case numbers: PREFIX-YYYYMMDD-NNNN")
    key: str = Field("case.key", description="env:NAME (a 64-hex-digit key in the environment) or a key file, "
                                              "relative to the data directory, created with mode 600 on first "
                                              "start when missing; keep it off the database's disk and backups")
    retention_days: int = Field(1825, ge=30, le=36500, description="archive period: a case's applicant, phone and "
                                                                   "notes and its SMS are erased this many days after "
                                                                   "it closed (number, service, dates and outcome "
                                                                   "stay for statistics)")
    case_url: str | None = Field(None, description="the citizen's case page with {token} (办结评议 SMS link); "
                                                   "default: [hall] status_url with /t/ replaced by /c/")

    @field_validator("case_url")
    @classmethod
    def _case_url(cls, v: str | None) -> str | None:
        if v is not None and (not v.startswith(("https://", "http://")) or "{token}" not in v):
            raise ValueError("must be an http(s):// address containing {token}")
        return v


class Broker(ConfigModel):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None      # the server's own login when the broker asks for one
    password: str | None = None
    password_file: str | None = Field(None, description="client-id:hash lines (Mosquitto format, relative to the "
                                                        "config file): every other role's login; turns auth on")
    allow_anonymous: bool = Field(False, description="let clients in without a login although the broker listens "
                                                     "beyond loopback (check-config warns)")
    # Which broker runs as the server's own: mosquitto (a supervised child; amqtt where it is not installed) or amqtt.
    embedded: Literal["mosquitto", "amqtt"] = "mosquitto"

    def server_password(self) -> str | None:
        """The server's own password: given here, or `env:NAME` (from the environment, e.g. a systemd
        EnvironmentFile), never on a command line."""
        import os
        pw = self.password
        if pw and pw.startswith("env:"):
            return os.environ.get(pw[4:]) or None
        return pw

    def listens_beyond_loopback(self) -> bool:
        import ipaddress
        if self.host == "localhost":
            return False
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return True

    def warnings(self) -> list[str]:
        if self.allow_anonymous and self.listens_beyond_loopback() and not self.password_file:
            return [f"broker.allow_anonymous: the broker listens on {self.host} without logins: anyone on the LAN "
                    "can act as any kiosk or window (set password_file instead)"]
        return []

    @model_validator(mode="after")
    def _server_login(self) -> "Broker":
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.password_file and not self.username:
            raise ValueError("password_file needs username and password: the server's own login")
        if self.username is not None and self.username != "onewindow-server":
            raise ValueError(f"username {self.username!r} must be the server's client id onewindow-server")
        return self


class Zone(ConfigModel):
    id: Ident
    name: Text
    name_en: Text
    floor: str = ""


class Material(ConfigModel):
    name: Text
    name_en: Text
    copies: int = Field(1, ge=0, le=20)
    original: bool = True


class Form(ConfigModel):
    name: Text
    name_en: Text
    url: str = Field(pattern=r"^(https?://|/)", description="a downloadable form: an address, or a path on the web node")


class Department(ConfigModel):
    id: Ident
    name: Text
    name_en: Text = ""


class Service(ConfigModel):
    id: Ident
    zone: Ident
    prefix: Prefix
    name: Text
    name_en: Text
    department: str = ""
    legal_days: int = Field(ge=0, le=365)
    promised_days: int = Field(ge=0, le=365)
    limit_unit: Literal["working_days", "natural_days"] = "working_days"
    fees: str = Field("", max_length=200)
    fees_en: str = Field("", max_length=200)
    forms: list[Form] = []
    daily_quota: int = Field(ge=1, le=999)
    avg_service_s: int = Field(300, ge=30, le=7200)
    appointment: bool = True
    id_required: bool = False
    materials: list[Material] = Field(min_length=1)
    steps: list[Text] = Field(min_length=1)
    steps_en: list[Text] = Field(min_length=1)

    @model_validator(mode="after")
    def _promise(self) -> "Service":
        if self.promised_days > self.legal_days:
            raise ValueError(f"promised_days {self.promised_days} exceeds legal_days {self.legal_days}")
        if len(self.steps) != len(self.steps_en):
            raise ValueError("steps and steps_en must have the same number of entries")
        return self


class Window(ConfigModel):
    id: Ident
    name: Text
    name_en: Text
    zone: Ident
    services: list[Ident] = Field(min_length=1)


class Appointments(ConfigModel):
    file: str | None = Field(None, description="CSV of code,service,date,start,end (relative to the config file)")


class BookingRules(ConfigModel):
    """What may differ per service or zone (`[booking]` itself, or one `[[booking.overrides]]`)."""
    slot_minutes: int = Field(30, ge=5, le=240, description="length of one booking slot (时段), minutes")
    seats: int | None = Field(None, ge=0, le=999, description="bookings per slot; default: floor(daily_quota x share) "
                                                              "spread evenly over the day's slots (the remainder "
                                                              "to the earliest ones)")
    share: float = Field(0.3, ge=0, le=1, description="the part of a service's daily_quota kept for bookings")
    days_ahead: int = Field(7, ge=0, le=90, description="how many days ahead a slot may be booked (0: today only)")
    grace_before_min: int = Field(30, ge=0, le=240, description="earliest check-in, minutes before the slot starts")
    grace_after_min: int = Field(15, ge=0, le=240, description="latest check-in, minutes after the slot ENDS")


class BookingOverride(ConfigModel):
    """`[[booking.overrides]]`: other rules for some services or zones (a service's own beats its zone's; later
    entries beat earlier ones of the same kind). Only the keys given change."""
    services: list[Ident] = []
    zones: list[Ident] = []
    slot_minutes: int | None = Field(None, ge=5, le=240)
    seats: int | None = Field(None, ge=0, le=999)
    share: float | None = Field(None, ge=0, le=1)
    days_ahead: int | None = Field(None, ge=0, le=90)
    grace_before_min: int | None = Field(None, ge=0, le=240)
    grace_after_min: int | None = Field(None, ge=0, le=240)

    @model_validator(mode="after")
    def _targets(self) -> "BookingOverride":
        if not self.services and not self.zones:
            raise ValueError("name the services or zones it applies to (services = [...] or zones = [...])")
        return self

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"services", "zones"}).items() if v is not None}


class Booking(BookingRules):
    """`[booking]`: online booking (预约) — slots, seats, check-in grace, and the no-show rule."""
    no_show_limit: int = Field(3, ge=1, le=100, description="missed bookings (no check-in) within block_days that "
                                                             "block the holder from booking")
    block_days: int = Field(30, ge=1, le=365, description="how long a missed booking counts (days)")
    max_per_holder: int = Field(3, ge=1, le=50, description="live (not yet due) bookings one holder may have at once")
    overrides: list[BookingOverride] = []

    def rules_for(self, service: str, zone: str) -> BookingRules:
        values = self.model_dump(include=set(BookingRules.model_fields))
        for o in self.overrides:
            if zone in o.zones:
                values.update(o.changes())
        for o in self.overrides:
            if service in o.services:
                values.update(o.changes())
        return BookingRules.model_validate(values)


class StaffSettings(ConfigModel):
    """`[staff]`: who may sign in at the windows (the staff file, relative to hall.toml) and whether window ops need a
    signed-in staff member (`not_signed_in` otherwise)."""
    file: str | None = None
    sign_in_required: bool = False

    @model_validator(mode="after")
    def _file_when_required(self) -> "StaffSettings":
        if self.sign_in_required and not self.file:
            raise ValueError("sign_in_required = true needs the staff file (file = \"staff.toml\")")
        return self


class DeviceController(ConfigModel):
    """A hall device controller (`onewindow devices`, client id devices-<id>) and the windows it may act for."""
    id: Ident
    windows: list[str] = ["*"]


class HallConfig(ConfigModel):
    hall: HallInfo
    issuing: Issuing
    priority: Priority = Priority()
    supervision: Supervision = Supervision()
    calling: Calling = Calling()
    store: StoreSettings = StoreSettings()
    broker: Broker = Broker()
    appointments: Appointments = Appointments()
    booking: Booking = Booking()
    cases: CasesSettings = CasesSettings()
    calendar: CalendarSettings = CalendarSettings()
    sms: SmsSettings | None = None
    staff: StaffSettings = StaffSettings()
    departments: list[Department] = []
    zones: list[Zone] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    windows: list[Window] = Field(min_length=1)
    device_controllers: list[DeviceController] = [DeviceController(id="hall")]
    _staff_book: Any = PrivateAttr(default=None)    # hall_server.staff.StaffBook, read by load_hall_config

    @property
    def staff_book(self) -> Any:
        """The staff file as loaded with this config (an empty book when there is none)."""
        if self._staff_book is None:
            from hall_server.staff import StaffBook
            self._staff_book = StaffBook()
        return self._staff_book

    def with_staff(self, book: Any) -> "HallConfig":
        self._staff_book = book
        return self

    @model_validator(mode="after")
    def _references(self) -> "HallConfig":
        problems = cross_references(self.model_dump(include={"zones", "services", "windows", "device_controllers",
                                                              "departments", "issuing"}))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # lookups used everywhere
    @cached_property
    def services_by_id(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}

    @cached_property
    def windows_by_id(self) -> dict[str, Window]:
        return {w.id: w for w in self.windows}

    @cached_property
    def zones_by_id(self) -> dict[str, Zone]:
        return {z.id: z for z in self.zones}

    @cached_property
    def service_initials(self) -> dict[str, str]:
        """Pinyin initials of each service's name (computed once: pypinyin loads its dictionary on first use)."""
        return {s.id: pinyin_initials(s.name) for s in self.services}

    @cached_property
    def hall_calendar(self) -> HallCalendar:
        """The one hall calendar (statutory days, then [calendar], then Monday-Friday), built once per config."""
        return HallCalendar(self.calendar, closed_days=self.issuing.closed_days, extra_days=self.issuing.extra_days)

    @cached_property
    def departments_by_id(self) -> dict[str, Department]:
        return {d.id: d for d in self.departments}

    def department_name(self, dept: str, lang: str = "zh") -> str:
        d = self.departments_by_id.get(dept)
        return dept if d is None else (d.name_en or d.name) if lang == "en" else d.name

    @cached_property
    def _booking_rules(self) -> dict[str, BookingRules]:
        return {s.id: self.booking.rules_for(s.id, s.zone) for s in self.services}

    def booking_rules(self, service: str) -> BookingRules:
        """The booking rules of one service (its zone's and its own overrides applied), built once per config."""
        return self._booking_rules[service]

    def case_url(self) -> str:
        return self.cases.case_url or self.hall.status_url.replace("/t/{token}", "/c/{token}")

    @cached_property
    def _controllers(self) -> dict[str, frozenset[str]]:
        every = frozenset(self.windows_by_id)
        return {f"devices-{c.id}": every if "*" in c.windows else frozenset(c.windows)
                for c in self.device_controllers}

    def controller_windows(self, client_id: str) -> frozenset[str] | None:
        """Windows a devices-<id> client may act for (None: not a configured controller); asked per request."""
        return self._controllers.get(client_id)

    def public_catalog(self, business_day: str = "", *, initials: dict[str, str] | None = None) -> bus.Catalog:
        """`state/catalog`: the public part of the config every client draws its menus from (no credentials, no
        guides: those go per service on state/guide/{service}, which keeps the catalog far under 64 KiB)."""
        return bus.Catalog(
            hall=bus.HallInfo(**self.hall.model_dump(include={"id", "name", "name_en", "address", "phone", "notice",
                                                              "notice_en"})),
            status_url=self.hall.status_url, business_day=business_day,
            issuing_hours=[tuple(h) for h in self.issuing.hours],
            zones=[bus.CatalogZone(**z.model_dump()) for z in self.zones],
            services=[bus.CatalogService(
                id=s.id, zone=s.zone, prefix=s.prefix, name=s.name, name_en=s.name_en, department=s.department,
                promised_days=s.promised_days, legal_days=s.legal_days, limit_unit=s.limit_unit,
                id_required=s.id_required, bookable=s.appointment, daily_quota=s.daily_quota,
                initials=(initials or self.service_initials)[s.id]) for s in self.services],
            windows=[bus.CatalogWindow(**w.model_dump()) for w in self.windows],
            departments=[bus.Department(**d.model_dump()) for d in self.departments],
            priority=bus.PriorityRules(**self.priority.model_dump()),
            no_show_rule=bus.NoShowRule(rule=self.calling.no_show, requeue_after=self.calling.requeue_after,
                                        callback_s=self.calling.callback_s))

    def guides(self) -> list[bus.Guide]:
        """`state/guide/{service}`: each service's 办事指南."""
        return [bus.Guide(service=s.id, name=s.name, name_en=s.name_en, department=self.department_name(s.department),
                          department_en=self.department_name(s.department, "en"),
                          materials=[bus.Material(**m.model_dump()) for m in s.materials],
                          steps=s.steps, steps_en=s.steps_en, promised_days=s.promised_days,
                          legal_days=s.legal_days, limit_unit=s.limit_unit, fees=s.fees, fees_en=s.fees_en,
                          forms=[bus.Form(**f.model_dump()) for f in s.forms])
                for s in self.services]


def seed_initials(cfg: HallConfig, cache: Path) -> bool:
    """The server keeps the services' pinyin initials it computed in its data folder (`initials.json`, name ->
    initials), so a restart does not load pypinyin's dictionary (0.6 s of the restart) unless a name is new. Returns
    whether the cache had them all. A cache that cannot be read or written is only slower, never an error."""
    import json
    import os
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    cached = cached if isinstance(cached, dict) else {}
    if all(isinstance(cached.get(s.name), str) for s in cfg.services):
        cfg.__dict__["service_initials"] = {s.id: cached[s.name] for s in cfg.services}   # the cached_property's slot
        return True
    fresh = {s.name: cfg.service_initials[s.id] for s in cfg.services}
    tmp = cache.with_name(cache.name + ".tmp")
    try:
        tmp.write_text(json.dumps(fresh, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass
    return False


def pinyin_initials(name: str) -> str:
    """城镇职工养老保险参保登记 → CZZGYLBXCBDJ (letters and digits of the name kept as they are)."""
    from pypinyin import Style, lazy_pinyin
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).upper()


def _unique(what: str, ids: list[Any], problems: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            problems.append(f"{what}[{i}].id: duplicate id {x!r}")     # by index: the id names two rows
        seen.add(x)
    return seen


def cross_references(data: dict[str, Any]) -> list[str]:
    """Problems between sections (unknown zone, service or window ids, duplicates, unserved services).
    Works on the raw TOML too, so an admin sees these alongside field errors."""
    def items(key: str) -> list[dict[str, Any]]:
        v = data.get(key)
        return [x if isinstance(x, dict) else {} for x in v] if isinstance(v, list) else []

    problems: list[str] = []
    zones, services, windows = items("zones"), items("services"), items("windows")
    dept_ids = _unique("departments", [d.get("id") for d in items("departments")], problems)
    if dept_ids:
        for i, x in enumerate(services):
            if isinstance(x.get("department"), str) and x["department"] not in dept_ids:
                problems.append(f"{key_path(('services', i, 'department'), data)}: no department "
                                f"{x['department']!r} in [[departments]]")
    zone_ids = _unique("zones", [z.get("id") for z in zones], problems)
    svc_ids = _unique("services", [x.get("id") for x in services], problems)
    win_ids = _unique("windows", [w.get("id") for w in windows], problems)
    served: set[str] = set()
    for i, x in enumerate(services):
        if isinstance(x.get("zone"), str) and x["zone"] not in zone_ids:
            problems.append(f"{key_path(('services', i, 'zone'), data)}: no zone {x['zone']!r}")
    for i, w in enumerate(windows):
        if isinstance(w.get("zone"), str) and w["zone"] not in zone_ids:
            problems.append(f"{key_path(('windows', i, 'zone'), data)}: no zone {w['zone']!r}")
        for j, sid in enumerate(w.get("services") if isinstance(w.get("services"), list) else []):
            if isinstance(sid, str) and sid not in svc_ids:
                problems.append(f"{key_path(('windows', i, 'services', j), data)}: no service {sid!r}")
            served.add(sid)
    for i, x in enumerate(services):
        if isinstance(x.get("id"), str) and x["id"] not in served:
            problems.append(f"{key_path(('services', i), data)}: no window serves {x['id']!r}")
    booking = data.get("booking")
    overrides = booking.get("overrides") if isinstance(booking, dict) else None
    for i, o in enumerate(overrides if isinstance(overrides, list) else []):
        for key, known in (("services", svc_ids), ("zones", zone_ids)):
            names = o.get(key) if isinstance(o, dict) else None
            for j, x in enumerate(names if isinstance(names, list) else []):
                if isinstance(x, str) and x not in known:
                    problems.append(f"booking.overrides[{i}].{key}[{j}]: no {key[:-1]} {x!r}")
    issuing = data.get("issuing")
    hours = issuing.get("hours") if isinstance(issuing, dict) else None
    pqs = issuing.get("period_quotas") if isinstance(issuing, dict) else None
    had: dict[str, int] = {}
    for i, pq in enumerate(pqs if isinstance(pqs, list) else []):
        pq = pq if isinstance(pq, dict) else {}
        quotas = pq.get("quotas")
        if isinstance(quotas, list) and isinstance(hours, list) and len(quotas) != len(hours):
            problems.append(f"issuing.period_quotas[{i}].quotas: {len(quotas)} quotas for {len(hours)} periods of "
                            "issuing.hours (one quota per period, in order)")
        names = pq.get("services")
        for j, x in enumerate(names if isinstance(names, list) else []):
            if isinstance(x, str) and x not in svc_ids:
                problems.append(f"issuing.period_quotas[{i}].services[{j}]: no service {x!r}")
            elif isinstance(x, str) and x in had:
                problems.append(f"issuing.period_quotas[{i}].services[{j}]: {x!r} already has period quotas "
                                f"(issuing.period_quotas[{had[x]}])")
            elif isinstance(x, str):
                had[x] = i
    for i, c in enumerate(items("device_controllers")):
        for j, wid in enumerate(c.get("windows") if isinstance(c.get("windows"), list) else []):
            if wid != "*" and wid not in win_ids:
                problems.append(f"{key_path(('device_controllers', i, 'windows', j), data)}: no window {wid!r}")
    return problems


CATALOG_WARN_SHARE = 0.9      # check-config warns when state/catalog fills this share of the bus's message limit


def catalog_size(cfg: HallConfig) -> int:
    """The bytes of `state/catalog` as it goes on the bus (compact JSON, a business day filled in), at most: each
    service's pinyin initials taken as long as its name (never shorter), so loading a hall file does not wait for
    pypinyin's dictionary (0.6 s), which only the server needs."""
    from hall_bus.contract import encode_json
    longest = {s.id: "X" * len(s.name) for s in cfg.services}
    return len(encode_json(cfg.public_catalog("2026-01-01", initials=longest).wire()))


def catalog_problems(cfg: HallConfig) -> list[str]:
    """A catalog over the bus's 64 KiB message limit would never reach a kiosk (Mosquitto drops it): refused here,
    naming its size, instead of a hall whose kiosks show no services."""
    from hall_bus.contract import MAX_PAYLOAD
    size = catalog_size(cfg)
    if size <= MAX_PAYLOAD:
        return []
    return [f"services: state/catalog would be {size} bytes with {len(cfg.services)} services and {len(cfg.windows)} "
            f"windows, over the bus's {MAX_PAYLOAD}-byte message limit; shorten names (name_en) or the windows' "
            f"service lists, or split the hall (docs/protocol.md, catalog size)"]


def catalog_warnings(cfg: HallConfig) -> list[str]:
    from hall_bus.contract import MAX_PAYLOAD
    size = catalog_size(cfg)
    if CATALOG_WARN_SHARE * MAX_PAYLOAD < size <= MAX_PAYLOAD:
        return [f"services: state/catalog is {size} bytes, {size * 100 // MAX_PAYLOAD} % of the bus's {MAX_PAYLOAD}-byte "
                f"message limit: a few more services will not fit"]
    return []


def sms_problems(cfg: HallConfig) -> list[str]:
    """Templates that would need a second SMS segment with the longest values this hall can fill in (the longest
    service and hall names, this hall's case numbers and rating link), the carrier signature included."""
    if cfg.sms is None:
        return []
    from hall_server.sms.templates import overflow_problems
    longest = {"service": max((s.name for s in cfg.services), key=len),
               "hall": cfg.hall.name,
               "number": f"{cfg.cases.number_prefix}-20261130-0007",
               "due_date": "12月31日",
               "link": cfg.case_url().replace("{token}", "x" * 22),     # the case token: 22 characters
               "code": "X" * BOOKING_CODE_LENGTH, "date": "12月31日", "start": "09:00"}
    return overflow_problems(cfg.sms, longest)


def staff_path(cfg: HallConfig, config_path: Path) -> Path | None:
    if not cfg.staff.file:
        return None
    p = Path(cfg.staff.file)
    return p if p.is_absolute() else config_path.parent / p


def load_staff(cfg: HallConfig, config_path: Path) -> list[str]:
    """Read `[staff] file` into the config (cfg.staff_book); its problems, with key paths."""
    path = staff_path(cfg, config_path)
    if path is None:
        return []
    from hall_server.staff import load_staff_file
    book, problems = load_staff_file(path, [w.id for w in cfg.windows], [d.id for d in cfg.departments])
    cfg.with_staff(book)
    return problems


def load_hall_config(path: str | Path) -> HallConfig:
    """Load and validate; field errors and cross-reference problems are listed together, one per line (the
    cross-references are checked on the raw file, so they show even when some fields are wrong)."""
    try:
        cfg = load_toml(path, HallConfig)
        problems = sms_problems(cfg) + load_staff(cfg, Path(path))
        if not problems:
            problems = catalog_problems(cfg)
        if problems:
            raise ConfigError(path, problems)
        return cfg
    except ConfigError as err:
        # The model's own cross-reference check reports at the top level as one joined line; list them one by one.
        problems = [p for p in err.problems if not p.startswith("(top level): ")]
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            raise ConfigError(err.path, err.problems) from None
        raise ConfigError(err.path, problems + cross_references(raw)) from None
