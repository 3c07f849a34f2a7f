"""The missed-number rule in force (过号, hall.toml `[calling] no_show`, published as state/catalog's
no_show_rule) is stated on the printed ticket (read back from the bytes the simulated printer received, GBK) and
on the "ticket issued" screen, in the citizen's language."""
from __future__ import annotations

import pytest

from hall_bus.payloads import NoShowRule
from kiosk.i18n import no_show_text
from kiosk.sample import sample_catalog
from tests.kiosk.conftest import hall_bus
from tests.kiosk.test_journey import take_number

RULES = {
    "manual": ({"rule": "manual"}, "过号后可到窗口请工作人员重新呼叫",
               "If you miss your call, ask at the window to be called again"),
    "requeue": ({"rule": "requeue", "requeue_after": 5, "callback_s": 1200}, "过号顺延5位，仅一次（20分钟内有效）",
                "Missed calls move back 5 places, once, within 20 min"),
    "void": ({"rule": "void"}, "过号作废，请重新取号", "A missed number is void: take a new one"),
}


def test_the_rule_in_words():
    for rule, zh, en in RULES.values():
        r = NoShowRule(**rule)
        assert (no_show_text(r, "zh"), no_show_text(r, "en")) == (zh, en)
    first = NoShowRule(rule="requeue", requeue_after=0, callback_s=1800)
    assert no_show_text(first, "zh") == "过号可重新排到队首，仅一次（30分钟内有效）"
    assert no_show_text(NoShowRule(), "zh") == RULES["manual"][1]       # a catalog without the rule: manual
    assert no_show_text(None, "en") == ""


def bus_with_rule(rule: dict) -> object:
    bus = hall_bus()
    bus.retained[bus.topics.state_catalog] = {**sample_catalog(), "no_show_rule": rule}
    return bus


@pytest.mark.parametrize("name", list(RULES))
def test_ticket_and_done_screen_state_the_rule_in_chinese(make_kiosk, name):
    rule, zh, _en = RULES[name]
    k = make_kiosk(bus=bus_with_rule(rule))
    take_number(k)
    k.wait_screen("done")
    assert k.text("no-show-rule") == zh
    [ticket] = k.wait_printed(1)
    lines = ticket.splitlines()
    assert zh in lines and lines.index(zh) > lines.index("验证码 K7Q2")    # under the existing lines
    assert "请妥善保管此票" in lines
    assert "过号需重新取号" not in ticket       # the generic void wording never contradicts the rule in force


def test_ticket_and_done_screen_state_the_rule_in_english(make_kiosk):
    rule, _zh, en = RULES["requeue"]
    k = make_kiosk(bus=bus_with_rule(rule))
    k.wait_screen("home")
    k.press("language")
    take_number(k)
    k.wait_screen("done")
    assert k.text("no-show-rule") == en
    [ticket] = k.wait_printed(1)
    assert en in " ".join(ticket.splitlines())     # wrapped on the paper's width
    k.press("language")
    assert k.text("no-show-rule") == RULES["requeue"][1]


def test_unprinted_ticket_still_states_the_rule(make_kiosk):
    """No paper came out: the screen is all the citizen has, so it states the rule too."""
    k = make_kiosk(bus=bus_with_rule({"rule": "void"}))
    k.wait_screen("home")
    k.printer.set_fault(mid_job="paper_out")
    take_number(k)
    k.wait_screen("done")
    assert k.journey.outcome.kind == "unprinted"
    assert k.text("no-show-rule") == RULES["void"][1]
