"""The embedded MQTT broker (amqtt 0.12), run on its own event-loop thread and bound to the configured
address only, with optional username/password and per-client ACL."""
from __future__ import annotations

import asyncio
import hmac
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from hall_bus.topics import Topics

log = logging.getLogger("onewindow.broker")


class PasswordAuth(BaseAuthPlugin):
    """username → password from the hall config; each username may connect only as the client id of the same
    name, so one device cannot act as another (PROTOCOL.md)."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)

    async def authenticate(self, *, session: Session) -> bool | None:
        users: dict[str, str] = self.config.users
        if not users:
            return True
        expected = users.get(session.username or "")
        ok = expected is not None and hmac.compare_digest(expected.encode(), (session.password or "").encode()) \
            and session.client_id == session.username
        if not ok:
            log.warning("refused MQTT login of %r as client %r", session.username, session.client_id)
        return ok


class ClientTopicAcl(BaseTopicPlugin):
    """With authentication on: publish only under one's own request/presence/device topics (the server: all),
    subscribe only to one's own response plus state/event/presence/device."""

    @dataclass
    class Config:
        hall: str = "daan"
        enabled: bool = False

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        if not self.config.enabled or session is None or topic is None:
            return True
        client = session.client_id or ""
        if client == "onewindow-server":
            return True
        t = Topics(self.config.hall)
        parsed = t.parse(topic)
        if parsed is None:
            return False
        if action == Action.PUBLISH:
            if parsed.kind == "request":
                return len(parsed.parts) >= 1 and parsed.parts[0] == client
            if parsed.kind == "presence":
                return parsed.parts[:1] == (client,)
            return parsed.kind == "device"
        if parsed.kind == "response":
            return parsed.parts[:1] == (client,)
        return parsed.kind in ("state", "event", "presence", "device")


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """amqtt on a daemon thread. start() returns once the listener accepts connections."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, hall: str = "daan",
                 users: dict[str, str] | None = None) -> None:
        self.host, self.port, self.hall = host, port, hall
        self.users = dict(users or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _config(self) -> dict[str, Any]:
        auth = bool(self.users)
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": 2000}},
            "timeout_disconnect_delay": 2,
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": not auth},
                "hall_server.broker.PasswordAuth": {"users": self.users},
                "hall_server.broker.ClientTopicAcl": {"hall": self.hall, "enabled": auth},
            },
        }

    def start(self, timeout: float = 10.0) -> None:
        if not port_free(self.host, self.port):
            raise OSError(f"MQTT port {self.host}:{self.port} is already in use")
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"embedded broker did not start on {self.url} within {timeout} s")
        if self._error:
            raise OSError(f"embedded broker failed on {self.url}: {self._error}") from self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        # amqtt logs every packet at INFO/DEBUG; the hall log needs only its warnings.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)

        async def boot() -> None:
            self._broker = Broker(self._config(), loop=loop)
            await self._broker.start()

        try:
            loop.run_until_complete(boot())
        except BaseException as exc:  # report to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or not loop.is_running():
            return
        fut = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            fut.result(timeout)
        except Exception as exc:  # shutdown errors must not block the server's exit
            log.warning("embedded broker shutdown: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(timeout)
