"""Which panel actions are possible in which window / ticket state (no Qt)."""
from __future__ import annotations

from datetime import datetime

import pytest

from window_panel.model import SHORTCUTS, Action, PanelState, elapsed

SERVING = {"number": "A023", "state": "serving", "service": "ss_enroll"}


def state(status: str | None = "open", current: dict | None = None, *, connected: bool = True,
          online: bool | None = True) -> PanelState:
    s = PanelState("w15", connected=connected, server_online=online)
    s.apply_window_state({"v": 1, "status": status, "current": current, "waiting": 3})
    return s


def enabled(s: PanelState) -> set[Action]:
    return {a for a in Action if s.enabled(a)}


def test_idle_open_window_can_call_but_not_finish() -> None:
    assert enabled(state("open")) == {Action.CALL_NEXT, Action.CALL_NUMBER, Action.CALL_BACK, Action.PAUSE}


def test_serving_enables_every_ticket_action() -> None:
    assert enabled(state("open", SERVING)) == set(Action)


def test_paused_window_can_only_resume_or_finish_what_it_serves() -> None:
    assert enabled(state("paused")) == {Action.PAUSE}
    assert state("paused").pause_op() == "window.resume"
    assert Action.FINISH in enabled(state("paused", SERVING))
    assert Action.CALL_NEXT not in enabled(state("paused", SERVING))


def test_closed_window_offers_open() -> None:
    s = state("closed")
    assert enabled(s) == {Action.PAUSE}
    assert s.pause_op() == "window.open"


@pytest.mark.parametrize("kw", [{"connected": False}, {"online": False}])
def test_nothing_is_possible_without_bus_or_server(kw: dict) -> None:
    assert enabled(state("open", SERVING, **kw)) == set()


def test_nothing_is_possible_while_a_request_is_in_flight() -> None:
    s = state("open", SERVING)
    s.busy = Action.CALL_NEXT
    assert enabled(s) == set()


def test_every_action_has_its_own_shortcut() -> None:
    assert set(SHORTCUTS) == set(Action)
    assert len(set(SHORTCUTS.values())) == len(Action)


def test_call_back_list_follows_held_list_and_ticket_events() -> None:
    s = state("open")
    s.note_ticket({"number": "B002", "state": "no_show", "window": "w15"})
    s.apply_window_state({"v": 1, "status": "open", "current": None, "waiting": 0, "held": ["A001"]})
    assert set(s.set_aside) == {"A001", "B002"}
    s.apply_window_state({"v": 1, "status": "open", "current": {**SERVING, "number": "A001"}, "held": []})
    assert set(s.set_aside) == {"B002"}
    s.note_ticket({"number": "B002", "state": "serving", "window": "w15"})
    assert s.set_aside == {}


def test_elapsed_formats_minutes_and_hours() -> None:
    now = datetime.fromisoformat("2026-11-27T10:24:36+08:00")
    assert elapsed("2026-11-27T10:02:11+08:00", now) == "22:25"
    assert elapsed("2026-11-27T08:02:11+08:00", now) == "2:22:25"
    assert elapsed(None, now) is None
    assert elapsed("not a time", now) is None


def test_a_restarted_panel_gets_its_no_shows_back_from_the_server() -> None:
    s = state("open")                                 # a fresh panel: it heard no ticket events
    s.apply_window_state({"v": 1, "status": "open", "current": None, "waiting": 3, "held": ["A001"],
                          "no_show": ["B002", "B005"]})
    assert {n: t["state"] for n, t in s.set_aside.items()} == {"A001": "held", "B002": "no_show", "B005": "no_show"}
    # B005 was called back at another window: the server's next list no longer has it
    s.apply_window_state({"v": 1, "status": "open", "current": None, "waiting": 3, "held": ["A001"],
                          "no_show": ["B002"]})
    assert set(s.set_aside) == {"A001", "B002"}
