"""`onewindow server`: the hall server process (config, broker, store, service, signals)."""
from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import secrets
import logging
import signal
import sys
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from hall_bus import parse_broker_url
from hall_bus.configfile import ConfigError
from hall_server.broker import EmbeddedBroker, MosquittoBroker, free_port, mosquitto_binary
from hall_server.heartbeat import Heartbeat
from hall_server.notify import Notifier
from hall_server.passwords import read_password_file
from hall_server.config import HallConfig, load_hall_config, seed_initials
from hall_server.records import Appointment
from hall_server.store import Store, StoreError

if TYPE_CHECKING:
    from hall_server.service import HallService

log = logging.getLogger("onewindow.server")


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def password_file_path(cfg: HallConfig, config_path: Path) -> Path | None:
    return (config_path.parent / cfg.broker.password_file).resolve() if cfg.broker.password_file else None


def broker_logins(cfg: HallConfig, config_path: Path) -> tuple[list[str], list[str]]:
    """The client ids in the broker password file, and its problems (an unreadable file is one)."""
    path = password_file_path(cfg, config_path)
    if path is None:
        return [], []
    try:
        pf = read_password_file(path)
    except OSError as exc:
        return [], [f"cannot read {path}: {exc.strerror or exc}"]
    return sorted(pf.hashes), pf.problems


def connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def broker_refusal(cfg: HallConfig, config_path: Path) -> str | None:
    """Why the server's own broker must not start as configured (issue 9, finding 13): beyond loopback it asks for
    logins unless `allow_anonymous = true` is written in [broker]."""
    b = cfg.broker
    if b.listens_beyond_loopback() and not b.password_file and not b.allow_anonymous:
        return (f"the broker would listen on {b.host}:{b.port} (beyond this machine) without logins. Make a "
                f"password file and give the server's own login in [broker] of {config_path}:\n"
                "  onewindow passwd /etc/onewindow/broker-passwd onewindow-server   (and one line per kiosk, panel, "
                "display, device controller)\n"
                '  [broker] password_file = "/etc/onewindow/broker-passwd", username = "onewindow-server", '
                'password = "env:ONEWINDOW_BROKER_PASSWORD"\n'
                "or, on a closed LAN only, write allow_anonymous = true in [broker] (check-config warns about it)")
    if b.password and b.password.startswith("env:") and b.server_password() is None:
        return f"[broker] password = {b.password!r}: the environment variable {b.password[4:]} is not set"
    return None


def server_broker_url(given: str, cfg: HallConfig) -> tuple[str, str | None]:
    """The external broker's URL with the server's password filled in from [broker] password (`env:NAME` too) when
    the URL names only the user; a password written in the URL itself also works but shows in `ps` (warned)."""
    try:
        parse_broker_url(given)
    except ValueError as exc:
        return given, str(exc)
    parts = urlsplit(given)
    if parts.password:
        pw = unquote(parts.password)
        if pw.startswith("env:"):
            value = os.environ.get(pw[4:])
            if not value:
                return given, f"broker URL: the environment variable {pw[4:]} is not set"
        else:
            log.warning("the broker password is on the command line, where ps shows it: give it as "
                        "[broker] password (or env:NAME) in the hall config instead")
            return given, None
    else:
        value = cfg.broker.server_password() if parts.username else None
        if not value:
            return given, None
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or SERVER_CLIENT
    return urlunsplit((parts.scheme, f"{quote(user, safe='')}:{quote(value, safe='')}@{host}", parts.path,
                       parts.query, parts.fragment)), None


SERVER_CLIENT = "onewindow-server"


def make_broker(cfg: HallConfig, port: int, data: Path, users: dict[str, str],
                password_file: Path | None) -> MosquittoBroker | EmbeddedBroker:
    """The supervised Mosquitto child by default; amqtt where mosquitto is not installed (or [broker] embedded =
    "amqtt")."""
    b = cfg.broker
    # a configured login asks everyone for one, unless allow_anonymous (then only the reserved ids are guarded)
    logins = (bool(b.username) or password_file is not None) and not b.allow_anonymous
    if b.embedded == "mosquitto" and mosquitto_binary():
        return MosquittoBroker(b.host, port, hall=cfg.hall.id, workdir=data / "broker", users=users,
                               password_file=password_file, require_logins=logins)
    if b.embedded == "mosquitto":
        log.warning("mosquitto is not installed (Debian package mosquitto): using the embedded amqtt broker")
    return EmbeddedBroker(b.host, port, hall=cfg.hall.id, users=users, password_file=password_file,
                          require_logins=logins)


def appointments_path(cfg: HallConfig, config_path: Path, override: str | None) -> Path | None:
    if override:
        return Path(override)
    return (config_path.parent / cfg.appointments.file).resolve() if cfg.appointments.file else None


def load_appointments(cfg: HallConfig, path: Path | None) -> list[Appointment]:
    """The booking platform's daily export: CSV rows code,service,date,start,end."""
    if path is None:
        return []
    out: list[Appointment] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for i, row in enumerate(csv.reader(f), 1):
                if not row or row[0].startswith("#") or row[0] == "code":
                    continue
                try:
                    code, service, day, start, end = (x.strip() for x in row[:5])
                    if service not in cfg.services_by_id:
                        raise ValueError(f"no service {service!r}")
                    out.append(Appointment(code.upper(), service, date.fromisoformat(day), start, end))
                except ValueError as exc:
                    log.warning("%s line %d skipped: %s", path, i, exc)
    except OSError as exc:
        log.warning("appointments file %s unreadable: %s", path, exc.strerror)
    return out


def with_sms_folder(cfg: HallConfig, folder: Path) -> HallConfig:
    """The demo's SMS "phone": every message a file in `folder` (the dir gateway), with the hall's templates and
    signature when it has an [sms] section."""
    from hall_server.sms.settings import SmsSettings
    base = cfg.sms.model_dump() if cfg.sms else {"signature": "【大安政务】"}
    base.update(gateway=f"dir://{folder}", secret=None)
    return cfg.model_copy(update={"sms": SmsSettings.model_validate(base)})


def reload_config(path: str, service: "HallService", appointments: str | None = None) -> None:
    """SIGHUP: re-read the hall config; a broken or structurally different file leaves the running one in place.
    The booking platform's file (`--appointments`, else `[appointments] file` of the config in force) is read
    again either way: new bookings are added, known ones keep their check-in."""
    try:
        new = load_hall_config(path)
    except ConfigError as err:
        log.error("config reload refused, keeping the running configuration; %s", err)
        _reimport(service.config, path, service, appointments)
        return
    why = service.reload(new)
    _reimport(new if why is None else service.config, path, service, appointments)
    if why:
        log.warning("config reload refused, keeping the running configuration: %s", why)
    else:
        log.info("config reload accepted from %s", path)


def _reimport(cfg: HallConfig, path: str, service: "HallService", override: str | None) -> None:
    file = appointments_path(cfg, Path(path), override)
    if file is not None:
        service.import_appointments(load_appointments(cfg, file))


class _AlertsThroughService:
    """The heartbeat's bus: its `broker` alert goes through the service (stored, kept in state/alerts until
    acknowledged, published by the worker); everything else goes straight to the bus client."""

    def __init__(self, service: "HallService") -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service.bus, name)

    def publish(self, topic: str, payload: Any, **kwargs: Any) -> Any:
        if topic == self._service.topics.event_alert and isinstance(payload, dict):
            self._service.raise_alert(payload)
            return None
        return self._service.bus.publish(topic, payload, **kwargs)


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="onewindow server", description="Run the hall server.")
    p.add_argument("--config", default="config/hall.toml")
    p.add_argument("--data", default="var/data", help="directory of the SQLite record (default var/data)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--broker-port", type=int, help="port of the embedded broker (0: any free port)")
    g.add_argument("--broker", help="external broker URL, mqtt://[user:pass@]host:port")
    p.add_argument("--open-all-day", action="store_true",
                   help="ignore the configured issuing hours and days (period quotas still count: a number takes "
                        "the quota of the period its time falls in, else the next one's, after the last the last's)")
    p.add_argument("--appointments", help="CSV of code,service,date,start,end (instead of [appointments] file)")
    p.add_argument("--sms-out", metavar="DIR", help="demo: SMS go as files into DIR (instead of [sms] gateway)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    setup_logging(args.verbose)

    try:
        cfg = load_hall_config(args.config)
    except ConfigError as err:
        print(f"onewindow server: refusing to start with {err}", file=sys.stderr)
        return 1
    if args.sms_out:
        cfg = with_sms_folder(cfg, Path(args.sms_out).resolve())

    from hall_server.service import SERVER_CLIENT_ID, HallService   # after config: a bad file fails fast

    class WatchedService(HallService):
        """The service with a hook after every worker batch (the worker sees at least one tick a second): the
        systemd watchdog ping, so a dead or stuck worker thread stops the pings and systemd restarts the server."""
        on_alive: "Callable[[], object] | None" = None

        def _process(self, batch):  # type: ignore[no-untyped-def]
            try:
                super()._process(batch)
            finally:
                if self.on_alive is not None:
                    self.on_alive()

    data = Path(args.data)
    if data.is_dir():
        seed_initials(cfg, data / "initials.json")      # a restart spared pypinyin's dictionary
    fatal: list[str] = []           # why the server must exit non-zero (systemd restarts it)
    stop = threading.Event()

    def give_up(why: str) -> None:
        log.critical("%s: exiting so that systemd restarts the server", why)
        fatal.append(why)
        stop.set()

    broker: MosquittoBroker | EmbeddedBroker | None = None
    if args.broker:
        url, why = server_broker_url(args.broker, cfg)
        if why:
            print(f"onewindow server: {why}", file=sys.stderr)
            return 2
    else:
        refusal = broker_refusal(cfg, Path(args.config))
        if refusal:
            print(f"onewindow server: {refusal}", file=sys.stderr)
            return 1
        port = cfg.broker.port if args.broker_port is None else args.broker_port
        if port == 0:
            port = free_port(cfg.broker.host)
        _logins, problems = broker_logins(cfg, Path(args.config))
        if problems:        # a missing file would lock every kiosk out; a bad line only that client
            print("onewindow server: broker password file: " + "; ".join(problems), file=sys.stderr)
            if not _logins and cfg.broker.password_file:
                return 1
        # The server always logs in to its own broker: a configured login, else a random one for this run, so
        # that nobody else can connect as onewindow-server (issue 9, finding 1).
        server_pw = cfg.broker.server_password() or secrets.token_urlsafe(24)
        users = {SERVER_CLIENT_ID: server_pw}
        pw_file = password_file_path(cfg, Path(args.config))
        try:
            broker = make_broker(cfg, port, data, users, pw_file)
            broker.on_death = lambda code: give_up(f"the broker child died (code {code}) and cannot be restarted")
            broker.start()
        except (OSError, TimeoutError) as exc:
            print(f"onewindow server: {exc}", file=sys.stderr)
            return 1
        url = f"mqtt://{SERVER_CLIENT_ID}:{quote(server_pw, safe='')}@{connect_host(cfg.broker.host)}:{port}"
        log.info("the server's own broker: %s on %s", type(broker).__name__, broker.url)

    try:
        store = Store(data / f"{cfg.hall.id}.sqlite3")
    except StoreError as exc:          # corrupt or unreadable: one clear message, how to restore, no traceback
        print(f"onewindow server: {exc}", file=sys.stderr)
        if broker:
            broker.stop()
        return 1
    notifier = Notifier()
    service = WatchedService(cfg, store, url, open_all_day=args.open_all_day)
    service.on_alive = notifier.watchdog
    service.on_fatal = give_up        # the store's file lost while running: exit non-zero
    appts = load_appointments(cfg, appointments_path(cfg, Path(args.config), args.appointments))
    if appts:
        store.save_appointments(appts)
        service.engine.add_appointments(a for a in appts if a.day >= (service.engine.day or a.day))

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(
            target=reload_config, args=(args.config, service, args.appointments), daemon=True).start())
    beat_s = float(os.environ.get("ONEWINDOW_HEARTBEAT_S", "2"))     # tests shorten it
    heartbeat = Heartbeat(_AlertsThroughService(service), cfg.hall.id, alert_topic=service.topics.event_alert,
                          on_fatal=give_up,
                          clock=service._clock, interval=beat_s, timeout=3 * beat_s)
    if not service.start():
        print(f"onewindow server: cannot reach the broker at {service.bus.address.url}; still trying",
              file=sys.stderr)
        while not stop.is_set() and not service.bus.subscribed.wait(1.0):
            pass
    service.published.wait(15)      # "ready" means a display that starts now finds the hall's retained state
    # Everything loaded so far (config, today's queue) lives all day: keep it out of the collector's scans,
    # so a collection never stalls a request for long.
    gc.collect()
    gc.freeze()
    # The network thread and the request worker share the GIL; Python's default 5 ms switch interval would let
    # one hold up the other's reply by that much.
    sys.setswitchinterval(0.0005)
    heartbeat.start()
    if not stop.is_set():
        public = broker.url if broker else service.bus.address.url
        print(json.dumps({"event": "ready", "hall": cfg.hall.id, "broker": public,
                          "business_day": service.engine.day.isoformat() if service.engine.day else None,
                          "data": str(store.path), "broker_kind": type(broker).__name__ if broker else "external",
                          "broker_pid": getattr(broker, "pid", None)}, ensure_ascii=False), flush=True)
        log.info("serving hall %s on %s", cfg.hall.id, public)
        notifier.ready(f"serving hall {cfg.hall.id} on {public}")
    stop.wait()
    log.info("shutting down")
    notifier.stopping()
    heartbeat.stop()
    if broker:
        broker.on_death = None
    service.stop()
    if broker:
        broker.stop()
    if fatal:
        print(json.dumps({"event": "failed", "hall": cfg.hall.id, "error": fatal[0]}), flush=True)
        return 3
    print(json.dumps({"event": "stopped", "hall": cfg.hall.id}), flush=True)
    return 0
