"""Cases (办件) at the panel: the 受理 and 一次性告知 / 不予受理 forms check what they send, the window's open cases show
with their days left, changes go out as case.update, and the notices print (or show) with what the law asks."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from hall_bus.contract import Op, validate_args
from hall_bus.idnumber import check_digit
from window_panel.bridge import PanelBridge
from window_panel.case_dialogs import CardSource, CaseDialogs
from window_panel.i18n import Tr
from window_panel.model import Action
from window_panel.notices import NoticePrinter
from window_panel.view import PanelWindow

ID_OK = "51030419850612123" + check_digit("51030419850612123")
ID_BAD_CHECK = ID_OK[:17] + ("0" if ID_OK[17] != "0" else "1")
TICKET = {"id": "t1", "number": "A023", "service": "ss_pension", "zone": "z1", "service_name": "养老保险待遇申领",
          "service_name_en": "Pension benefit claim", "state": "serving", "channel": "walk_in",
          "issued_at": "2026-11-27T10:02:11+08:00", "called_at": "2026-11-27T10:21:40+08:00"}
CATALOG = {"v": 1, "hall": {"id": "daan", "name": "大安区政务服务中心", "phone": "0813-5201234"},
           "status_url": "https://zwfw.daan.gov.cn/t/{token}",
           "zones": [{"id": "z1", "name": "社会保障服务区"}],
           "services": [{"id": "ss_pension", "zone": "z1", "prefix": "A", "name": "养老保险待遇申领"},
                        {"id": "ss_transfer", "zone": "z1", "prefix": "A", "name": "养老保险关系转移接续"}],
           "windows": [{"id": "w15", "name": "15号窗口", "zone": "z1", "services": ["ss_pension", "ss_transfer"]}]}
GUIDE = {"v": 1, "service": "ss_pension", "name": "养老保险待遇申领",
         "materials": [{"name": "居民身份证"}, {"name": "户口簿"}, {"name": "退休审批表", "copies": 2}]}


def case(number: str = "DA-20261127-0007", status: str = "accepted", days_left: int | None = 5,
         **kw: Any) -> dict[str, Any]:
    return {"id": "c7", "number": number, "token": "tok_" + "x" * 20, "query_code": "482913", "service": "ss_pension",
            "service_name": "养老保险待遇申领", "department": "区人力资源和社会保障局", "window": "w15",
            "status": status, "accepted_at": "2026-11-27T10:25:03+08:00", "limit_unit": "working_days",
            "promised_days": 5, "legal_days": 20, "due_date": "2026-12-04", "legal_due_date": "2026-12-25",
            "days_left": days_left, "clock": "running", "missing": [], "history": [
                {"status": "accepted", "ts": "2026-11-27T10:25:03+08:00", "actor": "panel-w15"}],
            "phone_masked": "138****5678", "sms": True, "applicant": {"name": "张伟", "id_number": ID_OK}, **kw}


class StubCaseDialogs:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.asked: list[tuple[str, Any]] = []
        self.shown: list[Any] = []

    def ask_accept(self, ticket: dict, services: list, guides: dict, reader: Any = None) -> dict | None:
        self.asked.append(("accept", (ticket.get("number"), [s["id"] for s in services], sorted(guides))))
        return self.answers.get("accept")

    def ask_refuse(self, ticket: dict, services: list, guides: dict, reader: Any = None) -> dict | None:
        self.asked.append(("refuse", ticket.get("number")))
        return self.answers.get("refuse")

    def ask_change(self, case: dict, guide: dict | None) -> dict | None:
        self.asked.append(("change", case.get("number")))
        return self.answers.get("change")

    def show_notice(self, notice: Any) -> None:
        self.shown.append(notice)


@pytest.fixture
def make_panel(qtbot, bus):
    def make(lang: str = "zh", current: dict | None = TICKET, printer: NoticePrinter | None = None) -> PanelWindow:
        bridge = PanelBridge(bus, "w15")
        panel = PanelWindow("w15", bridge, lang=lang, case_dialogs=StubCaseDialogs(),  # type: ignore[arg-type]
                            clock=lambda: datetime.fromisoformat("2026-11-27T10:26:00+08:00"), printer=printer)
        qtbot.addWidget(panel)
        panel.show()
        with qtbot.waitSignal(panel.changed):
            bus.set_connected(True)
        for topic, payload in ((bus.topics.state_catalog, CATALOG), (bus.topics.state_server, {"v": 1, "state": "online"}),
                               (bus.topics.state_window("w15"), {"v": 1, "status": "open", "current": current,
                                                                 "waiting": 3, "held": []})):
            with qtbot.waitSignal(panel.changed):
                bus.deliver(topic, payload)
        bus.deliver(bus.topics.state_guide("ss_pension"), GUIDE)
        qtbot.waitUntil(lambda: "ss_pension" in panel.guides)
        return panel
    return make


def ops(bus) -> list[str]:
    return [str(op) for op, _a, _cb in bus.requests]


# ---------------------------------------------------------------- the 受理 form
@pytest.fixture
def dialogs(qtbot) -> CaseDialogs:
    return CaseDialogs(Tr("zh"), None)


def accept_form(dialogs: CaseDialogs, qtbot, reader: Any = None):
    d, answer = dialogs.accept_dialog(TICKET, CATALOG["services"], {"ss_pension": GUIDE}, reader)
    qtbot.addWidget(d)
    return d, answer


def fill(d, name: str = "张伟", id_number: str = ID_OK, phone: str = "", sms: bool = False) -> None:
    d.person.name.setText(name)
    d.person.id_number.setText(id_number)
    d.person.phone.setText(phone)
    d.person.sms.setChecked(sms)


@pytest.mark.parametrize("id_number, says", [(ID_BAD_CHECK, "校验位"), (ID_OK[:17], "18 位"),
                                             ("510304" + "20991231" + "123" + "X", "")])
def test_a_bad_id_number_keeps_the_form_open_and_sends_nothing(dialogs, qtbot, id_number: str, says: str) -> None:
    d, answer = accept_form(dialogs, qtbot)
    fill(d, id_number=id_number)
    d.accept()
    assert d.result() != d.DialogCode.Accepted and answer() is None
    assert d.problems.isVisibleTo(d) and "身份证" in d.problems.text() and says in d.problems.text()


def test_a_missing_name_is_said(dialogs, qtbot) -> None:
    d, answer = accept_form(dialogs, qtbot)
    fill(d, name="  ")
    d.accept()
    assert answer() is None and "姓名" in d.problems.text()


def test_a_bad_phone_with_consent_is_refused(dialogs, qtbot) -> None:
    d, answer = accept_form(dialogs, qtbot)
    fill(d, phone="12812345678", sms=True)
    d.accept()
    assert answer() is None and "手机号码不正确" in d.problems.text()


def test_a_phone_without_sms_consent_is_not_sent(dialogs, qtbot) -> None:
    d, answer = accept_form(dialogs, qtbot)
    fill(d, phone="13812345678", sms=False)
    d.accept()
    args = answer()
    assert d.result() == d.DialogCode.Accepted
    assert "phone" not in args and "sms" not in args
    assert args["applicant"] == {"name": "张伟", "id_number": ID_OK}


def test_accept_sends_the_contract_args_with_consent_and_容缺_items(dialogs, qtbot) -> None:
    d, answer = accept_form(dialogs, qtbot)
    assert d.service.currentData() == "ss_pension"                 # preselected: the ticket's service
    assert d.materials.list.count() == 3                            # the guide's checklist
    fill(d, id_number=ID_OK[:17] + ID_OK[17].lower(), phone="+86 138-1234-5678", sms=True)
    d.materials.list.item(2).setCheckState(Qt.CheckState.Checked)
    d.materials.other.setPlainText("社保卡复印件\n\n")
    d.note.setText("退休审批表原件后补")
    d.accept()
    args = answer()
    assert args == {"ticket_id": "t1", "service": "ss_pension", "applicant": {"name": "张伟", "id_number": ID_OK},
                    "phone": "13812345678", "sms": True, "missing": ["退休审批表", "社保卡复印件"],
                    "note": "退休审批表原件后补"}
    validate_args(Op.CASE_ACCEPT, {"window": "w15", **args})


def test_the_sms_consent_says_what_it_is_for(dialogs, qtbot) -> None:
    d, _answer = accept_form(dialogs, qtbot)
    texts = " ".join(w.text() for w in d.findChildren(type(d.problems)))
    assert "短信只用于本办件" in texts and "不同意则不保存手机号" in texts


def test_a_card_on_the_reader_fills_name_and_number(dialogs, qtbot) -> None:
    cards = CardSource()
    d, answer = accept_form(dialogs, qtbot, reader=cards)
    cards.set_card({"name": "欧阳娜娜", "id_number": ID_OK})
    assert d.person.name.text() == "欧阳娜娜" and d.person.id_number.text() == ID_OK
    d.accept()
    assert answer()["applicant"]["name"] == "欧阳娜娜"


def test_the_panels_card_reader_reads_the_simulated_card() -> None:
    from devices.simulators.idcard import SAMPLE_CARDS
    from window_panel.hardware import PanelCardReader
    import threading
    got: list[dict] = []
    seen = threading.Event()
    reader = PanelCardReader("sim://idcard?card=zhang", 0.05, lambda fn, *a: fn(*a),
                             lambda card: (got.append(card), seen.set()))
    reader.open()
    try:
        assert seen.wait(5)
    finally:
        reader.close()
    assert got[0] == {"name": SAMPLE_CARDS["zhang"].name, "id_number": SAMPLE_CARDS["zhang"].number}


# ---------------------------------------------------------------- 一次性告知 / 不予受理
def refuse_form(dialogs: CaseDialogs, qtbot):
    d, answer = dialogs.refuse_dialog(TICKET, CATALOG["services"], {"ss_pension": GUIDE})
    qtbot.addWidget(d)
    return d, answer


def test_incomplete_lists_the_missing_materials_from_the_checklist(dialogs, qtbot) -> None:
    d, answer = refuse_form(dialogs, qtbot)
    d.accept()
    assert answer() is None and "缺少的材料" in d.problems.text()
    d.materials.list.item(1).setCheckState(Qt.CheckState.Checked)
    d.accept()
    args = answer()
    assert args == {"service": "ss_pension", "kind": "incomplete", "ticket_id": "t1", "missing": ["户口簿"]}
    validate_args(Op.CASE_REFUSE, {"window": "w15", **args})


def test_refused_needs_reasons_and_a_half_given_applicant_is_refused(dialogs, qtbot) -> None:
    d, answer = refuse_form(dialogs, qtbot)
    d.refused.setChecked(True)
    d.person.name.setText("张伟")
    d.accept()
    assert answer() is None and "理由" in d.problems.text() and "身份证" in d.problems.text()
    d.reasons.setPlainText("不属于本中心受理范围")
    d.person.id_number.setText(ID_OK)
    d.accept()
    args = answer()
    assert args["kind"] == "refused" and args["reasons"] == "不属于本中心受理范围" and args["applicant"]["name"] == "张伟"
    validate_args(Op.CASE_REFUSE, {"window": "w15", **args})


# ---------------------------------------------------------------- the panel: requests, list, notices
def test_accept_goes_out_for_the_ticket_being_served_and_the_notice_shows(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    assert ops(bus) == ["case.list"]
    assert panel.buttons[Action.ACCEPT].isEnabled() and panel.buttons[Action.ACCEPT].text() == "受理\nF10"
    args = {"ticket_id": "t1", "service": "ss_pension", "applicant": {"name": "张伟", "id_number": ID_OK}}
    panel.case_dialogs.answers["accept"] = args
    qtbot.keyClick(panel, Qt.Key.Key_F10)
    assert panel.case_dialogs.asked[0] == ("accept", ("A023", ["ss_pension", "ss_transfer"], ["ss_pension"]))
    op, sent, _cb = bus.requests[-1]
    assert op == Op.CASE_ACCEPT and sent == {"window": "w15", **args}
    validate_args(op, sent)
    assert not panel.buttons[Action.ACCEPT].isEnabled()             # one case request at a time
    with qtbot.waitSignal(panel.changed):
        bus.reply(len(bus.requests) - 1, data=case())
    assert "DA-20261127-0007" in panel.msg.text()
    notice = panel.case_dialogs.shown[0]                            # no printer: on screen
    assert notice.kind == "accepted" and "482913" in notice.text and "2026-12-04" in notice.text
    assert ops(bus)[-1] == "case.list"                               # the list follows the change


def test_no_ticket_no_case_buttons(make_panel) -> None:
    panel = make_panel(current=None)
    assert not panel.buttons[Action.ACCEPT].isEnabled() and not panel.buttons[Action.REFUSE].isEnabled()
    assert not panel.trigger(Action.ACCEPT)


def test_a_refused_accept_shows_the_servers_words(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    panel.case_dialogs.answers["accept"] = {"applicant": {"name": "张伟", "id_number": ID_OK}, "phone": "13812345678",
                                            "sms": True}
    panel.trigger(Action.ACCEPT)
    with qtbot.waitSignal(panel.changed):
        bus.reply(len(bus.requests) - 1, error={"code": "bad_phone", "message": "bad phone", "message_zh": "手机号码不正确"})
    assert "手机号码不正确" in panel.msg.text() and panel.case_dialogs.shown == []
    assert panel.buttons[Action.ACCEPT].isEnabled()


def test_refuse_sends_case_refuse_and_shows_the_一次性告知书(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    panel.case_dialogs.answers["refuse"] = {"service": "ss_pension", "kind": "incomplete", "missing": ["户口簿"]}
    qtbot.keyClick(panel, Qt.Key.Key_F11)
    op, sent, _cb = bus.requests[-1]
    assert op == Op.CASE_REFUSE and sent["window"] == "w15"
    validate_args(op, sent)
    with qtbot.waitSignal(panel.changed):
        bus.reply(len(bus.requests) - 1, data=case(status="incomplete", missing=["户口簿"], due_date=None,
                                                   days_left=None))
    notice = panel.case_dialogs.shown[0]
    assert notice.title == "一次性告知书" and "户口簿" in notice.text and "行政复议" not in notice.text


def test_the_open_cases_show_status_and_days_left_in_colour(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    cases = [case("DA-20261127-0001", "in_progress", -2), case("DA-20261127-0002", "needs_materials", 2,
                                                             clock="stopped"),
             case("DA-20261127-0003", "accepted", 6), case("DA-20261127-0004", "delivered", None),
             case("DA-20261127-0005", "done", 1)]
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={"cases": cases})
    t = panel.case_table
    rows = [[t.item(r, c).text() for c in range(4)] for r in range(t.rowCount())]
    assert rows == [["DA-20261127-0001", "养老保险待遇申领", "办理中", "超期 2 天"],
                    ["DA-20261127-0002", "养老保险待遇申领", "补正中", "2 天（停表）"],
                    ["DA-20261127-0003", "养老保险待遇申领", "已受理", "6 天"],
                    ["DA-20261127-0005", "养老保险待遇申领", "已办结", "—"]]    # delivered is no longer open
    assert t.item(0, 3).foreground().color() == QColor("#b3261e")      # red: overdue
    assert t.item(1, 3).background().color() == QColor("#fff4d6")      # yellow: ≤ 2 days
    assert t.item(2, 3).background().style() == Qt.BrushStyle.NoBrush
    assert panel.case_head.text() == "本窗口在办办件" and not panel.case_none.isVisibleTo(panel)


def test_the_list_in_english(make_panel, bus, qtbot) -> None:
    panel = make_panel(lang="en")
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={"cases": [case(status="suspended", days_left=3, clock="stopped")]})
    assert [panel.case_table.item(0, c).text() for c in (2, 3)] == ["Suspended", "3 d (stopped)"]


def test_no_open_cases_says_so(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    assert "正在读取" in panel.case_none.text()
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={"cases": []})
    assert panel.case_none.text() == "本窗口暂无在办办件" and not panel.case_table.isVisibleTo(panel)


def test_a_change_goes_out_as_case_update_and_the_list_is_asked_again(make_panel, bus, qtbot) -> None:
    panel = make_panel()
    with qtbot.waitSignal(panel.changed):
        bus.reply(0, data={"cases": [case(status="in_progress")]})
    panel.case_dialogs.answers["change"] = {"number": "DA-20261127-0007", "change": "extend", "days": 5,
                                            "approved_by": "王科长", "note": "需现场核查"}
    panel.case_table.selectRow(0)
    qtbot.keyClick(panel, Qt.Key.Key_F12)
    op, sent, _cb = bus.requests[-1]
    assert op == Op.CASE_UPDATE and sent["change"] == "extend"
    validate_args(op, sent)
    with qtbot.waitSignal(panel.changed):
        bus.reply(len(bus.requests) - 1, data=case(status="in_progress"))
    assert "已更新" in panel.msg.text() and ops(bus)[-1] == "case.list"
    assert panel.case_dialogs.shown == []                          # a change prints no notice


# ---------------------------------------------------------------- the changes dialog
def change_form(dialogs: CaseDialogs, qtbot, status: str = "accepted"):
    d, answer = dialogs.case_dialog(case(status=status), GUIDE)
    qtbot.addWidget(d)
    return d, answer


def choose(d, change: str) -> None:
    d.change.setCurrentIndex(d.change.findData(change))


def test_the_changes_offered_follow_the_status(dialogs, qtbot) -> None:
    d, _a = change_form(dialogs, qtbot, "needs_materials")
    assert [d.change.itemData(i) for i in range(d.change.count())] == ["resumed", "extend", "withdrawn", "terminated"]
    d, _a = change_form(dialogs, qtbot, "done")
    assert [d.change.itemData(i) for i in range(d.change.count())] == ["delivered"]


@pytest.mark.parametrize("change, setup, expected", [
    ("in_progress", lambda f: None, {"change": "in_progress"}),
    ("needs_materials", lambda f: f["materials"].list.item(0).setCheckState(Qt.CheckState.Checked),
     {"change": "needs_materials", "missing": ["居民身份证"]}),
    ("suspended", lambda f: None, {"change": "suspended", "note": "专家评审"}),
    ("extend", lambda f: (f["days"].setValue(10), f["approved_by"].setText("王科长"),
                          f["extend_reason"].setText("需现场核查")),
     {"change": "extend", "days": 10, "approved_by": "王科长", "note": "需现场核查"}),
    ("done", lambda f: None, {"change": "done", "result": "approved"}),
    ("done", lambda f: (f["result"].setCurrentIndex(1), f["done_reasons"].setPlainText("不符合领取条件")),
     {"change": "done", "result": "rejected", "reasons": "不符合领取条件"}),
    ("withdrawn", lambda f: f["withdrawn_reasons"].setPlainText("申请人撤回"),
     {"change": "withdrawn", "reasons": "申请人撤回"}),
    ("terminated", lambda f: None, {"change": "terminated"}),
])
def test_each_change_sends_valid_args(dialogs, qtbot, change: str, setup, expected: dict) -> None:
    d, answer = change_form(dialogs, qtbot)
    choose(d, change)
    setup(d.fields)
    if change == "suspended":
        d.note.setText("专家评审")
    d.accept()
    args = answer()
    assert args == {"number": "DA-20261127-0007", **expected}, d.problems.text()
    validate_args(Op.CASE_UPDATE, args)


def test_delivered_by_mail_needs_the_tracking_number(dialogs, qtbot) -> None:
    d, answer = change_form(dialogs, qtbot, "done")
    d.fields["method"].setCurrentIndex(1)
    d.accept()
    assert answer() is None and "单号" in d.problems.text()
    d.fields["tracking"].setText("SF1234567890")
    d.accept()
    assert answer()["delivery"] == {"method": "mail", "tracking": "SF1234567890"}
    validate_args(Op.CASE_UPDATE, answer())


@pytest.mark.parametrize("change, says", [("extend", "批准人"), ("needs_materials", "缺少的材料")])
def test_an_incomplete_change_is_not_sent(dialogs, qtbot, change: str, says: str) -> None:
    d, answer = change_form(dialogs, qtbot)
    choose(d, change)
    d.accept()
    assert answer() is None and says in d.problems.text()


def test_done_rejected_needs_reasons(dialogs, qtbot) -> None:
    d, answer = change_form(dialogs, qtbot)
    choose(d, "done")
    d.fields["result"].setCurrentIndex(1)
    d.accept()
    assert answer() is None and "理由" in d.problems.text()


# ---------------------------------------------------------------- printing, and what never reaches a log
def test_with_a_printer_the_notice_is_printed_not_shown(make_panel, bus, qtbot, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    printer = NoticePrinter("sim://printer")
    try:
        panel = make_panel(printer=printer)
        panel.case_dialogs.answers["accept"] = {"applicant": {"name": "张伟", "id_number": ID_OK},
                                                "phone": "13812345678", "sms": True}
        panel.trigger(Action.ACCEPT)
        bus.reply(len(bus.requests) - 1, data=case())
        qtbot.waitUntil(lambda: "已打印" in panel.msg.text(), timeout=5000)
        text = printer.driver.transport.simulator.printed_texts()[0]
        assert "受理通知书" in text and "DA-20261127-0007" in text and "482913" in text and "2026-12-04" in text
        assert panel.case_dialogs.shown == []
    finally:
        printer.close()
    for secret in ("张伟", ID_OK, "13812345678"):
        assert secret not in caplog.text
    assert "张伟" not in text and ID_OK not in text and "张*" in text


def test_a_printer_fault_puts_the_notice_on_screen(make_panel, bus, qtbot) -> None:
    printer = NoticePrinter("sim://printer?paper=out")
    try:
        panel = make_panel(printer=printer)
        panel.case_dialogs.answers["refuse"] = {"service": "ss_pension", "kind": "refused", "reasons": "无管辖权"}
        panel.trigger(Action.REFUSE)
        bus.reply(len(bus.requests) - 1, data=case(status="refused", reason="无管辖权"))
        qtbot.waitUntil(lambda: bool(panel.case_dialogs.shown), timeout=5000)
    finally:
        printer.close()
    assert "打印失败" in panel.msg.text()
    assert panel.case_dialogs.shown[0].title == "不予受理通知书" and "六十日内" in panel.case_dialogs.shown[0].text


def test_the_notice_dialog_shows_the_notice_text(dialogs, qtbot) -> None:
    from window_panel.notices import build_notice
    notice = build_notice(case(status="refused", reason="无管辖权"), hall="大安区政务服务中心")
    d = dialogs.notice_dialog(notice)
    qtbot.addWidget(d)
    assert d.body.toPlainText() == notice.text and "六个月内" in d.body.toPlainText()
