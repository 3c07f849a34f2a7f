"""`onewindow web --config config/web.toml [--listen HOST:PORT] [--broker URL]`: one citizen web node — a `web-`
bus client mirroring the hall's retained state and uvicorn serving the pages. Prints one JSON ready line once the
mirror holds the catalog, the server is online and the socket listens."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import sys
from typing import Any, AsyncIterator

from citizen_web.config import ConfigError, WebConfig, load, parse_listen
from hall_bus.client import BusClient, parse_broker_url

log = logging.getLogger("onewindow.web")
READY_TIMEOUT_S = 60.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="onewindow web", description="The citizen web node (public phone pages).")
    p.add_argument("--config", default="config/web.toml", help="the node's config file (default: %(default)s)")
    p.add_argument("--listen", help="HOST:PORT to serve on (overrides listen in the file; port 0 picks a free one)")
    p.add_argument("--broker", help="the hall's broker URL (overrides broker in the file)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


def tune_gc() -> None:
    """Thousands of open ticket pages are hundreds of thousands of long-lived objects: with CPython's default
    thresholds a full collection then stops every page for a large part of a second (measured by bench/web.py: up to
    0.9 s with 5,000 pages). What the node built to start (modules, templates, the catalog) is frozen out of the
    collector, and the young generation is collected ten times less often (the pages' garbage is nearly all freed
    by reference counting, cycles are rare)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 20, 20)


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load(args.config)
        updates: dict[str, Any] = {}
        if args.listen:
            parse_listen(args.listen)
            updates["listen"] = args.listen
        if args.broker:
            parse_broker_url(args.broker)
            updates["broker"] = args.broker
        config = config.model_copy(update=updates)
        id_key = config.secret("hmac_key")
        csrf_secret = config.secret("csrf_secret")
    except ConfigError as err:
        print(f"onewindow web: refusing to start: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"onewindow web: {err}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(config, id_key, csrf_secret))
    except KeyboardInterrupt:
        return 0


async def serve(config: WebConfig, id_key: bytes, csrf_secret: bytes) -> int:
    import uvicorn

    from citizen_web.app import create_app
    from citizen_web.mirror import Mirror

    loop = asyncio.get_running_loop()
    bus = BusClient(config.broker, config.hall, config.client_id)
    mirror = Mirror(config.hall)
    mirror.attach(bus, loop)
    bus.start()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield

    app = create_app(config, mirror, bus, id_key=id_key, csrf_secret=csrf_secret, lifespan=lifespan)
    host, port = parse_listen(config.listen)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning",
                                           proxy_headers=False, server_header=False, date_header=True,
                                           timeout_graceful_shutdown=3, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        deadline = loop.time() + READY_TIMEOUT_S
        while not (server.started and mirror.ready.is_set()):
            if task.done():
                return 1
            if loop.time() > deadline:
                log.error("no hall state from %s within %.0f s (is the server running?)", bus.address.url,
                          READY_TIMEOUT_S)
                deadline = float("inf")       # keep waiting, said once
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        tune_gc()
        print(json.dumps({"event": "ready", "url": f"http://{shown}:{bound[1]}"}), flush=True)
        await task
    finally:
        if not task.done():
            server.should_exit = True
            await task
        bus.stop()
    return 0
