"""The citizen's journeys on the kiosk window: the real printer (and ID reader) drivers on simulated devices,
a scripted bus (the real server and broker are in test_e2e_kiosk.py)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from PySide6.QtWidgets import QLabel

from devices.printer import qr_payloads
from devices.simulators.idcard import SAMPLE_CARDS
from tests.kiosk.conftest import KEY


def ref_of(card: str) -> str:
    """The HMAC reference the server should get for a sample card (never the number itself)."""
    number = SAMPLE_CARDS[card].number
    return base64.urlsafe_b64encode(hmac.new(KEY, number.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


def take_number(k, zone: str = "z1", service: str = "ss_pension") -> None:
    k.wait_screen("home")
    k.press(f"zone-{zone}")
    k.wait_screen("zone")
    k.press(f"service-{service}")
    k.wait_screen("confirm")
    k.press("confirm")


def test_walk_in_ticket_from_home_to_done(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.qtbot.waitUntil(lambda: "等候 4 人" in k.text("zone-load-z1"))     # live count from state/zone/z1
    k.bus.deliver(k.bus.topics.state_zone("z1"), {"v": 1, "waiting": 9, "serving": 2, "est_wait_s": 600})
    k.qtbot.waitUntil(lambda: "等候 9 人  ·  约 10 分钟" in k.text("zone-load-z1"))
    take_number(k)
    k.wait_screen("done")
    assert k.text("ticket-number") == "A001"
    assert "前面还有 3 人" in k.text("ahead")
    assert "请取走号票" in k.all_text()
    [ticket] = k.wait_printed(1)
    lines = ticket.splitlines()
    assert lines[:4] == ["大安区政务服务中心", "社会保障服务区 1F", "A001", "养老保险待遇申领"]
    assert "前面还有 3 人等候" in lines and "验证码 K7Q2" in lines
    # the QR is the hall's status_url (from state/catalog) with the ticket's token, never the guessable verify code
    assert qr_payloads(k.printer.jobs[0]) == ["https://zwfw.daan.gov.cn/t/tok0001-abcdefghijklmnop"]
    op, args, _ = k.bus.requests[-1]
    assert op == "ticket.issue" and args["service"] == "ss_pension" and args["channel"] == "walk_in"
    assert "holder" not in args
    k.press("finish")
    k.wait_screen("home")


def test_back_and_home_are_always_there(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.press("zone-z1")
    k.press("service-ss_pension")
    k.wait_screen("confirm")
    k.press("back")
    k.wait_screen("zone")
    k.press("home")
    k.wait_screen("home")


def test_language_switch_on_every_screen(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.press("language")
    assert "Welcome" in k.all_text()
    k.qtbot.waitUntil(lambda: "4 waiting" in k.text("zone-load-z1"))
    k.press("zone-z1")
    assert "Pension benefit claim" in k.all_text() and "Take a number" in k.all_text()
    k.press("service-ss_pension")
    assert "Please confirm" in k.all_text()
    k.press("confirm")
    k.wait_screen("done")
    assert "Please take your ticket" in k.all_text() and "3 ahead of you" in k.text("ahead")
    [ticket] = k.wait_printed(1)
    assert "Pension benefit claim" in ticket and "A001" in ticket      # the ticket speaks English too
    k.press("language")
    assert "请取走号票" in k.all_text()
    assert k.bus.requests[-1][1]["lang"] == "en"


def test_idle_timeout_returns_home_and_resets_language(make_kiosk, qtbot):
    k = make_kiosk(idle_timeout_s=0.3)
    k.wait_screen("home")
    k.press("language")
    k.press("zone-z1")
    k.wait_screen("zone")
    with qtbot.waitSignal(k.window.screenChanged, timeout=3000) as sig:
        pass
    assert sig.args == ["home"]
    assert k.journey.lang == "zh"


def test_elderly_mode_larger_text_slower_timeout(make_kiosk):
    k = make_kiosk(idle_timeout_s=10, elderly_timeout_s=50)
    k.wait_screen("home")
    before = k.window.font().pixelSize(), k.button("zone-z1").height()
    k.press("elderly")
    assert k.journey.elderly and k.journey.idle_timeout_s == 50
    assert "标准模式" in k.button("elderly").text()
    k.qtbot.waitUntil(lambda: k.button("zone-z1").height() >= before[1])
    k.press("zone-z1")
    assert k.window.idle.interval() == 50_000


def test_guide_shows_materials_limits_steps_and_prints_checklist(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.press("zone-z1")
    k.press("guide-ss_pension")
    k.wait_screen("guide")
    text = k.all_text()
    assert "居民身份证" in text and "法定时限 20 个工作日" in text and "承诺 5 个工作日办结" in text
    assert "窗口提交材料" in text
    with k.qtbot.waitSignal(k.bridge.checklistFinished, timeout=3000):
        k.press("print-checklist")
    [checklist] = k.wait_printed(1)
    assert "养老保险待遇申领" in checklist and "所需材料：" in checklist
    assert "1. 居民身份证（原件1份）" in checklist.splitlines()
    k.qtbot.waitUntil(lambda: "材料清单已打印" in k.all_text())
    k.press("guide-take")
    k.wait_screen("confirm")


def test_id_card_greets_with_masked_name_and_sends_only_the_reference(make_kiosk):
    k = make_kiosk(idcard="sim://idcard?card=absent")
    k.wait_screen("home")
    k.press("zone-z2")                                      # the card may arrive at any moment
    k.idcard.insert("elder")                                # 李秀英, born 1946-03-04
    k.qtbot.waitUntil(lambda: k.journey.holder is not None)
    assert k.screen == "zone"
    k.press("home")
    k.wait_screen("home")
    assert k.text("greeting") == "李*，您好！"
    assert "您可优先办理" in k.all_text()                    # 70+ from the catalog's priority age
    assert "李秀英" not in k.all_text()
    take_number(k)
    k.wait_screen("done")
    op, args, _ = k.bus.requests[-1]
    assert args["channel"] == "id_card"
    assert args["holder"] == {"ref": ref_of("elder"), "birth_date": "1946-03-04", "display_name": "李*"}
    sent = json.dumps(k.bus.requests, ensure_ascii=False, default=str)
    assert SAMPLE_CARDS["elder"].number not in sent and "李秀英" not in sent
    k.press("finish")
    k.wait_screen("home")
    assert k.journey.holder is None                          # one card, one ticket
    assert k.bridge.health("idcard").code == "card"         # though the card still lies on the reader


def test_rejected_card_is_told_plainly_and_greets_no_one(make_kiosk):
    k = make_kiosk(idcard="sim://idcard?card=absent")
    k.wait_screen("home")
    with k.qtbot.waitSignal(k.bridge.idcardFailed, timeout=5000) as rejected:
        k.idcard.insert("bad_number")                       # its number fails the GB 11643 check digit
    assert rejected.args == ["invalid_number"]
    k.qtbot.waitUntil(lambda: "未能识别这张身份证，请重新放置或联系工作人员" in k.all_text())
    text = k.all_text()
    assert "invalid" not in text and "GB 11643" not in text and "王" not in text
    assert k.journey.holder is None and k.window.findChild(QLabel, "greeting") is None
    assert k.status_of("idcard")["state"] == "ok"           # a bad card is not a broken reader
    assert k.bus.requests == []
    k.idcard.insert("zhang")                                # a valid card replaces it
    k.qtbot.waitUntil(lambda: k.journey.holder is not None)
    k.qtbot.waitUntil(lambda: "张*，您好！" in k.all_text())
    assert "未能识别这张身份证" not in k.all_text()


def test_rejected_card_on_a_service_that_needs_one(make_kiosk):
    k = make_kiosk(idcard="sim://idcard?card=absent")
    k.wait_screen("home")
    k.press("zone-z4")
    k.press("service-ps_hukou")
    k.wait_screen("confirm")
    k.idcard.insert("bad_number")
    k.qtbot.waitUntil(lambda: "未能识别这张身份证，请重新放置或联系工作人员" in k.all_text())
    assert not k.button("confirm").isEnabled()
    assert k.screen == "confirm"


def test_service_needing_id_waits_for_the_card(make_kiosk):
    k = make_kiosk(idcard="sim://idcard?card=absent")
    k.wait_screen("home")
    k.press("zone-z4")
    k.press("service-ps_hukou")
    k.wait_screen("confirm")
    assert not k.button("confirm").isEnabled()
    assert "需要刷身份证" in k.all_text()
    k.idcard.insert("zhang")
    k.qtbot.waitUntil(lambda: k.button("confirm").isEnabled())
    assert k.screen == "confirm"
    k.press("confirm")
    k.wait_screen("done")
    assert k.bus.requests[-1][1]["holder"]["ref"] == ref_of("zhang")


def test_server_refusal_is_told_in_its_words(make_kiosk):
    from hall_bus import RequestError

    def refuse(op, args):
        raise RequestError("duplicate_holder", "This person already waits for this service", "您已在排队等候这项业务")
    k = make_kiosk()
    k.bus.answer = refuse
    take_number(k)
    k.wait_screen("message")
    assert k.text("refusal") == "您已在排队等候这项业务"
    assert k.printer.jobs == []


def test_appointment_code_typed_on_keypad(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.press("action-appointment")
    k.wait_screen("appointment")
    for ch in "AB12CD":
        k.press(f"key-{ch}")
    assert k.journey.code_text == "AB12CD"
    k.press("key-OK")
    k.wait_screen("done")
    assert k.bus.requests[-1][:2] == ("appointment.checkin", {"code": "AB12CD"})
    assert "A001" in k.wait_printed(1)[0]


def test_appointment_scanned_by_keyboard_wedge_from_home(make_kiosk, qtbot):
    k = make_kiosk()
    k.wait_screen("home")
    qtbot.keyClicks(k.window, "APPT-7781")
    from PySide6.QtCore import Qt
    qtbot.keyClick(k.window, Qt.Key.Key_Return)
    k.wait_screen("done")
    assert k.bus.requests[-1][:2] == ("appointment.checkin", {"code": "APPT-7781"})


def test_ticket_status_by_scanned_qr_url(make_kiosk, qtbot):
    k = make_kiosk()
    k.wait_screen("home")
    with qtbot.waitSignal(k.bridge.lookupFinished, timeout=3000):
        k.bridge.scanned.emit("https://zwfw.daan.gov.cn/t/tok0001-abcdefghijklmnop")   # a scanner reading the QR
    k.wait_screen("status")
    assert k.bus.requests[-1][:2] == ("ticket.get", {"token": "tok0001-abcdefghijklmnop"})
    k.qtbot.waitUntil(lambda: "请到 15号窗口 办理" in k.all_text())
    k.press("language")
    assert "Please go to Window 15" in k.all_text()


def test_ticket_status_by_typed_number(make_kiosk):
    k = make_kiosk()
    k.wait_screen("home")
    k.press("action-status")
    for ch in "A023":
        k.press(f"key-{ch}")
    k.press("key-OK")
    k.qtbot.waitUntil(lambda: k.journey.lookup is not None)
    assert k.bus.requests[-1][:2] == ("ticket.get", {"number": "A023"})
    assert k.text("status-number") == "A023"


def test_spoken_prompt_when_the_kiosk_has_a_voice(make_kiosk, tmp_path):
    from tests.support.tools import require_tool
    require_tool("espeak-ng", package="espeak-ng")
    from kiosk.hardware import PromptVoice
    voice = PromptVoice(f"dir:{tmp_path}")
    k = make_kiosk(voice=voice)
    take_number(k)
    k.wait_screen("done")
    k.qtbot.waitUntil(lambda: any(tmp_path.glob("*.wav")), timeout=15000)


def test_rating_a_finished_ticket_at_the_kiosk_and_the_refusals(make_kiosk):
    """The status screen of a finished ticket offers the five grades; a refusal (rated already at the window's
    evaluator) and a lost server are told plainly, and nothing is shown as rated that was not."""
    from hall_bus import RequestError
    from tests.kiosk.conftest import hall_bus
    bus = hall_bus()
    desk = bus.answer
    answers = iter(["ok", "conflict", "timeout"])

    def answer(op: str, args: dict) -> dict:
        if op == "ticket.get":
            return {**desk(op, args), "state": "done"}
        if op == "evaluation.submit":
            what = next(answers)
            if what != "ok":
                raise RequestError(what, "A001 was already evaluated" if what == "conflict" else "no reply",
                                   "该号已评价过" if what == "conflict" else "")
            return {}
        return desk(op, args)
    bus.answer = answer
    k = make_kiosk(bus=bus)
    k.wait_screen("home")
    for attempt, grade in enumerate((2, 5, 3)):
        k.window.do_status(None)
        for ch in "A023":
            k.press(f"key-{ch}")
        k.press("key-OK")
        k.qtbot.waitUntil(lambda: k.journey.lookup is not None)
        k.press(f"eval-{grade}")
        k.qtbot.waitUntil(lambda: not k.journey.eval_busy)
        assert bus.requests[-1][:2] == ("evaluation.submit", {"ticket_id": "t-1", "grade": grade})
        if attempt == 0:
            assert k.text("eval-thanks") == "感谢您的评价：不满意"
        elif attempt == 1:
            assert k.text("eval-error") == "该号已评价过" and k.journey.lookup.ticket.grade is None
        else:
            assert "暂时无法提交评价" in k.text("eval-error")


def test_elderly_resident_whose_district_is_younger_than_him_gets_a_ticket(make_kiosk):
    """刘德明, born 1948 in 510304 (大安区, a code from 1983): stdnum's ric.validate refuses such cards; the kiosk
    must read it, greet him, give him priority and print his ticket."""
    k = make_kiosk(idcard="sim://idcard?card=absent")
    k.wait_screen("home")
    k.idcard.insert("elder_daan")
    k.qtbot.waitUntil(lambda: k.journey.holder is not None)
    k.qtbot.waitUntil(lambda: "刘*，您好！" in k.all_text())
    assert "您可优先办理" in k.all_text() and "未能识别这张身份证" not in k.all_text()
    take_number(k)
    k.wait_screen("done")
    [ticket] = k.wait_printed(1)
    assert "A001" in ticket.splitlines()
    op, args, _ = k.bus.requests[-1]
    assert op == "ticket.issue" and args["channel"] == "id_card"
    assert args["holder"] == {"ref": ref_of("elder_daan"), "birth_date": "1948-09-15", "display_name": "刘*"}
    assert SAMPLE_CARDS["elder_daan"].number not in json.dumps(k.bus.requests, ensure_ascii=False, default=str)
