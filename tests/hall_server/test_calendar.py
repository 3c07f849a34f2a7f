"""The hall calendar: chinese-calendar for the years it knows (holidays and 调休 working weekend days), hall.toml
[calendar] for later years, Monday-Friday (warned once a year) where neither knows; the hall's closed and extra
days change issuing only; bad [calendar] values are listed with their key paths."""
from __future__ import annotations

import logging
import tomllib
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from hall_bus.configfile import ConfigError, ConfigModel, validate
from hall_server.calendar import CalendarSettings, HallCalendar
from hall_server.deadlines import due_date

D = date.fromisoformat
CONFIG_2027 = CalendarSettings(holidays=["2027-01-01"], workdays=["2027-02-07"])   # Fri off; Sun 02-07 worked


class Hall(ConfigModel):
    """As HallConfig carries it: `[calendar]`, optional."""
    calendar: CalendarSettings = CalendarSettings()


def problems(toml: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        validate("hall.toml", tomllib.loads(toml), Hall)
    return err.value.problems


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "onewindow.calendar" and r.levelno == logging.WARNING]


# ---------------------------------------------------------------- statutory years (chinese-calendar)
def test_national_day_2026_and_its_调休_days() -> None:
    cal = HallCalendar()
    assert cal.source(2026) == "statutory"
    for day in range(1, 8):
        assert not cal.is_workday(date(2026, 10, day)), f"2026-10-0{day} is a National Day holiday"
    # chinese-calendar's own data: both weekend days are worked, and named for the holiday they pay for
    assert chinese_calendar.get_holiday_detail(D("2026-09-20")) == (False, "National Day")
    assert chinese_calendar.get_holiday_detail(D("2026-10-10")) == (False, "National Day")
    assert D("2026-09-20").weekday() == 6 and D("2026-10-10").weekday() == 5
    assert cal.is_workday(D("2026-09-20")) and cal.is_workday(D("2026-10-10"))
    assert cal.is_workday(D("2026-10-08")) and cal.is_workday(D("2026-10-09"))
    assert cal.next_workday(D("2026-09-30")) == D("2026-10-08")
    assert cal.next_workday(D("2026-10-09")) == D("2026-10-10")


def test_a_normal_week() -> None:
    cal = HallCalendar()
    week = [D("2026-11-02") + timedelta(days=i) for i in range(7)]      # Monday to Sunday
    assert [cal.is_workday(d) for d in week] == [True] * 5 + [False] * 2
    assert cal.next_workday(D("2026-11-06")) == D("2026-11-09")
    assert cal.add_workdays(D("2026-11-06"), 0) == D("2026-11-06")
    assert cal.add_workdays(D("2026-11-06"), 1) == D("2026-11-09")
    assert cal.add_workdays(D("2026-11-04"), 5) == D("2026-11-11")
    assert cal.is_workday(datetime(2026, 11, 7, 9, 30)) is False          # a datetime counts as its day


def test_workdays_between_is_half_open_and_signed() -> None:
    cal = HallCalendar()
    assert cal.workdays_between(D("2026-11-02"), D("2026-11-02")) == 0
    assert cal.workdays_between(D("2026-11-02"), D("2026-11-09")) == 5       # Tue-Fri and the next Monday
    assert cal.workdays_between(D("2026-11-09"), D("2026-11-02")) == -5
    assert cal.workdays_between(D("2026-09-30"), D("2026-10-10")) == 3       # 10-08, 10-09, 10-10 (调休)
    assert cal.workdays_between(D("2026-11-06"), D("2026-11-08")) == 0       # a weekend


# ---------------------------------------------------------------- later years
def test_2027_from_config() -> None:
    cal = HallCalendar(CONFIG_2027)
    assert cal.source(2026) == "statutory" and cal.source(2027) == "config"
    assert not cal.is_workday(D("2027-01-01"))          # a Friday, listed as a holiday
    assert cal.is_workday(D("2027-01-04"))              # a Monday
    assert not cal.is_workday(D("2027-02-06"))          # a Saturday
    assert cal.is_workday(D("2027-02-07"))              # a Sunday, listed as 调休
    assert cal.next_workday(D("2026-12-31")) == D("2027-01-04")
    assert cal.source(2028) == "weekdays"


def test_2027_without_data_is_monday_to_friday_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = HallCalendar()
    caplog.set_level(logging.WARNING, logger="onewindow.calendar")
    assert cal.source(2027) == "weekdays"
    days = [D("2027-01-01") + timedelta(days=i) for i in range(60)]
    assert [cal.is_workday(d) for d in days] == [d.weekday() < 5 for d in days]
    assert cal.is_workday(D("2027-01-01"))             # New Year's Day: unknown, a Friday
    assert not cal.is_workday(D("2027-02-07"))
    cal.add_workdays(D("2027-03-01"), 30)
    assert len(warnings_of(caplog)) == 1 and "2027" in warnings_of(caplog)[0]
    cal.is_workday(D("2028-01-03"))
    assert len(warnings_of(caplog)) == 2 and "2028" in warnings_of(caplog)[1]


def test_statutory_and_config_years_never_warn(caplog: pytest.LogCaptureFixture) -> None:
    cal = HallCalendar(CONFIG_2027)
    caplog.set_level(logging.WARNING, logger="onewindow.calendar")
    cal.add_workdays(D("2026-01-01"), 400)
    assert warnings_of(caplog) == []


def test_missing_years_for_check_config() -> None:
    assert HallCalendar().missing_years(D("2026-06-01")) == [2027]
    assert HallCalendar().missing_years(D("2027-01-04")) == [2027, 2028]
    assert HallCalendar(CONFIG_2027).missing_years(D("2026-12-01")) == []
    assert HallCalendar(CONFIG_2027).missing_years(D("2027-01-04")) == [2028]
    assert HallCalendar().missing_years(D("2025-03-01")) == []
    assert HallCalendar().warnings(D("2026-06-01")) == [
        "calendar: no holiday data for 2027: fill [calendar] holidays/workdays from the State Council notice"]


def test_config_entries_for_a_statutory_year_are_ignored_and_warned() -> None:
    settings = CalendarSettings(holidays=["2026-10-01", "2026-11-02"], workdays=["2026-10-10", "2026-11-07"])
    cal = HallCalendar(settings)
    assert cal.is_workday(D("2026-11-02")) and not cal.is_workday(D("2026-11-07"))     # chinese-calendar wins
    assert cal.warnings(D("2025-06-01")) == [
        "calendar.holidays: 2026-11-02 ignored: chinese-calendar knows 2026 and says otherwise",
        "calendar.workdays: 2026-11-07 ignored: chinese-calendar knows 2026 and says otherwise"]


# ---------------------------------------------------------------- the hall's own days
def test_closed_and_extra_days_change_issuing_only() -> None:
    closed, extra = {D("2026-11-06")}, {D("2026-11-07"), D("2026-10-03")}    # a Friday; a Saturday, a holiday
    plain, hall = HallCalendar(CONFIG_2027), HallCalendar(CONFIG_2027, closed_days=closed, extra_days=extra)
    assert not hall.is_issuing_day(D("2026-11-06")) and hall.is_workday(D("2026-11-06"))
    assert hall.is_issuing_day(D("2026-11-07")) and not hall.is_workday(D("2026-11-07"))
    assert hall.is_issuing_day(D("2026-10-03")) and not hall.is_workday(D("2026-10-03"))
    assert hall.is_issuing_day(D("2026-10-10")) and not hall.is_issuing_day(D("2026-10-04"))
    days = [D("2026-09-01") + timedelta(days=i) for i in range(200)]
    assert [hall.is_workday(d) for d in days] == [plain.is_workday(d) for d in days]
    assert [plain.is_issuing_day(d) for d in days] == [plain.is_workday(d) for d in days]
    for accepted in (D("2026-09-28"), D("2026-11-02"), D("2026-11-05")):
        assert (due_date(hall, accepted, 20, "working_days") == due_date(plain, accepted, 20, "working_days"))


# ---------------------------------------------------------------- [calendar] in hall.toml
def test_toml_dates_and_strings_both_load() -> None:
    hall = validate("hall.toml", tomllib.loads(
        '[calendar]\nholidays = [2027-01-01, "2027-02-10"]\nworkdays = ["2027-02-07", 2027-02-20]\n'), Hall)
    assert hall.calendar.holidays == [D("2027-01-01"), D("2027-02-10")]
    assert hall.calendar.workdays == [D("2027-02-07"), D("2027-02-20")]
    assert Hall().calendar == CalendarSettings() and CalendarSettings().holidays == []
    assert validate("hall.toml", {}, Hall).calendar.years() == set()


@pytest.mark.parametrize("toml, expected", [
    ('holidays = ["2027-02-30"]',
     "calendar.holidays[0]: no such day: day is out of range for month (got '2027-02-30')"),
    ('holidays = ["2027-01-01", "2027/01/02"]',
     "calendar.holidays[1]: not a day: use \"YYYY-MM-DD\", e.g. \"2027-01-01\" (got '2027/01/02')"),
    ('holidays = [20270101]', 'calendar.holidays[0]: not a day: use "YYYY-MM-DD", e.g. "2027-01-01" (got 20270101)'),
    ('holidays = ["2027-1-1"]', "calendar.holidays[0]: not a day: use \"YYYY-MM-DD\", e.g. \"2027-01-01\" "
                                "(got '2027-1-1')"),
    ('holidays = [2027-01-01T08:00:00]', "calendar.holidays[0]: a date-time: give the day only, e.g. 2027-01-01 "
                                         "(got datetime.datetime(2027, 1, 1, 8, 0))"),
    ('workdays = ["2027-02-08"]', "calendar.workdays[0]: 2027-02-08 is a Monday: workdays lists weekend days worked "
                                  "(调休); Monday-Friday are working days already (got '2027-02-08')"),
    ('holidays = "2027-01-01"', "calendar.holidays: Input should be a valid list (got '2027-01-01')"),
    ('holiday = ["2027-01-01"]', "calendar.holiday: Extra inputs are not permitted (got list)"),
])
def test_bad_values_name_the_key(toml: str, expected: str) -> None:
    assert problems("[calendar]\n" + toml + "\n") == [expected]


def test_a_day_in_both_lists() -> None:
    assert problems('[calendar]\nholidays = ["2027-02-06", "2027-02-07"]\nworkdays = [2027-02-07, 2027-02-06]\n') \
        == ["calendar: 2027-02-06, 2027-02-07: in both holidays and workdays (got dict)"]


def test_every_bad_entry_is_listed() -> None:
    assert [p.split(":")[0] for p in problems(
        '[calendar]\nholidays = ["2027-13-01", "x"]\nworkdays = ["2027-02-07", "2027-02-09"]\n')] == [
        "calendar.holidays[0]", "calendar.holidays[1]", "calendar.workdays[1]"]
