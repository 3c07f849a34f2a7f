"""LED window and strip screens against the simulated 7E line: content, refresh after power loss,
offline screens, and the installer diagnostic."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from devices.frame7e import protocol as p
from devices.frame7e.bus import Bus7E
from devices.led import LedScreen, ScreenContent, strip_content, window_content
from devices.led.diag import led_command
from devices.transport import open_transport

URL = "sim://bus7e?screens=1,2,31"


@pytest.fixture
def line() -> Iterator[tuple[Bus7E, object]]:
    transport = open_transport(URL)
    bus = Bus7E(transport, url=URL, reply_timeout=0.15, poll_interval=0.02, offline_retry_s=0.2)
    yield bus, transport.simulator
    bus.close()


def test_window_screen_shows_name_and_serving_number(line) -> None:
    bus, sim = line
    screen = LedScreen(bus, 1, brightness=70)
    bus.start()
    state = {"v": 1, "status": "open", "current": {"number": "A023"}, "waiting": 4, "name": "15号窗口"}
    for f in screen.show(window_content("15号窗口", state)):
        f.result(5)
    dev = sim.device(1)
    assert (dev.text, dev.number, dev.brightness) == ("15号窗口|请A023号", "A023", 70)


def test_shorter_content_blanks_the_old_lines(line) -> None:
    bus, sim = line
    screen = LedScreen(bus, 2)
    bus.start()
    for f in screen.show(ScreenContent(("a", "b", "c"))):
        f.result(5)
    for f in screen.show(ScreenContent(("x",))):
        f.result(5)
    assert sim.screen_text(2) == "x||"


def test_screen_that_lost_power_gets_its_content_back(line) -> None:
    bus, sim = line
    screen = LedScreen(bus, 1, refresh_s=3600)
    bus.start()
    for f in screen.show(ScreenContent(("16号窗口", "请B101号"), "B101")):
        f.result(5)
    sim.power_loss(1)
    assert sim.wait_for(lambda s: s.device(1).text == "16号窗口|请B101号" and s.device(1).number == "B101")


def test_periodic_refresh_resends_content(line) -> None:
    bus, sim = line
    screen = LedScreen(bus, 1, refresh_s=0.05)
    bus.start()
    screen.show(ScreenContent(("x",)))
    # a screen that forgot without telling (old firmware: no content-lost flag) is fixed by the refresh
    assert sim.wait_for(lambda s: s.device(1).executed.count((p.Cmd.SHOW_TEXT, p.text_payload(0, "x"))) >= 3)


def test_offline_screen_does_not_block_the_others_and_is_refreshed_when_back(line) -> None:
    bus, sim = line
    dead, alive = LedScreen(bus, 2, refresh_s=3600), LedScreen(bus, 1, refresh_s=3600)
    bus.start()
    sim.silence(2)
    dead.show(ScreenContent(("dead",)))
    for f in alive.show(ScreenContent(("alive",))):
        f.result(5)
    assert sim.screen_text(1) == "alive"
    sim.power_loss(2)
    sim.silence(2, False)
    assert sim.wait_for(lambda s: s.device(2).text == "dead")


def test_strip_screen_content() -> None:
    call = {"text_zh": "请A023号到15号窗口办理", "number": "A023"}
    assert strip_content("社会保障服务区", {"waiting": 12}, call) == ScreenContent(
        ("请A023号到15号窗口办理", "社会保障服务区 等候12人"), scroll=True)
    assert strip_content("税务办理服务区", None, None).lines == ("税务办理服务区",)


@pytest.mark.parametrize(("state", "line2", "number"), [
    ({"status": "paused", "current": None}, "暂停服务", None),
    ({"status": "closed", "current": None}, "暂停服务", None),
    ({"status": "open", "current": None}, "欢迎光临", None),
    ({"status": "open", "current": {"number": "C007"}}, "请C007号", "C007"),
])
def test_window_content_by_status(state: dict, line2: str, number: str | None) -> None:
    content = window_content("3号窗口", {"v": 1, **state})
    assert content.lines == ("3号窗口", line2) and content.number == number


def test_led_diagnostic_command() -> None:
    result = led_command("sim://bus7e?screens=5", 5, "测试 TEST 123")
    assert result == {"ok": True, "port": "sim://bus7e?screens=5", "addr": 5, "text": "测试 TEST 123",
                      "kind": "screen", "content_lost": True, "retries": 0}
    missing = led_command("sim://bus7e?screens=5", 6, "x", timeout=0.05)
    assert missing["ok"] is False and "device 6" in missing["error"]


def test_installer_led_command_shows_text_on_a_simulated_screen() -> None:
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "onewindow", "device", "led", "--port", "sim://bus7e?screens=3",
                          "--addr", "3", "--text", "请A023号"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] is True and result["addr"] == 3 and result["text"] == "请A023号"
