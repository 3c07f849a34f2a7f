"""The server's own broker is a Mosquitto child the server configures and supervises (issue 9, findings 3 and 4):
a fresh `state/#` subscriber receives every retained message of the reference hall; a broker child killed as an OOM
kill would be is restarted and the hall serves again within seconds; a child that cannot be restarted makes the
server exit non-zero (systemd restarts it); a subscriber to `#` that never reads cannot grow the broker without
bound."""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hall_server.config import load_hall_config
from tests.support.hall import HALL_CONFIG, start_hall
from tests.support.tools import require_tool

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _mosquitto() -> None:
    require_tool("mosquitto", package="mosquitto")


def expected_retained() -> int:
    """What the server retains for the reference hall: catalog, guides, zones and queues, windows and their staff,
    calls, server, alerts, notice."""
    cfg = load_hall_config(HALL_CONFIG)
    return 1 + len(cfg.guides()) + 2 * len(cfg.zones) + 2 * len(cfg.windows) + 1 + 1 + 2


def retained_count(port: int, settle: float = 1.5, timeout: float = 15.0, filt: str = "onewindow/daan/state/#"
                   ) -> set[str]:
    topics: set[str] = set()
    last = [time.monotonic()]
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"display-probe{os.getpid()}")

    def on_message(_c, _u, msg):  # noqa: ANN001
        if msg.retain:
            topics.add(msg.topic)
        last[0] = time.monotonic()

    c.on_message = on_message
    c.on_connect = lambda cl, *_a: cl.subscribe(filt, qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    start = time.monotonic()
    try:
        while time.monotonic() - start < timeout:
            time.sleep(0.1)
            if topics and time.monotonic() - last[0] > settle:
                break
    finally:
        c.disconnect()
        c.loop_stop()
    return topics


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def issue_ok(hall, client_id: str, timeout: float = 20.0) -> float:  # noqa: ANN001
    """Seconds until a ticket.issue is answered (the client retries under one id)."""
    t0 = time.monotonic()
    c = hall.client(client_id)
    try:
        reply = c.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=timeout)
        assert reply["number"]
    finally:
        c.stop()
    return time.monotonic() - t0


def test_the_default_broker_is_a_supervised_mosquitto_child(tmp_path: Path) -> None:
    hall = start_hall(tmp_path)
    try:
        assert hall.ready["broker_kind"] == "MosquittoBroker"
        conf = (hall.data / "broker" / "mosquitto.conf").read_text()
        for line in ("persistence false", "set_tcp_nodelay true", "message_size_limit 65536",
                     "max_queued_messages", "max_queued_bytes", "max_inflight_messages"):
            assert line in conf
        assert f"listener {port_of(hall.url)} 127.0.0.1" in conf
    finally:
        hall.stop()


def test_a_fresh_subscriber_gets_every_retained_message(tmp_path: Path) -> None:
    """The reference hall retains 238 state messages (catalog, 121 guides, 6 zones, 6 queues, 102 windows, calls,
    server); its devices add their presence and device status. A display that starts now must get all of them
    (with Mosquitto's max_queued_messages 100 a new subscriber got only 120 of 200)."""
    hall = start_hall(tmp_path)
    try:
        state = expected_retained()
        got = retained_count(port_of(hall.url))
        assert len(got) == state, f"a new state/# subscriber got {len(got)} of {state} retained messages"
        dev = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="devices-hall")
        dev.connect("127.0.0.1", port_of(hall.url))
        dev.loop_start()
        for i in range(60):                 # 60 kiosks' and controllers' presence and printer status
            dev.publish(f"onewindow/daan/presence/kiosk-k{i}", b'{"v":1,"state":"online","role":"kiosk"}',
                        qos=1, retain=True)
            dev.publish(f"onewindow/daan/device/kiosk-k{i}/printer/status",
                        b'{"v":1,"kind":"printer","state":"ok","detail":{}}', qos=1, retain=True).wait_for_publish(5)
        dev.disconnect()
        dev.loop_stop()
        want = state + 120
        assert want >= 200
        got = retained_count(port_of(hall.url), filt="onewindow/daan/#")
        assert len(got) == want, f"a new subscriber to the hall got {len(got)} of {want} retained messages"
    finally:
        hall.stop()


def test_a_killed_broker_child_is_restarted_and_the_hall_serves_again(tmp_path: Path) -> None:
    hall = start_hall(tmp_path)
    try:
        issue_ok(hall, "kiosk-k1")
        pid = hall.ready["broker_pid"]
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        took = issue_ok(hall, "kiosk-k2", timeout=15)
        elapsed = time.monotonic() - t0
        assert hall.proc.poll() is None, "the server must stay up"
        assert elapsed < 10, f"the hall served again only after {elapsed:.1f} s"
        print(json.dumps({"broker_sigkill_to_ticket_s": round(elapsed, 2), "issue_s": round(took, 2)}))
        # every retained message is back for a display that starts now (the server re-publishes on reconnect)
        assert len(retained_count(port_of(hall.url))) == expected_retained()
        assert "died" in hall.log()
    finally:
        hall.stop()


def test_a_broker_child_that_cannot_be_restarted_makes_the_server_exit_non_zero(tmp_path: Path) -> None:
    hall = start_hall(tmp_path)
    try:
        (hall.data / "broker" / "mosquitto.conf").write_text("no_such_option 1\n")   # the next start fails
        os.kill(hall.ready["broker_pid"], signal.SIGKILL)
        code = hall.proc.wait(30)
        assert code != 0
        assert "cannot be restarted" in hall.log()
    finally:
        hall.stop()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _raw_subscriber(port: int, client_id: bytes, topic: bytes, qos: int) -> socket.socket:
    """An MQTT client that subscribes and then never reads (a tiny receive buffer, like a stuck device)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack(">H", len(client_id)) + client_id
    s.sendall(bytes([0x10, len(body)]) + body)
    assert s.recv(4)[:1] == b"\x20"
    body = struct.pack(">H", 1) + struct.pack(">H", len(topic)) + topic + bytes([qos])
    s.sendall(bytes([0x82, len(body)]) + body)
    return s


def test_a_subscriber_that_never_reads_cannot_grow_the_broker(tmp_path: Path) -> None:
    hall = start_hall(tmp_path)
    slow = None
    try:
        port, pid = port_of(hall.url), hall.ready["broker_pid"]
        slow = _raw_subscriber(port, b"display-stuck", b"#", 1)
        time.sleep(0.5)
        before = _rss_mb(pid)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="devices-burst")
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        payload = json.dumps({"v": 1, "kind": "printer", "state": "ok", "detail": {"pad": "x" * 60000}}).encode()
        t0 = time.monotonic()
        sent = 0
        while time.monotonic() - t0 < 6 and sent < 4000:      # ~240 MB offered to the stuck subscriber
            pub.publish("onewindow/daan/device/devices-burst/p1/status", payload, qos=1).wait_for_publish(5)
            sent += 1
        pub.disconnect()
        pub.loop_stop()
        time.sleep(0.5)
        after = _rss_mb(pid)
        print(json.dumps({"sent_mb": round(sent * len(payload) / 2**20), "rss_before_mb": round(before, 1),
                          "rss_after_mb": round(after, 1)}))
        assert sent * len(payload) > 100 * 2**20
        assert after - before < 40, f"broker RSS grew from {before:.0f} to {after:.0f} MB"
        issue_ok(hall, "kiosk-k1")            # and the hall still serves
    finally:
        if slow:
            slow.close()
        hall.stop()


def _broker_children(server_pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


def test_a_qos0_subscriber_that_never_reads_cannot_grow_the_broker_either(tmp_path: Path) -> None:
    """Mosquitto 2.0 does not bound what waits for a QoS 0 subscriber's socket: the supervisor restarts a child
    whose memory passes the limit (here 64 MB), and the hall serves again."""
    hall = start_hall(tmp_path, env={"ONEWINDOW_BROKER_MAX_RSS_MB": "64"})
    slow = None
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in _broker_children(hall.proc.pid):
                try:
                    peak[0] = max(peak[0], _rss_mb(pid))
                except (OSError, AssertionError):
                    pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        port, first = port_of(hall.url), hall.ready["broker_pid"]
        slow = _raw_subscriber(port, b"display-stuck0", b"#", 0)
        time.sleep(0.3)
        sampler.start()
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="devices-burst0")
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        payload = b"x" * 60000
        t0 = time.monotonic()
        sent = 0
        while time.monotonic() - t0 < 6 and sent < 6000:      # up to ~360 MB offered
            info = pub.publish("onewindow/daan/device/devices-burst0/p1/status", payload, qos=1)
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass
            sent += 1
        pub.loop_stop()
        time.sleep(1.0)
        done.set()
        sampler.join(2)
        print(json.dumps({"qos0_sent_mb": round(sent * len(payload) / 2**20), "peak_rss_mb": round(peak[0], 1)}))
        assert peak[0] < 200, f"broker RSS peaked at {peak[0]:.0f} MB"
        assert "killing it to restart it" in hall.log()
        assert hall.proc.poll() is None
        issue_ok(hall, "kiosk-k1")            # the hall serves again
        assert first not in _broker_children(hall.proc.pid)
    finally:
        done.set()
        if slow:
            slow.close()
        hall.stop()
