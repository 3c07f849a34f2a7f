"""差评 follow-up (好差评 rules): every 不满意 / 非常不满意 (a bad_evaluation alert) becomes a task — 回访 (call the
citizen back) within `callback_days` working days and 整改 (the fix) within `fix_days` working days — with who did
each step and when. Tasks live in `followup.jsonl` in the data dir (append-only: a task line, then step lines);
an overdue step is shown as a red alert of the console's own."""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Protocol

from console.config import FollowupConfig

STEPS = ("callback", "fix")


class Calendar(Protocol):
    def add_workdays(self, d: date, n: int) -> date: ...


def calendar_for(hall_config: str) -> Calendar:
    """The hall's calendar from its hall.toml; without one the statutory calendar (then Monday–Friday)."""
    if hall_config:
        from hall_server.config import load_hall_config
        return load_hall_config(hall_config).hall_calendar
    from hall_server.calendar import HallCalendar
    return HallCalendar()


@dataclass
class Step:
    by: str
    at: str
    note: str


@dataclass
class Task:
    id: str
    created: str                    # ISO time of the alert
    ticket: str
    window: str
    grade: int
    text_zh: str
    text_en: str
    callback_due: str               # YYYY-MM-DD
    fix_due: str
    done: dict[str, Step] = field(default_factory=dict)

    def due(self, step: str) -> str:
        return self.callback_due if step == "callback" else self.fix_due

    def overdue(self, step: str, today: date) -> bool:
        return step not in self.done and today > date.fromisoformat(self.due(step))

    def open(self) -> bool:
        return any(s not in self.done for s in STEPS)


class Followups:
    def __init__(self, path: Path, calendar: Calendar, config: FollowupConfig = FollowupConfig(),
                 today: Callable[[], date] = date.today) -> None:
        self.path = path
        self.calendar = calendar
        self.config = config
        self.today = today
        self.tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    self._replay(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue

    def _replay(self, rec: dict[str, Any]) -> None:
        if rec["type"] == "task":
            self.tasks[rec["id"]] = Task(**{k: rec[k] for k in ("id", "created", "ticket", "window", "grade",
                                                                   "text_zh", "text_en", "callback_due", "fix_due")})
        elif rec["type"] == "step" and rec["id"] in self.tasks and rec["step"] in STEPS:
            self.tasks[rec["id"]].done[rec["step"]] = Step(rec["by"], rec["at"], rec.get("note", ""))

    def _append(self, rec: dict[str, Any]) -> None:
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def from_alert(self, alert: dict[str, Any]) -> Task | None:
        """A bad_evaluation alert becomes a task (once per alert id); other alerts are not tasks."""
        if alert.get("kind") != "bad_evaluation":
            return None
        with self._lock:
            if alert["id"] in self.tasks:
                return self.tasks[alert["id"]]
            try:
                raised = datetime.fromisoformat(alert["ts"]).date()
            except (KeyError, ValueError):
                raised = self.today()
            task = Task(id=alert["id"], created=alert.get("ts", ""), ticket=str(alert.get("ticket") or ""),
                        window=str(alert.get("window") or ""), grade=int(alert.get("grade") or 0),
                        text_zh=alert.get("text_zh", ""), text_en=alert.get("text_en", ""),
                        callback_due=self.calendar.add_workdays(raised, self.config.callback_days).isoformat(),
                        fix_due=self.calendar.add_workdays(raised, self.config.fix_days).isoformat())
            self._append({"type": "task", **{k: v for k, v in task.__dict__.items() if k != "done"}})
            self.tasks[task.id] = task
            return task

    def record(self, task_id: str, step: str, by: str, note: str, at: str) -> Task:
        """Record that a step was done; KeyError for an unknown task, ValueError for a bad or repeated step."""
        with self._lock:
            task = self.tasks[task_id]
            if step not in STEPS:
                raise ValueError(step)
            if step in task.done:
                raise ValueError(f"{step} already recorded")
            self._append({"type": "step", "id": task_id, "step": step, "by": by, "at": at, "note": note})
            task.done[step] = Step(by, at, note)
            return task

    def ordered(self) -> list[Task]:
        """Open tasks first (by their next due date), then the done ones, newest first."""
        open_ = sorted((t for t in self.tasks.values() if t.open()),
                       key=lambda t: t.callback_due if "callback" not in t.done else t.fix_due)
        done = sorted((t for t in self.tasks.values() if not t.open()), key=lambda t: t.created, reverse=True)
        return open_ + done[:50]

    def overdue_alerts(self) -> list[dict[str, Any]]:
        """The console's own red alerts: one per overdue step."""
        today = self.today()
        out = []
        for t in self.tasks.values():
            for step in STEPS:
                if t.overdue(step, today):
                    zh = "回访" if step == "callback" else "整改"
                    out.append({"id": f"followup-{step}-{t.id}", "level": "red", "kind": f"followup_{step}_overdue",
                                "target": t.ticket, "local": True, "task": t.id, "ts": t.due(step),
                                "text_zh": f"差评 {t.ticket} 的{zh}已逾期（应于 {t.due(step)} 前完成）",
                                "text_en": f"Bad rating {t.ticket}: {'call-back' if step == 'callback' else 'fix'} "
                                           f"overdue (due {t.due(step)})"})
        return out
