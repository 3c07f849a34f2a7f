"""`--screenshots DIR`: the panel idle, serving (with the window's open cases), paused, disconnected and showing an
error, the staff sign-in screen (at start, after a bad login, when the server requires it) and the header of a
signed-in staff member, its four calling dialogs (call a number, call back, transfer, pause) and the case dialogs (受理 filled in and
with a mistake, 一次性告知 / 不予受理, a case's changes, the 受理通知书 and 不予受理通知书 on screen), in zh and en."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QListWidget, QWidget

from window_panel.case_dialogs import CaseDialogs
from window_panel.dialogs import PanelDialogs
from window_panel.i18n import Tr
from window_panel.model import Action
from window_panel.view import PanelWindow
from hall_bus.contract import Op

CATALOG: dict[str, Any] = {
    "v": 1, "hall": {"id": "daan", "name": "大安区政务服务中心", "name_en": "Da'an Government Service Centre"},
    "zones": [{"id": "z1", "name": "社会保障服务区", "name_en": "Social Security"},
              {"id": "z2", "name": "行政审批服务区", "name_en": "Administrative Approval"}],
    "services": [{"id": "ss_pension", "zone": "z1", "prefix": "A", "name": "养老保险待遇申领",
                  "name_en": "Pension benefit claim"},
                 {"id": "ss_transfer", "zone": "z1", "prefix": "A", "name": "养老保险关系转移接续",
                  "name_en": "Pension insurance transfer"},
                 {"id": "mi_card", "zone": "z1", "prefix": "B", "name": "社会保障卡申领",
                  "name_en": "Social security card application"},
                 {"id": "ap_food", "zone": "z2", "prefix": "E", "name": "食品经营许可",
                  "name_en": "Food business licence"}],
    "windows": [{"id": f"w{n}", "name": f"{n}号窗口", "name_en": f"Window {n}", "zone": "z1" if n < 20 else "z2",
                 "services": ["ss_pension"] if n < 20 else ["ap_food"]} for n in (14, 15, 16, 31, 32)],
}
SET_ASIDE = {"A019": {"number": "A019", "state": "held", "service_name": "养老保险待遇申领",
                      "service_name_en": "Pension benefit claim"},
             "A021": {"number": "A021", "state": "no_show", "service_name": "养老保险待遇申领",
                      "service_name_en": "Pension benefit claim"}}
TICKET = {"id": "t1", "number": "A023", "service": "ss_pension", "service_name": "养老保险待遇申领",
          "service_name_en": "Pension benefit claim", "zone": "z1", "state": "serving", "channel": "appointment",
          "priority": True, "issued_at": "2026-11-27T10:02:11+08:00", "called_at": "2026-11-27T10:21:40+08:00",
          "window": "w15"}


GUIDE = {"v": 1, "service": "ss_pension", "name": "养老保险待遇申领", "name_en": "Pension benefit claim",
         "materials": [{"name": "居民身份证", "name_en": "Resident ID card"},
                       {"name": "户口簿", "name_en": "Household register"},
                       {"name": "退休审批表", "name_en": "Retirement approval form", "copies": 2},
                       {"name": "银行账户信息", "name_en": "Bank account details"}]}
ID_NUMBER = "510304198506121238"      # a made-up number with a valid GB 11643 check digit


def _case(n: int, status: str, days_left: int | None, **kw: Any) -> dict[str, Any]:
    return {"id": f"c{n}", "number": f"DA-20261127-{n:04d}", "token": "t" * 20, "query_code": "482913",
            "service": "ss_pension", "service_name": "养老保险待遇申领", "service_name_en": "Pension benefit claim",
            "department": "区人力资源和社会保障局", "window": "w15", "status": status,
            "accepted_at": "2026-11-27T10:25:03+08:00", "limit_unit": "working_days", "promised_days": 5,
            "legal_days": 20, "due_date": "2026-12-04", "legal_due_date": "2026-12-25", "days_left": days_left,
            "clock": "stopped" if status in ("needs_materials", "suspended") else "running", "missing": [],
            "history": [{"status": "accepted", "ts": "2026-11-27T10:25:03+08:00"},
                        {"status": "in_progress", "ts": "2026-11-27T14:02:10+08:00", "note": "已转审批科"}],
            "phone_masked": "138****5678", "applicant": {"name": "张伟", "id_number": ID_NUMBER}, **kw}


CASES = [_case(3, "in_progress", -2), _case(5, "needs_materials", 2, missing=["退休审批表"]),
         _case(6, "accepted", 6), _case(7, "suspended", 9), _case(2, "done", 0, result="approved")]


class _Bridge:
    """Enough of a bridge for a still picture: requests go nowhere."""
    def request(self, *_a: Any, **_kw: Any) -> None:
        pass


def render_all(window: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance()
    assert app is not None
    now = datetime.fromisoformat("2026-11-27T10:24:36+08:00")
    paths = []
    scenes = ("idle", "serving", "paused", "disconnected", "error", "cases")
    for lang in ("zh", "en"):
        for scene in scenes:
            panel = PanelWindow(window, None, lang=lang, clock=lambda: now)
            panel.on_catalog(CATALOG)
            panel.on_connection(True)
            panel.on_server({"v": 1, "state": "online"})
            state = {"v": 1, "status": "open", "current": None, "waiting": 7, "name": "15号窗口"}
            if scene in ("serving", "cases"):
                state["current"] = TICKET
            elif scene == "paused":
                state.update(status="paused", reason="用餐" if lang == "zh" else "Meal")
            panel.on_window_state(state)
            if scene == "disconnected":
                panel.on_window_state({**state, "current": TICKET})
                panel.on_connection(False)
            elif scene == "error":
                panel.bridge = _Bridge()  # type: ignore[assignment]
                panel.trigger(Action.CALL_NEXT)
                panel.on_reply("call_next", {"v": 1, "ok": False, "op": Op.WINDOW_CALL_NEXT, "error": {
                    "code": "no_ticket", "message": "no ticket is waiting for this window's services",
                    "message_zh": "当前没有等候的号"}})
            if scene == "cases":
                panel.on_reply("case:list", {"v": 1, "ok": True, "op": Op.CASE_LIST, "data": {"cases": CASES}})
                panel.case_table.selectRow(1)
            else:
                panel.on_reply("case:list", {"v": 1, "ok": True, "op": Op.CASE_LIST, "data": {"cases": []}})
            paths.append(_picture(panel, out / f"panel-{scene}-{lang}.png", app))
        paths += _sign_in(window, lang, out, app, now)
        paths += _dialogs(window, lang, out, app)
        paths += _case_dialogs(lang, out, app)
    return paths


def _sign_in(window: str, lang: str, out: Path, app: QApplication, now: datetime) -> list[Path]:
    """The sign-in screen at start (number and PIN typed, the PIN masked), after repeated bad logins (the wait),
    when the server refused a call (not_signed_in: no skipping), and the calling page of a signed-in member."""
    paths = []
    for scene in ("sign-in", "sign-in-bad-login", "sign-in-required", "signed-in"):
        panel = PanelWindow(window, None, lang=lang, clock=lambda: now, sign_in_first=True)
        panel.bridge = _Bridge()  # type: ignore[assignment]
        panel.on_catalog(CATALOG)
        panel.on_connection(True)
        panel.on_server({"v": 1, "state": "online"})
        panel.on_window_state({"v": 1, "status": "open", "current": None, "waiting": 7, "name": "15号窗口"})
        panel.on_reply("case:list", {"v": 1, "ok": True, "op": Op.CASE_LIST, "data": {"cases": []}})
        panel.staff_edit.setText("1015")
        panel.pin_edit.setText("2468")
        if scene == "sign-in-bad-login":
            panel.state.bad_logins = 2
            panel.submit_sign_in()
            panel.on_reply("staff:sign_in", {"v": 1, "ok": False, "op": Op.STAFF_SIGN_IN, "error": {
                "code": "bad_login", "message": "wrong staff number or PIN", "message_zh": "工号或密码不正确"}})
            panel.pin_edit.setText("13")
        elif scene == "sign-in-required":
            panel.on_reply("call_next", {"v": 1, "ok": False, "op": Op.WINDOW_CALL_NEXT, "error": {
                "code": "not_signed_in", "message": "nobody is signed in at window w15",
                "message_zh": "本窗口还没有工作人员签到，请先签到"}})
            panel.staff_edit.clear()
            panel.pin_edit.clear()
        elif scene == "signed-in":
            panel.submit_sign_in()
            panel.on_reply("staff:sign_in", {"v": 1, "ok": True, "op": Op.STAFF_SIGN_IN,
                                             "data": {"staff": "1015", "name": "王*", "window": window}})
        paths.append(_picture(panel, out / f"panel-{scene}-{lang}.png", app))
    return paths


def _case_dialogs(lang: str, out: Path, app: QApplication) -> list[Path]:
    from window_panel.notices import build_notice, case_web_url
    tr = Tr(lang)
    dialogs = CaseDialogs(tr, None)
    services = CATALOG["services"][:2]
    guides = {"ss_pension": GUIDE}
    paths = []
    accept, _a = dialogs.accept_dialog(TICKET, services, guides)
    accept.person.name.setText("张伟")                                    # type: ignore[attr-defined]
    accept.person.id_number.setText(ID_NUMBER)                           # type: ignore[attr-defined]
    accept.person.phone.setText("138 1234 5678")                         # type: ignore[attr-defined]
    accept.person.sms.setChecked(True)                                   # type: ignore[attr-defined]
    accept.materials.list.item(2).setCheckState(Qt.CheckState.Checked)   # type: ignore[attr-defined]
    paths.append(_picture(accept, out / f"panel-dialog-accept-{lang}.png", app, size=_hint(accept)))
    wrong, _a = dialogs.accept_dialog(TICKET, services, guides)
    wrong.person.name.setText("张伟")                                     # type: ignore[attr-defined]
    wrong.person.id_number.setText(ID_NUMBER[:17] + "0")                 # type: ignore[attr-defined]
    wrong.person.phone.setText("1381234567")                             # type: ignore[attr-defined]
    wrong.person.sms.setChecked(True)                                    # type: ignore[attr-defined]
    wrong.accept()                                                       # stays open, saying what is wrong
    paths.append(_picture(wrong, out / f"panel-dialog-accept-invalid-{lang}.png", app, size=_hint(wrong)))
    refuse, _a = dialogs.refuse_dialog(TICKET, services, guides)
    refuse.materials.list.item(1).setCheckState(Qt.CheckState.Checked)  # type: ignore[attr-defined]
    refuse.materials.other.setPlainText("近期一寸免冠照片" if lang == "zh" else "Recent photo")  # type: ignore[attr-defined]
    paths.append(_picture(refuse, out / f"panel-dialog-refuse-{lang}.png", app, size=_hint(refuse)))
    change, _a = dialogs.case_dialog(CASES[0], GUIDE)
    change.change.setCurrentIndex(change.change.findData("extend"))      # type: ignore[attr-defined]
    change.fields["approved_by"].setText("王科长" if lang == "zh" else "Director Wang")  # type: ignore[attr-defined]
    paths.append(_picture(change, out / f"panel-dialog-case-{lang}.png", app, size=_hint(change)))
    hall = CATALOG["hall"]
    for status, extra in (("accepted", {"missing": ["退休审批表"]}),
                          ("refused", {"reason": "申请人不属于本行政区域参保人员，本机关无管辖权。"})):
        notice = build_notice({**_case(7, status, 5), **extra}, lang=lang, hall=tr.name(hall),
                              window_name="15号窗口" if lang == "zh" else "Window 15", hall_phone="0813-5201234",
                              web_url=case_web_url("https://zwfw.daan.gov.cn/t/{token}"),
                              now=datetime.fromisoformat("2026-11-27T10:26:00"))
        shown = dialogs.notice_dialog(notice)
        paths.append(_picture(shown, out / f"panel-notice-{status}-{lang}.png", app, size=_hint(shown)))
    return paths


def _dialogs(window: str, lang: str, out: Path, app: QApplication) -> list[Path]:
    dialogs = PanelDialogs(Tr(lang), None)
    built = {
        "call-number": dialogs.number_dialog(),
        "call-back": dialogs.call_back_dialog(SET_ASIDE),
        "transfer": dialogs.transfer_dialog(CATALOG, TICKET, window),
        "pause": dialogs.pause_dialog(),
    }
    built["call-number"][0].findChild(QLineEdit).setText("A021")
    built["call-back"][0].findChild(QListWidget).setCurrentRow(0)
    transfer = built["transfer"][0]
    transfer.lists[0].setCurrentRow(1)                      # type: ignore[attr-defined]
    return [_picture(dialog, out / f"panel-dialog-{name}-{lang}.png", app,
                     size=(460, 520) if name == "transfer" else None) for name, (dialog, _answer) in built.items()]


def _hint(widget: QWidget) -> tuple[int, int]:
    hint = widget.sizeHint()
    return max(hint.width(), widget.minimumWidth()), hint.height()


def _picture(widget: QWidget, path: Path, app: QApplication, size: tuple[int, int] | None = None) -> Path:
    """Lay the widget out off screen, save it as PNG, and let it go."""
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.show()
    widget.adjustSize()                   # (capped at 2/3 of the offscreen screen: tall forms give their own size)
    if size:
        widget.resize(*size)
    app.processEvents()
    widget.grab().save(str(path))
    widget.close()
    widget.deleteLater()
    return path
