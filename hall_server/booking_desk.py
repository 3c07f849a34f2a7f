"""The server side of online booking (预约): `appointment.slots`, `appointment.book` and `appointment.cancel` turned
into the service's outcomes (the booking to store, the appointment_booked SMS for the outbox). The rules are in
hall_server.booking (pure); the bookings live in the engine's `appointments` (today and later, restored from the
store), so check-in (`Engine.checkin`) and booking see the same seats. Runs on the service's worker."""
from __future__ import annotations

import hmac
import logging
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from hall_bus import contract
from hall_bus import payloads as bus
from hall_bus.contract import BusError, ErrorCode
from hall_bus.idnumber import PhoneError, check_mobile
from hall_server import booking
from hall_server.config import HallConfig
from hall_server.engine import Engine, Outcome
from hall_server.records import BOOKED, CANCELLED, Appointment
from hall_server.store import Store

log = logging.getLogger("onewindow.booking")

UNKNOWN = ("no such appointment, or the details given do not match it", "没有找到这个预约，或信息不符，请核对后重试")


class BookingDesk:
    def __init__(self, config: HallConfig, store: Store) -> None:
        self.config = config
        self.store = store

    def reconfigure(self, config: HallConfig) -> None:
        self.config = config

    # ------------------------------------------------------------------ requests
    def handle(self, client: str, a: contract.Args, now: datetime, engine: Engine) -> Outcome:
        """The service rolled the engine's day at the start of the batch: `now` is within the engine's day."""
        now = engine.local(now).replace(microsecond=0)
        if isinstance(a, contract.AppointmentSlots):
            return Outcome(data=self.slots(a.service, a.date, now, engine))
        if isinstance(a, contract.AppointmentBook):
            return self.book(client, a, now, engine)
        if isinstance(a, contract.AppointmentCancel):
            return self.cancel(a, now, engine)
        raise BusError(ErrorCode.UNKNOWN_OP, "not a booking operation")

    def _service(self, service: str) -> None:
        if service not in self.config.services_by_id:
            raise BusError(ErrorCode.UNKNOWN_SERVICE, f"no service {service!r}")

    def slots(self, service: str, day: str, now: datetime, engine: Engine) -> dict[str, Any]:
        self._service(service)
        return booking.slots_day(self.config, service, date.fromisoformat(day), now,
                                 engine.appointments.values()).wire()

    @staticmethod
    def _phone(phone: str | None, sms: bool) -> str | None:
        """As for cases: the phone is kept only with consent to SMS; consent without a phone is bad_phone."""
        if not sms:
            return None
        if not phone:
            raise BusError(ErrorCode.BAD_PHONE, "sms: consent given but no phone number", "同意短信通知需填写手机号码")
        try:
            return check_mobile(phone)
        except PhoneError as exc:
            raise BusError(ErrorCode.BAD_PHONE, f"phone: {exc}") from None

    def book(self, client: str, a: contract.AppointmentBook, now: datetime, engine: Engine) -> Outcome:
        phone = self._phone(a.phone, a.sms)             # the request's own faults before the hall's state
        self._service(a.service)
        day = date.fromisoformat(a.date)
        today = now.date()
        slot = booking.bookable_slot(self.config, a.service, day, a.start, now)
        cfg = self.config.booking
        ref = a.holder.ref
        blocked = booking.block_until(self.store.no_show_days(ref, today - timedelta(days=cfg.block_days)), today,
                                      cfg.no_show_limit, cfg.block_days)
        if blocked is not None:
            again = blocked + timedelta(days=1)
            raise BusError(ErrorCode.HOLDER_CAP,
                           f"{cfg.no_show_limit} missed bookings within {cfg.block_days} days: booking is possible "
                           f"again from {again.isoformat()}",
                           f"您{cfg.block_days}天内有{cfg.no_show_limit}次预约未到，{again.month}月{again.day}日起可再预约")
        booking.check_holder(engine.appointments.values(), ref, a.service, day, today, cfg.max_per_holder)
        taken = booking.seats_taken(engine.appointments.values(), a.service, day).get(slot.start, 0)
        if taken >= slot.seats:
            raise BusError(ErrorCode.SLOT_FULL, f"the slot {slot.start}-{slot.end} on {day.isoformat()} is full",
                           f"{booking.md(day)} {slot.start}-{slot.end} 已约满，请选择其他时段")
        code = booking.new_code(lambda c: c in engine.appointments or self.store.appointment_code_used(c))
        appt = Appointment(code, a.service, day, slot.start, slot.end, status=BOOKED, source="web", holder_ref=ref,
                           display_name=booking.mask_name(a.holder.display_name), phone=phone,
                           consent={"by": client, "at": now.isoformat(), "how": "web"} if phone else None,
                           created_at=now, sms_ref=f"appointment-{secrets.token_hex(6)}" if phone else None)
        engine.appointments[code] = appt
        engine.appointments_changed()
        out = Outcome(appointments=[appt])
        out.data = bus.Booking(code=code, service=a.service, date=day.isoformat(), start=slot.start,
                               end=slot.end).wire()
        if phone is not None:
            text = self._sms_text({"code": code, "service": self.config.services_by_id[a.service].name,
                                   "date": booking.md(day), "start": slot.start})
            if text is not None:
                out.sms.append({"kind": "appointment_booked", "ref": appt.sms_ref, "phone": phone, "text": text,
                                "at": now})
        log.info("booked %s %s %s (%s, %d of %d seats, %s days ahead)", a.service, day, slot.start,
                 booking.mask_code(code), taken + 1, slot.seats, (day - today).days)
        return out

    def cancel(self, a: contract.AppointmentCancel, now: datetime, engine: Engine) -> Outcome:
        """By code plus the phone's last four digits or the holder reference; a wrong code and wrong details give
        the same unknown_appointment (no enumeration)."""
        appt = engine.appointments.get(a.code.upper())
        ok = appt is not None and appt.source == "web" and appt.status == BOOKED
        if ok and appt is not None:
            if a.phone_last4 is not None:
                ok = appt.phone is not None and hmac.compare_digest(appt.phone[-4:], a.phone_last4)
            else:
                ok = appt.holder_ref is not None and hmac.compare_digest(appt.holder_ref.encode(),
                                                                          (a.holder_ref or "").encode())
        if not ok or appt is None:
            raise BusError(ErrorCode.UNKNOWN_APPOINTMENT, *UNKNOWN)
        appt.status = CANCELLED
        appt.changed_at = now
        engine.appointments_changed()
        log.info("cancelled booking %s (%s %s %s)", booking.mask_code(appt.code), appt.service, appt.day, appt.start)
        return Outcome(data={}, appointments=[appt])

    def _sms_text(self, values: dict[str, str]) -> str | None:
        settings = self.config.sms
        if settings is None:
            return None             # no [sms]: booking works, no SMS is written
        from hall_server.sms.templates import render
        return render(settings, "appointment_booked", {**values, "hall": self.config.hall.name})
