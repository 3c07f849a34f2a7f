"""The server knows when it is deaf (issue 9): every few seconds it publishes a heartbeat to a topic only it
subscribes to, through the broker. A heartbeat that does not come back within `timeout` means the broker no longer
delivers to us (a session taken over, subscriptions gone, a broker hung) although the TCP connection may look fine.
Then: reconnect (the bus client resubscribes on connect) and raise a `broker` alert; if the echo still does not come
back after that, `on_fatal` (the server exits non-zero so systemd restarts it)."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from hall_bus import payloads as bus
from hall_bus.topics import Topics

log = logging.getLogger("onewindow.heartbeat")


def heartbeat_topic(hall: str) -> str:
    return Topics(hall).heartbeat


class Heartbeat:
    def __init__(self, bus_client: Any, hall: str, *, alert_topic: str, interval: float = 2.0, timeout: float = 6.0,
                 on_fatal: Callable[[str], None], clock: Callable[[], datetime] | None = None) -> None:
        self.bus = bus_client
        self.topic = heartbeat_topic(hall)
        self.alert_topic = alert_topic
        self.interval, self.timeout = interval, timeout
        self.on_fatal = on_fatal
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._seq = 0
        self._last_echo = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reconnects = 0
        self.bus.subscribe(self.topic, self._on_echo, raw=True)

    def _on_echo(self, _topic: str, payload: bytes) -> None:
        self._last_echo = time.monotonic()

    def start(self) -> "Heartbeat":
        self._last_echo = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)

    def _beat(self) -> None:
        self._seq += 1
        try:
            self.bus.publish(self.topic, str(self._seq).encode(), qos=0)
        except Exception as exc:      # not connected: the echo check below notices
            log.debug("heartbeat not sent: %s", exc)

    def _deaf_for(self) -> float:
        return time.monotonic() - self._last_echo

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._beat()
            if self._deaf_for() <= self.timeout:
                continue
            if not self.bus.connected:      # paho is reconnecting by itself: give it its time first
                if self._deaf_for() <= 3 * self.timeout:
                    continue
            self._recover()

    def _recover(self) -> None:
        deaf = self._deaf_for()
        log.error("no heartbeat echo through the broker for %.1f s: reconnecting and resubscribing", deaf)
        self.reconnects += 1
        self.reconnect()
        since = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - since < 2 * self.timeout:
            self._beat()
            if self._stop.wait(min(self.interval, 0.5)):
                return
            if self._last_echo > since:
                log.warning("heartbeat echo back after reconnecting")
                self._alert(deaf)
                return
        if not self._stop.is_set():
            self._stop.set()        # fatal is final: no second recovery while the server is going down
            self.on_fatal(f"no heartbeat echo through the broker for {self._deaf_for():.0f} s, even after "
                          "reconnecting")

    def reconnect(self) -> None:
        """Drop the connection under paho's network thread: it notices, reconnects with a clean session and the bus
        client resubscribes on connect (thread-safe, unlike calling paho's reconnect() from here)."""
        sock = self.bus._mqtt.socket()
        if sock is None:
            return
        try:
            import socket
            sock.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            log.error("reconnect: %s", exc)

    def _alert(self, deaf: float) -> None:
        now = self._clock()
        alert = bus.Alert(id=f"broker:onewindow-server:{now.strftime('%Y%m%dT%H%M%S')}", level="red", kind="broker",
                          target="onewindow-server", ts=now.isoformat(timespec="seconds"),
                          text_zh=f"服务器与消息总线失联 {deaf:.0f} 秒，已重新连接",
                          text_en=f"The server heard nothing from the broker for {deaf:.0f} s; reconnected")
        try:
            self.bus.publish(self.alert_topic, alert.wire())
        except Exception:
            log.exception("could not publish the broker alert")
