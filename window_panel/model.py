"""What the window panel knows and which actions the staff member may take now (pure: no Qt, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from hall_bus.contract import Op
from hall_bus.idnumber import BAD_BIRTH_DATE, BAD_CHECK_DIGIT, IdNumberError, PhoneError, check_id_number, check_mobile


class Action(StrEnum):
    CALL_NEXT = "call_next"
    RECALL = "recall"
    CALL_NUMBER = "call_number"
    NO_SHOW = "no_show"       # 过号
    HOLD = "hold"             # 挂起
    CALL_BACK = "call_back"   # 回呼 a held / no-show ticket
    TRANSFER = "transfer"     # 转移
    PAUSE = "pause"           # pause / resume / open, by window status
    FINISH = "finish"         # 办结
    ACCEPT = "accept"         # 受理: open a case for the ticket being served
    REFUSE = "refuse"         # 一次性告知 / 不予受理


# Button order on the panel and its keyboard shortcut.
SHORTCUTS: dict[Action, str] = {
    Action.CALL_NEXT: "F1", Action.RECALL: "F2", Action.FINISH: "F3",
    Action.NO_SHOW: "F4", Action.HOLD: "F5", Action.TRANSFER: "F6",
    Action.CALL_NUMBER: "F7", Action.CALL_BACK: "F8", Action.PAUSE: "F9",
    Action.ACCEPT: "F10", Action.REFUSE: "F11",
}
CASE_DETAIL_KEY = "F12"      # the changes dialog of the case selected in the list
SIGN_KEY = "Shift+F12"       # staff sign-in screen / sign-out (the F-keys alone are all taken)
STAFF_DIGITS = 12            # staff numbers: 1-12 digits (a keypad can enter them)
PIN_DIGITS = (4, 12)

NEEDS_TICKET = frozenset({Action.RECALL, Action.NO_SHOW, Action.HOLD, Action.TRANSFER, Action.FINISH})
NEEDS_OPEN = frozenset({Action.CALL_NEXT, Action.CALL_NUMBER, Action.CALL_BACK})
CASE_ACTIONS = frozenset({Action.ACCEPT, Action.REFUSE})      # need the ticket being served; own busy flag

# The ops of PROTOCOL.md each action sends (PAUSE depends on the window status: see pause_op).
OPS: dict[Action, str] = {
    Action.CALL_NEXT: Op.WINDOW_CALL_NEXT, Action.RECALL: Op.WINDOW_RECALL, Action.CALL_NUMBER: Op.WINDOW_CALL,
    Action.NO_SHOW: Op.WINDOW_NO_SHOW, Action.HOLD: Op.WINDOW_HOLD, Action.CALL_BACK: Op.WINDOW_CALL,
    Action.TRANSFER: Op.WINDOW_TRANSFER, Action.FINISH: Op.WINDOW_FINISH,
}


@dataclass
class PanelState:
    window: str
    connected: bool = False
    server_online: bool | None = None
    status: str | None = None            # open / paused / closed (None: no state/window yet)
    reason: str | None = None
    current: dict[str, Any] | None = None
    waiting: int | None = None
    window_name: str | None = None
    busy: Action | None = None           # the action whose request is in flight
    case_busy: str | None = None         # the case request in flight (accept / refuse / update): one at a time
    # numbers this window held or marked no-show today: number -> ticket (call back picks from these)
    set_aside: dict[str, dict[str, Any]] = field(default_factory=dict)
    staff: dict[str, Any] | None = None  # who is signed in here: {"staff", "name" (masked), "since"}
    sign_in_required: bool = False       # the server answered not_signed_in: no calling until someone signs in
    signing: str | None = None           # "sign_in" / "sign_out" in flight
    bad_logins: int = 0                  # bad_login replies in a row at this panel

    @property
    def reachable(self) -> bool:
        return self.connected and self.server_online is not False

    @property
    def blocked(self) -> bool:
        """Calling waits for a sign-in: only once the server said not_signed_in (halls without sign-in never do)."""
        return self.sign_in_required and self.staff is None

    def apply_staff_state(self, st: dict[str, Any]) -> None:
        """state/staff/{window}: {"staff": "1015", "name": "王*", "since": ...} or {"staff": null}."""
        self.staff = dict(st) if isinstance(st.get("staff"), str) and st["staff"] else None

    def enabled(self, action: Action) -> bool:
        if self.blocked:
            return False
        if action in CASE_ACTIONS:
            return self.reachable and self.busy is None and self.case_busy is None and self.current is not None \
                and self.current.get("state", "serving") == "serving"
        if not self.reachable or self.busy is not None or self.status is None:
            return False
        if action is Action.PAUSE:
            return self.status in ("open", "paused", "closed")
        if action in NEEDS_TICKET:
            return self.current is not None and self.current.get("state", "serving") == "serving"
        if action in NEEDS_OPEN:
            return self.status == "open"
        return False

    def pause_op(self) -> str:
        return {"open": Op.WINDOW_PAUSE, "paused": Op.WINDOW_RESUME}.get(self.status or "", Op.WINDOW_OPEN)

    def apply_window_state(self, st: dict[str, Any]) -> None:
        status = st.get("status")
        self.status = status if status in ("open", "paused", "closed") else None
        self.reason = st.get("reason") if isinstance(st.get("reason"), str) else None
        cur = st.get("current")
        self.current = cur if isinstance(cur, dict) and cur.get("number") else None
        w = st.get("waiting")
        self.waiting = w if isinstance(w, int) and not isinstance(w, bool) else None
        if isinstance(st.get("name"), str):
            self.window_name = st["name"]
        for state in ("held", "no_show"):     # the server's lists of this window's numbers are authoritative
            listed = st.get(state)
            if not isinstance(listed, list):  # an older server sends no no_show list: keep what events told us
                continue
            for number in listed:
                if isinstance(number, str) and self.set_aside.get(number, {}).get("state") != state:
                    self.set_aside[number] = {**self.set_aside.get(number, {}), "number": number, "state": state}
            for number, t in list(self.set_aside.items()):
                if t.get("state") == state and number not in listed:
                    del self.set_aside[number]
        if self.current is not None:
            self.set_aside.pop(self.current["number"], None)

    def note_ticket(self, ticket: dict[str, Any]) -> None:
        """Keep the call-back list in step with every ticket we hear about (replies, event/ticket)."""
        number = ticket.get("number")
        if not isinstance(number, str):
            return
        if ticket.get("state") in ("held", "no_show") and ticket.get("window") in (None, self.window):
            self.set_aside[number] = ticket
        elif number in self.set_aside and ticket.get("state") not in ("held", "no_show"):
            self.set_aside.pop(number, None)


def sign_in_problem(staff: str, pin: str) -> str | None:
    """The i18n key of what is wrong with a typed staff number and PIN (None: send them)."""
    if not (staff.isascii() and staff.isdigit() and 1 <= len(staff) <= STAFF_DIGITS):
        return "bad_staff"
    if not (pin.isascii() and pin.isdigit() and PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1]):
        return "bad_pin"
    return None


def bad_login_wait_s(failures: int) -> int:
    """Seconds the sign-in button waits after this many bad logins in a row: none for the first two, then 1, 2, 4 …
    up to 30 — as the server slows the window down (hall_server.staff.SignInGuard); never a lock-out."""
    return 0 if failures < 2 else min(2 ** (failures - 2), 30)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def elapsed(start: Any, now: datetime) -> str | None:
    """'12:05' (minutes:seconds) or '1:02:05' since an ISO time; None when unknown."""
    t = parse_time(start)
    if t is None:
        return None
    if t.tzinfo is not None and now.tzinfo is None:
        now = now.astimezone()
    elif t.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    secs = max(0, int((now - t).total_seconds()))
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


# ---------------------------------------------------------------- cases (办件)
# What a window still works on (the list shows these); done stays until it is delivered.
OPEN_CASE_STATUSES = ("accepted", "in_progress", "needs_materials", "suspended", "done")
_RUNNING = ("in_progress", "needs_materials", "suspended", "extend", "done", "withdrawn", "terminated")
# The changes the panel offers for each status (the server has the last word: an illegal one is `conflict`).
CASE_CHANGES_FROM: dict[str, tuple[str, ...]] = {
    "accepted": _RUNNING,
    "in_progress": _RUNNING[1:],
    "needs_materials": ("resumed", "extend", "withdrawn", "terminated"),
    "suspended": ("resumed", "extend", "withdrawn", "terminated"),
    "done": ("delivered",),
}
SOON_DAYS = 2      # days left at or under this: yellow


def days_left_level(case: dict[str, Any]) -> str:
    """'overdue' (red) when negative, 'soon' (yellow) at ≤ 2, 'ok', or 'none' (no deadline running: finished)."""
    days = case.get("days_left")
    if not isinstance(days, int) or isinstance(days, bool) or case.get("status") not in OPEN_CASE_STATUSES[:4]:
        return "none"
    return "overdue" if days < 0 else "soon" if days <= SOON_DAYS else "ok"


def open_cases(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The window's cases still in hand, most urgent first (overdue, then fewest days left, then newest)."""
    def key(c: dict[str, Any]) -> tuple[int, int, str]:
        days = c.get("days_left")
        running = isinstance(days, int) and c.get("status") in OPEN_CASE_STATUSES[:4]
        return (0 if running else 1, days if running else 0, "~" + str(c.get("number", "")))
    return sorted((c for c in cases if isinstance(c, dict) and c.get("status") in OPEN_CASE_STATUSES), key=key)


_ID_PROBLEM = {BAD_CHECK_DIGIT: "bad_id_check", BAD_BIRTH_DATE: "bad_id_birth"}


def person_fields(name: str, id_number: str, phone: str, sms: bool, *,
                  required: bool = True) -> tuple[dict[str, Any], list[str]]:
    """The applicant and phone as case.accept / case.refuse take them, and the i18n keys of what is wrong (the args
    are sent only when that list is empty). Without SMS consent the phone is neither checked nor sent. An optional
    applicant (case.refuse) may be left out entirely, never half given."""
    fields: dict[str, Any] = {}
    problems: list[str] = []
    name, id_number = name.strip(), id_number.strip()
    if required or name or id_number:
        if not name or len(name) > 40:
            problems.append("bad_name")
        try:
            fields["applicant"] = {"name": name, "id_number": check_id_number(id_number).number}
        except IdNumberError as exc:
            problems.append(_ID_PROBLEM.get(exc.reason, "bad_id_format"))
    if sms and phone.strip():
        try:
            fields.update(phone=check_mobile(phone), sms=True)
        except PhoneError:
            problems.append("bad_phone")
    return fields, problems


def material_lines(checked: list[str], other: str) -> list[str]:
    """Ticked materials then typed ones (one a line), each once, trimmed to the contract's 100 characters."""
    out: list[str] = []
    for item in [*checked, *other.splitlines()]:
        item = item.strip()[:100]
        if item and item not in out:
            out.append(item)
    return out[:30]
