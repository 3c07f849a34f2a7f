"""The hall display as the hall sees it: a call appears large and flashes, the screen rebuilds from retained state."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from display_board.app import DisplayController
from display_board.bridge import DisplayBridge
from display_board.config import DisplayConfig, load
from display_board.view import FLASH, HERO
from hall_bus.configfile import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CATALOG = {"v": 1, "business_day": "2026-11-27",
           "hall": {"id": "daan", "name": "大安区政务服务中心", "name_en": "Da'an", "notice": "请携带身份证"},
           "zones": [{"id": "z1", "name": "社会保障服务区", "name_en": "Social Security"},
                     {"id": "z2", "name": "行政审批服务区", "name_en": "Approval"}],
           "services": [], "windows": [{"id": "w15", "name": "15号窗口", "name_en": "Window 15", "zone": "z1"}]}


def call(seq: int, number: str, **kw) -> dict:
    return {"v": 1, "seq": seq, "ticket_id": f"t-{number}", "number": number, "window": "w15",
            "window_name": "15号窗口", "zone": "z1", "recall": False, "ts": "2026-11-27T10:00:00+08:00", **kw}


class RecordingVoice:
    def __init__(self) -> None:
        self.announced: list[dict] = []

    def announce(self, event: dict) -> None:
        self.announced.append(event)


@pytest.fixture
def display(qtbot, bus):
    cfg = DisplayConfig(id="t1", highlight_seconds=30)
    voice = RecordingVoice()
    ctl = DisplayController(cfg, DisplayBridge(bus), voice=voice, animate=False)
    qtbot.addWidget(ctl.view)
    ctl.view.show()
    with qtbot.waitSignal(ctl.rebuilt):
        bus.set_connected(True)
        bus.deliver(bus.topics.state_catalog, CATALOG)
    return ctl, voice


def hero_color(ctl: DisplayController) -> QColor:
    img = ctl.view.hero.grab().toImage()
    return img.pixelColor(img.width() // 2, int(img.height() * 0.1))


def test_fresh_call_is_shown_large_flashes_and_is_announced(display, bus, qtbot) -> None:
    ctl, voice = display
    with qtbot.waitSignal(ctl.call_shown):
        bus.deliver(bus.topics.event_call, call(1, "A023"))
    assert ctl.model.latest["number"] == "A023"
    assert ctl.view.hero.highlighting
    assert hero_color(ctl) == FLASH
    assert [e["number"] for e in voice.announced] == ["A023"]
    with qtbot.waitSignal(ctl.view.hero.painted) as painted:
        ctl.view.hero.end_highlight()
    assert painted.args == [1]
    assert hero_color(ctl) == HERO


def test_retained_state_rebuilds_the_screen_without_announcing(display, bus, qtbot) -> None:
    ctl, voice = display
    with qtbot.waitSignal(ctl.rebuilt):
        bus.deliver(bus.topics.state_zone("z2"), {"v": 1, "waiting": 9, "serving": 2, "est_wait_s": 600})
    with qtbot.waitSignal(ctl.rebuilt):
        bus.deliver(bus.topics.state_calls, {"v": 1, "calls": [call(7, "B007"), call(6, "A006")]})
    assert ctl.model.latest["number"] == "B007"
    assert not ctl.view.hero.highlighting and voice.announced == []
    assert [(z.id, z.waiting) for z in ctl.model.shown_zones()] == [("z1", None), ("z2", 9)]
    # the broker goes away and comes back: retained state is delivered again and wins
    with qtbot.waitSignal(ctl.bridge.connection):
        bus.set_connected(False)
    assert ctl.view.header.online is False
    with qtbot.waitSignal(ctl.rebuilt):
        bus.set_connected(True)
        bus.deliver(bus.topics.state_calls, {"v": 1, "calls": [call(9, "C009"), call(8, "A008"), call(7, "B007")]})
    assert ctl.view.header.online is True
    assert [c["number"] for c in ctl.model.calls] == ["C009", "A008", "B007"]


def test_gap_in_seq_re_reads_state_calls(display, bus, qtbot) -> None:
    ctl, _voice = display
    with qtbot.waitSignal(ctl.rebuilt):
        bus.deliver(bus.topics.state_calls, {"v": 1, "calls": [call(3, "A003")]})
    before = bus.subscribed[bus.topics.state_calls]
    with qtbot.waitSignal(ctl.call_shown):
        bus.deliver(bus.topics.event_call, call(4, "A004"))
    assert bus.subscribed[bus.topics.state_calls] == before
    with qtbot.waitSignal(ctl.call_shown):
        bus.deliver(bus.topics.event_call, call(6, "A006"))
    assert bus.subscribed[bus.topics.state_calls] == before + 1   # re-subscribe: the broker re-sends it


def test_recall_is_announced_again(display, bus, qtbot) -> None:
    ctl, voice = display
    with qtbot.waitSignal(ctl.call_shown):
        bus.deliver(bus.topics.event_call, call(1, "A023"))
    with qtbot.waitSignal(ctl.call_shown):
        bus.deliver(bus.topics.event_call, call(2, "A023", recall=True))
    assert [e["recall"] for e in voice.announced] == [False, True]


def test_example_config_loads() -> None:
    cfg = load(str(ROOT / "config" / "display.toml"))
    assert cfg.client_id == "display-hall-main"
    assert cfg.orientation == "landscape"


def test_bad_config_lists_every_problem(tmp_path) -> None:
    path = tmp_path / "display.toml"
    path.write_text('id = "x"\norientation = "diagonal"\nhighlight_secs = 3\n[voice]\nrepeat = 9\n')
    with pytest.raises(ConfigError) as exc:
        load(str(path))
    text = "\n".join(exc.value.problems)
    assert "orientation" in text and "highlight_secs" in text and "voice.repeat" in text


def test_screenshots_are_written(qapp, tmp_path) -> None:
    from display_board.screenshots import render_all
    paths = render_all(DisplayConfig(id="t"), tmp_path)
    assert {p.name for p in paths} >= {"display-landscape-zh.png", "display-landscape-en.png",
                                       "display-portrait-zh.png", "display-portrait-en.png"}
    assert all(p.stat().st_size > 20000 for p in paths)


def test_a_long_day_of_messages_does_not_kill_the_display(display, bus, qtbot) -> None:
    """PySide6 6.12 on Python 3.11 loses a reference to None per void Qt call: a display aborted with
    "none_dealloc" after a few thousand calls (pyproject pins PySide6 below 6.12). 30,000 state messages must
    leave it alive and showing them, with no reference drift on None/True."""
    import sys
    ctl, _voice = display
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    handler = bus.handlers[bus.topics.state_zone("+")]
    topic = bus.topics.state_zone("z1")
    bus._on_thread(lambda: [handler(topic, {"v": 1, "waiting": n, "serving": 0, "est_wait_s": 0})
                            for n in range(30000)])
    qtbot.waitUntil(lambda: ctl.model.zones["z1"].waiting == 29999, timeout=60000)
    assert sys.getrefcount(None) > none0 - 1000 and sys.getrefcount(True) > true0 - 1000
