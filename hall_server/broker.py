"""The embedded MQTT broker (amqtt 0.12), run on its own event-loop thread and bound to the configured
address only, with optional username/password and per-client ACL."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from hall_bus.topics import Topics
from hall_server.passwords import read_password_file, verify as verify_password

log = logging.getLogger("onewindow.broker")


class PasswordAuth(BaseAuthPlugin):
    """The server's own login from the hall config, every other client from the broker password file (Mosquitto
    format, re-read when it changes, so an admin adds a kiosk with `onewindow passwd` without a restart). Each
    username may connect only as the client id of the same name, so one device cannot act as another
    (PROTOCOL.md)."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)
        password_file: str | None = None

    _file_state: tuple[float, int] | None = None
    _hashes: dict[str, str] = {}

    def _file_hashes(self) -> dict[str, str]:
        path = self.config.password_file
        if not path:
            return {}
        try:
            st = os.stat(path)
        except OSError as exc:
            log.warning("broker password file %s: %s (keeping the last one read)", path, exc.strerror)
            return self._hashes
        if (st.st_mtime, st.st_size) != self._file_state:
            try:
                pf = read_password_file(path)
            except (OSError, UnicodeDecodeError) as exc:    # being rewritten, or unreadable: keep the last one
                log.warning("broker password file %s: %s (keeping the last one read)", path, exc)
                return self._hashes
            for problem in pf.problems:
                log.warning("%s", problem)
            self._hashes, self._file_state = pf.hashes, (st.st_mtime, st.st_size)
            log.info("broker password file %s: %d clients", path, len(pf.hashes))
        return self._hashes

    async def authenticate(self, *, session: Session) -> bool | None:
        users: dict[str, str] = self.config.users
        if not users and not self.config.password_file:
            return True
        name, password = session.username or "", session.password or ""
        if name in users:
            ok = hmac.compare_digest(users[name].encode(), password.encode())
        else:
            encoded = self._file_hashes().get(name)
            # PBKDF2 takes milliseconds: off the event loop, so 100 windows logging in at once stall nobody
            ok = encoded is not None and await asyncio.get_running_loop().run_in_executor(
                None, verify_password, encoded, password)
        ok = ok and session.client_id == name
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
    """amqtt in a child process owned by the server (its own interpreter, so broker and server do not share one
    GIL). start() returns once the listener accepts connections; the child exits when the server dies, even by
    SIGKILL (it watches its parent)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, hall: str = "daan",
                 users: dict[str, str] | None = None, password_file: "os.PathLike[str] | str | None" = None) -> None:
        self.host, self.port, self.hall = host, port, hall
        self.users = dict(users or {})
        self.password_file = str(password_file) if password_file else None
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0, port_wait: float = 10.0) -> None:
        # A restarted server may find its previous broker still closing its listener for a moment.
        deadline = time.monotonic() + port_wait
        while not port_free(self.host, self.port):
            if time.monotonic() > deadline:
                raise OSError(f"MQTT port {self.host}:{self.port} is already in use")
            time.sleep(0.05)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "hall_server.broker", "--host", self.host, "--port", str(self.port),
             "--hall", self.hall, "--parent", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent())   # nothing to save: killed
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"users": self.users,     # credentials never on the command line
                                           "password_file": self.password_file}))
        self._proc.stdin.close()
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = result[0] if result else ""
        if not line.startswith("{"):
            self.stop()
            raise TimeoutError(f"embedded broker did not start on {self.url} within {timeout} s")
        status = json.loads(line)
        if status.get("event") != "ready":
            self.stop()
            raise OSError(f"embedded broker failed on {self.url}: {status.get('error')}")

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A preexec_fn for Popen: on Linux the kernel sends `sig` to the child the moment its parent dies, even by
    SIGKILL, so no orphan keeps a port or a device (the broker's ppid watch is the fallback elsewhere)."""
    parent = os.getpid()

    def arm() -> None:
        if sys.platform.startswith("linux"):
            try:
                import ctypes
                ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)   # PR_SET_PDEATHSIG
            except OSError:
                return
            if os.getppid() != parent:      # the parent died between fork and prctl: nobody will signal us
                os._exit(1)
    return arm


def _serve(host: str, port: int, hall: str, users: dict[str, str], password_file: str | None, parent: int) -> int:
    """The child: run amqtt until SIGTERM or until the parent process is gone."""
    for name in ("amqtt", "transitions"):   # amqtt logs every packet at INFO/DEBUG
        logging.getLogger(name).setLevel(logging.WARNING)
    auth = bool(users) or bool(password_file)
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 2000}},
        "timeout_disconnect_delay": 2,
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": not auth},
            "hall_server.broker.PasswordAuth": {"users": users, "password_file": password_file},
            "hall_server.broker.ClientTopicAcl": {"hall": hall, "enabled": auth},
        },
    }

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        broker = Broker(config, loop=loop)
        try:
            await broker.start()
        except Exception as exc:
            print(json.dumps({"event": "error", "error": str(exc)}), flush=True)
            return
        print(json.dumps({"event": "ready", "broker": f"mqtt://{host}:{port}"}), flush=True)
        while not stop.is_set():
            if os.getppid() != parent:      # the server died (even by SIGKILL): do not outlive it
                os._exit(0)
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
        await broker.shutdown()

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="OneWindow embedded broker (started by onewindow server)")
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--hall", required=True)
    ap.add_argument("--parent", type=int, required=True)
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s broker: %(message)s")
    secrets = json.loads(sys.stdin.read() or "{}")
    sys.exit(_serve(a.host, a.port, a.hall, secrets.get("users", {}), secrets.get("password_file"), a.parent))
