"""The display's picture of the hall, from retained state and call events (no Qt)."""
from __future__ import annotations

from display_board.model import BoardModel


def call(seq: int, number: str, window: str = "w15", **kw) -> dict:
    return {"v": 1, "seq": seq, "ticket_id": f"t-{number}", "number": number, "window": window,
            "window_name": f"{window[1:]}号窗口", "zone": "z1", "recall": False, **kw}


def test_state_calls_rebuild_the_list_newest_first() -> None:
    m = BoardModel()
    m.apply_calls({"v": 1, "calls": [call(3, "A003"), call(2, "A002"), call(1, "A001")]})
    assert m.latest["number"] == "A003"
    assert [c["number"] for c in m.recent(5)] == ["A002", "A001"]
    assert m.last_seq == 3


def test_next_event_is_not_a_gap_but_a_skipped_seq_is() -> None:
    m = BoardModel()
    m.apply_calls({"v": 1, "calls": [call(3, "A003")]})
    assert m.apply_call_event(call(4, "A004")) == (True, False)
    assert m.apply_call_event(call(6, "A006")) == (True, True)
    assert m.latest["number"] == "A006"


def test_event_already_in_state_calls_is_not_shown_again() -> None:
    m = BoardModel()
    m.apply_calls({"v": 1, "calls": [call(3, "A003")]})
    assert m.apply_call_event(call(3, "A003")) == (False, False)


def test_state_calls_keep_newer_events_heard_meanwhile() -> None:
    m = BoardModel()
    m.apply_call_event(call(5, "A005"))
    m.apply_calls({"v": 1, "calls": [call(4, "A004"), call(3, "A003")]})
    assert [c["seq"] for c in m.calls] == [5, 4, 3]


def test_recall_does_not_repeat_a_row() -> None:
    m = BoardModel()
    m.apply_calls({"v": 1, "calls": [call(3, "A001", recall=True), call(2, "B001"), call(1, "A001")]})
    assert m.latest["recall"] is True
    assert [c["number"] for c in m.recent(5)] == ["B001"]


def test_new_business_day_starts_a_fresh_list() -> None:
    m = BoardModel()
    m.apply_server({"v": 1, "state": "online", "business_day": "2026-11-26"})
    m.apply_calls({"v": 1, "calls": [call(80, "A080")]})
    m.apply_server({"v": 1, "state": "online", "business_day": "2026-11-27"})
    assert m.calls == []
    assert m.apply_call_event(call(1, "A001")) == (True, False)


def test_zone_state_before_catalog_and_zone_filter() -> None:
    m = BoardModel(zones_shown=["z2", "z1"])
    m.apply_zone("z1", {"v": 1, "waiting": 4, "est_wait_s": 300})
    m.apply_catalog({"v": 1, "hall": {"name": "大安", "notice": "请排队"},
                     "zones": [{"id": "z1", "name": "社保", "name_en": "Social"},
                               {"id": "z2", "name": "审批"}, {"id": "z3", "name": "税务"}]})
    assert [(z.id, z.waiting) for z in m.shown_zones()] == [("z2", None), ("z1", 4)]
    assert m.notice == "请排队"


def test_window_labels_in_both_languages() -> None:
    m = BoardModel()
    m.apply_catalog({"v": 1, "windows": [{"id": "w7", "name": "7号窗口", "name_en": "Window 7"}]})
    assert m.window_label(call(1, "A001", "w7"), "zh") == "7号窗口"
    assert m.window_label(call(1, "A001", "w7"), "en") == "Window 7"
    assert m.window_label(call(1, "A001", "w9"), "en") == "Window 9"
    assert m.window_label(call(1, "A001", "w9", window_name_en="Counter 9"), "en") == "Counter 9"
