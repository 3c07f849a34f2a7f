"""ESC/POS ticket and checklist layout: golden bytes, the printed Chinese read back, the 400-byte budget."""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.printer.layout import TicketData, encode_text, render_checklist, render_ticket, sample_ticket, wrap
from devices.printer.scanner import printed_text, qr_payloads, scan

ISSUED = datetime(2026, 11, 27, 9, 31)


def gbk(text: str) -> bytes:
    return text.encode("gbk")


def test_small_ticket_golden_bytes():
    data = TicketData("大安区政务服务中心", "社保区", "养老", "A023", 0, None, ISSUED, notice="谢谢")
    expected = (
        b"\x1b@"  # ESC @ initialise
        b"\x1c&"  # FS & Kanji (Chinese) mode
        b"\x1ba\x01"  # ESC a 1 centre
        + bytes.fromhex("b4f3 b0b2 c7f8 d5fe cef1 b7fe cef1 d6d0 d0c4") + b"\n"  # 大安区政务服务中心 in GBK
        + gbk("社保区\n")
        + b"\x1d!\x22" + b"A023\n" + b"\x1d!\x00"  # number 3x3 on 58 mm paper
        + b"\x1c!\x0c" + b"\x1d!\x11" + gbk("养老\n") + b"\x1d!\x00" + b"\x1c!\x00"  # FS ! double for Chinese
        + gbk("请留意叫号，马上到您\n")  # nobody ahead
        + gbk("取号时间 2026-11-27 09:31\n")
        + gbk("谢谢\n")
        + b"\x1bd\x06\x1dV\x00"  # feed 6, full cut (python-escpos cut())
    )
    assert render_ticket(data, paper_mm=58) == expected


@pytest.mark.parametrize("paper", [80, 58])
def test_standard_ticket_reads_back_as_its_chinese_text(paper):
    job = render_ticket(sample_ticket("zh"), paper_mm=paper)
    lines = printed_text(job).splitlines()
    assert lines[:8] == ["大安区政务服务中心", "社会保障服务区", "A023", "养老保险业务", "前面还有 3 人等候",
                         "预计等待约 15 分钟", "取号时间 2026-11-27 09:31", "验证码 7XK2"]
    assert "扫码查看排队进度" in lines
    assert "".join(lines).endswith("叫号后请在5分钟内到窗口办理，过号需重新取号。")
    assert qr_payloads(job) == ["https://q.daan.gov.cn/t/A023?v=7XK2"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("paper", [80, 58])
def test_standard_ticket_fits_the_400_byte_budget(lang, paper):
    job = render_ticket(sample_ticket(lang), paper_mm=paper)
    assert len(job) <= 400, f"{lang}/{paper} mm ticket is {len(job)} bytes"
    # the QR is native (GS ( k), never a raster image (GS v 0 / ESC *)
    assert b"\x1d(k" in job
    assert not any(t.data.startswith((b"\x1dv0", b"\x1b*")) for t in scan(job) if t.kind == "command")


def test_every_line_fits_the_paper():
    long = TicketData("大安区政务服务中心" * 3, "社会保障服务区", "城乡居民基本养老保险参保登记及待遇申领", "A023", 12,
                      4000, ISSUED, notice="请" * 200)
    for paper, columns in ((80, 48), (58, 32)):
        text = printed_text(render_ticket(long, paper_mm=paper))
        for line in text.splitlines():
            if line != "A023":
                assert sum(1 if ord(c) < 0x80 else 2 for c in line) <= columns, line


def test_priority_and_english_ticket():
    data = TicketData("Daan District Government Service Center", "Social Security", "Pension", "V001", 1, 60,
                      ISSUED, lang="en", priority=True)
    text = printed_text(render_ticket(data, paper_mm=58))
    assert "[PRIORITY]" in text and "1 ahead of you" in text and "about 1 min" in text
    zh = printed_text(render_ticket(TicketData("厅", "区", "业务", "V001", 1, 60, ISSUED, priority=True)))
    assert "[优先办理]" in zh


def test_yen_becomes_full_width_and_unknown_characters_become_question_marks():
    assert encode_text("¥20") == b"\xa3\xa420"  # ￥ in GBK, never the 4-byte 81 30 84 36
    assert encode_text("😀ก", "gbk") == b"??"  # emoji, Thai: not in GBK
    assert encode_text("é", "gbk") == b"\xa8\xa6"  # pinyin letters are
    assert encode_text("€", "gbk") == b"EUR"


def test_control_characters_in_user_text_cannot_inject_commands():
    data = TicketData("厅", "区", "业务", "A001", 0, None, ISSUED, notice="停\x1bd\x40\x1dV\x00电")
    job = render_ticket(data)
    assert job.count(b"\x1dV") == 1  # only our own cut
    assert "停d@V电" in printed_text(job)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_gbk_mode_never_emits_four_byte_sequences(text):
    out = encode_text(text, "gbk")
    i = 0
    while i < len(out):
        if out[i] < 0x80:
            assert out[i] >= 0x20 or out[i] == 0x0A
            i += 1
        else:
            assert 0x81 <= out[i] <= 0xFE and 0x40 <= out[i + 1] <= 0xFE and out[i + 1] != 0x7F
            assert len(out[i:i + 2].decode("gbk")) == 1
            i += 2


def test_gb18030_and_utf8_profiles():
    data = sample_ticket("zh")
    g = render_ticket(data, encoding="gb18030")
    assert g.startswith(b"\x1b@\x1c&") and printed_text(g, "gb18030").startswith("大安区政务服务中心")
    u = render_ticket(data, encoding="utf-8")
    assert u.startswith(b"\x1b@\x1c.")  # Kanji mode off: UTF-8 bytes must not be taken as GB codes
    assert printed_text(u, "utf-8").startswith("大安区政务服务中心")
    assert encode_text("€", "gb18030") == b"EUR"
    with pytest.raises(ValueError, match="big5"):
        render_ticket(data, encoding="big5")
    with pytest.raises(ValueError, match="76"):
        render_ticket(data, paper_mm=76)


def test_wrap_keeps_ascii_words_and_breaks_hanzi_anywhere():
    assert wrap("请在叫号后到窗口办理", 8) == ["请在叫号", "后到窗口", "办理"]
    assert wrap("Keep this ticket safe", 10) == ["Keep this", "ticket", "safe"]


def test_checklist_prints_materials_with_copies():
    job = render_checklist("城乡居民养老保险参保登记", [
        {"name": "居民身份证", "name_en": "Resident ID card", "copies": 1, "original": True},
        {"name": "户口簿", "copies": 2},
        "一寸免冠彩色照片",
    ], paper_mm=58, hall_name="大安区政务服务中心", steps=["取号", "窗口受理"], footer="咨询电话 0813-1234567")
    lines = printed_text(job).splitlines()
    assert lines[:4] == ["大安区政务服务中心", "城乡居民养老保险参保登记", "所需材料：", "1. 居民身份证（原件1份）"]
    assert "2. 户口簿（复印件2份）" in lines and "3. 一寸免冠彩色照片（复印件1份）" in lines
    assert "2. 窗口受理" in lines and lines[-1] == "咨询电话 0813-1234567"
    en = printed_text(render_checklist("Pension", [{"name": "居民身份证", "name_en": "Resident ID card",
                                                    "original": True}], lang="en"))
    assert "1. Resident ID card (1 original)" in en


@pytest.mark.parametrize("lang, rule", [("zh", "过号顺延3位，仅一次（30分钟内有效）"),
                                        ("en", "Missed calls move back 3 places, once, within 30 min")])
@pytest.mark.parametrize("paper", [80, 58])
def test_the_missed_number_rule_is_printed_last_in_whole_clauses_within_budget(lang, rule, paper):
    from dataclasses import replace
    job = render_ticket(replace(sample_ticket(lang), no_show=rule, notice=""), paper_mm=paper)
    lines = printed_text(job).splitlines()
    keep = "请妥善保管此票" if lang == "zh" else "Please keep this ticket."
    assert lines[-3 if paper == 58 or lang == "en" else -2] == keep     # the generic 过号 wording gives way to the rule
    assert " ".join(lines[lines.index(keep) + 1:]).replace("， ", "，").replace(" （", "（") == rule
    if lang == "zh" and paper == 58:
        assert lines[-2:] == ["过号顺延3位，仅一次", "（30分钟内有效）"]      # broken after a clause, not mid-word
    assert len(render_ticket(replace(sample_ticket(lang), no_show=rule), paper_mm=paper)) <= 400
