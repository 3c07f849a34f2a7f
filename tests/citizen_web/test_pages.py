"""Every page renders in Chinese and English with the mirror's figures; the hall page, guides, tickets, cases."""
from __future__ import annotations

import re

import pytest

from tests.citizen_web.conftest import CASE_TOKEN, TOKEN, Node, make_node, run, ticket

PAGES = ["/", "/guide/ss_enroll", f"/t/{TOKEN}", f"/rate/{TOKEN}", "/book", "/book?service=ss_enroll",
         "/book?service=ss_enroll&date=2026-12-02", "/book/cancel", "/case", f"/c/{CASE_TOKEN}"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_in_both_languages_as_utf8_html(node: Node, path: str, lang: str) -> None:
    async def go() -> None:
        async with node.client() as c:
            sep = "&" if "?" in path else "?"
            r = await c.get(f"{path}{sep}lang={lang}")
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            assert f'<html lang="{"en" if lang == "en" else "zh-CN"}">' in r.text
            assert ("Da'an Government Service Centre" if lang == "en" else "大安区政务服务中心") in r.text.replace("&#39;", "'")
            # the language sticks (cookie) for the next page
            r2 = await c.get("/")
            assert ("Hall now" in r2.text) == (lang == "en")
    run(go())


def test_the_hall_page_shows_waiting_and_wait_per_zone_and_service_hours_notice_and_calls(node: Node) -> None:
    html = run(_get(node, "/")).text
    assert "社会保障服务区" in html and "1F" in html and "12 人" in html and "约 15 分钟" in html
    assert "08:30–12:00" in html and "中午不停办" in html and "A020" in html and "15号窗口" in html
    assert 'href="/guide/ss_enroll"' in html


def test_the_notice_topic_wins_over_the_catalogs_notice(node: Node) -> None:
    node.mirror.apply("onewindow/daan/state/notice", {"v": 1, "zh": "今天下午系统升级", "en": "Upgrade this afternoon"})
    r = run(_get(node, "/?lang=en"))
    assert "Upgrade this afternoon" in r.text


def test_the_guide_has_materials_steps_limits_fees_and_forms(node: Node) -> None:
    r = run(_get(node, "/guide/ss_enroll"))
    for text in ("居民身份证", "取号", "20 个工作日", "5 个工作日", "不收费", 'href="/forms/ss-enroll.pdf"',
                 "https://zwfw.example/form.pdf", "人社局", 'href="/book?service=ss_enroll"'):
        assert text in r.text, text
    assert run(_get(node, "/forms/ss-enroll.pdf")).content.startswith(b"%PDF")
    assert run(_get(node, "/forms/hall.toml")).status_code == 404
    assert run(_get(node, "/guide/nope")).status_code == 404


def test_the_ticket_page_shows_number_service_zone_ahead_and_wait_from_the_mirror(node: Node) -> None:
    r = run(_get(node, f"/t/{TOKEN}"))
    html = r.text
    assert "A023" in html and "城镇职工养老保险参保登记" in html and "社会保障服务区 · 1F" in html
    assert "4 人" in html and "约 8 分钟" in html          # the mirror's [4, 480], fresher than the reply's 5 / 600
    assert 'src="/static/ticket.js' in html and f'data-events="/t/{TOKEN}/events"' in html
    assert node.bus.requests == [("ticket.get", {"token": TOKEN})]      # token only


def test_a_called_ticket_shows_the_window_strongly_and_a_done_one_links_to_rating(node: Node) -> None:
    node.bus.tickets[TOKEN] = ticket("serving", window="w15")
    assert "请到15号窗口" in run(_get(node, f"/t/{TOKEN}")).text
    assert "Please go to Window 15" in run(_get(node, f"/t/{TOKEN}?lang=en")).text
    node.bus.tickets[TOKEN] = ticket("done", window="w15")
    html = run(_get(node, f"/t/{TOKEN}")).text
    assert f'href="/rate/{TOKEN}"' in html and 'id="rate-box" class="hidden"' not in html
    node.bus.tickets[TOKEN] = ticket("done", window="w15", grade=5)
    assert "您已评价" in run(_get(node, f"/t/{TOKEN}")).text


def test_the_case_page_shows_status_dates_history_and_the_rating_form(node: Node) -> None:
    html = run(_get(node, f"/c/{CASE_TOKEN}")).text
    for text in ("DA-20261130-0007", "已办结", "准予许可", "2026-12-07", "2026-11-30 10:00", "已受理", "非常满意",
                 "非常不满意", f'action="/c/{CASE_TOKEN}"'):
        assert text in html, text


def test_pages_work_without_javascript_only_the_ticket_page_loads_a_script(node: Node) -> None:
    for path in PAGES:
        html = run(_get(node, path)).text
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts == (['<script src="/static/ticket.js?v=' + node.app.state.web.static_version + '" defer>']
                           if path.startswith("/t/") else []), path
        assert "<script>" not in html and " on" not in re.sub(r'"[^"]*"', "", " ".join(re.findall(r"<[^>]+>", html)))


def test_large_text_mode_is_a_cookie_switch(node: Node) -> None:
    async def go() -> None:
        async with node.client() as c:
            r = await c.get("/?size=large")
            assert '<body class="big">' in r.text
            assert '<body class="big">' in (await c.get("/case")).text
            assert '<body class="">' in (await c.get("/?size=normal")).text
    run(go())


def test_the_ticket_page_under_50_kb_with_its_css_and_js(node: Node) -> None:
    total = sum(len(run(_get(node, p)).content) for p in (f"/t/{TOKEN}", "/static/web.css", "/static/ticket.js"))
    assert total < 20_000, total


def test_health_says_whether_the_node_has_the_hall() -> None:
    assert run(_get(make_node(), "/healthz")).status_code == 200
    assert run(_get(make_node(state=False), "/healthz")).status_code == 503


async def _get(node: Node, path: str):
    async with node.client() as c:
        return await c.get(path)
