"""`--screenshots DIR`: the display in both orientations and languages, with a fresh call flashing, as PNG."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from display_board.config import DisplayConfig
from display_board.model import BoardModel
from display_board.view import BoardView

ZONES = [("z1", "社会保障服务区", "Social Security", "1F"), ("z2", "行政审批服务区", "Administrative Approval", "1F"),
         ("z3", "税务办理服务区", "Taxation", "2F"), ("z4", "公安户籍服务区", "Public Security & Household Registration", "2F"),
         ("z5", "非公经济服务区", "Private Enterprise Services", "3F"), ("z6", "公共资源交易区", "Public Resource Trading", "3F")]


def sample_catalog() -> dict[str, Any]:
    windows = [{"id": f"w{i}", "name": f"{i}号窗口", "name_en": f"Window {i}", "zone": ZONES[(i - 1) // 17][0],
                "services": []} for i in range(1, 103)]
    return {"v": 1, "business_day": "2026-11-27",
            "hall": {"id": "daan", "name": "大安区政务服务中心", "name_en": "Da'an District Government Service Centre",
                     "notice": "请携带本人有效身份证件办理业务。午间 12:00–13:30 暂停取号。",
                     "notice_en": "Please bring your valid ID. No tickets 12:00–13:30."},
            "no_show_rule": {"rule": "requeue", "requeue_after": 3, "callback_s": 1800},
            "zones": [{"id": z, "name": n, "name_en": e, "floor": f} for z, n, e, f in ZONES],
            "services": [], "windows": windows}


def sample_calls() -> list[dict[str, Any]]:
    rows = [("A023", "w15", "z1"), ("C108", "w41", "z3"), ("B057", "w22", "z2"), ("D012", "w60", "z4"),
            ("A022", "w3", "z1"), ("E031", "w75", "z5"), ("B056", "w18", "z2"), ("F004", "w99", "z6"),
            ("C107", "w38", "z3"), ("A021", "w15", "z1")]
    n = len(rows)
    return [{"v": 1, "seq": 120 + n - i, "ticket_id": f"t{i}", "number": num, "window": w,
             "window_name": f"{w[1:]}号窗口", "zone": z, "service": "", "recall": False,
             "ts": "2026-11-27T10:24:00+08:00"} for i, (num, w, z) in enumerate(rows)]


def sample_model(cfg: DisplayConfig) -> BoardModel:
    model = BoardModel(zones_shown=list(cfg.zones), max_calls=10)
    model.apply_catalog(sample_catalog())
    model.apply_server({"v": 1, "state": "online", "business_day": "2026-11-27"})
    for (z, *_), (waiting, est) in zip(ZONES, [(12, 900), (5, 420), (23, 1680), (0, 0), (3, 240), (1, 30)]):
        model.apply_zone(z, {"v": 1, "waiting": waiting, "serving": 4, "est_wait_s": est, "last_called": []})
    calls = sample_calls()
    model.apply_calls({"v": 1, "calls": calls[1:]})
    model.apply_call_event(calls[0])
    return model


def render_all(cfg: DisplayConfig, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance()
    assert app is not None
    clock = lambda: datetime(2026, 11, 27, 10, 24, 36)  # noqa: E731
    paths = []
    for orientation in ("landscape", "portrait"):
        for name, langs, mode in (("zh", ["zh", "en"], "alternate"), ("en", ["en", "zh"], "alternate"),
                                  ("both", ["zh", "en"], "both")):
            model = sample_model(cfg)
            view = BoardView(model, orientation=orientation, languages=langs, language_mode=mode,
                             highlight_seconds=cfg.highlight_seconds, recent_rows=cfg.recent_calls,
                             animate=False, clock=clock)
            view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
            view.show()
            view.set_online(True)
            view.hero.highlight(int(model.latest["seq"]))  # type: ignore[index]
            app.processEvents()
            path = out / f"display-{orientation}-{name}.png"
            view.grab().save(str(path))
            paths.append(path)
            view.hero.end_highlight()
            view.close()
            view.deleteLater()
    # the same screen a moment later (highlight over) and one with the bus lost
    model = sample_model(cfg)
    view = BoardView(model, orientation="landscape", languages=["zh", "en"], language_mode="both",
                     recent_rows=cfg.recent_calls, animate=False, clock=clock)
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    view.show()
    view.set_online(False)
    app.processEvents()
    path = out / "display-landscape-offline.png"
    view.grab().save(str(path))
    paths.append(path)
    view.close()
    return paths
