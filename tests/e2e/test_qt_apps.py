"""The three Qt apps as a hall runs them: separate processes (offscreen here) on a real server's bus. Each comes
online, and SIGTERM ends it cleanly (exit 0, offline presence) through the same main loop the apps share
(hall_bus.gui_thread.run_gui)."""
from __future__ import annotations

import os
import queue
import signal
import subprocess

import pytest

from tests.support.hall import ONEWINDOW, ROOT, RunningHall, start_hall

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory):
    h = start_hall(tmp_path_factory.mktemp("qtapps"))
    yield h
    h.stop()


APPS = {
    "panel-w15": ["panel", "--window", "w15"],
    "display-hall-main": ["display", "--config", "config/display.toml", "--windowed"],
    "kiosk-k1": ["kiosk", "--config", "config/kiosk.toml"],
}


@pytest.mark.parametrize("client", list(APPS))
def test_app_comes_online_and_sigterm_ends_it_cleanly(hall: RunningHall, tmp_path, client: str) -> None:
    watcher = hall.client(f"display-watch-{client}")
    states: queue.Queue = queue.Queue()
    watcher.subscribe(hall.topics.presence(client), lambda _t, p: states.put(p.get("state")))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ONEWINDOW_ID_HMAC_KEY="e2e-key",
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    log = (tmp_path / f"{client}.log").open("w")
    proc = subprocess.Popen(ONEWINDOW + APPS[client] + ["--broker", hall.url], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        state = None
        while state != "online":
            state = states.get(timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, (tmp_path / f"{client}.log").read_text()[-2000:]
        while state != "offline":
            state = states.get(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        watcher.stop()
