"""Finding a service by touch at the hall's scale: pinyin initials (the catalog's `initials`, computed by the
server) on a letter pad, Chinese keywords to tap, English names in English mode, and the most used services first
(in the search and in each zone's list)."""
from __future__ import annotations

from PySide6.QtWidgets import QPushButton

from kiosk.model import Catalog, Usage, ZoneLoad, by_use, keyword, keywords_for, letters_match, search_services
from kiosk.sample import sample_catalog


def catalog() -> Catalog:
    return Catalog.parse(sample_catalog())


def ids(services) -> list[str]:
    return [s.id for s in services]


# ---------------------------------------------------------------- matching (no Qt)
def test_initials_match_run_together_or_in_order():
    cat = catalog()
    pension = cat.service("ss_pension")                 # 养老保险待遇申领 → YLBXDYSL
    assert letters_match(pension, "YLBX", "zh") == 0    # a prefix
    assert letters_match(pension, "BXDY", "zh") == 0    # inside
    assert letters_match(pension, "ylsl", "zh") == 1    # in order, with gaps (lower case as typed)
    assert letters_match(pension, "SLYL", "zh") is None
    assert letters_match(pension, "", "zh") == 0
    # 医疗保险 has the same initials as 养老保险: both are found
    assert ids(search_services(cat.services, "YLBX", None, "zh", {})) == ["ss_pension", "ss_medical"]
    # the ones that run together come before the ones found with gaps
    assert ids(search_services(cat.services, "CBDJ", None, "zh", {})) == ["ss_medical", "ss_flex"]
    # the ones that run together come before the ones found with gaps: SB in SBGXZYJX, then S…B in SYBXJSL
    found = ids(search_services(cat.services, "SB", None, "zh", {}))
    assert found[0] == "ss_transfer" and "ss_unemploy" in found
    assert letters_match(cat.service(found[0]), "SB", "zh") == 0
    assert letters_match(cat.service("ss_unemploy"), "SB", "zh") == 1
    assert search_services(cat.services, "QXZ", None, "zh", {}) == []


def test_english_mode_also_matches_english_names():
    cat = catalog()
    assert ids(search_services(cat.services, "PENSION", None, "en", {})) == ["ss_pension"]
    assert search_services(cat.services, "PENSION", None, "zh", {}) == []       # Chinese mode: initials only
    assert "tx_invoice" in ids(search_services(cat.services, "INV", None, "en", {}))
    assert "ss_pension" in ids(search_services(cat.services, "PBC", None, "en", {}))   # Pension Benefit Claim
    assert "ss_pension" in ids(search_services(cat.services, "YLBX", None, "en", {}))  # initials still work


def test_keywords_filter_by_chinese_substring_and_only_useful_ones_are_offered():
    cat = catalog()
    words = [k.zh for k in keywords_for(cat.services)]
    assert words[:3] == ["养老", "医保", "社保"]
    assert "公积金" not in words                        # no such service in this hall: no dead chip
    assert ids(search_services(cat.services, "", keyword("税"), "zh", {})) == ["tx_declare", "tx_register"]
    assert ids(search_services(cat.services, "", keyword("户口"), "zh", {})) == ["ps_hukou"]
    # a keyword and letters together narrow down further
    assert ids(search_services(cat.services, "GR", keyword("税"), "zh", {})) == ["tx_declare"]


def test_most_used_first_with_the_config_order_among_equals():
    cat = catalog()
    usage = Usage()
    usage.note_issue("ss_card", "2026-11-27")
    usage.note_issue("ss_card", "2026-11-27")
    usage.note_issue("ss_birth", "2026-11-27")
    loads = {"z1": ZoneLoad.parse({"v": 1, "waiting": 5, "services": {"ss_injury": {"waiting": 1},
                                                                       "ss_card": {"waiting": 1}}})}
    score = {s.id: usage.score(s, loads, "2026-11-27") for s in cat.services}
    assert score["ss_card"] == 3 and score["ss_birth"] == 1 and score["ss_injury"] == 1
    z1 = ids(by_use(cat.services_of("z1"), score))
    assert z1[:3] == ["ss_card", "ss_injury", "ss_birth"]       # injury before birth: the config order
    assert z1[3:] == [s for s in ids(cat.services_of("z1")) if s not in z1[:3]]
    assert ids(search_services(cat.services, "YLBX", None, "zh", {"ss_medical": 2})) == ["ss_medical", "ss_pension"]
    # a new business day: this kiosk's own counts start again
    assert usage.score(cat.service("ss_card"), {}, "2026-11-28") == 0
    usage.note_issue("ss_pension", "2026-11-28")
    assert usage.issued == {"ss_pension": 1}


# ---------------------------------------------------------------- on the kiosk window
def results(k) -> list[str]:
    screen = k.window.stack.currentWidget()
    return [b.objectName().removeprefix("result-") for b in screen.findChildren(QPushButton)
            if b.objectName().startswith("result-")]


def type_letters(k, letters: str) -> None:
    for ch in letters:
        k.press(f"key-{ch}")


def open_search(k) -> None:
    k.wait_screen("home")
    k.press("home-search")
    k.wait_screen("search")


def test_typing_initials_filters_as_you_type(make_kiosk):
    k = make_kiosk()
    open_search(k)
    assert len(results(k)) == len(k.journey.catalog.services)      # nothing typed: the whole hall
    assert "常用业务" in k.text("search-count")
    type_letters(k, "YL")
    assert set(results(k)) >= {"ss_pension", "ss_medical"}
    type_letters(k, "BX")
    assert results(k) == ["ss_pension", "ss_medical"]
    assert k.text("search-count") == "找到 2 项业务"
    assert k.button("search-field").text() == "YLBX"
    assert "社会保障服务区 · 1F" in k.all_text()                      # zone and floor with each service
    k.press("key-DEL")
    assert k.journey.search_letters == "YLB"
    k.press("key-CLR")
    assert k.journey.search_letters == ""


def test_keyword_chips_filter_and_a_second_tap_drops_them(make_kiosk):
    k = make_kiosk()
    open_search(k)
    k.press("word-税")
    assert results(k) == ["tx_declare", "tx_register"]
    assert k.button("word-税").property("cls") == "wordOn"
    k.press("word-户口")                                              # another keyword replaces it
    assert results(k) == ["ps_hukou"]
    k.press("word-户口")
    assert k.journey.search_word == "" and len(results(k)) == len(k.journey.catalog.services)


def test_nothing_found_says_so_with_a_way_back(make_kiosk):
    k = make_kiosk()
    open_search(k)
    type_letters(k, "QXZ")
    assert results(k) == []
    assert k.text("search-none") == "没有找到相关业务"
    k.press("search-again")
    assert k.journey.search_letters == "" and results(k)
    type_letters(k, "QXZ")
    k.press("back")
    k.wait_screen("home")


def test_a_result_goes_to_the_usual_issue_flow_and_counts_as_use(make_kiosk):
    k = make_kiosk()
    open_search(k)
    type_letters(k, "SHBZ")
    assert results(k) == ["ss_card"]
    k.press("result-ss_card")
    k.wait_screen("confirm")
    assert k.text("confirm-service") == "社会保障卡补换"
    k.press("back")                                                   # back: the search as it was left
    k.wait_screen("search")
    assert k.journey.search_letters == "SHBZ" and results(k) == ["ss_card"]
    k.press("result-ss_card")
    k.press("confirm")
    k.wait_screen("done")
    k.wait_printed(1)
    op, args, _ = k.bus.requests[-1]
    assert op == "ticket.issue" and args["service"] == "ss_card" and args["channel"] == "walk_in"
    k.press("finish")
    k.wait_screen("home")
    # the service this kiosk just issued comes first in its zone, the others keep the config order
    k.press("zone-z1")
    k.wait_screen("zone")
    rows = [b.objectName() for b in k.window.stack.currentWidget().findChildren(QPushButton)
            if b.objectName().startswith("service-")]
    assert rows[0] == "service-ss_card"
    assert rows[1:3] == ["service-ss_pension", "service-ss_medical"]
    k.press("zone-search")                                            # the zone screen has a way in too
    k.wait_screen("search")
    assert results(k)[0] == "ss_card"                                 # and so does the search


def test_waiting_counts_from_the_zone_state_order_the_zone_list(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.bus.deliver(k.bus.topics.state_zone("z1"), {"v": 1, "waiting": 7, "serving": 2, "est_wait_s": 600,
                                                  "services": {"ss_injury": {"waiting": 5},
                                                               "ss_record": {"waiting": 2}}})
    k.qtbot.waitUntil(lambda: k.journey.loads["z1"].waiting == 7)
    k.press("zone-z1")
    k.wait_screen("zone")
    rows = [b.objectName() for b in k.window.stack.currentWidget().findChildren(QPushButton)
            if b.objectName().startswith("service-")]
    assert rows[:3] == ["service-ss_injury", "service-ss_record", "service-ss_pension"]
    # a later update does not reorder the list under the citizen's finger
    k.bus.deliver(k.bus.topics.state_zone("z1"), {"v": 1, "waiting": 7, "serving": 2, "est_wait_s": 600,
                                                  "services": {"ss_flex": {"waiting": 9}}})
    k.qtbot.waitUntil(lambda: "ss_flex" in k.journey.loads["z1"].services)
    k.qtbot.wait(300)
    rows = [b.objectName() for b in k.window.stack.currentWidget().findChildren(QPushButton)
            if b.objectName().startswith("service-")]
    assert rows[0] == "service-ss_injury"


def test_english_and_elderly_mode(make_kiosk):
    k = make_kiosk()
    open_search(k)
    k.press("language")
    type_letters(k, "PENS")
    assert results(k) == ["ss_pension"]
    assert k.text("search-count") == "1 service found"
    assert "Pension benefit claim" in k.all_text() and "Social Security · 1F" in k.all_text()
    assert k.button("word-税").text() == "Tax"
    k.press("elderly")
    assert k.journey.elderly and results(k) == ["ss_pension"]
    assert k.button("key-A").minimumHeight() > 92                     # larger keys
    k.press("result-ss_pension")
    k.wait_screen("confirm")
