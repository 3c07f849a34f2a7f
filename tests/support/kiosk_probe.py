"""Measuring the kiosk from inside (used by bench/kiosk.py): Qt stays in the GUI packages and tests/."""
from __future__ import annotations

import time


def touch_to_print(broker: str, tickets: int, key: str) -> list[float]:
    """In-process: a real window, bridge, bus and simulated printer; click confirm, time the transport write."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QPushButton

    from hall_bus.gui_thread import GuiThreadCollector
    from kiosk import bridge as bridge_mod
    from kiosk.bridge import KioskBridge
    from kiosk.config import KioskConfig
    from kiosk.hardware import open_devices
    from kiosk.window import KioskWindow

    bridge_mod.LOG_EVENTS = False
    app = QApplication.instance() or QApplication([])
    collect = GuiThreadCollector().start().tick      # garbage freed on the GUI thread only, as in the app
    config = KioskConfig.model_validate({"id": "benchtouch", "broker": broker, "hmac_key": key, "fullscreen": False,
                                         "printer": {"url": "sim://printer"}, "idcard": {"url": ""}})
    bridge: KioskBridge | None = None
    ports = open_devices(config, key.encode(), lambda: bridge.catalog if bridge else None)
    bridge = KioskBridge(config, printer=ports["printer"], hmac_key=key.encode())
    win = KioskWindow(config, bridge)
    win.resize(1080, 1920)
    win.show()
    bridge.start()

    def spin_until(pred, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError("bench: condition not met")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            collect()

    spin_until(lambda: win.journey.current == "home" and ports["printer"].driver.transport is not None)
    transport = ports["printer"].driver.transport
    written: list[float] = []
    original = transport.write

    def timed_write(data: bytes) -> None:
        original(data)
        if len(data) > 32:                   # a ticket job, not a status query
            written.append(time.perf_counter())
    transport.write = timed_write

    svc = next(s for s in win.journey.catalog.services_of("z1") if not s.id_required)
    out = []
    for _ in range(tickets):
        win.do_service(svc.id)
        spin_until(lambda: win.journey.current == "confirm")
        button = win.stack.currentWidget().findChild(QPushButton, "confirm")
        before = len(written)
        t0 = time.perf_counter()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        spin_until(lambda: len(written) > before)
        out.append((written[-1] - t0) * 1000)
        spin_until(lambda: win.journey.current == "done")
        win.go_home()
    bridge.stop()
    win.close()
    app.processEvents()
    return out


