"""`onewindow kiosk --config config/kiosk.toml`: the citizen touchscreen (entry point run(argv) -> exit code)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from hall_bus.gui_thread import quit_on_signals, run_gui

T0 = time.monotonic()


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="onewindow kiosk", description="OneWindow citizen kiosk (自助取号机)")
    p.add_argument("--config", required=True, help="kiosk TOML file (see config/kiosk.toml)")
    p.add_argument("--broker", help="override the broker URL of the config (mqtt://host:port)")
    p.add_argument("--screenshots", metavar="DIR", help="render every screen to PNG files in DIR, then exit")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--fullscreen", dest="fullscreen", action="store_true", default=None)
    mode.add_argument("--windowed", dest="fullscreen", action="store_false")
    p.add_argument("--orientation", choices=("portrait", "landscape"))
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def run(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from kiosk.config import ConfigError, load
    try:
        config = load(args.config)
        updates = {}
        if args.broker:
            updates["broker"] = args.broker
        if args.orientation:
            updates["orientation"] = args.orientation
        if args.fullscreen is not None:
            updates["fullscreen"] = args.fullscreen
        if updates:
            config = config.model_validate({**config.model_dump(), **updates})
    except ConfigError as exc:
        print(f"onewindow kiosk: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"onewindow kiosk: {exc}", file=sys.stderr)
        return 2

    if args.screenshots:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication
        from kiosk import screenshots, theme
        app = QApplication.instance() or QApplication([sys.argv[0]])
        family = theme.install_font(app)
        return screenshots.render_all(config, Path(args.screenshots), family)

    key: bytes | None
    try:
        key = config.resolve_hmac_key()
    except ConfigError as exc:   # no key, no ID references: walk-in tickets still work, staff are told
        print(f"onewindow kiosk: {'; '.join(exc.problems)}; ID-card tickets are disabled", file=sys.stderr)
        key = None

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from kiosk import theme
    from kiosk.bridge import KioskBridge
    from kiosk.hardware import open_devices
    from kiosk.window import KioskWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    family = theme.install_font(app)
    bridge: KioskBridge | None = None
    try:
        ports = open_devices(config, key, lambda: bridge.catalog if bridge else None)
    except Exception as exc:  # a malformed device URL is a config problem
        print(f"onewindow kiosk: {exc}", file=sys.stderr)
        return 2
    bridge = KioskBridge(config, printer=ports.get("printer"), idcard=ports.get("idcard"),
                         scanner=ports.get("scanner"), voice=ports.get("voice"), hmac_key=key)
    if key is None and config.idcard.url:
        bridge.report_device("idcard", "error", "no_hmac_key")
    window = KioskWindow(config, bridge, portrait=config.orientation == "portrait", family=family)
    window.journey.started = T0
    quit_on_signals()        # from here a SIGTERM quits cleanly, even one before the loop runs
    bridge.start()
    if config.fullscreen:
        window.showFullScreen()
    else:
        window.resize(*((1080, 1920) if config.orientation == "portrait" else (1920, 1080)))
        window.show()
    window.setFocus()

    return run_gui(app, QTimer(), bridge.stop)
