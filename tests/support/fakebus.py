"""A scripted bus for widget tests (the BusClient surface the Qt apps use): messages, connection changes and
replies arrive on a foreign thread, as paho's would. End-to-end tests use real brokers instead."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Callable

from paho.mqtt.client import topic_matches_sub

from hall_bus import Topics


class FakeBus:
    def __init__(self, hall: str = "daan") -> None:
        self.topics = Topics(hall)
        self.handlers: dict[str, Callable[[str, dict[str, Any]], None]] = {}
        self.subscribed: Counter[str] = Counter()
        self.listeners: list[Callable[[bool], None]] = []
        self.requests: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], None]]] = []
        self.started = False

    # the BusClient surface the apps use
    def subscribe(self, topic_filter: str, handler: Callable[[str, dict[str, Any]], None]) -> None:
        self.handlers[topic_filter] = handler
        self.subscribed[topic_filter] += 1

    def on_connection(self, listener: Callable[[bool], None]) -> None:
        self.listeners.append(listener)

    def request_async(self, op: str, args: dict[str, Any], callback: Callable[[dict[str, Any]], None]) -> str:
        self.requests.append((op, args, callback))
        return f"r{len(self.requests)}"

    def start(self) -> "FakeBus":
        self.started = True
        return self

    def stop(self) -> None:
        self.started = False

    # test side
    @staticmethod
    def _on_thread(fn: Callable[[], None]) -> None:
        t = threading.Thread(target=fn)
        t.start()
        t.join()

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        def run() -> None:
            for flt, handler in list(self.handlers.items()):
                if topic_matches_sub(flt, topic):
                    handler(topic, payload)
        self._on_thread(run)

    def set_connected(self, up: bool) -> None:
        self._on_thread(lambda: [listener(up) for listener in self.listeners])

    def reply(self, index: int, *, data: dict[str, Any] | None = None, error: dict[str, str] | None = None) -> None:
        op, _args, callback = self.requests[index]
        env: dict[str, Any] = {"v": 1, "id": f"r{index + 1}", "op": op, "ok": error is None}
        env["data" if error is None else "error"] = data if error is None else error
        self._on_thread(lambda: callback(env))


