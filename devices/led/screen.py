"""An LED screen on the 7E bus that keeps showing what it should: content is re-sent periodically,
after the screen reports it lost its content (power loss) and when it comes back online."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable

from devices.frame7e import protocol as p
from devices.frame7e.bus import Bus7E, DeviceState

log = logging.getLogger("onewindow.devices.led")


@dataclass(frozen=True)
class ScreenContent:
    """What one screen shows: text lines top to bottom, and an optional ticket number for screens
    with a separate number field."""
    lines: tuple[str, ...] = ()
    number: str | None = None
    scroll: bool = False


class LedScreen:
    """One screen at `addr` on `bus`. `show()` may be called from any thread; nothing blocks."""

    def __init__(self, bus: Bus7E, addr: int, *, brightness: int | None = None, refresh_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.addr = addr
        self.brightness = brightness
        self.refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._content = ScreenContent()
        self._shown_lines = 0
        self._last_sent = clock()
        self.refreshes = 0
        bus.add_device(addr)
        bus.add_ticker(self._tick)
        bus.on_ping(self._on_ping)
        bus.on_state(self._on_state)

    @property
    def content(self) -> ScreenContent:
        return self._content

    def show(self, content: ScreenContent) -> list[Future]:
        """Show content now if it changed (and remember it for refreshes)."""
        with self._lock:
            if content == self._content and self._shown_lines:
                return []
            self._content = content
        return self.refresh()

    def show_text(self, text: str, line: int = 0, *, scroll: bool = False) -> list[Future]:
        lines = list(self._content.lines) + [""] * max(0, line + 1 - len(self._content.lines))
        lines[line] = text
        return self.show(ScreenContent(tuple(lines), self._content.number, scroll))

    def show_number(self, number: str | None) -> list[Future]:
        return self.show(ScreenContent(self._content.lines, number, self._content.scroll))

    def clear(self) -> list[Future]:
        with self._lock:
            self._content = ScreenContent()
            self._shown_lines = 0
            self._last_sent = self._clock()
        return [self.bus.submit(self.addr, p.Cmd.CLEAR)]

    def set_brightness(self, percent: int) -> Future:
        self.brightness = percent
        return self.bus.submit(self.addr, p.Cmd.BRIGHTNESS, p.brightness_payload(percent))

    def refresh(self) -> list[Future]:
        """Send the whole content again (screens forget it on power loss)."""
        with self._lock:
            content = self._content
            stale = self._shown_lines
            self._shown_lines = max(len(content.lines), 1 if content.number else 0)
            self._last_sent = self._clock()
            self.refreshes += 1
        futures = []
        if self.brightness is not None:
            futures.append(self.bus.submit(self.addr, p.Cmd.BRIGHTNESS, p.brightness_payload(self.brightness)))
        if not content.lines and content.number is None:
            futures.append(self.bus.submit(self.addr, p.Cmd.CLEAR))
            return futures
        for i, text in enumerate(content.lines):
            futures.append(self.bus.submit(self.addr, p.Cmd.SHOW_TEXT, p.text_payload(i, text, scroll=content.scroll)))
        for i in range(len(content.lines), stale):          # lines that are no longer wanted
            futures.append(self.bus.submit(self.addr, p.Cmd.SHOW_TEXT, p.text_payload(i, "")))
        if content.number is not None:
            futures.append(self.bus.submit(self.addr, p.Cmd.SHOW_NUMBER, p.number_payload(content.number)))
        return futures

    # ------------------------------------------------------------ bus callbacks (bus thread)
    def _tick(self) -> None:
        if self.bus.state(self.addr) is DeviceState.OFFLINE:
            return
        if self._clock() - self._last_sent >= self.refresh_s:
            self.refresh()

    def _on_ping(self, addr: int, info: p.PingReply) -> None:
        if addr == self.addr and info.content_lost and self._content != ScreenContent():
            log.info("%s screen %d lost its content (power loss?); sending it again", self.bus.url, addr)
            self.refresh()

    def _on_state(self, addr: int, state: DeviceState, _detail: dict[str, Any]) -> None:
        if addr == self.addr and state is DeviceState.OK and self._content != ScreenContent():
            self.refresh()


# ---------------------------------------------------------------- what to show (pure)
PAUSED_TEXT = "暂停服务"
CLOSED_TEXT = "暂停服务"
IDLE_TEXT = "欢迎光临"


def window_content(window_name: str, state: dict[str, Any] | None) -> ScreenContent:
    """A window screen from retained state/window/{w}: line 0 the window's name, line 1 the ticket
    served (请A023号) or the window's status."""
    name = (state or {}).get("name") or window_name
    if not state:
        return ScreenContent((name, ""))
    status = state.get("status")
    current = state.get("current") if isinstance(state.get("current"), dict) else None
    if status == "closed":
        return ScreenContent((name, CLOSED_TEXT))
    if status == "paused":
        return ScreenContent((name, PAUSED_TEXT))
    if current and current.get("number"):
        number = str(current["number"])
        return ScreenContent((name, f"请{number}号"), number)
    return ScreenContent((name, IDLE_TEXT))


def strip_content(zone_name: str, zone_state: dict[str, Any] | None, last_call: dict[str, Any] | None) -> ScreenContent:
    """A zone strip screen: the latest call (scrolling) and the number waiting."""
    call = (last_call or {}).get("text_zh") or ""
    waiting = (zone_state or {}).get("waiting")
    tail = f"{zone_name} 等候{waiting}人" if isinstance(waiting, int) else zone_name
    lines = (call, tail) if call else (tail,)
    return ScreenContent(lines, scroll=True)
