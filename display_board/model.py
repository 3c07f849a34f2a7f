"""What the hall display shows, rebuilt from retained state/* and event/call (pure: no Qt, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hall_bus.hall import window_title
from hall_bus.payloads import NoShowRule


@dataclass
class ZoneView:
    id: str
    name: str
    name_en: str
    floor: str = ""
    waiting: int | None = None
    est_wait_s: int | None = None
    serving: int | None = None


@dataclass
class BoardModel:
    """Everything on screen. `apply_*` return True when something visible changed."""
    zones_shown: list[str] = field(default_factory=list)
    max_calls: int = 10
    hall_name: str = ""
    hall_name_en: str = ""
    notice: str = ""
    notice_en: str = ""
    no_show_rule: NoShowRule | None = field(default_factory=NoShowRule)     # 过号 ([calling] no_show), in the ticker
    windows: dict[str, dict[str, Any]] = field(default_factory=dict)
    zones: dict[str, ZoneView] = field(default_factory=dict)
    zone_order: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)     # newest first
    last_seq: int | None = None
    server_online: bool | None = None
    business_day: str | None = None

    # ---------------------------------------------------------------- retained state
    def apply_catalog(self, cat: dict[str, Any]) -> bool:
        hall = cat.get("hall") if isinstance(cat.get("hall"), dict) else {}
        self.hall_name = str(hall.get("name") or "")
        self.hall_name_en = str(hall.get("name_en") or "")
        self.notice = str(hall.get("notice") or cat.get("notice") or "")
        self.notice_en = str(hall.get("notice_en") or cat.get("notice_en") or "")
        try:
            self.no_show_rule = NoShowRule.model_validate(cat.get("no_show_rule") or {})
        except ValueError:      # a rule this display does not know: say nothing rather than something wrong
            self.no_show_rule = None
        self.windows = {w["id"]: w for w in cat.get("windows", []) if isinstance(w, dict) and "id" in w}
        order = []
        for z in cat.get("zones", []):
            if not isinstance(z, dict) or "id" not in z:
                continue
            zid = str(z["id"])
            old = self.zones.get(zid)
            view = ZoneView(zid, str(z.get("name") or zid), str(z.get("name_en") or z.get("name") or zid),
                            str(z.get("floor") or ""))
            if old is not None:
                view.waiting, view.est_wait_s, view.serving = old.waiting, old.est_wait_s, old.serving
            self.zones[zid] = view
            order.append(zid)
        self.zone_order = order
        day = cat.get("business_day")
        if isinstance(day, str):
            self._new_day(day)
        return True

    def apply_zone(self, zid: str, state: dict[str, Any]) -> bool:
        view = self.zones.get(zid)
        if view is None:
            view = self.zones[zid] = ZoneView(zid, zid, zid)
        view.waiting = _int(state.get("waiting"))
        view.est_wait_s = _int(state.get("est_wait_s"))
        view.serving = _int(state.get("serving"))
        return True

    def apply_server(self, state: dict[str, Any]) -> bool:
        online = state.get("state") == "online"
        day = state.get("business_day")
        if isinstance(day, str):
            self._new_day(day)
        changed = online != self.server_online
        self.server_online = online
        return changed

    def apply_calls(self, state: dict[str, Any]) -> bool:
        """state/calls is authoritative for every seq it covers; calls heard since (higher seq) stay."""
        retained = [c for c in state.get("calls", []) if isinstance(c, dict) and isinstance(c.get("seq"), int)]
        top = max((c["seq"] for c in retained), default=0)
        newer = [c for c in self.calls if c.get("seq", 0) > top]
        self.calls = sorted(newer + retained, key=lambda c: c["seq"], reverse=True)[: self.max_calls]
        if self.calls:
            self.last_seq = self.calls[0]["seq"]
        return True

    # ---------------------------------------------------------------- events
    def apply_call_event(self, event: dict[str, Any]) -> tuple[bool, bool]:
        """Add a fresh call. Returns (accepted, gap): gap means calls were missed (re-read state/calls)."""
        seq = event.get("seq")
        if not isinstance(seq, int) or not isinstance(event.get("number"), str):
            return False, False
        if any(c.get("seq") == seq and c.get("ticket_id") == event.get("ticket_id") for c in self.calls):
            return False, False                          # already known from state/calls
        gap = False
        if self.last_seq is not None:
            if seq > self.last_seq + 1:
                gap = True
            elif seq <= self.last_seq:                   # counters restarted: a new business day
                self.calls.clear()
        self.calls = sorted([event, *self.calls], key=lambda c: c["seq"], reverse=True)[: self.max_calls]
        self.last_seq = seq
        return True, gap

    # ---------------------------------------------------------------- views
    @property
    def latest(self) -> dict[str, Any] | None:
        return self.calls[0] if self.calls else None

    def recent(self, n: int) -> list[dict[str, Any]]:
        """Calls after the latest, one row per number (a recall does not repeat the row)."""
        seen = {self.calls[0]["number"]} if self.calls else set()
        out = []
        for c in self.calls[1:]:
            if c["number"] in seen:
                continue
            seen.add(c["number"])
            out.append(c)
            if len(out) == n:
                break
        return out

    def shown_zones(self) -> list[ZoneView]:
        ids = self.zones_shown or self.zone_order or sorted(self.zones)
        return [self.zones[z] for z in ids if z in self.zones]

    def window_label(self, call: dict[str, Any], lang: str) -> str:
        wid = str(call.get("window") or "")
        win = self.windows.get(wid, {})
        return window_title(str(call.get("window_name") or win.get("name") or ""),
                            str(call.get("window_name_en") or win.get("name_en") or ""), wid, lang)

    def _new_day(self, day: str) -> None:
        if self.business_day is not None and day != self.business_day:
            self.calls.clear()
            self.last_seq = None
        self.business_day = day


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
