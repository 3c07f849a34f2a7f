"""The notices a window hands out, as the printer receives them: ESC/POS bytes decoded back to text (GBK)."""
from __future__ import annotations

from datetime import datetime

import pytest

from devices.printer import printed_text
from window_panel.notices import NoticePrinter, build_notice, case_web_url, render_notice

NOW = datetime(2026, 11, 27, 10, 26)
BASE = {"id": "c7", "number": "DA-20261127-0007", "token": "t" * 20, "query_code": "482913", "service": "ss_pension",
        "service_name": "养老保险待遇申领", "service_name_en": "Pension benefit claim",
        "department": "区人力资源和社会保障局", "window": "w15", "accepted_at": "2026-11-27T10:25:03+08:00",
        "limit_unit": "working_days", "promised_days": 5, "legal_days": 20, "due_date": "2026-12-04",
        "legal_due_date": "2026-12-25", "days_left": 5, "missing": [],
        "applicant": {"name": "欧阳娜娜", "id_number": "510304199003150027"}, "phone_masked": "138****5678"}


def printed(status: str, lang: str = "zh", paper_mm: int = 80, encoding: str = "gbk", **kw) -> str:
    notice = build_notice({**BASE, "status": status, **kw}, lang=lang, hall="大安区政务服务中心", window_name="15号窗口",
                          hall_phone="0813-5201234", web_url=case_web_url("https://zwfw.daan.gov.cn/t/{token}"),
                          now=NOW)
    data = render_notice(notice, paper_mm=paper_mm, encoding=encoding)
    assert data.startswith(b"\x1b@\x1c&" if encoding != "utf-8" else b"\x1b@\x1c.") and b"\x1dV" in data[-4:]
    return printed_text(data, encoding)


def test_the_acceptance_notice_has_number_code_dates_and_how_to_query() -> None:
    text = printed("accepted", missing=["退休审批表"])
    for part in ("受理通知书", "办件编号：DA-20261127-0007", "查询码：482913", "受理时间：2026-11-27 10:25",
                 "承诺办结日期：2026-12-04（5 个工作日）", "法定办结期限：2026-12-25（20 个工作日）",
                 "1. 退休审批表", "办件查询", "https://zwfw.daan.gov.cn/case", "0813-5201234", "15号窗口"):
        assert part in text.replace("\n", "") or part in text, part
    assert "行政复议" not in text and "行政诉讼" not in text
    assert "欧阳*" in text and "欧阳娜娜" not in text and "510304199003150027" not in text and "5678" not in text


def test_the_一次性告知书_lists_what_to_bring_and_no_appeal() -> None:
    text = printed("incomplete", missing=["户口簿", "退休审批表"], due_date=None, legal_due_date=None)
    assert "一次性告知书" in text and "1. 户口簿\n2. 退休审批表" in text and "482913" in text
    assert "告知时间：2026-11-27 10:25" in text and "行政复议" not in text


def test_the_不予受理通知书_gives_reasons_and_appeal_rights() -> None:
    text = printed("refused", reason="申请人不属于本行政区域参保人员，本机关无管辖权。")
    flat = text.replace("\n", "")
    assert "不予受理通知书" in text and "DA-20261127-0007" in text and "482913" in text
    assert "本机关无管辖权" in flat
    assert "六十日内依法申请行政复议" in flat and "六个月内依法向人民法院提起行政诉讼" in flat


def test_english_and_58_mm_paper() -> None:
    text = printed("refused", lang="en", paper_mm=58, reason="Outside this hall's competence.")
    assert "Notice of Refusal" in text and "within 60" in text.replace("\n", " ") and "6 months" in text
    assert all(len(line) <= 32 for line in text.splitlines())


def test_lines_fit_80_mm_paper_and_user_text_cannot_inject_commands() -> None:
    from devices.printer.layout import text_width
    text = printed("refused", reason="理由\x1b@\x1dV\x00注入")
    assert all(text_width(line) <= 48 for line in text.splitlines())
    assert "理由@V注入" in text.replace("\n", "")       # ESC and GS dropped: the job is not cut or reset midway


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_other_printer_encodings(encoding: str) -> None:
    assert "查询码：482913" in printed("accepted", encoding=encoding)


def test_printed_on_the_simulated_printer() -> None:
    printer = NoticePrinter("sim://printer")
    try:
        printer.print_now(build_notice({**BASE, "status": "accepted"}, hall="大安区政务服务中心", now=NOW))
        sim = printer.driver.transport.simulator
        assert sim.wait_jobs(1)
        assert "受理通知书" in sim.printed_texts()[0] and "2026-12-04" in sim.printed_texts()[0]
    finally:
        printer.close()


def test_the_web_page_follows_the_halls_ticket_link() -> None:
    assert case_web_url("https://zwfw.daan.gov.cn/t/{token}") == "https://zwfw.daan.gov.cn/case"
    assert case_web_url("") == ""
