"""One citizen's journey at the kiosk as plain state (no Qt): the hall and devices as last reported, who is at the
kiosk (language, elderly mode, ID-card holder), the screen and what was chosen on the way, the pending request and
its answer, the code being typed, and when an idle kiosk goes home. The window changes it in answer to intents and
bridge signals; the screens only read it."""
from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hall_bus.hall import age_on
from kiosk.model import (
    CASE_FIELD_LEN, CASE_FIELDS, Catalog, Connectivity, DeviceHealth, Health, Holder, IssueOutcome, Keyword, Service,
    Usage, ZoneLoad, by_use, case_day, keyword, search_services,
)

ELDERLY_SCALE = 1.25
CONNECT_GRACE_S = 6.0      # "connecting" rather than "unreachable" just after start
DONE_TIMEOUT_S = 20.0      # the ticket is in hand: the kiosk frees itself for the next person sooner

# Screens left off the back history: passing states, not places to return to.
TRANSIENT = frozenset({"printing", "fault", "message"})


@dataclass
class Journey:
    default_lang: str = "zh"
    idle_timeout_s_normal: float = 45.0
    idle_timeout_s_elderly: float = 90.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    case_prefix_default: str = "DA"         # kiosk.toml case_prefix: the hall's case numbers start with it

    # the hall and the terminal, as last reported by the bridge
    catalog: Catalog | None = None
    loads: dict[str, ZoneLoad] = field(default_factory=dict)
    conn: Connectivity = field(default_factory=lambda: Connectivity(False, None))
    health: dict[str, DeviceHealth] = field(default_factory=dict)
    forced_unreachable: bool = False        # a request timed out: unreachable until the bus says otherwise
    started: float = 0.0                    # when the kiosk started (clock time), for the connecting grace

    # who is at the kiosk
    lang: str = ""
    elderly: bool = False
    holder: Holder | None = None            # the ID card just read (reference, birth date, masked name)
    id_error: bool = False                  # a card was read but refused

    # where they are and what they chose on the way
    current: str = ""
    history: list[str] = field(default_factory=list)
    zone_id: str | None = None
    service_id: str | None = None
    guide_service: str | None = None
    page: int = 0
    checklist_msg: tuple[bool, str] | None = None

    # the pending ticket request and its answer
    issue_origin: str = "walk_in"           # walk_in, id_card or appointment
    progress: tuple[str, float] = ("request", 0.05)
    outcome: IssueOutcome | None = None

    # a code typed or scanned (appointment check-in, ticket status) and what it found
    code_text: str = ""
    code_busy: bool = False
    code_error: str = ""
    lookup: IssueOutcome | None = None
    eval_busy: bool = False                 # a grade for the looked-up ticket is on its way
    eval_error: str = ""

    # the status screen also answers a case (办件) number + query code: the number in its three parts, the prefix
    # and the day filled in (the hall's prefix, today), so a citizen types only the sequence and the code
    status_mode: str = "ticket"             # ticket or case
    case_prefix: str = ""
    case_day: str = ""                      # YYYYMMDD
    case_seq: str = ""
    case_code: str = ""
    case_field: str = "seq"                 # the part the keypad types into
    case_fresh: bool = False                # the part was just chosen: the first key replaces what it holds
    case_busy: bool = False
    case_error: str = ""                    # i18n key of what is wrong (typed parts, not found), or the server's text
    case_error_text: str = ""
    case_found: IssueOutcome | None = None

    # finding a service: pinyin initials typed on the letter pad and a tapped keyword; how much each service is
    # used today, and the use as it was when the list was drawn (so that a zone update never reorders it under a
    # finger: it changes only when a list is opened again)
    search_letters: str = ""
    search_word: str = ""                   # Keyword.zh
    usage: Usage = field(default_factory=Usage)
    use_seen: dict[str, int] = field(default_factory=dict)

    # idle return: when the running idle timer fires (clock time), None when it is stopped
    idle_deadline: float | None = None

    def __post_init__(self) -> None:
        self.lang = self.lang or self.default_lang
        self.started = self.started or self.clock()
        self.clear_case()

    # ------------------------------------------------------------ derived
    @property
    def scale(self) -> float:
        return ELDERLY_SCALE if self.elderly else 1.0

    @property
    def idle_timeout_s(self) -> float:
        base = self.idle_timeout_s_elderly if self.elderly else self.idle_timeout_s_normal
        if self.current == "done":
            return min(base, DONE_TIMEOUT_S * (2 if self.elderly else 1))
        return base

    @property
    def at_rest(self) -> bool:
        """Nothing to return from: the home (or fault) screen with nobody's choices on it, so no idle timer."""
        return (self.current in ("home", "fault") and self.holder is None and not self.elderly
                and self.lang == self.default_lang and not self.id_error)

    def idle_remaining_s(self) -> int:
        if self.idle_deadline is None:
            return int(self.idle_timeout_s)
        return max(0, int(round(self.idle_deadline - self.clock())))

    @property
    def idcard_fault(self) -> bool:
        h = self.health.get("idcard")
        return h is not None and h.state in (Health.ERROR, Health.OFFLINE)

    def holder_is_senior(self, today: _dt.date | None = None) -> bool:
        age_limit = self.catalog.priority_age if self.catalog else None
        if self.holder is None or not age_limit:
            return False
        age = age_on(self.holder.birth_date, today or _dt.date.today())
        return age is not None and age >= age_limit

    def device_warning(self) -> str:
        """The i18n key of a warning for the home screen ('' when none): the printer still prints but needs care."""
        p = self.health.get("printer")
        return "paper_low" if p is not None and p.state is Health.WARNING else ""

    def fault_kind(self) -> str | None:
        """Why no ticket can be issued now: connecting, unreachable, paper_out, cover_open, printer_offline."""
        if self.forced_unreachable or not self.conn.reachable:
            if not self.forced_unreachable and self.clock() - self.started < CONNECT_GRACE_S \
                    and self.conn.server is None:
                return "connecting"
            return "unreachable"
        if self.catalog is None:
            return "connecting"
        p = self.health.get("printer")
        if p is not None and p.blocks_issuing:
            return p.code if p.code in ("paper_out", "cover_open") else "printer_offline"
        return None

    @property
    def day(self) -> str:
        return self.catalog.business_day if self.catalog and self.catalog.business_day else _dt.date.today().isoformat()

    def note_use(self) -> None:
        """Take the services' use as it is now, for the lists about to be drawn."""
        cat = self.catalog
        self.use_seen = {s.id: self.usage.score(s, self.loads, self.day) for s in cat.state.services} if cat else {}

    def note_issue(self, service: str) -> None:
        self.usage.note_issue(service, self.day)

    def zone_services(self, zone_id: str) -> list[Service]:
        """A zone's services, most used first (the config order among equals)."""
        return by_use(self.catalog.services_of(zone_id), self.use_seen) if self.catalog else []

    @property
    def search_keyword(self) -> Keyword | None:
        return keyword(self.search_word) if self.search_word else None

    @property
    def searching(self) -> bool:
        return bool(self.search_letters or self.search_word)

    def search_results(self) -> list[Service]:
        """What the search finds; before anything is typed, the whole hall most used first."""
        if self.catalog is None:
            return []
        return search_services(self.catalog.services, self.search_letters, self.search_keyword, self.lang,
                               self.use_seen)

    def type_search_key(self, key: str) -> None:
        if key == "DEL":
            self.search_letters = self.search_letters[:-1]
        elif key == "CLR":
            self.search_letters = ""
        elif len(key) == 1 and key.isascii() and key.isalpha() and len(self.search_letters) < 12:
            self.search_letters += key.upper()

    def choose_search_word(self, word: str) -> None:
        """A keyword tapped: it filters; tapped again (or "" given) it stops filtering."""
        self.search_word = "" if word == self.search_word or keyword(word) is None else word

    def clear_search(self) -> None:
        self.search_letters = self.search_word = ""

    # ------------------------------------------------------------ changes
    def enter(self, name: str, *, push: bool = True) -> None:
        """Now on screen `name`; the one left goes on the back history unless it was a passing state."""
        if push and self.current and self.current != name and self.current not in TRANSIENT:
            self.history.append(self.current)
        self.current = name

    def restart(self, *, reset: bool) -> bool:
        """Back to the start of a journey; `reset` also forgets the citizen (card, language, elderly mode).
        Returns whether elderly mode was switched off (the window restyles)."""
        elderly_was = self.elderly
        if reset:
            self.holder = None
            self.lang = self.default_lang
            self.elderly = False
            self.forced_unreachable = False
        self.history.clear()
        self.zone_id = self.service_id = self.guide_service = None
        self.page = 0
        self.clear_code()
        self.clear_search()
        self.checklist_msg = None
        self.id_error = False
        self.status_mode = "ticket"
        return elderly_was and not self.elderly

    def clear_code(self) -> None:
        """A fresh code entry: nothing typed, nothing found, no grade on its way."""
        self.code_text, self.code_error, self.code_busy = "", "", False
        self.lookup = None
        self.eval_busy, self.eval_error = False, ""
        self.clear_case()

    def clear_case(self) -> None:
        """A fresh case query: the hall's prefix and today's date filled in, the sequence and code empty."""
        self.case_prefix = self.case_prefix_default
        self.case_day = case_day(self.catalog.business_day if self.catalog else "")
        self.case_seq = self.case_code = ""
        self.case_field, self.case_fresh = "seq", False
        self.case_busy, self.case_error, self.case_error_text = False, "", ""
        self.case_found = None

    def case_part(self, name: str) -> str:
        return getattr(self, f"case_{name}")

    def choose_case_field(self, name: str) -> None:
        if name in CASE_FIELDS:
            self.case_field = name
            self.case_fresh = bool(self.case_part(name))
            self.case_error = self.case_error_text = ""

    def type_case_key(self, key: str) -> bool:
        """A key for the case query; True for OK. Letters go only into the prefix, digits only into the others;
        a full sequence moves on to the code, a full date to the sequence."""
        name = self.case_field
        value = self.case_part(name)
        if key == "OK":
            return True
        self.case_error = self.case_error_text = ""
        if key == "DEL":
            value = value[:-1]
        elif key == "CLR":
            value = ""
        elif len(key) == 1 and (key.isascii() and (key.isalpha() if name == "prefix" else key.isdigit())):
            if self.case_fresh:
                value = ""
            if len(value) >= CASE_FIELD_LEN[name]:
                return False         # full: extra keys do nothing
            value += key.upper()
            if len(value) == CASE_FIELD_LEN[name] and name in ("day", "seq"):
                setattr(self, f"case_{name}", value)
                self.choose_case_field("seq" if name == "day" else "code")
                return False
        else:
            self.case_error = "case_letters_only" if name == "prefix" else "case_digits_only"
            return False
        self.case_fresh = False
        setattr(self, f"case_{name}", value)
        return False

    def fill_case_number(self, prefix: str, day: str, seq: str) -> None:
        """A whole number (scanned, or typed with its prefix): its parts in place, the code next."""
        self.case_prefix, self.case_day, self.case_seq = prefix, day, seq
        self.case_field, self.case_fresh = "code", False
        self.case_error = self.case_error_text = ""

    def type_key(self, key: str) -> bool:
        """A key of the on-screen keypad; True for OK (the code is to be submitted)."""
        if key == "OK":
            return True
        if key == "DEL":
            self.code_text = self.code_text[:-1]
        elif key == "CLR":
            self.code_text = ""
        elif len(self.code_text) < 32:
            self.code_text += key
        self.code_error = ""
        return False

    def begin_issue(self, origin: str) -> None:
        self.issue_origin = origin
        self.progress = ("request", 0.05)

    def begin_lookup(self, code: str) -> None:
        self.code_text = code
        self.code_busy = True
        self.code_error = ""
        self.lookup = None
        self.eval_busy, self.eval_error = False, ""

