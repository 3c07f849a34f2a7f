"""`onewindow panel --window w15 [--broker URL] [--hall daan] [--lang zh|en] [--screenshots DIR]`."""
from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from hall_bus.gui_thread import run_gui

log = logging.getLogger("onewindow.panel")


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="onewindow panel", description="the staff caller of one window")
    ap.add_argument("--window", required=True, help="window id, e.g. w15")
    ap.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="broker URL")
    ap.add_argument("--hall", default="daan", help="hall id")
    ap.add_argument("--lang", choices=("zh", "en"), default="zh")
    ap.add_argument("--screenshots", metavar="DIR", help="render every screen to PNG files and exit")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", args.window):
        ap.error(f"--window {args.window!r} is not a window id")
    return args


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setFont(QFont("Noto Sans CJK SC", 11))
    return app  # type: ignore[return-value]


def run(argv: list[str]) -> int:
    try:
        args = _parse(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = make_app()
    if args.screenshots:
        from window_panel.screenshots import render_all
        for path in render_all(args.window, Path(args.screenshots)):
            print(path)
        return 0

    from hall_bus import BusClient
    from window_panel.bridge import PanelBridge
    from window_panel.view import PanelWindow
    client_id = f"panel-{args.window}"
    try:
        bus = BusClient(args.broker, args.hall, client_id, presence={"window": args.window})
    except ValueError as exc:
        print(f"onewindow panel: {exc}", file=sys.stderr)
        return 2
    bridge = PanelBridge(bus, args.window)
    panel = PanelWindow(args.window, bridge, lang=args.lang, footer=f"{client_id} · {bus.address.url}")
    panel.show()
    bridge.start()
    log.info("panel %s on %s (hall %s)", client_id, bus.address.url, args.hall)
    return run_gui(app, QTimer(), bridge.stop)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
