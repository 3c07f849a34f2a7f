"""The heartbeat (issue 9): a server whose broker stops echoing reconnects, raises a `broker` alert when the echo
comes back, and gives up (on_fatal) when it does not."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from hall_bus import payloads as bus
from hall_server.heartbeat import Heartbeat


class FakeBus:
    """Echoes the heartbeat while `hearing`; a reconnect makes it hear again when `heals`."""

    def __init__(self, heals: bool) -> None:
        self.hearing = True
        self.heals = heals
        self.connected = True
        self.handlers: dict[str, object] = {}
        self.published: list[tuple[str, object]] = []
        self.reconnects = 0
        self.lock = threading.Lock()

    def subscribe(self, topic, handler, raw=False):  # noqa: ANN001
        self.handlers[topic] = handler

    def publish(self, topic, payload, qos=1, retain=False):  # noqa: ANN001
        with self.lock:
            self.published.append((topic, payload))
        if topic in self.handlers and self.hearing:
            self.handlers[topic](topic, payload)


def make(heals: bool):  # noqa: ANN201
    fb = FakeBus(heals)
    fatal: list[str] = []
    hb = Heartbeat(fb, "daan", alert_topic="onewindow/daan/event/alert", interval=0.05, timeout=0.2,
                   on_fatal=fatal.append, clock=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc))

    def reconnect() -> None:
        fb.reconnects += 1
        fb.hearing = fb.heals
    hb.reconnect = reconnect        # type: ignore[method-assign]
    return fb, hb, fatal


def test_an_echo_keeps_it_quiet() -> None:
    fb, hb, fatal = make(heals=True)
    hb.start()
    time.sleep(0.6)
    hb.stop()
    assert fb.reconnects == 0 and not fatal
    assert not [p for t, p in fb.published if t.endswith("event/alert")]


def test_no_echo_reconnects_and_alerts() -> None:
    fb, hb, fatal = make(heals=True)
    hb.start()
    time.sleep(0.2)
    fb.hearing = False
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not [1 for t, _ in fb.published if t.endswith("event/alert")]:
        time.sleep(0.05)
    hb.stop()
    assert fb.reconnects == 1 and not fatal
    alerts = [p for t, p in fb.published if t.endswith("event/alert")]
    assert len(alerts) == 1
    alert = bus.Alert.parse(alerts[0])
    assert alert.kind == "broker" and alert.level == "red" and alert.id.startswith("broker:")


def test_no_echo_even_after_reconnecting_is_fatal() -> None:
    fb, hb, fatal = make(heals=False)
    hb.start()
    time.sleep(0.1)
    fb.hearing = False
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not fatal:
        time.sleep(0.05)
    hb.stop()
    assert fb.reconnects == 1
    assert fatal and "no heartbeat echo" in fatal[0]
