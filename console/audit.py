"""The console's audit log: one JSON line per action (who, role, what, target, result, when) appended to
`audit.jsonl` in the console's data dir and flushed to disk before the answer goes out; the server's `event/audit`
lines are appended too (source "server"). Never rewritten, never personal data (no ID numbers, names or phones)."""
from __future__ import annotations

import json
import os
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any, Callable


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class AuditLog:
    def __init__(self, path: Path, clock: Callable[[], str] = now_iso, keep: int = 500) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open(encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict):
                        self.recent.appendleft(entry)

    def record(self, user: str, role: str, action: str, target: str = "", *, ok: bool = True, result: str = "",
               ip: str = "", source: str = "console", **extra: Any) -> dict[str, Any]:
        entry = {"ts": self.clock(), "source": source, "user": user, "role": role, "action": action,
                 "target": target, "ok": ok, **({"result": result} if result else {}), **({"ip": ip} if ip else {}),
                 **extra}
        self._append(entry)
        return entry

    def server_event(self, event: dict[str, Any]) -> None:
        """An `event/audit` from the server (console, staff and department actions as the server saw them)."""
        self._append({"ts": event.get("ts", self.clock()), "source": "server", "user": event.get("actor", ""),
                      "client": event.get("client", ""), "action": event.get("op", ""),
                      "target": event.get("target", ""), "ok": True})

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            self.recent.appendleft(entry)
