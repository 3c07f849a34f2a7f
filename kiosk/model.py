"""Plain values the kiosk bridge hands to its screens (no Qt): catalogue, zone load, tickets, device health."""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hall_bus import payloads as bus


# The bus payloads the kiosk reads, as hall_bus declares them (one declaration for every role).
Ticket = bus.Ticket
ZoneLoad = bus.ZoneState
Zone = bus.CatalogZone
Material = bus.Material
Guide = bus.Guide
CasePublic = bus.CasePublic


class Service(bus.CatalogService):
    """A service of the catalog together with its guide (state/guide/{id}) once that has arrived."""
    guide: bus.Guide | None = None

    @property
    def materials(self) -> tuple[bus.Material, ...]:
        return tuple(self.guide.materials) if self.guide else ()

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(self.guide.steps) if self.guide else ()

    @property
    def steps_en(self) -> tuple[str, ...]:
        return tuple(self.guide.steps_en) if self.guide else ()

    @property
    def appointment(self) -> bool:
        return self.bookable


@dataclass(frozen=True)
class Catalog:
    """The hall as the kiosk draws it: `state/catalog` plus the guide book (`state/guide/+`), which the bridge fills
    as guides arrive, so a guide that comes after the catalog is seen without redrawing the menus."""
    state: bus.Catalog
    guides: dict[str, bus.Guide] = field(default_factory=dict)

    @classmethod
    def parse(cls, obj: Any, guides: dict[str, bus.Guide] | None = None) -> "Catalog":
        return cls(bus.Catalog.parse(obj), guides if guides is not None else {})

    @property
    def hall_id(self) -> str:
        return self.state.hall.id

    @property
    def hall_name(self) -> str:
        return self.state.hall.name

    @property
    def hall_name_en(self) -> str:
        return self.state.hall.name_en or self.state.hall.name

    @property
    def notice(self) -> str:
        return self.state.hall.notice

    @property
    def notice_en(self) -> str:
        return self.state.hall.notice_en

    @property
    def business_day(self) -> str:
        return self.state.business_day

    @property
    def no_show_rule(self) -> bus.NoShowRule:
        """The missed-number rule (过号) in force, stated on the ticket and the done screen."""
        return self.state.no_show_rule

    @property
    def priority_age(self) -> int | None:
        return self.state.priority.age

    @property
    def zones(self) -> tuple[Zone, ...]:
        return tuple(self.state.zones)

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self._with_guide(s) for s in self.state.services)

    def _with_guide(self, s: bus.CatalogService) -> Service:
        return Service(**dict(s), guide=self.guides.get(s.id))

    def zone(self, zone_id: str) -> Zone | None:
        return self.state.zone(zone_id)

    def service(self, service_id: str) -> Service | None:
        s = self.state.service(service_id)
        return self._with_guide(s) if s else None

    def services_of(self, zone_id: str) -> list[Service]:
        return [self._with_guide(s) for s in self.state.services_of(zone_id)]

    def hall_title(self, lang: str) -> str:
        return self.hall_name_en if lang == "en" else self.hall_name

    def ticket_url(self, ticket: bus.Ticket) -> str:
        """The printed QR: the hall's status_url with the ticket's token (never the guessable verify code)."""
        return self.state.ticket_url(ticket.token) if ticket.token else ""


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
    """The end of one ticket.issue / appointment.checkin attempt (or ticket / case lookup)."""
    kind: str                         # printed, unprinted, refused, unreachable, printer_blocked, evaluated, found
    ticket: Ticket | None = None
    case: CasePublic | None = None    # a case found by number + query code (public view)
    code: str = ""
    message: str = ""
    message_zh: str = ""
    detail: str = ""


# ------------------------------------------------------------------ scanned / typed codes
_NUMBER = re.compile(r"[A-Za-z]{1,2}\d{3}")
_VERIFY = re.compile(r"[A-Za-z0-9]{4,8}")
_APPOINTMENT = re.compile(r"[A-Za-z0-9-]{4,32}")
_TOKEN = re.compile(bus.TOKEN_PATTERN.strip("^$"))


@dataclass(frozen=True)
class CodeQuery:
    kind: str        # number, verify, appointment, invalid
    value: str


def classify_code(text: str, *, for_status: bool = False) -> CodeQuery:
    """A typed or scanned code: a ticket's QR link (its token at the end, /t/{token}), a ticket number, a verify
    code (status screen) or an appointment code."""
    raw = text.strip()
    if "://" in raw:
        tail = raw.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return CodeQuery("token", tail) if _TOKEN.fullmatch(tail) else CodeQuery("invalid", raw)
    if _NUMBER.fullmatch(raw):
        return CodeQuery("number", raw.upper())
    if for_status:
        return CodeQuery("verify", raw.upper()) if _VERIFY.fullmatch(raw) else CodeQuery("invalid", raw)
    return CodeQuery("appointment", raw) if _APPOINTMENT.fullmatch(raw) else CodeQuery("invalid", raw)


def minutes(est_wait_s: int | None) -> int | None:
    if est_wait_s is None:
        return None
    return max(1, round(est_wait_s / 60)) if est_wait_s > 0 else 0


# ------------------------------------------------------------------ case (办件) queries
CASE_PREFIX = re.compile(r"[A-Z]{1,6}")
_CASE_NUMBER = re.compile(bus.CASE_NUMBER_PATTERN.strip("^$"))
_CASE_LOOSE = re.compile(r"([A-Za-z]{1,6})[-\s]*(\d{8})[-\s]*(\d{1,4})")
CASE_FIELDS = ("prefix", "day", "seq", "code")
CASE_FIELD_LEN = {"prefix": 6, "day": 8, "seq": 4, "code": 6}


@dataclass(frozen=True)
class CaseQuery:
    """A case number and its 6-digit query code, checked on the kiosk before anything is sent."""
    number: str
    query_code: str

    def as_args(self) -> dict[str, str]:
        return {"number": self.number, "query_code": self.query_code}


def case_query(prefix: str, day: str, seq: str, code: str) -> CaseQuery | tuple[str, str]:
    """The parts as typed (prefix letters, business day YYYYMMDD, daily sequence, query code) as a query, or
    (field, i18n key) naming the first part that cannot be right. A short sequence is zero-padded (7 = 0007)."""
    prefix, day, seq, code = (p.strip().upper() for p in (prefix, day, seq, code))
    if not CASE_PREFIX.fullmatch(prefix):
        return "prefix", "case_bad_prefix"
    try:
        if not re.fullmatch(r"\d{8}", day):
            raise ValueError(day)
        _dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        return "day", "case_bad_day"
    if not re.fullmatch(r"\d{1,4}", seq) or int(seq) == 0:
        return "seq", "case_bad_seq"
    if not re.fullmatch(r"\d{6}", code):
        return "code", "case_bad_code"
    number = f"{prefix}-{day}-{int(seq):04d}"
    assert _CASE_NUMBER.fullmatch(number)
    return CaseQuery(number, code)


def split_case_number(text: str) -> tuple[str, str, str] | None:
    """A whole case number as scanned or typed (DA-20261130-0007, also without the dashes): its three parts."""
    m = _CASE_LOOSE.fullmatch(text.strip())
    return (m.group(1).upper(), m.group(2), m.group(3)) if m else None


def case_day(business_day: str | None, today: _dt.date | None = None) -> str:
    """The date part a case number most likely has when nothing is typed: the hall's business day, else today."""
    digits = (business_day or "").replace("-", "")
    if re.fullmatch(r"\d{8}", digits):
        return digits
    return (today or _dt.date.today()).strftime("%Y%m%d")


# ------------------------------------------------------------------ finding a service by touch
@dataclass
class Usage:
    """How much each service is used today, as far as this kiosk can tell without asking anyone: the tickets it
    issued itself today (it sees every one it prints) plus the tickets now waiting for the service in the whole
    hall (`state/zone/{zone}`.services, which every kiosk already receives). No server op, nothing stored: the
    counts start again with the business day (or with the kiosk)."""
    day: str = ""
    issued: dict[str, int] = field(default_factory=dict)

    def note_issue(self, service: str, day: str) -> None:
        if day != self.day:
            self.day, self.issued = day, {}
        self.issued[service] = self.issued.get(service, 0) + 1

    def score(self, service: bus.CatalogService, loads: dict[str, ZoneLoad], day: str) -> int:
        mine = self.issued.get(service.id, 0) if day == self.day else 0
        load = loads.get(service.zone)
        waiting = load.services[service.id].waiting if load is not None and service.id in load.services else 0
        return mine + waiting


def by_use(services: list[Service] | tuple[Service, ...], score: dict[str, int]) -> list[Service]:
    """Most used first; equal use keeps the catalogue's (config) order, so the list never shuffles at random."""
    order = sorted(enumerate(services), key=lambda p: (-score.get(p[1].id, 0), p[0]))
    return [s for _, s in order]


@dataclass(frozen=True)
class Keyword:
    """A tappable word for the search screen (a kiosk has no Chinese input method): it finds the services whose
    Chinese name holds any of its `needles`."""
    zh: str
    en: str
    needles: tuple[str, ...]

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def matches(self, svc: bus.CatalogService) -> bool:
        return any(n in svc.name for n in self.needles)


# The words citizens come with, most asked for first; only those that find a service of the hall are shown.
KEYWORDS: tuple[Keyword, ...] = (
    Keyword("养老", "Pension", ("养老", "退休")),
    Keyword("医保", "Medical", ("医疗", "医保", "就医")),
    Keyword("社保", "Insurance", ("社保", "社会保", "参保")),
    Keyword("税", "Tax", ("税",)),
    Keyword("户口", "Hukou", ("户口", "户籍", "出生登记")),
    Keyword("身份证", "ID card", ("身份证",)),
    Keyword("营业执照", "Licence", ("营业执照", "企业设立", "个体工商户")),
    Keyword("公积金", "Housing fund", ("公积金",)),
    Keyword("就业", "Jobs", ("失业", "就业", "创业")),
    Keyword("企业", "Companies", ("企业",)),
    Keyword("发票", "Invoices", ("发票",)),
    Keyword("居住证", "Residence", ("居住证",)),
    Keyword("工伤", "Work injury", ("工伤",)),
    Keyword("生育", "Maternity", ("生育", "出生")),
    Keyword("证明", "Certificates", ("证明",)),
    Keyword("许可", "Permits", ("许可", "审批")),
    Keyword("不动产", "Real estate", ("不动产",)),
    Keyword("招投标", "Tenders", ("招标", "投标")),
    Keyword("机动车", "Vehicles", ("机动车", "驾驶")),
    Keyword("婚姻", "Marriage", ("婚姻", "结婚")),
)


def keywords_for(services: list[Service] | tuple[Service, ...]) -> list[Keyword]:
    return [k for k in KEYWORDS if any(k.matches(s) for s in services)]


def keyword(zh: str) -> Keyword | None:
    return next((k for k in KEYWORDS if k.zh == zh), None)


def _subsequence(q: str, text: str) -> bool:
    it = iter(text)
    return all(ch in it for ch in q)


def letters_match(svc: bus.CatalogService, letters: str, lang: str) -> int | None:
    """How well typed letters find a service: 0 they run together in its pinyin initials (YLBX in YLBXDYSL; in
    English mode also a word or part of a word of its English name), 1 they come in order with gaps (YLSL:
    养老…申领), None not at all. Initials missing from a catalogue (an old server) find nothing, they break nothing."""
    q = letters.upper()
    if not q:
        return 0
    initials = svc.initials.upper()
    texts = [initials]
    en_words: list[str] = []
    if lang == "en" and svc.name_en:
        en_words = re.findall(r"[A-Z0-9]+", svc.name_en.upper())
        texts.append(" ".join(en_words))
    if any(q in t for t in texts):
        return 0
    if _subsequence(q, initials) or (en_words and _subsequence(q, "".join(w[0] for w in en_words))):
        return 1
    return None


def search_services(services: list[Service] | tuple[Service, ...], letters: str, word: Keyword | None, lang: str,
                    score: dict[str, int]) -> list[Service]:
    """The services found by the typed letters and the chosen keyword (both, when both are given): the closer
    matches first, most used first among equals, then the catalogue's order."""
    found: list[tuple[int, int, int, Service]] = []
    for i, svc in enumerate(services):
        if word is not None and not word.matches(svc):
            continue
        tier = letters_match(svc, letters, lang)
        if tier is None:
            continue
        found.append((tier, -score.get(svc.id, 0), i, svc))
    found.sort(key=lambda f: f[:3])
    return [f[3] for f in found]
