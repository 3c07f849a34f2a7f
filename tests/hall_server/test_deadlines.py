"""Case deadlines: working days from the day after acceptance on the hall calendar (holidays skipped, 调休 days
counted), stopped days (补正, 特别程序) not counted, 延期 added, natural-day limits moved off non-working days,
days_left signed by the dates; with hand-counted dates and a few properties."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall_server.calendar import CalendarSettings, HallCalendar
from hall_server.deadlines import days_left, due_date, working_days_taken

D = date.fromisoformat
CAL = HallCalendar()                                     # 2027 unknown: Monday-Friday
CAL_2027 = HallCalendar(CalendarSettings(holidays=["2027-01-01"], workdays=["2027-02-07"]))


# ---------------------------------------------------------------- working days
def test_five_working_days_across_national_day() -> None:
    # Accepted Monday 2026-09-28. Working days after it: 09-29 (1), 09-30 (2), 10-01..07 holidays,
    # 10-08 Thu (3), 10-09 Fri (4), 10-10 Sat (5: 调休, a working day).
    assert due_date(CAL, D("2026-09-28"), 5, "working_days") == D("2026-10-10")
    assert due_date(CAL, D("2026-09-28"), 6, "working_days") == D("2026-10-12")     # Sunday 10-11 is off


@pytest.mark.parametrize("cal, due", [
    # Accepted Tuesday 2026-12-15. 2026: 12-16..18 (3), 12-21..25 (8), 12-28..31 (12), all statutory.
    # Without 2027 data (Mon-Fri): Fri 01-01 (13), 01-04..08 (18), 01-11 (19), 01-12 (20).
    (CAL, D("2027-01-12")),
    # With [calendar] holidays 2027-01-01: 01-04..08 (17), 01-11..13 (20).
    (CAL_2027, D("2027-01-13")),
])
def test_twenty_working_days_into_2027(cal: HallCalendar, due: date) -> None:
    assert due_date(cal, D("2026-12-15"), 20, "working_days") == due


def test_on_the_spot_is_due_the_same_day() -> None:             # 即办
    for accepted in (D("2026-11-02"), D("2026-10-03"), D("2026-11-07")):     # a Monday, a holiday, a Saturday
        assert due_date(CAL, accepted, 0, "working_days") == accepted
        assert due_date(CAL, accepted, 0, "natural_days") == accepted


# ---------------------------------------------------------------- stops (补正, 特别程序)
def test_stopped_and_resumed_in_the_middle() -> None:
    accepted = D("2026-11-02")                                   # a Monday; November 2026 has no holidays
    # Unstopped: 11-03..06 (4), 11-09..13 (9), 11-16 (10).
    assert due_date(CAL, accepted, 10, "working_days") == D("2026-11-16")
    # 补正: stopped Thu 11-05, resumed Tue 11-10. Counted 11-03 (1), 11-04 (2); 11-05, 06, 09, 10 do not count;
    # on from the next working day: 11-11..13 (5), 11-16..20 (10).
    assert due_date(CAL, accepted, 10, "working_days", [(D("2026-11-05"), D("2026-11-10"))]) == D("2026-11-20")
    # two stops, the second a single day (特别程序 stopped and resumed on 11-17): one more working day
    stops = [(D("2026-11-05"), D("2026-11-10")), (D("2026-11-17"), D("2026-11-17"))]
    assert due_date(CAL, accepted, 10, "working_days", stops) == D("2026-11-23")
    # a stop over a weekend only costs its working days: Fri 11-06 .. Mon 11-09 = 2
    assert due_date(CAL, accepted, 10, "working_days", [(D("2026-11-06"), D("2026-11-09"))]) == D("2026-11-18")


def test_still_stopped_counts_as_if_resumed_today() -> None:
    accepted, stop = D("2026-11-02"), [(D("2026-11-05"), None)]
    # Stopped since 11-05, today 11-12: 11-05..12 (6 working days) do not count; counted 11-03, 11-04 (2),
    # then 11-13 (3), 11-16..20 (8), 11-23 (9), 11-24 (10).
    assert due_date(CAL, accepted, 10, "working_days", stop, today=D("2026-11-12")) == D("2026-11-24")
    assert due_date(CAL, accepted, 10, "working_days", stop, today=D("2026-11-05")) == D("2026-11-17")  # 11-05 only
    with pytest.raises(ValueError, match="still stopped"):
        due_date(CAL, accepted, 10, "working_days", stop)


def test_extensions_add_working_days() -> None:                  # 延期
    accepted = D("2026-11-02")
    assert due_date(CAL, accepted, 10, "working_days", extensions=5) == D("2026-11-23")
    assert due_date(CAL, D("2026-09-28"), 3, "working_days", extensions=2) == D("2026-10-10")
    assert due_date(CAL, accepted, 0, "working_days", extensions=1) == D("2026-11-03")


# ---------------------------------------------------------------- natural days
def test_natural_days() -> None:
    assert due_date(CAL, D("2026-11-02"), 10, "natural_days") == D("2026-11-12")      # a Thursday: stays
    assert due_date(CAL, D("2026-11-02"), 13, "natural_days") == D("2026-11-16")      # Sunday 11-15 -> Monday
    assert due_date(CAL, D("2026-09-28"), 5, "natural_days") == D("2026-10-08")       # 10-03 is a holiday
    assert due_date(CAL, D("2026-10-01"), 9, "natural_days") == D("2026-10-10")       # 调休 Saturday: stays
    # extensions add natural days: 11-12 + 3 = Sunday 11-15 -> 11-16
    assert due_date(CAL, D("2026-11-02"), 10, "natural_days", extensions=3) == D("2026-11-16")
    # stopped 11-05..11-07 (3 calendar days, the Saturday included): 11-12 + 3 = Sunday 11-15 -> 11-16
    assert due_date(CAL, D("2026-11-02"), 10, "natural_days",
                    [(D("2026-11-05"), D("2026-11-07"))]) == D("2026-11-16")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown limit unit"):
        due_date(CAL, D("2026-11-02"), 5, "hours")                    # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        due_date(CAL, D("2026-11-02"), -1, "working_days")
    with pytest.raises(ValueError, match="before it began"):
        due_date(CAL, D("2026-11-02"), 5, "working_days", [(D("2026-11-05"), D("2026-11-04"))])


# ---------------------------------------------------------------- days left, days taken
def test_days_left() -> None:
    due = D("2026-10-10")                                   # the 调休 Saturday
    assert days_left(CAL, due, D("2026-09-28"), "working_days") == 5
    assert days_left(CAL, due, D("2026-10-03"), "working_days") == 3   # in the holiday: 10-08, 10-09, 10-10
    assert days_left(CAL, due, D("2026-10-09"), "working_days") == 1
    assert days_left(CAL, due, due, "working_days") == 0
    assert days_left(CAL, due, D("2026-10-11"), "working_days") == -1  # Sunday after: overdue already
    assert days_left(CAL, due, D("2026-10-12"), "working_days") == -1  # the first working day after
    assert days_left(CAL, due, D("2026-10-13"), "working_days") == -2
    friday = D("2026-11-20")
    assert days_left(CAL, friday, D("2026-11-21"), "working_days") == -1
    assert days_left(CAL, friday, D("2026-11-24"), "working_days") == -2
    assert days_left(CAL, D("2026-11-16"), D("2026-11-14"), "working_days") == 1      # Saturday before a Monday
    assert days_left(CAL, D("2026-11-16"), D("2026-11-12"), "natural_days") == 4
    assert days_left(CAL, D("2026-11-16"), D("2026-11-16"), "natural_days") == 0
    assert days_left(CAL, D("2026-11-16"), D("2026-11-18"), "natural_days") == -2


def test_working_days_taken() -> None:
    accepted, stop = D("2026-11-02"), [(D("2026-11-05"), D("2026-11-10"))]
    assert working_days_taken(CAL, accepted, D("2026-11-20")) == 14
    assert working_days_taken(CAL, accepted, D("2026-11-20"), stop) == 10        # 4 stopped working days
    assert working_days_taken(CAL, accepted, D("2026-11-09"), [(D("2026-11-05"), None)]) == 2
    assert working_days_taken(CAL, accepted, accepted) == 0
    assert working_days_taken(CAL, D("2026-09-28"), D("2026-10-10")) == 5


# ---------------------------------------------------------------- properties
days = st.dates(min_value=D("2025-01-01"), max_value=D("2028-12-31"))
limits = st.integers(min_value=0, max_value=60)
units = st.sampled_from(["working_days", "natural_days"])


@settings(max_examples=200, deadline=None)
@given(accepted=days, n=st.integers(min_value=1, max_value=60), unit=units, ext=st.integers(0, 10))
def test_due_is_a_working_day_after_acceptance(accepted: date, n: int, unit, ext: int) -> None:
    due = due_date(CAL_2027, accepted, n, unit, extensions=ext)
    assert CAL_2027.is_workday(due) and due > accepted
    if unit == "working_days":
        assert CAL_2027.workdays_between(accepted, due) == n + ext
        assert days_left(CAL_2027, due, accepted, unit) == n + ext


@settings(max_examples=200, deadline=None)
@given(accepted=days, n=limits, unit=units, start=st.integers(0, 60), length=st.integers(0, 30),
       more=st.integers(0, 30))
def test_a_stop_never_brings_the_due_date_forward(accepted: date, n: int, unit, start: int, length: int,
                                                   more: int) -> None:
    stop = (accepted + timedelta(days=start), accepted + timedelta(days=start + length))
    longer = (stop[0], stop[1] + timedelta(days=more))
    plain = due_date(CAL_2027, accepted, n, unit)
    stopped = due_date(CAL_2027, accepted, n, unit, [stop])
    assert plain <= stopped <= due_date(CAL_2027, accepted, n, unit, [longer])
    if stop[0] > plain:                                       # a stop after the due date changes nothing
        assert stopped == plain
    assert due_date(CAL_2027, accepted, n, unit, [(stop[0], None)], today=stop[1]) == stopped


@settings(max_examples=200, deadline=None)
@given(d=days, a=limits, b=limits)
def test_add_workdays_adds_up(d: date, a: int, b: int) -> None:
    assert CAL_2027.add_workdays(d, a + b) == CAL_2027.add_workdays(CAL_2027.add_workdays(d, a), b)
    assert CAL_2027.workdays_between(d, CAL_2027.add_workdays(d, a)) == a
    e = d + timedelta(days=b)
    assert CAL_2027.workdays_between(d, e) == -CAL_2027.workdays_between(e, d)
