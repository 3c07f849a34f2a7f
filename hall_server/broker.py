"""The server's own MQTT broker: a Mosquitto child process the server configures and supervises (restarted when it
dies), or, where the mosquitto binary is absent, amqtt 0.12 in a child interpreter. Bound to the configured address
only, with optional logins (the password file) and per-client ACL."""
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
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.utils import gen_client_id
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
        require_logins: bool = True

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
        if not self.config.require_logins and (session.client_id or "") not in RESERVED_CLIENT_IDS:
            return True
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


RESERVED_CLIENT_IDS = frozenset({"onewindow-server"})
_CONNACK_NOT_AUTHORIZED = b"\x20\x02\x00\x05"


class GuardedBroker(Broker):
    """amqtt 0.12 deletes the old session of a clean-session CONNECT's client id *before* authenticating it, so one
    CONNECT as `onewindow-server` with a wrong password silently took the server's subscriptions (issue 9, finding
    1). Here the CONNECT is authenticated first; a refused one is answered "not authorized" and closed without
    touching any session. The rest is amqtt's own session set-up."""

    async def _initialize_client_session(self, reader, writer, remote_address, remote_port):  # type: ignore[override]
        try:
            handler, client_session = await BrokerProtocolHandler.init_from_connect(reader, writer,
                                                                                    self.plugins_manager)
        except (AMQTTError, MQTTError, NoDataError) as exc:
            log.warning("bad first packet from %s:%s: %s", remote_address, remote_port, exc)
            if isinstance(exc, MQTTError):
                await writer.close()
            raise
        client_id = client_session.client_id or ""
        if client_id and client_id in self._sessions or client_id in RESERVED_CLIENT_IDS:
            if not await self._authenticate(client_session, None):  # type: ignore[arg-type]
                log.warning("refused CONNECT as %r from %s:%s before touching its session",
                            client_id, remote_address, remote_port)
                writer.write(_CONNACK_NOT_AUTHORIZED)
                try:
                    await writer.drain()
                finally:
                    await writer.close()
                raise AMQTTError(f"refused CONNECT as {client_id!r}")
        if client_session.clean_session:
            if client_id:
                await self._delete_session(client_id)
            else:
                client_session.client_id = gen_client_id()
            client_session.parent = 0
        elif client_id in self._sessions:
            old, _ = self._sessions[client_id]
            for attr in ("will_flag", "will_message", "will_topic", "will_qos", "keep_alive", "username",
                         "password"):
                setattr(old, attr, getattr(client_session, attr))
            client_session = old
            client_session.parent = 1
        else:
            client_session.parent = 0
        delay = self.config.get("timeout-disconnect-delay", 0)
        if client_session.keep_alive > 0 and isinstance(delay, int):
            client_session.keep_alive += delay
        return handler, client_session


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
            return parsed.kind == "device" and parsed.parts[:1] == (client,)   # only its own devices
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


class _ChildBroker:
    """What the server asks of its broker child, whichever it is: where it listens and its process id."""
    host: str
    port: int
    _proc: "subprocess.Popen[str] | subprocess.Popen[bytes] | None"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None


class EmbeddedBroker(_ChildBroker):
    """amqtt in a child process owned by the server (its own interpreter, so broker and server do not share one
    GIL). start() returns once the listener accepts connections; the child exits when the server dies, even by
    SIGKILL (it watches its parent)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, hall: str = "daan",
                 users: dict[str, str] | None = None, password_file: "os.PathLike[str] | str | None" = None,
                 require_logins: bool | None = None) -> None:
        self.host, self.port, self.hall = host, port, hall
        self.users = dict(users or {})
        self.password_file = str(password_file) if password_file else None
        # the server's own login alone guards only the reserved client ids; a password file asks everyone
        self.require_logins = bool(self.password_file) if require_logins is None else require_logins
        self._proc: subprocess.Popen[str] | None = None
        self.on_death: Callable[[int], None] | None = None     # amqtt is not supervised: the fallback only

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
                                           "password_file": self.password_file,
                                           "require_logins": self.require_logins}))
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


MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
# Bounds of the child Mosquitto (issue 9, finding 4). A client that stops reading holds at most
# MAX_INFLIGHT + MAX_QUEUED messages and MAX_QUEUED_BYTES of queued payload; beyond that the broker drops its
# messages. A fresh `state/#` subscriber of the reference hall receives ~250 retained messages at once, all of which
# must fit (max_queued_messages 100 delivered only 120 of 200): 100 in flight + 5,000 queued leaves ample room.
MAX_INFLIGHT = 100
MAX_QUEUED = 5000
MAX_QUEUED_BYTES = 8 * 1024 * 1024
MESSAGE_SIZE_LIMIT = 65536          # the protocol's 64 KiB
# Mosquitto 2.0 bounds queued QoS 1 messages, but a QoS 0 subscriber that never reads still piles packets up in its
# socket's output queue. The supervisor therefore restarts a child whose memory passes this (the hall serves again
# within about a second; the stuck client is dropped).
MAX_RSS_MB = float(os.environ.get("ONEWINDOW_BROKER_MAX_RSS_MB", "256"))


def mosquitto_binary() -> str | None:
    import shutil
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_PATHS if os.access(p, os.X_OK)), None)


def acl_text(hall: str) -> str:
    """The topic rules of docs/deploy/mosquitto-onewindow.acl for one hall (PROTOCOL.md, client identity)."""
    return (f"user onewindow-server\ntopic readwrite onewindow/#\n\n"
            f"pattern write onewindow/{hall}/request/%u/#\n"
            f"pattern read onewindow/{hall}/response/%u\n"
            f"pattern readwrite onewindow/{hall}/presence/%u\n"
            f"pattern read onewindow/{hall}/presence/#\n"
            f"pattern read onewindow/{hall}/state/#\n"
            f"pattern read onewindow/{hall}/event/#\n"
            f"pattern readwrite onewindow/{hall}/device/%u/#\n"
            f"pattern read onewindow/{hall}/device/#\n")


class MosquittoBroker(_ChildBroker):
    """The server's own broker: a Mosquitto child process configured from hall.toml and supervised. The config,
    the password file (the configured one plus the server's own login) and the ACL are written into `workdir`;
    a watcher thread restarts the child when it dies (an OOM kill) and calls `on_death(returncode)` when it cannot
    be restarted (the server then exits non-zero, and systemd restarts everything). The password file is re-read
    when it changes (SIGHUP to the child), so `onewindow passwd` needs no restart."""

    RESTART_TRIES = 5

    def __init__(self, host: str, port: int, *, hall: str, workdir: "os.PathLike[str] | str",
                 users: dict[str, str] | None = None, password_file: "os.PathLike[str] | str | None" = None,
                 require_logins: bool | None = None, exe: str | None = None) -> None:
        self.host, self.port, self.hall = host, port, hall
        self.require_logins = bool(password_file) if require_logins is None else require_logins
        self.workdir = os.fspath(workdir)
        self.users = dict(users or {})
        self.password_file = os.fspath(password_file) if password_file else None
        self.exe = exe or mosquitto_binary()
        if not self.exe:
            raise FileNotFoundError("mosquitto is not installed (Debian package mosquitto)")
        self.on_death: Callable[[int], None] | None = None
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._pw_state: tuple[float, int] | None = None
        self._lock = threading.Lock()

    @property
    def conf_path(self) -> str:
        return os.path.join(self.workdir, "mosquitto.conf")

    @property
    def log_path(self) -> str:
        return os.path.join(self.workdir, "mosquitto.log")

    def _write_passwords(self) -> None:
        from hall_server.passwords import hash_password
        lines = []
        if self.password_file:
            st = os.stat(self.password_file)
            self._pw_state = (st.st_mtime, st.st_size)
            pf = read_password_file(self.password_file)
            lines = [f"{cid}:{h}" for cid, h in sorted(pf.hashes.items()) if cid not in self.users]
        # the server's own login(s), hashed here: cheap iterations, the child checks them once per connect
        lines += [f"{u}:{hash_password(p, iterations=1000)}" for u, p in self.users.items()]
        path = os.path.join(self.workdir, "passwd")
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        os.replace(tmp, path)

    def write_config(self) -> str:
        os.makedirs(self.workdir, exist_ok=True)
        # Logins when hall.toml gives the server's login or a password file. Without (loopback, or allow_anonymous)
        # anyone may connect, and
        # Mosquitto cannot tie a client id to a login without asking everyone for one: a client that connects as
        # onewindow-server then takes the server's connection over (the heartbeat notices and reconnects).
        auth = self.require_logins
        lines = [
            "# written by onewindow server at every start: edit hall.toml [broker] instead",
            "per_listener_settings false",
            f"listener {self.port} {self.host}",
            "persistence false",
            "set_tcp_nodelay true",
            f"max_inflight_messages {MAX_INFLIGHT}",
            f"max_queued_messages {MAX_QUEUED}",
            f"max_queued_bytes {MAX_QUEUED_BYTES}",
            f"message_size_limit {MESSAGE_SIZE_LIMIT}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:       # as root Mosquitto would switch to its own user, who cannot read our files
            lines.append("user root")
        if auth:
            self._write_passwords()
            acl = os.path.join(self.workdir, "acl")
            with open(acl, "w") as f:
                f.write(acl_text(self.hall))
            lines += ["allow_anonymous false",
                      "use_username_as_clientid true",  # a login is one client id: nobody takes the server's
                      f"password_file {os.path.join(self.workdir, 'passwd')}",
                      f"acl_file {acl}"]
        else:
            lines.append("allow_anonymous true")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return self.conf_path

    def _spawn(self, timeout: float, port_wait: float) -> None:
        deadline = time.monotonic() + port_wait
        while not port_free(self.host, self.port):
            if time.monotonic() > deadline:
                raise OSError(f"MQTT port {self.host}:{self.port} is already in use")
            time.sleep(0.05)
        with open(self.log_path, "ab") as logf:
            proc = subprocess.Popen([self.exe, "-c", self.conf_path], stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=logf, preexec_fn=die_with_parent(signal.SIGTERM))
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise OSError(f"mosquitto exited with code {proc.returncode} on {self.url}: "
                              + _tail(self.log_path))
            try:
                socket.create_connection((_connect_host(self.host), self.port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    raise TimeoutError(f"mosquitto did not listen on {self.url} within {timeout} s") from None
                time.sleep(0.02)
        self._proc = proc

    def start(self, timeout: float = 10.0, port_wait: float = 10.0) -> None:
        self.write_config()
        self._spawn(timeout, port_wait)
        self._stopping.clear()
        self._watcher = threading.Thread(target=self._watch, name="broker-watch", daemon=True)
        self._watcher.start()
        log.info("mosquitto child %d on %s (config %s)", self._proc.pid if self._proc else -1, self.url,
                 self.conf_path)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self._proc
            if proc is None:
                return
            try:
                code = proc.wait(0.25)
            except subprocess.TimeoutExpired:
                self._check_password_file()
                self._check_memory(proc)
                continue
            if self._stopping.is_set():
                return
            log.error("mosquitto child %d died (code %s); restarting it", proc.pid, code)
            for attempt in range(1, self.RESTART_TRIES + 1):
                try:
                    with self._lock:
                        if self._stopping.is_set():
                            return
                        self._spawn(timeout=5.0, port_wait=3.0)
                    self.restarts += 1
                    log.warning("mosquitto child restarted as %d (restart %d)", self._proc.pid, self.restarts)
                    break
                except (OSError, TimeoutError) as exc:
                    log.error("mosquitto restart %d/%d failed: %s", attempt, self.RESTART_TRIES, exc)
                    time.sleep(0.5)
            else:
                log.critical("mosquitto cannot be restarted; the server gives up")
                if self.on_death:
                    self.on_death(code if code else 1)
                return

    def _check_memory(self, proc: "subprocess.Popen[bytes]") -> None:
        rss = rss_mb(proc.pid)
        if rss is not None and rss > MAX_RSS_MB:
            log.error("mosquitto child %d uses %.0f MB (limit %.0f MB): killing it to restart it", proc.pid, rss,
                      MAX_RSS_MB)
            proc.kill()

    def _check_password_file(self) -> None:
        if not self.password_file or self._proc is None:
            return
        try:
            st = os.stat(self.password_file)
            if (st.st_mtime, st.st_size) == self._pw_state:
                return
            self._write_passwords()
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("broker password file %s: %s (keeping the last one read)", self.password_file, exc)
            return
        log.info("broker password file %s changed: mosquitto reloads it", self.password_file)
        self._proc.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._watcher and self._watcher is not threading.current_thread():
            self._watcher.join(2)


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _tail(path: str, n: int = 800) -> str:
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode(errors="replace").strip()
    except OSError:
        return ""


def is_loopback(host: str) -> bool:
    import ipaddress
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def _serve(host: str, port: int, hall: str, users: dict[str, str], password_file: str | None, parent: int,
           require_logins: bool = True) -> int:
    """The child: run amqtt until SIGTERM or until the parent process is gone."""
    for name in ("amqtt", "transitions"):   # amqtt logs every packet at INFO/DEBUG
        logging.getLogger(name).setLevel(logging.WARNING)
    auth = require_logins and (bool(users) or bool(password_file))
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 2000}},
        "timeout_disconnect_delay": 2,
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": not auth},
            "hall_server.broker.PasswordAuth": {"users": users, "password_file": password_file,
                                                "require_logins": auth},
            "hall_server.broker.ClientTopicAcl": {"hall": hall, "enabled": auth},
        },
    }

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        broker = GuardedBroker(config, loop=loop)
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
    sys.exit(_serve(a.host, a.port, a.hall, secrets.get("users", {}), secrets.get("password_file"), a.parent,
                    secrets.get("require_logins", True)))
