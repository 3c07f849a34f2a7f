"""A scripted bus for widget tests (the BusClient surface the Qt apps use): messages, connection changes and
replies arrive on a foreign thread, as paho's would. End-to-end tests use real brokers instead.

Panel and display answer requests by hand (`request_async` + `reply(i)`); the kiosk asks synchronously from its
worker thread (`request`), answered by the `answer(op, args)` function the test scripts. Both land in `requests`
as (op, args, callback-or-None)."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Callable

from paho.mqtt.client import topic_matches_sub

from hall_bus import RequestError, Topics
from hall_bus.payloads import Part, PayloadError

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


class FakeBus:
    def __init__(self, hall: str = "daan", *, retained: dict[str, dict[str, Any]] | None = None,
                 connect_on_start: bool = False, answer: Answer | None = None) -> None:
        self.topics = Topics(hall)
        self.handlers: dict[str, Callable[[str, dict[str, Any]], None]] = {}
        self.subscribed: Counter[str] = Counter()
        self.listeners: list[Callable[[bool], None]] = []
        self.requests: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], None] | None]] = []
        self.published: list[tuple[str, dict[str, Any], bool]] = []
        self.request_ids: list[str | None] = []                    # request_id of each synchronous request
        self.dropped: list[tuple[str, dict[str, Any]]] = []      # payloads that did not match their model
        # what the broker holds for this hall; delivered (with a connect) on start() when connect_on_start
        self.retained: dict[str, dict[str, Any]] = dict(retained or {})
        self.connect_on_start = connect_on_start
        self.answer = answer
        self.connected = False
        self.started = False

    # the BusClient surface the apps use
    def subscribe(self, topic_filter: str, handler: Callable[[str, dict[str, Any]], None], *,
                  model: type[Part] | None = None) -> None:
        if model is not None:       # as BusClient: checked against the model, handed on clean, or dropped
            inner = handler

            def handler(topic: str, payload: dict[str, Any]) -> None:
                try:
                    clean = model.parse(payload).wire()
                except PayloadError:
                    self.dropped.append((topic, payload))
                    return
                inner(topic, clean)
        self.handlers[topic_filter] = handler
        self.subscribed[topic_filter] += 1

    def on_connection(self, listener: Callable[[bool], None]) -> None:
        self.listeners.append(listener)

    def request_async(self, op: str, args: dict[str, Any], callback: Callable[[dict[str, Any]], None]) -> str:
        self.requests.append((op, args, callback))
        return f"r{len(self.requests)}"

    def request(self, op: str, args: dict[str, Any], *, timeout: float = 8.0, **_kw: Any) -> dict[str, Any]:
        """Answered on the caller's thread by `answer`; raise RequestError there for a refusal or a timeout."""
        self.requests.append((op, args, None))
        self.request_ids.append(_kw.get("request_id"))
        if self.answer is None:
            raise RequestError("timeout", f"FakeBus has no answer scripted for {op}")
        return self.answer(op, args)

    def publish(self, topic: str, payload: dict[str, Any], *, retain: bool = False, **_kw: Any) -> None:
        self.published.append((topic, payload, retain))
        if retain:
            self.retained[topic] = payload

    def start(self) -> "FakeBus":
        self.started = True
        if self.connect_on_start:
            self.set_connected(True)
            for topic, payload in list(self.retained.items()):
                self.deliver(topic, payload)
        return self

    def stop(self) -> None:
        self.started = False
        self.connected = False

    # test side
    @staticmethod
    def _on_thread(fn: Callable[[], None]) -> None:
        t = threading.Thread(target=fn)
        t.start()
        t.join()

    def deliver(self, topic: str, payload: dict[str, Any], *, retain: bool = True) -> None:
        if retain:
            self.retained[topic] = payload

        def run() -> None:
            for flt, handler in list(self.handlers.items()):
                if topic_matches_sub(flt, topic):
                    handler(topic, payload)
        self._on_thread(run)

    def set_connected(self, up: bool) -> None:
        self.connected = up
        self._on_thread(lambda: [listener(up) for listener in self.listeners])

    def set_server(self, online: bool) -> None:
        """The server's retained presence (its last will says offline)."""
        self.deliver(self.topics.state_server, {"v": 1, "state": "online" if online else "offline"})

    def last_retained(self, topic: str) -> dict[str, Any] | None:
        """The last payload the app published retained on `topic` (what a staff screen would now see)."""
        found = [p for t, p, r in self.published if t == topic and r]
        return found[-1] if found else None

    def reply(self, index: int, *, data: dict[str, Any] | None = None, error: dict[str, str] | None = None) -> None:
        op, _args, callback = self.requests[index]
        assert callback is not None, f"request {index} ({op}) was synchronous; script FakeBus.answer instead"
        env: dict[str, Any] = {"v": 1, "id": f"r{index + 1}", "op": op, "ok": error is None}
        env["data" if error is None else "error"] = data if error is None else error
        self._on_thread(lambda: callback(env))
