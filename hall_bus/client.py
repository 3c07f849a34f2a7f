"""One MQTT client wrapper for every role: presence with a last will, retained state re-published
after reconnect, subscriptions restored, request/reply with request ids and retry under the same id,
automatic reconnect. paho-mqtt 2.x with VERSION2 callbacks; callbacks run on paho's network thread."""
from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hall_bus.contract import (
    PROTOCOL_VERSION, BusError, ErrorCode, decode_json, encode_json, role_of,
)
from hall_bus.payloads import Part, PayloadError
from hall_bus.topics import Topics

log = logging.getLogger("onewindow.bus")

Handler = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca: str | None = None          # the hall's own CA (PEM) for mqtts://; None = the system's trusted CAs
    cert: str | None = None        # client certificate and key, where the broker asks for one
    key: str | None = None

    @property
    def url(self) -> str:
        """Where, for logs and the ready line: no credentials, no file paths."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def apply(self, client: mqtt.Client) -> None:
        """Credentials and TLS for any paho client that talks to this broker. Raises ValueError naming the file
        when a CA, certificate or key cannot be loaded."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set_context(self.tls_context())

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name always checked (there is no "insecure" switch)."""
        try:
            ctx = ssl.create_default_context(cafile=self.ca)
            if self.cert:
                ctx.load_cert_chain(self.cert, self.key)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"broker {self.url}: cannot load the TLS files "
                             f"(ca={self.ca}, cert={self.cert}, key={self.key}): {exc}") from None
        ctx.sslsocket_class = _ClosingSSLSocket
        return ctx


class _ClosingSSLSocket(ssl.SSLSocket):
    """paho-mqtt 2.2 leaves the socket of a failed TLS handshake open until the garbage collector finds it; a
    kiosk retrying an untrusted broker every few seconds all day would pile up descriptors. Close it at once."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


TLS_FILES = ("ca", "cert", "key")


def _secret(url: str, password: str) -> str:
    """A password in a broker URL may name the environment variable that holds it (`mqtt://panel-w15:env:NAME@host`,
    set from a systemd EnvironmentFile of mode 0600), so the secret never stands on a command line where `ps` shows
    it."""
    if password.startswith("env:"):
        value = os.environ.get(password[4:])
        if not value:
            raise ValueError(f"broker URL {url!r}: environment variable {password[4:]} is not set")
        return value
    return password


def parse_broker_url(url: str) -> BrokerAddress:
    """mqtt://[user[:password]@]host[:port] or mqtts://...[?ca=/etc/onewindow/hall-ca.pem][&cert=...&key=...];
    errors name the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp"):
        raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r}: no host")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"broker URL {url!r}: bad port") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - set(TLS_FILES))
    if unknown:
        raise ValueError(f"broker URL {url!r}: unknown option {', '.join(unknown)} (known: {', '.join(TLS_FILES)})")
    if query and not tls:
        raise ValueError(f"broker URL {url!r}: {', '.join(sorted(query))}= needs mqtts://")
    if ("cert" in query) != ("key" in query):
        raise ValueError(f"broker URL {url!r}: cert= and key= go together")
    for name, path in query.items():
        if not Path(path).is_file():
            raise ValueError(f"broker URL {url!r}: {name} file {path!r} does not exist")
    address = BrokerAddress(parts.hostname, port, tls,
                            unquote(parts.username) if parts.username else None,
                            _secret(url, unquote(parts.password)) if parts.password else None,
                            query.get("ca"), query.get("cert"), query.get("key"))
    if tls:
        address.tls_context()     # a CA, certificate or key that does not load is a config error, said now
    return address


class RequestError(Exception):
    """A request that failed: an error reply from the server, or no reply in time (code 'timeout')."""

    def __init__(self, code: str, message: str, message_zh: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.message_zh = message_zh or message


@dataclass
class _Pending:
    op: str
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] | None = None
    callback: Callable[[dict[str, Any]], None] | None = None


class BusClient:
    """A connection to the hall bus as one client id ({role}-{name})."""

    def __init__(self, broker: str | BrokerAddress, hall: str, client_id: str, *,
                 presence: dict[str, Any] | None = None, will: tuple[str, dict[str, Any]] | None = None,
                 keepalive: int = 10, max_inflight: int = 200) -> None:
        self.address = parse_broker_url(broker) if isinstance(broker, str) else broker
        self.topics = Topics(hall)
        self.client_id = client_id
        self.role = role_of(client_id)
        self._retained: dict[str, bytes] = {}
        self._subs: dict[str, tuple[int, Handler, bool]] = {}
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self.subscribed = threading.Event()     # set when the subscriptions of the last connect are acknowledged
        self._connect_listeners: list[Callable[[bool], None]] = []
        self._closing = False
        self._req_counter = 0
        self._req_prefix = uuid.uuid4().hex[:8]

        self._mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=mqtt.MQTTv311, clean_session=True)
        self.address.apply(self._mqtt)
        self._mqtt.max_inflight_messages_set(max_inflight)
        self._mqtt.reconnect_delay_set(min_delay=0.2, max_delay=3)
        self._keepalive = keepalive
        # Presence (retained online, last will offline) unless the caller gives its own will.
        if will is not None:
            will_topic, will_payload = will
            self._presence_topic = None
        else:
            role = self.role.value if self.role else "unknown"
            will_topic = self.topics.presence(client_id)
            will_payload = {"v": PROTOCOL_VERSION, "state": "offline", "role": role}
            self._presence_topic = will_topic
            self._presence = {"v": PROTOCOL_VERSION, "state": "online", "role": role, **(presence or {})}
        self._will_topic, self._will_payload = will_topic, will_payload
        self._mqtt.will_set(will_topic, encode_json(will_payload), qos=1, retain=True)
        self._mqtt.on_connect = self._on_connect
        self._mqtt.on_disconnect = self._on_disconnect
        self._mqtt.on_message = self._on_unrouted
        self._mqtt.on_subscribe = self._on_subscribe
        self._sub_mid = -1

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "BusClient":
        """Connect in the background; reconnects forever until stop()."""
        self.subscribe(self.topics.response(self.client_id), self._on_response)
        self._mqtt.connect_async(self.address.host, self.address.port, keepalive=self._keepalive)
        self._mqtt.loop_start()
        return self

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout: float = 2.0) -> None:
        """Publish offline presence (when we own it), disconnect cleanly, stop the network thread."""
        self._closing = True
        if self._connected.is_set():
            info = self._mqtt.publish(self._will_topic, encode_json(self._will_payload), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        self._mqtt.disconnect()
        self._mqtt.loop_stop()
        self._connected.clear()

    def on_connection(self, listener: Callable[[bool], None]) -> None:
        """listener(True) after every (re)connect, listener(False) after every loss."""
        self._connect_listeners.append(listener)

    # ------------------------------------------------------------ paho callbacks
    def _on_connect(self, client: mqtt.Client, _ud: Any, _flags: Any, rc: Any, _props: Any = None) -> None:
        if rc.is_failure:
            log.warning("broker %s refused %s: %s", self.address.url, self.client_id, rc)
            return
        sock = client.socket()
        if sock is not None and hasattr(sock, "setsockopt"):
            try:  # Nagle costs ~40 ms per QoS 1 round trip (DEVICES.md)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        with self._lock:
            subs = [(t, q) for t, (q, _h, _raw) in self._subs.items()]
            retained = list(self._retained.items())
        self.subscribed.clear()
        if subs:
            _rc, mid = client.subscribe(subs)
            self._sub_mid = mid
        else:
            self.subscribed.set()
        if self._presence_topic:
            client.publish(self._presence_topic, encode_json(self._presence), qos=1, retain=True)
        for topic, payload in retained:   # the broker may have lost them
            client.publish(topic, payload, qos=1, retain=True)
        self._connected.set()
        log.info("%s connected to %s", self.client_id, self.address.url)
        for listener in list(self._connect_listeners):
            self._safe(listener, True)
        # Requests in flight are re-sent under the same id by their waiters.

    def _on_subscribe(self, _c: mqtt.Client, _ud: Any, mid: int, _rcs: Any, _props: Any = None) -> None:
        if mid == self._sub_mid:
            self.subscribed.set()

    def _on_disconnect(self, _c: mqtt.Client, _ud: Any, _flags: Any, rc: Any, _props: Any = None) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._closing:
            log.warning("%s lost the broker %s (%s); reconnecting", self.client_id, self.address.url, rc)
        if was:
            for listener in list(self._connect_listeners):
                self._safe(listener, False)

    def _on_unrouted(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        # amqtt has been seen pushing retained messages nobody subscribed to (DEVICES.md).
        log.debug("%s ignored unrouted message on %s", self.client_id, msg.topic)

    @staticmethod
    def _safe(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a listener bug must never kill the network thread
            log.exception("bus listener failed")

    # ------------------------------------------------------------ publish / subscribe
    def publish(self, topic: str, payload: dict[str, Any] | bytes, *, retain: bool = False,
                qos: int = 1) -> mqtt.MQTTMessageInfo:
        data = payload if isinstance(payload, bytes) else encode_json(payload)
        if retain:
            with self._lock:
                self._retained[topic] = data
        return self._mqtt.publish(topic, data, qos=qos, retain=retain)

    def clear_retained(self, topic: str) -> None:
        with self._lock:
            self._retained.pop(topic, None)
        self._mqtt.publish(topic, b"", qos=1, retain=True)

    def subscribe(self, topic_filter: str, handler: Handler | Callable[[str, bytes], None], *,
                  qos: int = 1, raw: bool = False, model: type[Part] | None = None, retained: bool = True) -> None:
        """handler(topic, payload) on paho's thread; payload is a decoded dict (or bytes when raw). With `model`
        (a hall_bus.payloads model) the payload is checked against it and handed on in its clean wire form:
        unknown fields dropped, every field of the declared type. Invalid payloads are dropped with one log line
        naming the topic. `retained=False` drops messages the broker kept (a request published with the retain
        flag would otherwise run again at every resubscribe)."""
        with self._lock:
            self._subs[topic_filter] = (qos, handler, raw)

        def route(_c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
            if msg.retain and not retained:
                if msg.payload:
                    log.warning("dropped a retained message on %s: not read from the broker's store", msg.topic)
                return
            if raw:
                self._safe(handler, msg.topic, msg.payload)
                return
            if not msg.payload:          # a cleared retained message
                return
            try:
                obj = decode_json(msg.payload)
            except BusError as exc:
                log.warning("dropped message on %s: %s", msg.topic, exc.message)
                return
            if model is not None:
                try:
                    obj = model.parse(obj).wire()
                except PayloadError as exc:
                    log.warning("dropped message on %s: %s", msg.topic, exc)
                    return
            self._safe(handler, msg.topic, obj)

        self._mqtt.message_callback_add(topic_filter, route)
        if self._connected.is_set():
            self._mqtt.subscribe(topic_filter, qos)

    # ------------------------------------------------------------ request / reply
    def new_request_id(self) -> str:
        with self._lock:
            self._req_counter += 1
            return f"{self._req_prefix}-{self._req_counter}"

    def _on_response(self, _topic: str, obj: dict[str, Any]) -> None:
        rid = obj.get("id")
        with self._lock:
            pending = self._pending.get(rid) if isinstance(rid, str) else None
        if pending is None:
            log.debug("%s: reply to unknown or finished request %r", self.client_id, rid)
            return
        pending.reply = obj
        pending.done.set()
        if pending.callback is not None:
            with self._lock:
                self._pending.pop(rid, None)
            self._safe(pending.callback, obj)

    def _send(self, op: str, rid: str, args: dict[str, Any]) -> None:
        payload = {"v": PROTOCOL_VERSION, "id": rid, "args": args}
        self._mqtt.publish(self.topics.request(self.client_id, op), encode_json(payload), qos=1)

    def request(self, op: str, args: dict[str, Any], *, timeout: float = 8.0, attempt: float = 2.0,
                request_id: str | None = None) -> dict[str, Any]:
        """Send a request and wait for its reply; re-send under the same id until `timeout`.
        Returns the reply's data or raises RequestError (code 'timeout' when nothing came back)."""
        rid = request_id or self.new_request_id()
        pending = _Pending(op)
        with self._lock:
            self._pending[rid] = pending
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RequestError("timeout", f"no reply to {op} within {timeout:.0f} s",
                                       "服务器没有响应，请稍后再试或联系工作人员")
                if not self._connected.wait(min(remaining, attempt)):
                    continue
                self._send(op, rid, args)
                if pending.done.wait(min(attempt, max(deadline - time.monotonic(), 0.01))):
                    return self._result(pending.reply)
        finally:
            with self._lock:
                self._pending.pop(rid, None)

    def request_async(self, op: str, args: dict[str, Any],
                      callback: Callable[[dict[str, Any]], None], *, timeout: float = 8.0,
                      attempt: float = 2.0, request_id: str | None = None) -> str:
        """Non-blocking request for GUIs: callback(reply envelope) on a worker thread. On timeout the
        callback gets a synthetic error envelope with code 'timeout'."""
        rid = request_id or self.new_request_id()

        def worker() -> None:
            try:
                data = self.request(op, args, timeout=timeout, attempt=attempt, request_id=rid)
                envelope: dict[str, Any] = {"v": 1, "id": rid, "op": op, "ok": True, "data": data}
            except RequestError as exc:
                envelope = {"v": 1, "id": rid, "op": op, "ok": False,
                            "error": {"code": exc.code, "message": exc.message, "message_zh": exc.message_zh}}
            self._safe(callback, envelope)

        threading.Thread(target=worker, name=f"req-{op}", daemon=True).start()
        return rid

    @staticmethod
    def _result(reply: dict[str, Any] | None) -> dict[str, Any]:
        assert reply is not None
        if reply.get("ok") is True:
            data = reply.get("data")
            return data if isinstance(data, dict) else {}
        err = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        raise RequestError(str(err.get("code", ErrorCode.INTERNAL)), str(err.get("message", "")),
                           str(err.get("message_zh", "")))
