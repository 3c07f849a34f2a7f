"""The footer states the missed-number rule in force (过号, state/catalog no_show_rule), zh/en per the language
mode, worded as the printed ticket and the kiosk word it."""
from __future__ import annotations

import pytest

from display_board.model import BoardModel
from display_board.view import BoardView, _halves

CATALOG = {"v": 1, "hall": {"name": "大安", "notice": "请携带身份证", "notice_en": "Bring your ID"}}
RULES = {
    "manual": ({"rule": "manual"}, "过号后可到窗口请工作人员重新呼叫",
               "If you miss your call, ask at the window to be called again"),
    "requeue": ({"rule": "requeue", "requeue_after": 3, "callback_s": 1800}, "过号顺延3位，仅一次（30分钟内有效）",
                "Missed calls move back 3 places, once, within 30 min"),
    "void": ({"rule": "void"}, "过号作废，请重新取号", "A missed number is void: take a new one"),
}


def model(rule: dict | None) -> BoardModel:
    m = BoardModel()
    m.apply_catalog({**CATALOG, **({"no_show_rule": rule} if rule is not None else {})})
    return m


@pytest.mark.parametrize("name", list(RULES))
def test_rule_in_the_footer_per_language_mode(qtbot, name):
    rule, zh, en = RULES[name]
    both = BoardView(model(rule), languages=["zh", "en"], language_mode="both", animate=False)
    qtbot.addWidget(both)
    assert both.ticker.rule_lines() == [zh, en]
    alt = BoardView(model(rule), languages=["zh", "en"], language_mode="alternate", animate=False)
    qtbot.addWidget(alt)
    assert alt.ticker.rule_lines() == [zh]
    alt.flip_language()
    assert alt.ticker.rule_lines() == [en]
    alt.grab()      # paints without error, landscape
    portrait = BoardView(model(rule), orientation="portrait", languages=["en"], language_mode="alternate",
                         animate=False)
    qtbot.addWidget(portrait)
    assert portrait.ticker.rule_lines() == [en]
    portrait.grab()


def test_a_catalog_without_the_rule_means_manual_and_an_unknown_rule_shows_nothing(qtbot):
    assert model(None).no_show_rule.rule == "manual"
    odd = model({"rule": "lottery"})
    assert odd.no_show_rule is None
    view = BoardView(odd, languages=["zh"], language_mode="alternate", animate=False)
    qtbot.addWidget(view)
    assert view.ticker.rule_lines() == []
    view.grab()


def test_long_rule_splits_at_a_clause():
    assert _halves("Missed calls move back 3 places, once, within 30 min") == [
        "Missed calls move back 3 places,", "once, within 30 min"]
    assert _halves("过号作废，请重新取号") == ["过号作废，", "请重新取号"]
