"""`onewindow server`: the hall server process (config, broker, store, service, signals)."""
from __future__ import annotations

import argparse
import csv
import gc
import json
import logging
import signal
import sys
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hall_bus import parse_broker_url
from hall_bus.configfile import ConfigError
from hall_server.broker import EmbeddedBroker, free_port
from hall_server.passwords import read_password_file
from hall_server.config import HallConfig, load_hall_config
from hall_server.records import Appointment
from hall_server.store import Store

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


def reload_config(path: str, service: "HallService") -> None:
    """SIGHUP: re-read the hall config; a broken or structurally different file leaves the running one in place."""
    try:
        new = load_hall_config(path)
    except ConfigError as err:
        log.error("config reload refused, keeping the running configuration; %s", err)
        return
    why = service.reload(new)
    if why:
        log.warning("config reload refused, keeping the running configuration: %s", why)
    else:
        log.info("config reload accepted from %s", path)


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="onewindow server", description="Run the hall server.")
    p.add_argument("--config", default="config/hall.toml")
    p.add_argument("--data", default="var/data", help="directory of the SQLite record (default var/data)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--broker-port", type=int, help="port of the embedded broker (0: any free port)")
    g.add_argument("--broker", help="external broker URL, mqtt://[user:pass@]host:port")
    p.add_argument("--open-all-day", action="store_true", help="ignore the configured issuing hours")
    p.add_argument("--appointments", help="CSV of code,service,date,start,end (instead of [appointments] file)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    setup_logging(args.verbose)

    try:
        cfg = load_hall_config(args.config)
    except ConfigError as err:
        print(f"onewindow server: refusing to start with {err}", file=sys.stderr)
        return 1

    from hall_server.service import HallService   # after config: a bad file fails fast

    broker: EmbeddedBroker | None = None
    if args.broker:
        url = args.broker
        try:
            parse_broker_url(url)
        except ValueError as exc:
            print(f"onewindow server: {exc}", file=sys.stderr)
            return 2
    else:
        port = cfg.broker.port if args.broker_port is None else args.broker_port
        if port == 0:
            port = free_port(cfg.broker.host)
        users = {}
        if cfg.broker.username and cfg.broker.password:
            users[cfg.broker.username] = cfg.broker.password
        _logins, problems = broker_logins(cfg, Path(args.config))
        if problems:        # a missing file would lock every kiosk out; a bad line only that client
            print("onewindow server: broker password file: " + "; ".join(problems), file=sys.stderr)
            if not _logins and cfg.broker.password_file:
                return 1
        broker = EmbeddedBroker(cfg.broker.host, port, hall=cfg.hall.id, users=users,
                                password_file=password_file_path(cfg, Path(args.config)))
        try:
            broker.start()
        except (OSError, TimeoutError) as exc:
            print(f"onewindow server: {exc}", file=sys.stderr)
            return 1
        url = broker.url
        if cfg.broker.username and cfg.broker.password:
            url = f"mqtt://{cfg.broker.username}:{cfg.broker.password}@{cfg.broker.host}:{port}"

    data = Path(args.data)
    store = Store(data / f"{cfg.hall.id}.sqlite3")
    service = HallService(cfg, store, url, open_all_day=args.open_all_day)
    appts = load_appointments(cfg, appointments_path(cfg, Path(args.config), args.appointments))
    if appts:
        store.save_appointments(appts)
        service.engine.add_appointments(a for a in appts if a.day >= (service.engine.day or a.day))

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=reload_config, args=(args.config, service),
                                                                  daemon=True).start())
    if not service.start():
        print(f"onewindow server: cannot reach the broker at {service.bus.address.url}; still trying",
              file=sys.stderr)
        while not stop.is_set() and not service.bus.subscribed.wait(1.0):
            pass
    # Everything loaded so far (config, today's queue) lives all day: keep it out of the collector's scans,
    # so a collection never stalls a request for long.
    gc.collect()
    gc.freeze()
    # The network thread and the request worker share the GIL; Python's default 5 ms switch interval would let
    # one hold up the other's reply by that much.
    sys.setswitchinterval(0.0005)
    if not stop.is_set():
        public = service.bus.address.url
        print(json.dumps({"event": "ready", "hall": cfg.hall.id, "broker": public,
                          "business_day": service.engine.day.isoformat() if service.engine.day else None,
                          "data": str(store.path)}, ensure_ascii=False), flush=True)
        log.info("serving hall %s on %s", cfg.hall.id, public)
    stop.wait()
    log.info("shutting down")
    service.stop()
    if broker:
        broker.stop()
    print(json.dumps({"event": "stopped", "hall": cfg.hall.id}), flush=True)
    return 0
