"""Listener sets for drivers and buses: every listener is called; one that raises is logged, never raised into the device."""
from __future__ import annotations

import logging
from typing import Any, Callable


class Callbacks:
    """Plain functions, each called with the same arguments (bus listeners, tickers)."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what  # names the set in the log line: "<what> failed"
        self._fns: list[Callable[..., None]] = []

    def add(self, fn: Callable[..., None]) -> None:
        self._fns.append(fn)

    def __call__(self, *args: Any) -> None:
        for fn in list(self._fns):
            try:
                fn(*args)
            except Exception:  # a listener bug must never stop the device
                self._log.exception("%s failed", self._what)


class Listeners:
    """Listener objects that implement any subset of a driver's callback methods (e.g. `IdCardListener`)."""

    def __init__(self, log: logging.Logger, owner: str) -> None:
        self._log = log
        self._owner = owner  # e.g. "printer serial:///dev/ttyUSB0", names the driver in the log line
        self._listeners: list[Any] = []

    def add(self, listener: Any) -> None:
        self._listeners.append(listener)

    def remove(self, listener: Any) -> None:
        self._listeners.remove(listener)

    def notify(self, method: str, *args: Any) -> None:
        for listener in list(self._listeners):
            fn = getattr(listener, method, None)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception:
                self._log.exception("%s listener %s.%s failed", self._owner, type(listener).__name__, method)
