"""Gaps the other ASGI tests left (issue 11 item 6): the security headers on POST answers, refusals, error pages and
the live stream too; bad input on the case rating and the cancel-by-ID form; bodies with too many fields or broken
UTF-8; a booking link to a service that cannot be booked; a republished queue that changes nothing for a page sends
it nothing."""
from __future__ import annotations

import asyncio

import httpx

from hall_bus.idnumber import check_digit
from tests.citizen_web.conftest import CASE_TOKEN, GOOD_ID, TOKEN, TOPICS, Node, csrf_of, make_config, make_node, run
from tests.citizen_web.test_stream import Stream

BOOK_PAGE = "/book?service=ss_enroll&date=2026-12-02"


def assert_safe_headers(h: httpx.Headers | dict, what: str) -> None:
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, what
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY", what
    assert h["referrer-policy"] == "no-referrer" and h["cache-control"] == "no-store", what
    assert "charset=utf-8" in h["content-type"], what


def test_headers_on_posts_refusals_and_error_pages_too() -> None:
    node = make_node(make_config(post_per_minute=1))

    async def go() -> list[tuple[str, httpx.Response]]:
        out = []
        async with node.client() as c:
            token = await csrf_of(c, BOOK_PAGE)
            out.append(("booked", await c.post("/book", data={
                "service": "ss_enroll", "date": "2026-12-02", "start": "09:00", "name": "张三", "id_number": GOOD_ID,
                "phone": "13812345678", "consent": "yes", "csrf": token})))
            out.append(("post limit", await c.post("/book", data={"csrf": token})))
            out.append(("bad form", await c.post("/case", data={"number": "1", "query_code": "1", "csrf": token})))
            out.append(("no csrf", await c.post("/case", data={"number": "1"})))
            out.append(("too big", await c.post("/case", data={"number": "D" * 20000, "csrf": token})))
            out.append(("method", await c.put("/case", content=b"x")))
            out.append(("not found", await c.get("/nope/nope")))
        return out
    results = run(go())
    assert [r.status_code for _w, r in results] == [200, 429, 400, 403, 413, 405, 404]
    for what, r in results:
        assert_safe_headers(r.headers, what)
        assert "Traceback" not in r.text
    assert int(results[1][1].headers["retry-after"]) >= 1

    def boom(_args: dict) -> dict:
        raise ZeroDivisionError("secret detail")
    node.bus.override["ticket.get"] = boom

    async def failing() -> httpx.Response:
        async with node.client() as c:
            return await c.get(f"/t/{TOKEN}")
    r = run(failing())
    assert r.status_code == 500
    assert_safe_headers(r.headers, "500 page")


def test_the_live_stream_has_the_headers_and_no_proxy_buffering(node: Node) -> None:
    async def go() -> dict:
        s = await Stream(node, f"/t/{TOKEN}/events").open()
        await s.event()
        await s.close()
        return {k.decode(): v.decode() for k, v in s.start["headers"]}
    h = run(go())
    assert h["content-type"].startswith("text/event-stream") and h["x-accel-buffering"] == "no"
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp and h["x-frame-options"] == "DENY" and h["cache-control"] == "no-store"


async def _post(node: Node, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    async with node.client() as c:
        token = await csrf_of(c, page)
        return await c.post(action, data={**data, "csrf": token})


def test_bad_input_on_the_case_rating_is_shown_and_nothing_is_sent(node: Node) -> None:
    for change, message in (({"grade": "0"}, "请选择一个评价等级"), ({"grade": "5.0"}, "请选择一个评价等级"),
                            ({"grade": "4", "comment": "很" * 201}, "200 字")):
        r = run(_post(node, f"/c/{CASE_TOKEN}", f"/c/{CASE_TOKEN}", change))
        assert r.status_code == 400 and message in r.text, (change, r.status_code)
    assert not [q for q in node.bus.requests if q[0] == "evaluation.submit"]


def test_cancel_by_a_bad_id_number_says_what_is_wrong_and_sends_nothing(node: Node) -> None:
    wrong = "11010519491231002" + ("1" if check_digit("11010519491231002") != "1" else "2")
    for raw, message in ((wrong, "校验位不对"), ("1101051949", "身份证号码应为 18 位")):
        r = run(_post(node, "/book/cancel", "/book/cancel", {"code": "B0001", "id_number": raw}))
        assert r.status_code == 400 and message in r.text, (raw, r.text[-800:])
        assert raw not in r.text
    assert not [q for q in node.bus.requests if q[0] == "appointment.cancel"]


def test_bodies_with_too_many_fields_or_broken_utf8_get_a_page_not_an_error(node: Node) -> None:
    async def go() -> tuple[httpx.Response, httpx.Response]:
        async with node.client() as c:
            token = await csrf_of(c, "/case")
            many = "&".join(f"f{i}=1" for i in range(60)) + f"&csrf={token}"
            r1 = await c.post("/case", content=many.encode(),
                              headers={"content-type": "application/x-www-form-urlencoded"})
            r2 = await c.post("/case", content=b"number=%FF%FE\xff&query_code=12&csrf=" + token.encode(),
                              headers={"content-type": "application/x-www-form-urlencoded"})
            return r1, r2
    many, broken = run(go())
    assert many.status_code == 413 and "提交的内容太长" in many.text
    assert broken.status_code == 400 and "6 位数字" in broken.text and "Traceback" not in broken.text
    assert not [q for q in node.bus.requests if q[0] == "case.get"]


def test_a_booking_link_to_a_service_that_cannot_be_booked(node: Node) -> None:
    async def go() -> list[httpx.Response]:
        async with node.client() as c:
            return [await c.get(p) for p in ("/book?service=tax_invoice", "/book?service=%3Cb%3E",
                                             "/book?service=ss_enroll&date=2026-13-01")]
    unknown, markup, bad_day = run(go())
    assert unknown.status_code == markup.status_code == 400 and "没有这项可预约的事项" in unknown.text
    assert "<b>" not in markup.text
    assert bad_day.status_code == 400 and "日期无效" in bad_day.text
    assert not [q for q in node.bus.requests if q[0] == "appointment.slots"]


def test_a_queue_republished_without_a_change_for_this_page_sends_it_nothing() -> None:
    node = make_node()

    async def go() -> None:
        s = await Stream(node, f"/t/{TOKEN}/events").open()
        await s.event(), await s.event()
        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [4, 480], "t2": [5, 600]}})
        await s.no_event(0.3)              # the figures the page opened with: nothing to say
        node.clock.now += 2.0
        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [3, 360], "t2": [4, 480]}})
        assert await s.event() == ("queue", {"ahead": "3 人", "wait": "约 6 分钟"})
        node.clock.now += 2.0
        node.mirror.feed(TOPICS.state_queue("z1"), {"v": 1, "tickets": {"t1": [3, 360], "t2": [4, 480], "t9": [9, 1]}})
        await s.no_event(0.3)              # a ticket issued behind it: its own figures did not change
        await s.close()
    asyncio.run(go())
