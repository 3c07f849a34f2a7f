"""The kiosk's journey as plain state, without Qt: when it goes home by itself and how soon, what stops it issuing
numbers, where back leads, what a fresh start forgets, the code keypad."""
from __future__ import annotations

import datetime as dt

import pytest

from kiosk.journey import CONNECT_GRACE_S, Journey
from kiosk.model import Catalog, Connectivity, DeviceHealth, Health, Holder
from kiosk.sample import sample_catalog

ONLINE = Connectivity(True, True)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def journey(**kw) -> Journey:
    kw.setdefault("clock", Clock())
    return Journey("zh", 45.0, 90.0, **kw)


def test_a_kiosk_nobody_uses_stays_on_its_home_screen_without_an_idle_timer() -> None:
    j = journey(conn=ONLINE)
    j.enter("home")
    assert j.at_rest
    # anything a citizen left behind is a reason to go home by itself
    for change in ({"holder": Holder("r", "1950-01-01", "张*")}, {"elderly": True}, {"lang": "en"},
                   {"id_error": True}, {"current": "zone"}):
        other = journey(conn=ONLINE)
        other.enter("home")
        for name, value in change.items():
            setattr(other, name, value)
        assert not other.at_rest, change


@pytest.mark.parametrize(("elderly", "screen", "timeout"), [
    (False, "zone", 45.0), (True, "zone", 90.0),
    (False, "done", 20.0), (True, "done", 40.0),        # the ticket is in hand: free the kiosk sooner
])
def test_idle_timeout(elderly: bool, screen: str, timeout: float) -> None:
    j = journey(elderly=elderly)
    j.enter(screen)
    assert j.idle_timeout_s == timeout


def test_idle_countdown_follows_the_clock() -> None:
    clock = Clock()
    j = journey(clock=clock)
    j.enter("done")
    assert j.idle_remaining_s() == 20                    # no timer running: the whole timeout
    j.idle_deadline = clock.now + 20
    clock.now += 7.4
    assert j.idle_remaining_s() == 13
    clock.now += 60
    assert j.idle_remaining_s() == 0


def test_fault_kinds() -> None:
    clock = Clock()
    j = journey(clock=clock)                             # just started, nothing heard from the server yet
    assert j.fault_kind() == "connecting"
    clock.now += CONNECT_GRACE_S + 1
    assert j.fault_kind() == "unreachable"
    j.conn = ONLINE
    assert j.fault_kind() == "connecting"                # online, but no catalog yet
    j.catalog = Catalog.parse(sample_catalog())
    assert j.fault_kind() is None
    for code, kind in (("paper_out", "paper_out"), ("cover_open", "cover_open"), ("offline", "printer_offline")):
        j.health["printer"] = DeviceHealth("printer", Health.ERROR, code)
        assert j.fault_kind() == kind
    j.health["printer"] = DeviceHealth("printer", Health.WARNING, "near_end")
    assert j.fault_kind() is None and j.device_warning() == "paper_low"
    j.forced_unreachable = True                          # a request timed out
    assert j.fault_kind() == "unreachable"


def test_back_skips_passing_screens() -> None:
    j = journey()
    for screen in ("home", "zone", "confirm", "printing", "message"):
        j.enter(screen)
    assert j.history == ["home", "zone", "confirm"]
    j.enter("zone", push=False)
    assert j.current == "zone" and j.history == ["home", "zone", "confirm"]


def test_a_fresh_start_forgets_the_citizen_only_when_asked() -> None:
    j = journey()
    holder = Holder("r", "1950-01-01", "张*")
    j.holder, j.lang, j.elderly, j.zone_id, j.page, j.code_text = holder, "en", True, "z1", 2, "A0"
    j.history = ["home", "zone"]
    assert j.restart(reset=False) is False
    assert j.holder is holder and j.lang == "en" and j.elderly
    assert j.zone_id is None and j.page == 0 and j.code_text == "" and j.history == []
    assert j.restart(reset=True) is True                 # elderly mode is over: the window restyles
    assert j.holder is None and j.lang == "zh" and not j.elderly


def test_code_keypad() -> None:
    j = journey()
    j.code_error = "invalid"
    for key in "A0X":
        assert j.type_key(key) is False
    assert j.type_key("DEL") is False and j.code_text == "A0" and j.code_error == ""
    assert j.type_key("OK") is True and j.code_text == "A0"
    j.type_key("CLR")
    assert j.code_text == ""
    for _ in range(40):
        j.type_key("9")
    assert len(j.code_text) == 32


def test_senior_holder_by_the_halls_priority_age() -> None:
    j = journey(catalog=Catalog.parse(sample_catalog()))
    age = j.catalog.priority_age
    assert age
    j.holder = Holder("r", f"{2026 - age}-11-27", "张*")
    assert j.holder_is_senior(dt.date(2026, 11, 27))
    assert not j.holder_is_senior(dt.date(2026, 11, 26))
