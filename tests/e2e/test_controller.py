"""The device controller against a real Mosquitto broker, simulated RS-485 lines and a stand-in hall
server written here (it answers the PROTOCOL.md requests the controller sends)."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hall_bus import BusClient, Topics
from hall_bus.configfile import validate
from hall_bus.contract import make_error, make_ok, BusError, ErrorCode
from devices.config import DevicesConfig
from devices.controller import DeviceController
from devices.keypad.protocol import Key
from tests.support.tools import require_tool

pytestmark = pytest.mark.mosquitto
HALL = "daan"
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- broker
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    def __init__(self, tmp: Path) -> None:
        self.binary = require_tool("mosquitto", package="mosquitto")
        self.port = _free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
                             "persistence false\n")
        self.proc: subprocess.Popen | None = None
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("mosquitto exited at start")
                threading.Event().wait(0.02)      # waiting for a child process to listen
        raise RuntimeError("mosquitto did not listen")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    m = Mosquitto(tmp_path)
    m.start()
    yield m
    m.stop()


# ---------------------------------------------------------------- a stand-in hall server (test only)
class FakeHall:
    """Answers window.* / evaluation.submit like PROTOCOL.md, publishes state/window, state/zone and event/call."""

    def __init__(self, url: str, windows: dict[str, str]) -> None:
        self.topics = Topics(HALL)
        self.client = BusClient(url, HALL, "onewindow-server")
        self.windows = windows                       # window -> zone
        self.waiting: list[dict[str, Any]] = []
        self.tickets: dict[str, dict[str, Any]] = {}
        self.state: dict[str, dict[str, Any]] = {w: {"status": "open", "current": None} for w in windows}
        self.requests: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.evaluations: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seq = 0
        self._lock = threading.Lock()

    def start(self) -> "FakeHall":
        self.client.subscribe(self.topics.request_filter(), self._on_request, raw=True)
        self.client.start()
        assert self.client.wait_connected(10)
        for w in self.windows:
            self._publish_window(w)
        self.client.publish(self.topics.state_catalog, {"v": 1, "zones": [{"id": "z1", "name": "社会保障服务区"}],
                                                        "windows": [{"id": w, "name": f"{w[1:]}号窗口"} for w in self.windows]},
                            retain=True)
        return self

    def stop(self) -> None:
        self.client.stop()

    def issue(self, number: str, zone: str = "z1") -> None:
        with self._lock:
            t = {"id": f"t-{number}", "number": number, "zone": zone, "state": "waiting", "window": None}
            self.tickets[t["id"]] = t
            self.waiting.append(t)
        self._publish_zone(zone)

    def _publish_window(self, w: str) -> None:
        s = self.state[w]
        self.client.publish(self.topics.state_window(w), {"v": 1, "status": s["status"], "current": s["current"],
                                                          "waiting": len(self.waiting), "name": f"{w[1:]}号窗口"},
                            retain=True)

    def _publish_zone(self, zone: str) -> None:
        self.client.publish(self.topics.state_zone(zone), {"v": 1, "waiting": len(self.waiting), "serving": 0,
                                                           "est_wait_s": 60, "last_called": []}, retain=True)

    def _call(self, w: str, t: dict[str, Any], recall: bool = False) -> None:
        self.seq += 1
        t.update(state="serving", window=w)
        self.state[w]["current"] = dict(t)
        self._publish_window(w)
        self._publish_zone(self.windows[w])
        self.client.publish(self.topics.event_call, {
            "v": 1, "seq": self.seq, "ticket_id": t["id"], "number": t["number"], "window": w,
            "window_name": f"{w[1:]}号窗口", "zone": self.windows[w], "service": "ss", "recall": recall,
            "text_zh": f"请{t['number']}号到{w[1:]}号窗口办理", "text_en": "", "ts": "2026-11-27T09:00:00+08:00"})

    def _on_request(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        client, op = parts[3], parts[4]
        req = json.loads(payload)
        args = req["args"]
        self.requests.put((op, args))
        try:
            data = self._serve(op, args)
            reply = make_ok(req["id"], op, data)
        except BusError as exc:
            reply = make_error(req["id"], op, exc)
        self.client.publish(self.topics.response(client), reply)

    def _serve(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if op == "evaluation.submit":
                self.evaluations.put(args)
                return {}
            w = args["window"]
            if w not in self.state:
                raise BusError(ErrorCode.UNKNOWN_WINDOW, w)
            cur = self.state[w]["current"]
            if op == "window.call_next":
                if cur:
                    self.tickets[cur["id"]]["state"] = "done"
                if not self.waiting:
                    self.state[w]["current"] = None
                    self._publish_window(w)
                    raise BusError(ErrorCode.NO_TICKET, "nothing to call")
                t = self.waiting.pop(0)
                self._call(w, t)
                return dict(t)
            if op == "window.call":
                t = next((t for t in self.tickets.values() if t["number"] == args["number"]
                          and t["state"] in ("held", "no_show", "waiting")), None)
                if t is None:
                    raise BusError(ErrorCode.UNKNOWN_TICKET, args["number"])
                if t in self.waiting:
                    self.waiting.remove(t)
                self._call(w, t)
                return dict(t)
            if op in ("window.pause", "window.resume"):
                self.state[w]["status"] = "paused" if op == "window.pause" else "open"
                self._publish_window(w)
                return {"status": self.state[w]["status"]}
            if not cur:
                raise BusError(ErrorCode.CONFLICT, "no ticket is being served")
            t = self.tickets[cur["id"]]
            if op == "window.recall":
                self._call(w, t, recall=True)
                return dict(t)
            t["state"] = {"window.finish": "done", "window.no_show": "no_show", "window.hold": "held",
                          "window.transfer": "transferred"}[op]
            self.state[w]["current"] = None
            self._publish_window(w)
            return dict(t)


# ---------------------------------------------------------------- controller under test
def _config(broker: str, **extra: Any) -> DevicesConfig:
    raw = {
        "name": "t1", "hall": HALL, "broker": broker, "refresh_s": 0.5,
        "buses": {"pads": {"kind": "keypad", "url": "sim://keypads?addrs=1,2", "reply_timeout_s": 0.15,
                           "repeat_window_s": 0.001},  # no lost echoes here (see test_keypad_bus)
                  "line": {"kind": "bus7e", "url": "sim://bus7e?screens=1,2,31&evaluators=11&keypads=21",
                           "poll_interval_s": 0.02, "reply_timeout_s": 0.1, "offline_retry_s": 0.3}},
        "keypads": [{"id": "keypad-w1", "bus": "pads", "addr": 1, "window": "w1", "prefix": "A", "transfer_to": "w9"},
                    {"id": "keypad-w2", "bus": "pads", "addr": 2, "window": "w2", "prefix": "A"},
                    {"id": "keypad7e-w2", "bus": "line", "addr": 21, "window": "w2", "prefix": "A"}],
        "screens": [{"id": "led-w1", "bus": "line", "addr": 1, "window": "w1"},
                    {"id": "led-w2", "bus": "line", "addr": 2, "window": "w2"}],
        "strips": [{"id": "strip-z1", "bus": "line", "addr": 31, "zone": "z1"}],
        "evaluators": [{"id": "eval-w1", "bus": "line", "addr": 11, "window": "w1"}],
        **extra,
    }
    return validate("test", raw, DevicesConfig)


class Rig:
    def __init__(self, broker: Mosquitto, **extra: Any) -> None:
        self.hall = FakeHall(broker.url, {"w1": "z1", "w2": "z1", "w9": "z1"}).start()
        self.controller = DeviceController(_config(broker.url, **extra)).start()
        self.pads = self.controller._buses["pads"].transport.simulator
        self.line = self.controller._buses["line"].transport.simulator
        assert self.controller.bus.wait_connected(10)
        self.status: dict[str, dict[str, Any]] = {}
        self._status_changed = threading.Condition()
        self.watch = BusClient(broker.url, HALL, "display-watch")
        self.watch.subscribe(self.hall.topics.device_status_all, self._on_status)
        self.watch.start()
        assert self.watch.wait_connected(10)

    def _on_status(self, topic: str, payload: dict[str, Any]) -> None:
        with self._status_changed:
            self.status[topic.split("/")[-2]] = payload
            self._status_changed.notify_all()

    def wait_status(self, device: str, state: str, timeout: float = 10) -> dict[str, Any]:
        with self._status_changed:
            assert self._status_changed.wait_for(lambda: self.status.get(device, {}).get("state") == state, timeout), \
                f"{device}: {self.status.get(device)}"
            return self.status[device]

    def request(self, timeout: float = 10) -> tuple[str, dict[str, Any]]:
        return self.hall.requests.get(timeout=timeout)

    def close(self) -> None:
        self.controller.stop()
        self.watch.stop()
        self.hall.stop()


@pytest.fixture
def rig(broker: Mosquitto) -> Iterator[Rig]:
    r = Rig(broker)
    yield r
    r.close()


def test_call_key_calls_next_and_every_display_follows(rig: Rig) -> None:
    rig.hall.issue("A001")
    assert rig.pads.press(1, Key.CALL)
    assert rig.request() == ("window.call_next", {"window": "w1"})
    assert rig.pads.wait_for(lambda s: s.keypad(1).display == "001")
    assert rig.line.wait_for(lambda s: s.device(1).text == "1号窗口|请A001号" and s.device(1).number == "A001")
    assert rig.line.wait_for(lambda s: s.device(31).text == "请A001号到1号窗口办理|社会保障服务区 等候0人")
    for device in ("keypad-w1", "keypad-w2", "led-w1", "led-w2", "strip-z1", "eval-w1", "keypad7e-w2"):
        status = rig.wait_status(device, "ok")
        assert status["v"] == 1 and status["kind"] in ("keypad", "led", "led_strip", "evaluator")


def test_keypad_commands_map_to_protocol_requests(rig: Rig) -> None:
    for n in ("A001", "A002", "A003"):
        rig.hall.issue(n)
    steps = [
        (lambda: rig.pads.press(1, Key.CALL), ("window.call_next", {"window": "w1"})),
        (lambda: rig.pads.press(1, Key.RECALL), ("window.recall", {"window": "w1"})),
        (lambda: rig.pads.press(1, Key.CONFIRM, (0, 0)), ("window.hold", {"window": "w1"})),
        (lambda: rig.pads.press(1, Key.CALL), ("window.call_next", {"window": "w1"})),
        (lambda: rig.pads.press(1, Key.CONFIRM, (0, 6)), ("window.no_show", {"window": "w1"})),
        (lambda: rig.pads.type_keys(1, [0, 3, 0, 0, 1, Key.CONFIRM]), ("window.call", {"window": "w1", "number": "A001"})),
        (lambda: rig.pads.press(1, Key.TRANSFER, (1, 5)), ("window.transfer", {"window": "w1", "to_window": "w15"})),
        (lambda: rig.pads.press(1, Key.TRANSFER), ("window.transfer", {"window": "w1", "to_window": "w9"})),
        (lambda: rig.pads.press(1, Key.PAUSE), ("window.pause", {"window": "w1"})),
    ]
    for i, (act, expected) in enumerate(steps):
        assert act(), f"step {i}: keypad got no echo"
        assert rig.request() == expected, f"step {i}"
    assert rig.line.wait_for(lambda s: s.device(1).text == "1号窗口|暂停服务")
    assert rig.pads.press(1, Key.PAUSE)
    assert rig.request() == ("window.resume", {"window": "w1"})
    # a 7E keypad on the other line drives window w2 the same way
    rig.line.press_key(21, Key.CALL)
    assert rig.request() == ("window.call_next", {"window": "w2"})
    assert rig.line.wait_for(lambda s: s.device(21).number == "A003")


def test_error_reply_and_invalid_entry_beep_the_keypad(rig: Rig) -> None:
    assert rig.pads.press(2, Key.CALL)                        # nothing waiting: no_ticket
    assert rig.request() == ("window.call_next", {"window": "w2"})
    assert rig.pads.wait_for(lambda s: s.keypad(2).beeps == 2)
    assert rig.pads.press(2, Key.CONFIRM, (0, 9))            # not a known sequence: no request at all
    assert rig.pads.wait_for(lambda s: s.keypad(2).beeps == 4)
    assert rig.hall.requests.empty()


def test_evaluate_key_finishes_and_binds_the_grade_to_that_ticket(rig: Rig) -> None:
    rig.hall.issue("A007")
    assert rig.pads.press(1, Key.CALL)
    assert rig.request()[0] == "window.call_next"
    assert rig.pads.press(1, Key.EVALUATE)
    assert rig.request() == ("window.finish", {"window": "w1"})
    assert rig.line.wait_for(lambda s: s.device(11).text == "请您对本次服务进行评价" and s.device(11).beeps == 1)
    rig.line.press_grade(11, 4)
    assert rig.hall.evaluations.get(timeout=10) == {"ticket_id": "t-A007", "grade": 4}
    assert rig.line.wait_for(lambda s: s.device(11).text == "感谢您的评价")
    rig.line.press_grade(11, 1)                               # a second grade has no ticket left: dropped
    assert rig.line.wait_for(lambda s: not s.device(11).events)
    assert rig.hall.evaluations.empty()


def test_grade_while_served_is_bound_when_call_next_finishes_the_ticket(rig: Rig) -> None:
    rig.hall.issue("A010")
    rig.hall.issue("A011")
    assert rig.pads.press(1, Key.CALL)
    rig.request()
    assert rig.line.wait_for(lambda s: s.device(1).number == "A010")
    rig.line.press_grade(11, 5)
    assert rig.line.wait_for(lambda s: not s.device(11).events)
    assert rig.pads.press(1, Key.CALL)                        # the server finishes A010 first
    rig.request()
    assert rig.hall.evaluations.get(timeout=10) == {"ticket_id": "t-A010", "grade": 5}


def test_dead_devices_are_reported_and_the_others_keep_working(rig: Rig) -> None:
    rig.wait_status("led-w2", "ok")
    rig.line.silence(2)
    rig.pads.silence(2)
    status = rig.wait_status("led-w2", "offline")
    assert status["kind"] == "led" and status["detail"]["addr"] == 2
    rig.wait_status("keypad-w2", "offline")                   # the periodic display refresh gets no echo
    rig.hall.issue("A020")
    assert rig.pads.press(1, Key.CALL)
    rig.request()
    assert rig.line.wait_for(lambda s: s.device(1).number == "A020")
    rig.line.power_loss(2)
    rig.line.silence(2, False)
    rig.wait_status("led-w2", "ok")
    assert rig.line.wait_for(lambda s: s.device(2).text == "2号窗口|欢迎光临")


def test_broker_restart_is_survived(broker: Mosquitto, rig: Rig) -> None:
    lost, back = threading.Event(), threading.Event()
    rig.controller.bus.on_connection(lambda up: (back if up else lost).set())
    broker.stop()
    assert lost.wait(15)
    broker.start()
    assert back.wait(20)
    assert rig.hall.client.wait_connected(20)
    rig.hall.issue("A030")
    assert rig.pads.press(1, Key.CALL)
    assert rig.request(timeout=20) == ("window.call_next", {"window": "w1"})
    assert rig.line.wait_for(lambda s: s.device(1).number == "A030", timeout=10)
    rig.wait_status("led-w1", "ok")                           # retained status re-published after reconnect


def test_calls_are_announced_on_the_zone_speaker(broker: Mosquitto, tmp_path: Path) -> None:
    require_tool("espeak-ng", package="espeak-ng")
    out = tmp_path / "voice"
    r = Rig(broker, speakers=[{"id": "speaker-z1", "zones": ["z1"],
                               "voice": {"output": f"dir:{out}", "repeat": 1, "cache_dir": str(tmp_path / "cache")}}])
    try:
        r.wait_status("speaker-z1", "ok")
        r.hall.issue("A101")
        assert r.pads.press(1, Key.CALL)
        r.request()
        deadline = time.monotonic() + 30
        while not list(out.glob("*.wav")) and time.monotonic() < deadline:
            threading.Event().wait(0.05)                      # the voice worker writes the WAV on its own thread
        assert list(out.glob("*.wav")), "no call was written"
    finally:
        r.close()


def test_missing_voice_engine_is_reported_and_the_rest_works(broker: Mosquitto, monkeypatch) -> None:
    import devices.controller as controller_module
    real_which = shutil.which
    monkeypatch.setattr(controller_module.shutil, "which", lambda name: None if name == "espeak-ng" else real_which(name))
    r = Rig(broker, speakers=[{"id": "speaker-all", "voice": {"output": "none"}}])
    try:
        status = r.wait_status("speaker-all", "error")
        assert "espeak-ng" in status["detail"]["problem"]
        r.hall.issue("A201")
        assert r.pads.press(1, Key.CALL)
        assert r.request()[0] == "window.call_next"
    finally:
        r.close()


def test_command_line_runs_until_sigterm_and_reports_devices_offline(broker: Mosquitto, tmp_path: Path) -> None:
    cfg = tmp_path / "devices.toml"
    cfg.write_text((ROOT / "config" / "devices.toml").read_text(encoding="utf-8").split("# ---- speakers")[0],
                   encoding="utf-8")
    watch = BusClient(broker.url, HALL, "display-cli")
    seen: dict[str, str] = {}
    changed = threading.Condition()

    def on_status(topic: str, payload: dict[str, Any]) -> None:
        with changed:
            seen[topic.split("/")[-2]] = payload["state"]
            changed.notify_all()
    watch.subscribe(Topics(HALL).device_status_all, on_status)
    watch.start()
    proc = subprocess.Popen([sys.executable, "-m", "devices.controller", "--config", str(cfg), "--broker", broker.url],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = json.loads(proc.stdout.readline())
        assert line == {"event": "ready", "client_id": "devices-hall", "broker": broker.url}
        with changed:
            assert changed.wait_for(lambda: seen.get("led-w1") == "ok" and seen.get("keypad-w3") == "ok", 15)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        with changed:
            assert changed.wait_for(lambda: seen.get("led-w1") == "offline", 10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        watch.stop()
