"""Case deadlines (办件时限): pure arithmetic on the hall calendar, no I/O.

Rules (PROTOCOL.md, Cases: Deadlines):
- Working-day limits (`working_days`) count the calendar's working days from the day after acceptance: a 5-day case
  accepted on Monday 2026-09-28 is due on the 5th working day after it, the National Day holidays skipped and the
  调休 Saturday 2026-10-10 counted.
- Stops: while the clock is stopped (补正 `needs_materials`, 特别程序 `suspended`) no day counts. A stop
  `(start, end)` stopped on `start` and resumed on `end`: no day in [start, end] counts, and the remaining days
  count on from the next working day after `end`. An open stop (`end` None, still stopped) is taken to end on
  `today`: the due date shown is the earliest it can still be.
- 延期 (`extensions`) adds working days (natural days for a natural-day limit) without stopping the clock.
- Natural-day limits (`natural_days`) count calendar days from the day after acceptance, stopped days excluded
  likewise; when the last day is not a working day, the case is due on the next working day.
- 0 days (即办, on the spot): due on the acceptance day itself.
- `days_left` counts working days (natural days for a natural-day limit) from today to the due date: 0 on the due
  day, -1 on the first working day after it. Its sign always follows the dates: a weekend day after the due
  date is already -1, a weekend day before it at least 1.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Literal

from hall_server.calendar import HallCalendar

__all__ = ["LimitUnit", "Stop", "due_date", "days_left", "working_days_taken"]

LimitUnit = Literal["working_days", "natural_days"]
Stop = tuple[date, date | None]
"""A clock stop: (stopped on, resumed on), None while still stopped."""

_ONE = timedelta(days=1)


def _closed_stops(stopped: Iterable[Stop], today: date | None) -> list[tuple[date, date]]:
    out = []
    for start, end in stopped:
        if end is None:
            if today is None:
                raise ValueError(f"the clock is still stopped (since {start}): pass today")
            end = max(today, start)
        if end < start:
            raise ValueError(f"a stop resumed ({end}) before it began ({start})")
        out.append((start, end))
    return out


def _is_stopped(d: date, stops: list[tuple[date, date]]) -> bool:
    return any(start <= d <= end for start, end in stops)


def due_date(cal: HallCalendar, accepted: date, days: int, unit: LimitUnit,
             stopped: Iterable[Stop] = (), extensions: int = 0, today: date | None = None) -> date:
    """The day a case accepted on `accepted` with a limit of `days` (+ `extensions`) is due.
    `today` is needed only while the last stop is open (end None)."""
    if days < 0 or extensions < 0:
        raise ValueError(f"days and extensions must be >= 0 (got {days}, {extensions})")
    stops = _closed_stops(stopped, today)
    left = total = days + extensions
    d = accepted
    if unit == "working_days":
        while left:
            d = cal.next_workday(d)
            if not _is_stopped(d, stops):
                left -= 1
        return d
    if unit == "natural_days":
        while left:
            d += _ONE
            if not _is_stopped(d, stops):
                left -= 1
        if total and not cal.is_workday(d):
            d = cal.next_workday(d)
        return d
    raise ValueError(f"unknown limit unit {unit!r}")


def days_left(cal: HallCalendar, due: date, today: date, unit: LimitUnit) -> int:
    """Days from today to the due date: 0 on it, negative when overdue (the sign always follows the dates)."""
    if unit == "natural_days":
        return (due - today).days
    if unit != "working_days":
        raise ValueError(f"unknown limit unit {unit!r}")
    n = cal.workdays_between(today, due)
    if today < due:
        return max(n, 1)
    if today > due:
        return min(n, -1)
    return 0


def working_days_taken(cal: HallCalendar, accepted: date, finished: date, stopped: Iterable[Stop] = ()) -> int:
    """Working days in (accepted, finished] with the clock running (an open stop runs to `finished`)."""
    stops = _closed_stops(stopped, finished)
    count, d = 0, accepted + _ONE
    while d <= finished:
        if cal.is_workday(d) and not _is_stopped(d, stops):
            count += 1
        d += _ONE
    return count
