"""The hall calendar: which days are working days, for issuing, booking and case deadlines.

One calendar per hall. A day's statutory status comes from, in order:
- `chinese-calendar` (the State Council's holidays and 调休 working weekend days) for the years it knows
  (2004-2026 in 1.11.0; it raises NotImplementedError for any other year);
- hall.toml `[calendar] holidays` / `workdays` for a year the config has at least one entry for (filled in from
  the State Council's notice each December): a listed holiday is a day off, a listed workday is a weekend day
  worked (调休), every other day is Monday-Friday;
- Monday-Friday for a year neither knows, with one warning per year in the log ("onewindow.calendar");
  check-config warns ahead of time (`missing_years`).

`[calendar]` entries for a year chinese-calendar knows are ignored (`warnings` lists those that disagree).
The hall's own `closed_days` / `extra_days` change issuing and booking days only (`is_issuing_day`), never
`is_workday`, so they never move a deadline.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import chinese_calendar
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from hall_bus.configfile import ConfigModel

__all__ = ["CalendarSettings", "HallCalendar", "Source", "parse_day"]

log = logging.getLogger("onewindow.calendar")

Source = Literal["statutory", "config", "weekdays"]
_ONE = timedelta(days=1)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_day(value: Any) -> date:
    """A day from hall.toml: a "YYYY-MM-DD" string or a TOML date (a `datetime.date`, not a date-time)."""
    if isinstance(value, datetime):
        raise ValueError("a date-time: give the day only, e.g. 2027-01-01")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError('not a day: use "YYYY-MM-DD", e.g. "2027-01-01"')
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"no such day: {exc}") from None


def _weekend(d: date) -> date:
    if d.weekday() < 5:
        raise ValueError(f"{d} is a {_WEEKDAY_NAMES[d.weekday()]}: workdays lists weekend days worked (调休); "
                         "Monday-Friday are working days already")
    return d


Day = Annotated[date, BeforeValidator(parse_day)]
WeekendDay = Annotated[date, BeforeValidator(parse_day), AfterValidator(_weekend)]


class CalendarSettings(ConfigModel):
    """`[calendar]`: the statutory holidays and 调休 days of the years chinese-calendar does not know yet."""
    holidays: list[Day] = Field([], description='days off ("YYYY-MM-DD"), weekend days of a holiday run included')
    workdays: list[WeekendDay] = Field([], description="weekend days worked (调休)")

    @model_validator(mode="after")
    def _disjoint(self) -> "CalendarSettings":
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"{', '.join(map(str, both))}: in both holidays and workdays")
        return self

    def years(self) -> set[int]:
        return {d.year for d in (*self.holidays, *self.workdays)}


def _plain(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


class HallCalendar:
    """The hall's working days. Build it once per loaded config, e.g.
    `HallCalendar(config.calendar, closed_days=..., extra_days=...)`; answers are memoized per day."""

    def __init__(self, settings: CalendarSettings | None = None, *, closed_days: Iterable[date] = (),
                 extra_days: Iterable[date] = ()) -> None:
        settings = settings or CalendarSettings()
        self._holidays = frozenset(settings.holidays)
        self._workdays = frozenset(settings.workdays)
        self._config_years = frozenset(settings.years())
        self.closed_days = frozenset(map(_plain, closed_days))
        self.extra_days = frozenset(map(_plain, extra_days))
        self._days: dict[date, bool] = {}
        self._sources: dict[int, Source] = {}
        self._warned: set[int] = set()

    # ------------------------------------------------------------ statutory days
    def source(self, year: int) -> Source:
        """Where `is_workday` takes the year's days from."""
        src = self._sources.get(year)
        if src is None:
            if _statutory_knows(year):
                src = "statutory"
            elif year in self._config_years:
                src = "config"
            else:
                src = "weekdays"
            self._sources[year] = src
        return src

    def is_workday(self, d: date) -> bool:
        """A statutory working day (deadlines count these); the hall's closed/extra days play no part."""
        d = _plain(d)
        known = self._days.get(d)
        if known is not None:
            return known
        src = self.source(d.year)
        if src == "statutory":
            known = bool(chinese_calendar.is_workday(d))
        elif src == "config":
            known = d in self._workdays or (d.weekday() < 5 and d not in self._holidays)
        else:
            if d.year not in self._warned:
                self._warned.add(d.year)
                log.warning("calendar: no holiday data for %d: counting Monday-Friday as working days "
                            "(fill [calendar] holidays/workdays from the State Council notice)", d.year)
            known = d.weekday() < 5
        self._days[d] = known
        return known

    def next_workday(self, d: date) -> date:
        """The first working day strictly after d."""
        d = _plain(d) + _ONE
        while not self.is_workday(d):
            d += _ONE
        return d

    def add_workdays(self, d: date, n: int) -> date:
        """The n-th working day strictly after d (n = 0: d itself)."""
        if n < 0:
            raise ValueError(f"add_workdays: n must be >= 0 (got {n})")
        d = _plain(d)
        for _ in range(n):
            d = self.next_workday(d)
        return d

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (minus those in (b, a]) when b < a."""
        a, b = _plain(a), _plain(b)
        if b < a:
            return -self.workdays_between(b, a)
        count, d = 0, a + _ONE
        while d <= b:
            count += self.is_workday(d)
            d += _ONE
        return count

    # ------------------------------------------------------------ the hall's own days
    def is_issuing_day(self, d: date) -> bool:
        """A day the hall issues tickets and takes bookings: a working day unless closed, or an extra day."""
        d = _plain(d)
        if d in self.extra_days:
            return True
        return d not in self.closed_days and self.is_workday(d)

    # ------------------------------------------------------------ check-config
    def missing_years(self, today: date) -> list[int]:
        """This year and next year when neither chinese-calendar nor [calendar] has their days."""
        return [y for y in (today.year, today.year + 1) if self.source(y) == "weekdays"]

    def warnings(self, today: date) -> list[str]:
        """check-config's lines: years without data, and [calendar] entries chinese-calendar overrides."""
        out = [f"calendar: no holiday data for {y}: fill [calendar] holidays/workdays from the State Council notice"
               for y in self.missing_years(today)]
        for name, days, off in (("holidays", self._holidays, True), ("workdays", self._workdays, False)):
            wrong = sorted(d for d in days if self.source(d.year) == "statutory" and self.is_workday(d) == off)
            if wrong:
                out.append(f"calendar.{name}: {', '.join(map(str, wrong))} ignored: chinese-calendar knows "
                           f"{'/'.join(sorted({str(d.year) for d in wrong}))} and says otherwise")
        return out


_statutory_years: dict[int, bool] = {}


def _statutory_knows(year: int) -> bool:
    """Whether chinese-calendar has the year (it raises NotImplementedError outside its range)."""
    known = _statutory_years.get(year)
    if known is None:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            known = True
        except NotImplementedError:
            known = False
        _statutory_years[year] = known
    return known
