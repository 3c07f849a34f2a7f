"""`onewindow display --config config/display.toml [--broker URL] [--screenshots DIR]`: the hall display (综合屏)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication


from hall_bus.configfile import ConfigError
from hall_bus.gui_thread import quit_on_signals, run_gui
from display_board.bridge import DisplayBridge
from display_board.config import DisplayConfig, load
from display_board.model import BoardModel
from display_board.view import FONT, BoardView

log = logging.getLogger("onewindow.display")


class DisplayController(QObject):
    """Glue: bridge signals → model → view (and voice). All slots run on the GUI thread."""
    call_shown = Signal(object)     # a fresh call (dict) is on screen (tests, bench)
    rebuilt = Signal()              # retained state applied

    def __init__(self, cfg: DisplayConfig, bridge: DisplayBridge | None, *, voice: Any = None,
                 animate: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        self.bridge = bridge
        self.voice = voice
        self.model = BoardModel(zones_shown=list(cfg.zones), max_calls=10)
        self.view = BoardView(self.model, orientation=cfg.orientation, languages=list(cfg.languages),
                              language_mode=cfg.language_mode, alternate_seconds=cfg.alternate_seconds,
                              highlight_seconds=cfg.highlight_seconds, recent_rows=cfg.recent_calls,
                              animate=animate)
        if bridge is not None:
            bridge.catalog.connect(self.on_catalog)
            bridge.zone.connect(self.on_zone)
            bridge.calls.connect(self.on_calls)
            bridge.server.connect(self.on_server)
            bridge.call.connect(self.on_call)
            bridge.connection.connect(self.on_connection)
        self.view.set_online(False)

    def on_catalog(self, cat: dict) -> None:
        self.model.apply_catalog(cat)
        self.view.refresh()
        self.rebuilt.emit()

    def on_zone(self, zone: str, state: dict) -> None:
        self.model.apply_zone(zone, state)
        self.view.zones.update()
        self.rebuilt.emit()

    def on_calls(self, state: dict) -> None:
        self.model.apply_calls(state)
        self.view.hero.update()
        self.view.recent.update()
        self.rebuilt.emit()

    def on_server(self, state: dict) -> None:
        if self.model.apply_server(state):
            self.view.refresh()

    def on_connection(self, up: bool) -> None:
        # After a reconnect the broker re-sends every retained state/*: the screen rebuilds from it.
        self.view.set_online(up)

    def on_call(self, event: dict) -> None:
        accepted, gap = self.model.apply_call_event(event)
        if gap and self.bridge is not None:
            self.bridge.reread_calls()
        if not accepted:
            return
        self.view.hero.highlight(int(event["seq"]))
        self.view.recent.update()
        if self.voice is not None:
            self.voice.announce(event)
        self.call_shown.emit(event)


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="onewindow display", description="the hall display (综合屏)")
    ap.add_argument("--config", default="config/display.toml")
    ap.add_argument("--broker", help="broker URL (overrides the config)")
    ap.add_argument("--screenshots", metavar="DIR", help="render every screen to PNG files and exit")
    ap.add_argument("--windowed", action="store_true", help="not full screen (development)")
    return ap.parse_args(argv)


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setFont(QFont(FONT, 12))
    return app  # type: ignore[return-value]


def run(argv: list[str]) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.broker:
        cfg = cfg.model_copy(update={"broker": args.broker})
    app = make_app()
    if args.screenshots:
        from display_board.screenshots import render_all
        for path in render_all(cfg, Path(args.screenshots)):
            print(path)
        return 0

    from hall_bus import BusClient
    try:
        bus = BusClient(cfg.broker, cfg.hall, cfg.client_id, presence={"display": cfg.id})
    except ValueError as exc:       # a bad broker URL or TLS file
        print(f"onewindow display: {exc}", file=sys.stderr)
        return 2
    bridge = DisplayBridge(bus)
    voice = None
    if cfg.voice.enabled:
        from display_board.voice import CallVoice
        voice = CallVoice(cfg.voice)
    ctl = DisplayController(cfg, bridge, voice=voice)
    view = ctl.view
    view.setWindowTitle("一窗 综合屏 OneWindow hall display")
    view.setCursor(Qt.CursorShape.BlankCursor)
    QShortcut(QKeySequence("Ctrl+Q"), view, app.quit)
    if cfg.fullscreen and not args.windowed:
        view.showFullScreen()
    else:
        view.show()
    quit_on_signals()        # from here a SIGTERM quits cleanly, even one before the loop runs
    bridge.start()
    log.info("display %s on %s (hall %s)", cfg.client_id, cfg.broker, cfg.hall)
    return run_gui(app, QTimer(), bridge.stop, *([voice.close] if voice is not None else []))


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
