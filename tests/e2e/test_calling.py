"""End to end with the real hall server: a panel key → server → event/call → the display shows it and the
announcer writes the clip; the panel survives a server restart and a broker restart."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from display_board.app import DisplayController
from display_board.bridge import DisplayBridge
from display_board.config import DisplayConfig, VoiceConfig
from hall_bus import BusClient
from tests.support.hall import Mosquitto, RunningHall, start_hall, start_server
from tests.support.tools import require_tool
from window_panel.bridge import PanelBridge
from window_panel.model import Action
from window_panel.view import PanelWindow

pytestmark = pytest.mark.e2e
WAIT = 15000


@pytest.fixture(params=["embedded", "mosquitto"])
def hall(request, tmp_path):
    if request.param == "mosquitto":
        require_tool("mosquitto", package="mosquitto")
    h = start_hall(tmp_path, request.param)
    yield h
    h.stop()


def open_panel(qtbot, hall: RunningHall, window: str = "w15") -> tuple[PanelWindow, BusClient]:
    bus = BusClient(hall.url, hall.hall, f"panel-{window}")
    panel = PanelWindow(window, PanelBridge(bus, window))
    qtbot.addWidget(panel)
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    bus.start()
    qtbot.waitUntil(lambda: panel.state.reachable and panel.state.status is not None, timeout=WAIT)
    return panel, bus


def require_espeak() -> None:
    require_tool("espeak-ng", package="espeak-ng")


def open_speaking_display(qtbot, hall: RunningHall, tmp_path: Path, monkeypatch):
    """A hall display on the bus whose voice writes each call as a WAV file, synthesized for real (no cache)."""
    from display_board.voice import CallVoice
    require_espeak()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    voice_dir = tmp_path / "voice"
    cfg = DisplayConfig(id="e2e", hall=hall.hall, broker=hall.url,
                        voice=VoiceConfig(enabled=True, output=f"dir:{voice_dir}", repeat=1))
    voice = CallVoice(cfg.voice)
    dbus = BusClient(hall.url, hall.hall, cfg.client_id)
    display = DisplayController(cfg, DisplayBridge(dbus), voice=voice, animate=False)
    qtbot.addWidget(display.view)
    display.view.show()
    dbus.start()
    return display, voice, dbus, voice_dir


def service_of(hall: RunningHall, window: str) -> str:
    probe = hall.client("display-probe")
    got: list[dict] = []
    probe.subscribe(hall.topics.state_catalog, lambda _t, p: got.append(p))
    import time
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    probe.stop()
    return next(w for w in got[0]["windows"] if w["id"] == window)["services"][0]


def test_panel_key_calls_and_display_shows_and_announces(qtbot, hall, tmp_path, monkeypatch) -> None:
    display, voice, dbus, voice_dir = open_speaking_display(qtbot, hall, tmp_path, monkeypatch)
    panel, pbus = open_panel(qtbot, hall)
    kiosk = hall.client("kiosk-e2e")
    try:
        ticket = kiosk.request("ticket.issue", {"service": service_of(hall, "w15"), "channel": "walk_in"})
        if panel.state.status != "open":
            qtbot.keyClick(panel, Qt.Key.Key_F9)                      # 开始服务
            qtbot.waitUntil(lambda: panel.state.status == "open", timeout=WAIT)
        qtbot.waitUntil(lambda: panel.buttons[Action.CALL_NEXT].isEnabled(), timeout=WAIT)
        with qtbot.waitSignal(display.call_shown, timeout=WAIT) as shown:
            qtbot.keyClick(panel, Qt.Key.Key_F1)
        assert shown.args[0]["number"] == ticket["number"]
        assert display.model.latest["number"] == ticket["number"] and display.view.hero.highlighting
        qtbot.waitUntil(lambda: panel.number.text() == ticket["number"] and panel.buttons[Action.FINISH].isEnabled(),
                        timeout=WAIT)
        assert voice.drain(30)
        clips = sorted(voice_dir.glob("*.wav"))
        assert len(clips) == 1 and ticket["number"] in clips[0].name and clips[0].stat().st_size > 10000
        # recall: a second clip (重呼), queued after the first, never on top of it
        with qtbot.waitSignal(display.call_shown, timeout=WAIT) as shown:
            qtbot.keyClick(panel, Qt.Key.Key_F2)
        assert shown.args[0]["recall"] is True
        assert voice.drain(30)
        assert len(list(voice_dir.glob("*.wav"))) == 2
        # finish: no ticket left, finish is disabled again
        qtbot.waitUntil(lambda: panel.buttons[Action.FINISH].isEnabled(), timeout=WAIT)   # recall replied
        qtbot.keyClick(panel, Qt.Key.Key_F3)
        qtbot.waitUntil(lambda: panel.state.current is None and not panel.buttons[Action.FINISH].isEnabled(),
                        timeout=WAIT)
    finally:
        kiosk.stop()
        pbus.stop()
        dbus.stop()
        voice.close()


def test_panel_shows_server_restart_and_recovers(qtbot, tmp_path) -> None:
    hall = start_hall(tmp_path, "embedded")
    try:
        panel, pbus = open_panel(qtbot, hall)
        port = int(hall.url.rsplit(":", 1)[1])
        hall.kill()   # the embedded broker dies with it: the panel loses the bus
        qtbot.waitUntil(lambda: panel.banner.isVisible() and "断开" in panel.banner.text(), timeout=WAIT)
        assert not any(b.isEnabled() for b in panel.buttons.values())
        hall.proc, _ready, _log = start_server(hall.data, broker_port=port)
        qtbot.waitUntil(lambda: not panel.banner.isVisible() and panel.state.status is not None, timeout=WAIT)
        assert panel.buttons[Action.PAUSE].isEnabled()
        pbus.stop()
    finally:
        hall.stop()


def test_panel_shows_server_offline_behind_a_live_broker(qtbot, tmp_path) -> None:
    require_tool("mosquitto", package="mosquitto")
    hall = start_hall(tmp_path, "mosquitto")
    try:
        panel, pbus = open_panel(qtbot, hall)
        hall.kill()   # Mosquitto stays: the server's last will says offline
        qtbot.waitUntil(lambda: panel.banner.isVisible() and "服务器" in panel.banner.text(), timeout=WAIT)
        assert not any(b.isEnabled() for b in panel.buttons.values())
        hall.proc, _ready, _log = start_server(hall.data, broker_url=hall.mosquitto.url)
        qtbot.waitUntil(lambda: not panel.banner.isVisible(), timeout=WAIT)
        # and the broker itself restarting on the same port
        hall.mosquitto.stop()
        qtbot.waitUntil(lambda: panel.banner.isVisible() and "断开" in panel.banner.text(), timeout=WAIT)
        hall.mosquitto = Mosquitto(tmp_path, port=hall.mosquitto.port).start()
        qtbot.waitUntil(lambda: not panel.banner.isVisible() and panel.state.status is not None, timeout=WAIT)
        pbus.stop()
    finally:
        hall.stop()


def test_keypad_key_calls_screen_display_and_voice(qtbot, tmp_path, monkeypatch) -> None:
    """The calling chain from a wired keypad: key press on the simulated FF 68 bus → device controller →
    server → the simulated window LED screen gets the number frame, the hall display shows the call and the
    announcer writes the clip."""
    from devices.config import DevicesConfig
    from devices.controller import DeviceController
    from devices.keypad.protocol import Key
    from hall_bus.configfile import validate
    require_espeak()                              # before the hall starts: a failure must not leave it running
    hall = start_hall(tmp_path, "mosquitto")
    display, voice, dbus, voice_dir = open_speaking_display(qtbot, hall, tmp_path, monkeypatch)
    devices = DeviceController(validate("e2e", {
        "name": "hall", "hall": hall.hall, "broker": hall.url,
        "buses": {"pads": {"kind": "keypad", "url": "sim://keypads?addrs=7"},
                  "line": {"kind": "bus7e", "url": "sim://bus7e?screens=7", "poll_interval_s": 0.02}},
        "keypads": [{"id": "keypad-w7", "bus": "pads", "addr": 7, "window": "w7", "prefix": "A"}],
        "screens": [{"id": "led-w7", "bus": "line", "addr": 7, "window": "w7"}],
    }, DevicesConfig)).start()
    kiosk = hall.client("kiosk-e2e")
    try:
        assert devices.bus.wait_connected(10)
        ticket = kiosk.request("ticket.issue", {"service": service_of(hall, "w7"), "channel": "walk_in"})
        number = ticket["number"]
        pads = devices._buses["pads"].transport.simulator
        line = devices._buses["line"].transport.simulator
        with qtbot.waitSignal(display.call_shown, timeout=WAIT) as shown:
            assert pads.press(7, Key.CALL)                       # the keypad's 呼叫 key
        assert shown.args[0]["number"] == number and shown.args[0]["window"] == "w7"
        assert display.model.latest["number"] == number
        assert line.wait_for(lambda s: s.device(7).number == number and f"请{number}号" in s.device(7).text, 15)
        assert voice.drain(30)
        clips = sorted(voice_dir.glob("*.wav"))
        assert len(clips) == 1 and number in clips[0].name and clips[0].stat().st_size > 10000
    finally:
        devices.stop()
        kiosk.stop()
        dbus.stop()
        voice.close()
        hall.stop()
