"""`--screenshots DIR`: the panel idle, serving, paused, disconnected and showing an error, in zh and en."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from window_panel.model import Action
from window_panel.view import PanelWindow

CATALOG: dict[str, Any] = {
    "v": 1, "hall": {"id": "daan", "name": "大安区政务服务中心", "name_en": "Da'an Government Service Centre"},
    "zones": [{"id": "z1", "name": "社会保障服务区", "name_en": "Social Security"}],
    "services": [{"id": "ss_pension", "zone": "z1", "prefix": "A", "name": "养老保险待遇申领",
                  "name_en": "Pension benefit claim"}],
    "windows": [{"id": "w15", "name": "15号窗口", "name_en": "Window 15", "zone": "z1", "services": ["ss_pension"]}],
}
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
            panel.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
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
                panel.on_reply("call_next", {"v": 1, "ok": False, "op": "window.call_next", "error": {
                    "code": "no_ticket", "message": "no ticket is waiting for this window's services",
                    "message_zh": "当前没有等候的号"}})
            panel.show()
            panel.adjustSize()
            app.processEvents()
            path = out / f"panel-{scene}-{lang}.png"
            panel.grab().save(str(path))
            paths.append(path)
            panel.close()
            panel.deleteLater()
    return paths
