"""Online booking (预约), the pure part: which slots a service offers on a day, how many seats each has and how many
are left, the rules a booking must pass, the check-in window, and the no-show block (PROTOCOL part 2,
"Appointments"). No I/O and no clock: the booking desk (hall_server.booking_desk) hands in `now` and what the store
knows, and stores what comes back.

- Days: the hall calendar's issuing days (`HallCalendar.is_issuing_day`: no statutory holiday, a 调休 working
  Saturday yes, the hall's closed_days / extra_days), from today to today + `days_ahead`.
- Slots: each `[issuing] hours` period cut into `slot_minutes` pieces (a piece that does not fit whole is left
  out); today only the slots that have not started.
- Seats: `seats` per slot when set, else floor(daily_quota x share) spread evenly over the day's slots, the
  remainder to the earliest; a service with `[[issuing.period_quotas]]`: floor(period quota x share) spread over
  that period's slots instead (a morning slot's seats come out of the morning's quota); a slot without a seat is
  not offered.
- Check-in: from the slot's start − `grace_before_min` to the slot's END + `grace_after_min`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterable

from hall_bus import payloads as bus
from hall_bus.contract import BusError, ErrorCode
from hall_server.calendar import HallCalendar
from hall_server.config import BOOKING_CODE_LENGTH, BookingRules, HallConfig, parse_clock
from hall_server.records import BOOKED, NO_SHOW_APPT, Appointment

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: read aloud, typed at a kiosk
CODE_LENGTH = BOOKING_CODE_LENGTH                    # 32^10 = 2^50 codes


@dataclass(frozen=True)
class SlotSpec:
    start: str
    end: str
    seats: int


def _clock(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def md(d: date) -> str:
    """12月1日 (SMS and messages)."""
    return f"{d.month}月{d.day}日"


def new_code(taken: Callable[[str], bool], choose: Callable[[str], str] = secrets.choice) -> str:
    """An unguessable appointment code, never given out before (`taken` asks memory and the store)."""
    while True:
        code = "".join(choose(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not taken(code):
            return code


def mask_name(name: str | None) -> str | None:
    """The web node sends a masked name (张*); one that is not masked is masked here (only the first character)."""
    if not name:
        return None
    return name if "*" in name else name[0] + "*" * max(1, len(name) - 1)


def mask_code(code: str) -> str:
    """A code in a log line: the first two characters only."""
    return code[:2] + "…"


def day_slots(config: HallConfig, service: str) -> list[SlotSpec]:
    """The slots of a booking day for a service, with their seats (slots without a seat left out)."""
    rules = config.booking_rules(service)
    step = timedelta(minutes=rules.slot_minutes)
    periods: list[list[tuple[str, str]]] = []      # the slots of each hours period
    for a, b in config.issuing.hours:
        start = datetime.combine(date(2000, 1, 3), parse_clock(a))
        end = datetime.combine(date(2000, 1, 3), parse_clock(b))
        periods.append([])
        while start + step <= end:
            periods[-1].append((_clock(start.time()), _clock((start + step).time())))
            start += step
    pieces = [p for period in periods for p in period]
    if not pieces:
        return []
    quotas = config.issuing.period_quotas_of(service)
    if rules.seats is not None:
        seats = [rules.seats] * len(pieces)
    elif quotas is not None:        # 时段限号: each period's seats come out of its own quota
        seats = [n for quota, period in zip(quotas, periods) for n in _spread(int(quota * rules.share), len(period))]
    else:
        seats = _spread(int(config.services_by_id[service].daily_quota * rules.share), len(pieces))
    return [SlotSpec(s, e, n) for (s, e), n in zip(pieces, seats) if n > 0]


def _spread(total: int, slots: int) -> list[int]:
    """`total` seats over `slots` slots, evenly, the remainder to the earliest."""
    if slots == 0:
        return []
    base, extra = divmod(total, slots)
    return [base + (1 if i < extra else 0) for i in range(slots)]


def closed_reason(config: HallConfig, service: str, day: date, today: date) -> str | None:
    """Why `day` offers no booking for `service` (Chinese · English), or None when it is a booking day."""
    svc = config.services_by_id[service]
    rules = config.booking_rules(service)
    cal = config.hall_calendar
    if not svc.appointment:
        return "该业务不提供预约 · this service cannot be booked"
    if day < today:
        return "日期已过 · the day has passed"
    if day > today + timedelta(days=rules.days_ahead):
        return (f"只能预约{rules.days_ahead}天内的时段 · bookings open {rules.days_ahead} days ahead"
                if rules.days_ahead else "只能预约当天 · bookings are for today only")
    why = day_closed(cal, day)
    return None if why is None else f"{why[0]} · {why[1]}"


# Why a day is no issuing or booking day (Chinese, English): the one home of these texts (booking's closed_reason,
# the engine's `closed` error).
CLOSED_HALL_DAY = ("大厅当天不对外办公", "the hall is closed that day")
CLOSED_WEEKEND = ("周末休息", "weekend")
CLOSED_HOLIDAY = ("法定节假日", "statutory holiday")


def day_closed(cal: HallCalendar, day: date) -> tuple[str, str] | None:
    """Why the hall calendar gives `day` no issuing and no bookings (Chinese, English), or None on an issuing day."""
    if cal.is_issuing_day(day):
        return None
    if day in cal.closed_days:
        return CLOSED_HALL_DAY
    if day.weekday() >= 5:
        return CLOSED_WEEKEND
    return CLOSED_HOLIDAY


def seats_taken(appointments: Iterable[Appointment], service: str, day: date) -> dict[str, int]:
    """Live bookings (booked or checked in) per slot start."""
    taken: dict[str, int] = {}
    for a in appointments:
        if a.service == service and a.day == day and a.live:
            taken[a.start] = taken.get(a.start, 0) + 1
    return taken


def slots_day(config: HallConfig, service: str, day: date, now: datetime,
              appointments: Iterable[Appointment]) -> bus.SlotsDay:
    """`appointment.slots`: the day's open slots with seats and left (today: those not started yet)."""
    today = now.date()
    why = closed_reason(config, service, day, today)
    if why is not None:
        return bus.SlotsDay(date=day.isoformat(), service=service, slots=(), closed_reason=why)
    taken = seats_taken(appointments, service, day)
    slots = [bus.Slot(start=s.start, end=s.end, seats=s.seats, left=max(0, s.seats - taken.get(s.start, 0)))
             for s in day_slots(config, service)
             if day > today or parse_clock(s.start) > now.time()]
    if not slots:
        return bus.SlotsDay(date=day.isoformat(), service=service, slots=(),
                            closed_reason="今天的时段已全部开始 · today's slots have all begun")
    return bus.SlotsDay(date=day.isoformat(), service=service, slots=tuple(slots))


def bookable_slot(config: HallConfig, service: str, day: date, start: str, now: datetime) -> SlotSpec:
    """The slot a booking asks for, or `closed` saying why it cannot be booked."""
    why = closed_reason(config, service, day, now.date())
    if why is not None:
        zh, _, en = why.partition(" · ")
        raise BusError(ErrorCode.CLOSED, f"{day.isoformat()}: {en}", f"{md(day)}不能预约：{zh}")
    slot = next((s for s in day_slots(config, service) if s.start == start), None)
    if slot is None:
        raise BusError(ErrorCode.CLOSED, f"no booking slot starts at {start} on {day.isoformat()}",
                       f"{md(day)}没有{start}开始的预约时段")
    if day == now.date() and parse_clock(start) <= now.time():
        raise BusError(ErrorCode.CLOSED, f"the slot {slot.start}-{slot.end} has begun", "这个时段已经开始，请选择其他时段")
    return slot


def block_until(no_show_days: Iterable[date], today: date, limit: int, block_days: int) -> date | None:
    """The last day a holder stays blocked, or None. A no-show on day d counts on days d+1 .. d+block_days; the
    holder is blocked while at least `limit` of them count."""
    counting = sorted((d for d in no_show_days if d < today and (today - d).days <= block_days), reverse=True)
    if len(counting) < limit:
        return None
    return counting[limit - 1] + timedelta(days=block_days)


def check_holder(appointments: Iterable[Appointment], ref: str, service: str, day: date, today: date,
                 max_live: int) -> None:
    """One live booking per holder, service and day (duplicate_holder); at most `max_live` booked ones from today
    on (holder_cap)."""
    live = 0
    for a in appointments:
        if a.holder_ref != ref:
            continue
        if a.live and a.service == service and a.day == day:
            raise BusError(ErrorCode.DUPLICATE_HOLDER, "this person already has a booking for this service that day",
                           f"您已预约{md(a.day)} {a.start}的这项业务，同一天同一业务只能预约一次")
        if a.status == BOOKED and a.day >= today:
            live += 1
    if live >= max_live:
        raise BusError(ErrorCode.HOLDER_CAP, f"at most {max_live} open bookings per person",
                       f"每人最多同时保留{max_live}个预约，请先办理或取消已有预约")


def check_in_window(appt: Appointment, rules: BookingRules, now: datetime, today: date) -> None:
    """A booking is checked in from its start − grace_before to its end + grace_after (too_early / too_late, the
    slot and the times in the message)."""
    start_at = datetime.combine(appt.day, parse_clock(appt.start), now.tzinfo)
    end_at = datetime.combine(appt.day, parse_clock(appt.end), now.tzinfo)
    earliest = start_at - timedelta(minutes=rules.grace_before_min)
    latest = end_at + timedelta(minutes=rules.grace_after_min)
    slot = f"{appt.start}-{appt.end}"
    other_day = "" if appt.day == today else f"{md(appt.day)} "
    if appt.day > today or now < earliest:
        same = earliest.date() == today
        from_day, from_day_en = ("", "") if same else (f"{md(earliest.date())} ", f"{earliest.date().isoformat()} ")
        raise BusError(ErrorCode.TOO_EARLY,
                       f"your slot is {appt.day.isoformat()} {slot}: check in from "
                       f"{from_day_en}{_clock(earliest.time())}",
                       f"您的预约时段是 {other_day}{slot}，请在 {from_day}{_clock(earliest.time())} 以后签到")
    if appt.day < today or now > latest:
        raise BusError(ErrorCode.TOO_LATE,
                       f"your slot was {appt.day.isoformat()} {slot}: check-in closed at {_clock(latest.time())}; "
                       f"please take a number",
                       f"您的预约时段是 {other_day}{slot}，签到截止到 {_clock(latest.time())}，已过时，请现场取号")


def mark_no_shows(appointments: Iterable[Appointment], today: date, now: datetime) -> list[Appointment]:
    """Bookings of days before `today` still `booked` (never checked in) become `no_show`."""
    missed = []
    for a in appointments:
        if a.day < today and a.status == BOOKED:
            a.status = NO_SHOW_APPT
            a.changed_at = now
            missed.append(a)
    return missed
