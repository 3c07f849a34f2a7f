"""What the window panel knows and which actions the staff member may take now (pure: no Qt, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from hall_bus.contract import Op


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


# Button order on the panel and its keyboard shortcut.
SHORTCUTS: dict[Action, str] = {
    Action.CALL_NEXT: "F1", Action.RECALL: "F2", Action.FINISH: "F3",
    Action.NO_SHOW: "F4", Action.HOLD: "F5", Action.TRANSFER: "F6",
    Action.CALL_NUMBER: "F7", Action.CALL_BACK: "F8", Action.PAUSE: "F9",
}

NEEDS_TICKET = frozenset({Action.RECALL, Action.NO_SHOW, Action.HOLD, Action.TRANSFER, Action.FINISH})
NEEDS_OPEN = frozenset({Action.CALL_NEXT, Action.CALL_NUMBER, Action.CALL_BACK})

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
    # numbers this window held or marked no-show today: number -> ticket (call back picks from these)
    set_aside: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        return self.connected and self.server_online is not False

    def enabled(self, action: Action) -> bool:
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
