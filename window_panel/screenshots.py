"""`--screenshots DIR`: the panel idle, serving, paused, disconnected and showing an error, and its four dialogs
(call a number, call back, transfer, pause), in zh and en."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QListWidget, QWidget

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


class _Bridge:
    """Enough of a bridge for a still picture: requests go nowhere."""
    def request(self, *_a: Any) -> None:
        pass


def render_all(window: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance()
    assert app is not None
    now = datetime.fromisoformat("2026-11-27T10:24:36+08:00")
    paths = []
    scenes = ("idle", "serving", "paused", "disconnected", "error")
    for lang in ("zh", "en"):
        for scene in scenes:
            panel = PanelWindow(window, None, lang=lang, clock=lambda: now)
            panel.on_catalog(CATALOG)
            panel.on_connection(True)
            panel.on_server({"v": 1, "state": "online"})
            state = {"v": 1, "status": "open", "current": None, "waiting": 7, "name": "15号窗口"}
            if scene == "serving":
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
            paths.append(_picture(panel, out / f"panel-{scene}-{lang}.png", app))
        paths += _dialogs(window, lang, out, app)
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


def _picture(widget: QWidget, path: Path, app: QApplication, size: tuple[int, int] | None = None) -> Path:
    """Lay the widget out off screen, save it as PNG, and let it go."""
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.show()
    widget.adjustSize()
    if size:
        widget.resize(*size)
    app.processEvents()
    widget.grab().save(str(path))
    widget.close()
    widget.deleteLater()
    return path
