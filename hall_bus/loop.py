"""Handing bus messages (paho's network thread) to an asyncio loop — the web node's and the console's mirrors."""
from __future__ import annotations

import asyncio
from typing import Any, Callable


def call_on_loop(loop: asyncio.AbstractEventLoop | None, fn: Callable[..., Any], *args: Any) -> None:
    """Run `fn(*args)` on `loop`: at once when there is no loop yet or we are on it, else queued thread-safely; a
    closed loop (the app is stopping) drops the call."""
    if loop is None or _on_loop(loop):
        fn(*args)
        return
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
