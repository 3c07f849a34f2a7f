"""Issue 9 finding 5 in the engine: the business day only moves forward (an NTP step back across midnight keeps
the new day and its tickets)."""
from __future__ import annotations

from datetime import timedelta

from hall_server.config import HallConfig
from hall_server.engine import Engine, Outcome, TicketState
from tests.hall_server.test_engine import SATURDAY, at, small_config_dict


def test_a_step_back_across_midnight_keeps_the_new_day() -> None:
    e = Engine(HallConfig.model_validate({**small_config_dict(), "issuing": {"hours": [["00:00", "23:59"]],
                                                                              "weekdays": [1, 2, 3, 4, 5, 6, 7]}}))
    just_after = at(0, 0, 20, day=SATURDAY)
    t = e.issue(just_after, "s_a1", "walk_in", open_all_day=True).data
    out = Outcome()
    e.roll(just_after - timedelta(seconds=40), out)          # 23:59:40 the day before
    assert e.day == SATURDAY and not out.tickets and out.rollover is None
    again = e.issue(just_after - timedelta(seconds=40), "s_a1", "walk_in", open_all_day=True).data
    assert again["number"] == "A002" and e.find(number=t["number"]).state is TicketState.WAITING
    assert e.tickets[again["id"]].day == SATURDAY
