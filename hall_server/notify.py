"""The systemd notify protocol (sd_notify(3)), without a dependency: one datagram per message to the unix socket
named by $NOTIFY_SOCKET (a leading `@` is the abstract namespace). `Type=notify` waits for READY=1; with
`WatchdogSec=` the unit is restarted when WATCHDOG=1 stops arriving. Without $NOTIFY_SOCKET every call is a no-op."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger("onewindow.notify")


class Notifier:
    def __init__(self, environ: "dict[str, str] | os._Environ[str] | None" = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        interval = None
        if usec and usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            interval = int(usec) / 1_000_000
        self.watchdog_s: float | None = interval
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._last_ping = 0.0

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, message: str) -> bool:
        if not self.address:
            return False
        addr = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(message.encode(), addr)
                return True
            except OSError as exc:
                log.warning("sd_notify %s to %s failed: %s", message.split("\n")[0], self.address, exc)
                return False

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        """WATCHDOG=1, at most four times per watchdog interval (called from the worker loop after every batch)."""
        if self.watchdog_s is None or not self.address:
            return False
        now = time.monotonic()
        if now - self._last_ping < self.watchdog_s / 4:
            return False
        self._last_ping = now
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
