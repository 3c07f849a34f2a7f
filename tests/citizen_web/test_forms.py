"""Every form checks its input on the node: clear messages on the page, never a stack trace; booking sends only
the ID reference and the masked name; one answer for every failed lookup."""
from __future__ import annotations

import logging

import pytest

from citizen_web.identity import id_ref
from devices.idcard.card import IdCard, Sex, _Secret
from hall_bus.idnumber import check_digit, check_id_number
from tests.citizen_web.conftest import CASE_TOKEN, GOOD_ID, ID_KEY, TOKEN, Node, csrf_of, run

BOOK_PAGE = "/book?service=ss_enroll&date=2026-12-02"
GOOD = {"service": "ss_enroll", "date": "2026-12-02", "start": "09:00", "name": "张三丰", "id_number": GOOD_ID,
        "phone": "138 1234 5678", "sms": "yes", "consent": "yes"}


async def post(node: Node, page: str, action: str, data: dict[str, str], lang: str = "zh"):
    async with node.client() as c:
        token = await csrf_of(c, f"{page}{'&' if '?' in page else '?'}lang={lang}")
        return await c.post(action, data={**data, "csrf": token})


def test_a_booking_sends_only_the_kiosks_id_reference_and_the_masked_name(node: Node) -> None:
    r = run(post(node, BOOK_PAGE, "/book", GOOD))
    assert r.status_code == 200 and "预约成功" in r.text and "B0001" in r.text, r.text
    (op, args), = [q for q in node.bus.requests if q[0] == "appointment.book"]
    number = check_id_number(GOOD_ID)
    card = IdCard("张*", Sex.FEMALE, "汉", 1, number.birth_date, None, None, "", _Secret(GOOD_ID, "张三丰", ""))
    assert args == {"service": "ss_enroll", "date": "2026-12-02", "start": "09:00",
                    "holder": {"ref": card.ref(ID_KEY), "display_name": "张*"}, "phone": "13812345678", "sms": True}
    assert id_ref(ID_KEY, number) == card.ref(ID_KEY)
    assert GOOD_ID not in str(node.bus.requests) and "张三丰" not in str(node.bus.requests)
    assert GOOD_ID not in r.text


BAD_BOOKINGS = [
    ({"id_number": "11010519491231002"}, "身份证号码应为 18 位"),
    ({"id_number": "110105194912310021"}, "校验位不对"),
    ({"id_number": "11010519491331002" + check_digit("11010519491331002")}, "出生日期不对"),
    ({"id_number": "11010530491231002" + check_digit("11010530491231002")}, "出生日期不对"),
    ({"id_number": ""}, "请填写此项"),
    ({"phone": "12345"}, "11 位手机号码"),
    ({"phone": "23812345678"}, "11 位手机号码"),
    ({"consent": ""}, "需要您同意个人信息处理规则"),
    ({"name": "<script>alert(1)</script>"}, "与身份证一致的姓名"),
    ({"name": "张" * 300}, "与身份证一致的姓名"),
    ({"start": "25:00"}, "请选择一个还有名额的时段"),
    ({"date": "2026-02-30"}, "日期无效"),
    ({"date": "2027-06-01"}, "日期无效"),
    ({"date": "<b>x</b>"}, "日期无效"),
    ({"service": "tax_invoice"}, "没有这项可预约的事项"),
]


@pytest.mark.parametrize("change,message", BAD_BOOKINGS, ids=[m for _c, m in BAD_BOOKINGS])
def test_bad_booking_input_gets_a_clear_message_and_nothing_is_booked(node: Node, change: dict[str, str],
                                                                      message: str) -> None:
    r = run(post(node, BOOK_PAGE, "/book", {**GOOD, **change}))
    assert r.status_code == 400, r.text
    assert message in r.text and "Traceback" not in r.text
    assert "<script>alert" not in r.text
    assert not [q for q in node.bus.requests if q[0] == "appointment.book"]


def test_bad_booking_input_in_english(node: Node) -> None:
    r = run(post(node, BOOK_PAGE, "/book", {**GOOD, "id_number": "110105194912310021"}, lang="en"))
    assert "check digit is wrong" in r.text


def test_the_server_refusing_a_booking_says_why_on_the_form(node: Node) -> None:
    from hall_bus.client import RequestError

    def full(_args: dict) -> dict:
        raise RequestError("slot_full", "slot full", "这个时段已约满，请选择其他时段")
    node.bus.override["appointment.book"] = full
    r = run(post(node, BOOK_PAGE, "/book", GOOD))
    assert r.status_code == 409 and "这个时段已约满" in r.text


def test_booking_days_slots_and_closed_days(node: Node) -> None:
    async def go():
        async with node.client() as c:
            days = (await c.get("/book?service=ss_enroll")).text
            slots = (await c.get(BOOK_PAGE)).text
            closed = (await c.get("/book?service=ss_enroll&date=2026-12-05")).text
            bad = await c.get("/book?service=ss_enroll&date=abc")
            return days, slots, closed, bad
    days, slots, closed, bad = run(go())
    assert days.count("date=2026-12-") == 8 and "12月2日 周三" in days
    assert 'value="09:00"' in slots and "余 2" in slots and "已满" in slots and "身份证号码" in slots
    assert "个人信息保护法" in slots and "30 天" in slots
    assert "这一天不能预约：周末不办公" in closed and "<form" not in closed
    assert bad.status_code == 400 and "日期无效" in bad.text


def test_cancel_with_code_and_phone_digits_and_one_answer_for_every_failure(node: Node) -> None:
    run(post(node, BOOK_PAGE, "/book", GOOD))
    wrong_digits = run(post(node, "/book/cancel", "/book/cancel", {"code": "B0001", "phone_last4": "0000"}))
    unknown = run(post(node, "/book/cancel", "/book/cancel", {"code": "B9999", "phone_last4": "5678"}))
    assert wrong_digits.status_code == unknown.status_code == 404
    assert _main(wrong_digits.text) == _main(unknown.text)
    ok = run(post(node, "/book/cancel", "/book/cancel", {"code": "b0001", "phone_last4": "5678"}))
    assert ok.status_code == 200 and "预约已取消" in ok.text
    run(post(node, BOOK_PAGE, "/book", GOOD))
    by_id = run(post(node, "/book/cancel", "/book/cancel", {"code": "B0002", "id_number": GOOD_ID.lower()}))
    assert by_id.status_code == 404            # the fake bus knows phones only; the node sent the reference
    assert ("appointment.cancel", {"code": "B0002", "holder_ref": id_ref(ID_KEY, check_id_number(GOOD_ID))}) \
        in node.bus.requests
    bad = run(post(node, "/book/cancel", "/book/cancel", {"code": "<x>", "phone_last4": "12"}))
    assert bad.status_code == 400 and "4–32 位字母或数字" in bad.text and "4 位数字" in bad.text


def test_case_query_posts_number_and_code_and_every_failed_lookup_reads_the_same(node: Node) -> None:
    ok = run(post(node, "/case", "/case", {"number": " da-20261130-0007 ", "query_code": "123456"}))
    assert ok.status_code == 200 and "已办结" in ok.text and "<form" not in ok.text
    wrong_code = run(post(node, "/case", "/case", {"number": "DA-20261130-0007", "query_code": "654321"}))
    unknown = run(post(node, "/case", "/case", {"number": "DA-20261130-0008", "query_code": "123456"}))
    assert wrong_code.status_code == unknown.status_code == 404
    assert _main(wrong_code.text) == _main(unknown.text)
    bad = run(post(node, "/case", "/case", {"number": "12", "query_code": "12ab"}))
    assert bad.status_code == 400 and "DA-20261130-0007" in bad.text and "6 位数字" in bad.text


def test_every_failed_ticket_or_case_token_gets_the_same_page(node: Node) -> None:
    from hall_bus.client import RequestError

    pages = []
    for path in ("/t/short", "/t/Zz_unknown_0123456789abcd", "/t/" + "x" * 80, "/rate/Zz_unknown_0123456789abcd",
                 "/c/Zz_unknown_0123456789abcd", "/c/%3Cscript%3E", "/guide/nope"):
        r = run(_get(node, path))
        assert r.status_code == 404, path
        pages.append(_main(r.text))

    def expired(_args: dict) -> dict:
        raise RequestError("bad_request", "args.token: expired", "请求格式错误")
    node.bus.override["ticket.get"] = expired
    pages.append(_main(run(_get(node, f"/t/{TOKEN}")).text))
    assert len(set(pages)) == 1, set(pages)


def test_rating_a_ticket_once_with_a_grade_and_comment(node: Node) -> None:
    bad = run(post(node, f"/rate/{TOKEN}", f"/rate/{TOKEN}", {"grade": "9", "comment": "x" * 300}))
    assert bad.status_code == 400 and "请选择一个评价等级" in bad.text and "200 字" in bad.text
    ok = run(post(node, f"/rate/{TOKEN}", f"/rate/{TOKEN}", {"grade": "5", "comment": "<b>很好</b>"}))
    assert ok.status_code == 200 and "感谢您的评价" in ok.text
    assert ("evaluation.submit", {"token": TOKEN, "grade": 5, "comment": "<b>很好</b>"}) in node.bus.requests
    again = run(post(node, f"/rate/{TOKEN}", f"/rate/{TOKEN}", {"grade": "1"}))
    assert "您已经评价过了" in again.text


def test_rating_a_case_by_its_token(node: Node) -> None:
    ok = run(post(node, f"/c/{CASE_TOKEN}", f"/c/{CASE_TOKEN}", {"grade": "4"}))
    assert ok.status_code == 200 and "感谢您的评价" in ok.text
    assert ("evaluation.submit", {"token": CASE_TOKEN, "grade": 4}) in node.bus.requests


def test_forms_without_or_with_a_wrong_csrf_token_are_refused(node: Node) -> None:
    async def go():
        async with node.client() as c:
            await c.get("/case")
            missing = await c.post("/case", data={"number": "DA-20261130-0007", "query_code": "123456"})
            forged = await c.post("/case", data={"number": "DA-20261130-0007", "query_code": "123456",
                                                 "csrf": "1700000000.AAAA"})
        async with node.client() as other:          # a token from another browser (another cookie)
            token = await csrf_of(other, "/case")
        async with node.client() as c:
            await c.get("/case")
            stolen = await c.post("/case", data={"number": "DA-20261130-0007", "query_code": "123456",
                                                 "csrf": token})
        return missing, forged, stolen
    for r in run(go()):
        assert r.status_code == 403 and "表单已过期或来源不明" in r.text
    assert not [q for q in node.bus.requests if q[0] == "case.get"]


def test_a_csrf_token_from_another_node_with_the_same_secret_is_accepted() -> None:
    from tests.citizen_web.conftest import make_node
    a, b = make_node(), make_node()

    async def go():
        async with a.client() as ca:
            token = await csrf_of(ca, "/case")
            cookies = dict(ca.cookies)
        async with b.client(cookies=cookies) as cb:
            return await cb.post("/case", data={"number": "DA-20261130-0007", "query_code": "123456", "csrf": token})
    assert run(go()).status_code == 200


def test_an_oversize_form_is_refused_with_a_message(node: Node) -> None:
    r = run(post(node, "/case", "/case", {"number": "D" * 20000, "query_code": "1"}))
    assert r.status_code == 413 and "提交的内容太长" in r.text


def test_nothing_personal_in_any_url_the_pages_make_or_in_the_logs(node: Node, caplog) -> None:
    import re
    caplog.set_level(logging.DEBUG)
    r = run(post(node, BOOK_PAGE, "/book", GOOD))
    run(post(node, "/book/cancel", "/book/cancel", {"code": "B0001", "phone_last4": "5678"}))
    run(post(node, "/case", "/case", {"number": "DA-20261130-0007", "query_code": "123456"}))
    pages = [r.text] + [run(_get(node, p)).text for p in ("/", f"/t/{TOKEN}", f"/c/{CASE_TOKEN}", BOOK_PAGE)]
    urls = [u for html in pages for u in re.findall(r'(?:href|action|src|data-events)="([^"]*)"', html)]
    assert urls
    for secret in (GOOD_ID, "13812345678", "张三丰", "query_code=", "B0001", "K7Q2", "phone"):
        assert not any(secret in u for u in urls), secret
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))   # not the test's client
    for secret in (GOOD_ID, "13812345678", "张三丰", "123456", "B0001", "K7Q2", "5678"):
        assert secret not in ours, secret
    assert TOKEN not in ours and CASE_TOKEN not in ours and "203.0.113.7" not in ours
    assert "GET /t/{token} 200" in ours and "POST /book 200" in ours


def test_a_handler_failure_shows_a_page_not_a_stack_trace(node: Node) -> None:
    def boom(_args: dict) -> dict:
        raise ZeroDivisionError("secret detail")
    node.bus.override["ticket.get"] = boom
    r = run(_get(node, f"/t/{TOKEN}"))
    assert r.status_code == 500 and "页面出错了" in r.text
    assert "Traceback" not in r.text and "secret detail" not in r.text and "ZeroDivision" not in r.text


def test_a_server_that_does_not_answer_gives_a_try_later_page(node: Node) -> None:
    from hall_bus.client import RequestError

    def slow(_args: dict) -> dict:
        raise RequestError("timeout", "no reply", "服务器没有响应")
    node.bus.override["ticket.get"] = slow
    r = run(_get(node, f"/t/{TOKEN}"))
    assert r.status_code == 503 and "暂时联系不上大厅服务器" in r.text


def _main(html: str) -> str:
    """The page's own part, without what the citizen typed or the form's CSRF token."""
    import re
    main = html.split('<main id="main">', 1)[1].split("</main>", 1)[0]
    return re.sub(r' value="[^"]*"', "", main)


async def _get(node: Node, path: str):
    async with node.client() as c:
        return await c.get(path)
