"""`onewindow console --config config/console.toml [--listen HOST:PORT] [--broker URL] [--data DIR] [--demo-login]`
and `onewindow console user FILE NAME ROLE`: start the supervisor console, or write a console login."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("onewindow.console")

DEMO_USER = "demo"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="onewindow console",
        description="The supervisor console (值班长 / 电子监察) on the hall office LAN. Prints one JSON ready line "
                    '{"event":"ready","url":...} when it serves. `onewindow console user FILE NAME ROLE` writes a '
                    "login (roles: manager, supervisor, desk).")
    p.add_argument("--config", type=Path, required=True, help="config/console.toml")
    p.add_argument("--listen", metavar="HOST:PORT", help="override the config's listen address (port 0: any free)")
    p.add_argument("--broker", metavar="URL", help="override the config's broker URL")
    p.add_argument("--data", type=Path, metavar="DIR", help="override the config's data_dir (audit log, 差评 tasks)")
    p.add_argument("--demo-login", action="store_true",
                   help="add a manager login `demo` with a random password, given in the ready line (demo only); "
                        "without the session secret in the environment a random one is used")
    p.add_argument("--log-level", default="INFO")
    return p


def run(argv: list[str]) -> int:
    if argv[:1] == ["user"]:
        from console.users import run_user
        return run_user(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from console import config as config_mod
    try:
        cfg = config_mod.load(args.config)
        updates: dict[str, Any] = {}
        if args.listen:
            config_mod.parse_listen(args.listen)
            updates["listen"] = args.listen
        if args.broker:
            from hall_bus.client import parse_broker_url
            parse_broker_url(args.broker)
            updates["broker"] = args.broker
        if args.data:
            updates["data_dir"] = str(args.data.resolve())
        cfg = cfg.model_copy(update=updates)
        try:
            secret = cfg.secret()
        except config_mod.ConfigError:
            if not args.demo_login:
                raise
            secret = secrets.token_bytes(32)
    except (config_mod.ConfigError, ValueError) as exc:
        sys.stderr.write(f"onewindow console: {exc}\n")
        return 2
    demo_password = secrets.token_urlsafe(9) if args.demo_login else None
    try:
        return asyncio.run(serve(cfg, secret, demo_password))
    except KeyboardInterrupt:
        return 0


async def serve(cfg: Any, secret: bytes, demo_password: str | None) -> int:
    import uvicorn

    from console.app import create_app
    from console.audit import AuditLog
    from console.followup import Followups, calendar_for
    from console.mirror import Mirror
    from console.users import Role, User, UsersFile, hash_password
    from console.config import parse_listen
    from hall_bus.client import BusClient

    users = UsersFile.read(Path(cfg.users_file))
    if demo_password is not None:
        users.users[DEMO_USER] = User(DEMO_USER, Role.MANAGER, hash_password(demo_password))
    if not users.users:
        log.warning("no users in %s: nobody can log in (onewindow console user %s NAME ROLE)", cfg.users_file,
                    cfg.users_file)
    data = Path(cfg.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    bus = BusClient(cfg.broker, cfg.hall, cfg.client_id)
    mirror = Mirror(cfg.hall, presence_timeout_s=cfg.presence_timeout_s)
    audit = AuditLog(data / "audit.jsonl")
    followups = Followups(data / "followup.jsonl", calendar_for(cfg.hall_config), cfg.followup)
    mirror.attach(bus, loop)
    mirror.on_alert = followups.from_alert
    app = create_app(cfg, mirror, bus, users=users, secret=secret, audit=audit, followups=followups)
    host, port = parse_listen(cfg.listen)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="on", timeout_graceful_shutdown=2))
    server.install_signal_handlers = lambda: None        # type: ignore[method-assign]
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bus.start()
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            bus.stop()
            await task
            sys.stderr.write(f"onewindow console: cannot listen on {cfg.listen}\n")
            return 1
        await asyncio.sleep(0.02)
    sock = server.servers[0].sockets[0].getsockname()
    url = f"http://{'[' + sock[0] + ']' if ':' in sock[0] else sock[0]}:{sock[1]}"
    ready: dict[str, Any] = {"event": "ready", "url": url, "client": cfg.client_id, "broker": bus.address.url}
    if demo_password is not None:
        ready["demo_login"] = {"user": DEMO_USER, "password": demo_password}
    sys.stdout.write(json.dumps(ready, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    await stop.wait()
    server.should_exit = True
    await task
    await asyncio.to_thread(bus.stop)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
