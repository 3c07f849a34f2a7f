"""`onewindow panel [--config config/panel.toml] [--window w15] [--broker URL] [--hall daan] [--lang zh|en]
[--screenshots DIR]`: flags override the file."""
from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from hall_bus.gui_thread import quit_on_signals, run_gui
from hall_bus.configfile import validate
from window_panel.config import ConfigError, PanelConfig, load

log = logging.getLogger("onewindow.panel")


def _parse(argv: list[str]) -> tuple[argparse.Namespace, PanelConfig]:
    ap = argparse.ArgumentParser(prog="onewindow panel", description="the staff caller of one window")
    ap.add_argument("--config", metavar="PATH", type=Path,
                    help="config/panel.toml: window, broker, language, optional [printer] and [idcard]")
    ap.add_argument("--window", help="window id, e.g. w15 (required without --config)")
    ap.add_argument("--broker", help="broker URL (default mqtt://127.0.0.1:1883)")
    ap.add_argument("--hall", help="hall id (default daan)")
    ap.add_argument("--lang", choices=("zh", "en"))
    ap.add_argument("--screenshots", metavar="DIR", help="render every screen to PNG files and exit")
    args = ap.parse_args(argv)
    if args.window is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", args.window):
        ap.error(f"--window {args.window!r} is not a window id")
    overrides = {k: v for k, v in (("window", args.window), ("broker", args.broker), ("hall", args.hall),
                                   ("language", args.lang)) if v is not None}
    if not args.config and "window" not in overrides:
        ap.error("--window is required (or --config config/panel.toml)")
    try:
        base = load(args.config).model_dump() if args.config else {}
        cfg = validate(args.config or "command line", {**base, **overrides}, PanelConfig)   # flags win
    except ConfigError as err:
        ap.exit(2, f"onewindow panel: {err}\n")
    return args, cfg


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setFont(QFont("Noto Sans CJK SC", 11))
    return app  # type: ignore[return-value]


def run(argv: list[str]) -> int:
    try:
        args, cfg = _parse(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = make_app()
    if args.screenshots:
        from window_panel.screenshots import render_all
        for path in render_all(cfg.window, Path(args.screenshots)):
            print(path)
        return 0

    from hall_bus import BusClient
    from window_panel.bridge import PanelBridge
    from window_panel.case_dialogs import CardSource
    from window_panel.view import PanelWindow
    try:
        bus = BusClient(cfg.broker, cfg.hall, cfg.client_id, presence={"window": cfg.window})
    except ValueError as exc:
        print(f"onewindow panel: {exc}", file=sys.stderr)
        return 2
    bridge = PanelBridge(bus, cfg.window)
    printer = None
    if cfg.printer.url:
        from window_panel.notices import NoticePrinter
        printer = NoticePrinter(cfg.printer.url, cfg.printer.encoding, cfg.printer.paper_mm)
    cards = CardSource() if cfg.idcard.url else None
    panel = PanelWindow(cfg.window, bridge, lang=cfg.language, footer=f"{cfg.client_id} · {bus.address.url}",
                        printer=printer, card_source=cards, sign_in_first=cfg.sign_in_screen)
    reader = None
    if cards is not None:
        from window_panel.hardware import PanelCardReader
        reader = PanelCardReader(cfg.idcard.url, cfg.idcard.poll_s, bridge.post, cards.set_card)
        try:
            reader.open()
        except Exception as exc:        # the reader retries by itself; a panel without it still calls and accepts
            log.warning("ID-card reader %s: %s", cfg.idcard.url, exc)
    panel.show()
    quit_on_signals()        # from here a SIGTERM quits cleanly, even one before the loop runs
    bridge.start()
    log.info("panel %s on %s (hall %s), printer %s, ID-card reader %s", cfg.client_id, bus.address.url, cfg.hall,
             cfg.printer.url or "none (notices on screen)", cfg.idcard.url or "none")

    def stop() -> None:
        bridge.stop()
        if printer is not None:
            printer.close()
        if reader is not None:
            reader.close()
    return run_gui(app, QTimer(), stop)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
