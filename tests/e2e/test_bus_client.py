"""The MQTT client wrapper against a real Mosquitto: presence and last will, retained state re-published after a
broker restart, request retry under the same id."""
from __future__ import annotations

import queue
import threading

import pytest

from hall_bus import BusClient, RequestError
from hall_bus.contract import encode_json
from tests.support.hall import Mosquitto


@pytest.fixture
def broker(tmp_path):
    m = Mosquitto(tmp_path).start()
    yield m
    m.stop()


def test_presence_online_then_last_will_offline(broker) -> None:
    watcher = BusClient(broker.url, "daan", "display-w").start()
    seen: queue.Queue = queue.Queue()
    watcher.subscribe(watcher.topics.presence("kiosk-k1"), lambda t, p: seen.put(p))
    assert watcher.wait_connected(5) and watcher.subscribed.wait(5)
    k = BusClient(broker.url, "daan", "kiosk-k1", presence={"name": "一号机"}).start()
    assert k.wait_connected(5)
    online = seen.get(timeout=5)
    assert online == {"v": 1, "state": "online", "role": "kiosk", "name": "一号机"}
    k._mqtt.socket().close()          # the kiosk dies without a goodbye: the broker sends the will
    k._closing = True
    k._mqtt.loop_stop()
    offline = seen.get(timeout=20)
    assert offline["state"] == "offline" and offline["role"] == "kiosk"
    watcher.stop()


def test_request_is_retried_under_the_same_id_until_answered(broker) -> None:
    server = BusClient(broker.url, "daan", "onewindow-server", will=("onewindow/daan/state/server", {"v": 1})).start()
    ids: list[str] = []
    lock = threading.Lock()

    def answer(topic: str, payload: dict) -> None:
        with lock:
            ids.append(payload["id"])
            n = len(ids)
        if n >= 3:    # the first two attempts are "lost"
            server.publish(server.topics.response("kiosk-k1"),
                           {"v": 1, "id": payload["id"], "op": "ticket.get", "ok": True, "data": {"n": n}})

    server.subscribe(server.topics.request_filter(), answer)
    assert server.wait_connected(5) and server.subscribed.wait(5)
    k = BusClient(broker.url, "daan", "kiosk-k1").start()
    assert k.wait_connected(5) and k.subscribed.wait(5)
    assert k.request("ticket.get", {"number": "A001"}, attempt=0.3, timeout=5) == {"n": 3}
    assert len(set(ids)) == 1 and len(ids) == 3
    k.stop()
    server.stop()


def test_error_reply_and_timeout(broker) -> None:
    server = BusClient(broker.url, "daan", "onewindow-server", will=("onewindow/daan/state/server", {"v": 1})).start()
    server.subscribe(server.topics.request_filter(), lambda t, p: server.publish(
        server.topics.response("kiosk-k1"), {"v": 1, "id": p["id"], "op": "ticket.issue", "ok": False,
                                              "error": {"code": "closed", "message": "closed",
                                                        "message_zh": "现在不在取号时间内"}}))
    assert server.wait_connected(5) and server.subscribed.wait(5)
    k = BusClient(broker.url, "daan", "kiosk-k1").start()
    assert k.wait_connected(5) and k.subscribed.wait(5)
    with pytest.raises(RequestError) as e:
        k.request("ticket.issue", {"service": "a", "channel": "walk_in"})
    assert e.value.code == "closed" and e.value.message_zh == "现在不在取号时间内"
    server.stop()
    with pytest.raises(RequestError) as e:
        k.request("ticket.issue", {"service": "a", "channel": "walk_in"}, timeout=0.5, attempt=0.2)
    assert e.value.code == "timeout" and "没有响应" in e.value.message_zh
    k.stop()


def test_retained_state_is_republished_after_a_broker_restart(broker, tmp_path) -> None:
    owner = BusClient(broker.url, "daan", "devices-hall").start()
    assert owner.wait_connected(5)
    ups: queue.Queue = queue.Queue()
    owner.on_connection(ups.put)
    owner.publish(owner.topics.device_status(owner.client_id, "led-w1"), {"v": 1, "kind": "led", "state": "ok", "detail": {}},
                  retain=True)
    broker.stop()                                  # no persistence: the broker forgets everything
    assert ups.get(timeout=10) is False
    again = Mosquitto(tmp_path, port=broker.port).start()
    try:
        assert ups.get(timeout=15) is True
        reader = BusClient(again.url, "daan", "display-r").start()
        got: queue.Queue = queue.Queue()
        reader.subscribe(reader.topics.device_status_all, lambda t, p: got.put((t, p)))
        topic, payload = got.get(timeout=10)
        assert topic == owner.topics.device_status(owner.client_id, "led-w1") and payload["state"] == "ok"
        reader.stop()
    finally:
        owner.stop()
        again.stop()


def test_invalid_messages_are_dropped_not_delivered(broker) -> None:
    c = BusClient(broker.url, "daan", "display-x").start()
    got: queue.Queue = queue.Queue()
    c.subscribe(c.topics.event_call, lambda t, p: got.put(p))
    assert c.wait_connected(5) and c.subscribed.wait(5)
    c.publish(c.topics.event_call, b"\x00garbage")
    c.publish(c.topics.event_call, b'{"v":9}')
    c.publish(c.topics.event_call, encode_json({"v": 1, "number": "A001"}))
    assert got.get(timeout=5) == {"v": 1, "number": "A001"}
    assert got.empty()
    c.stop()
