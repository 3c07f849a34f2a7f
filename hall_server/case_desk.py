"""The server side of cases (办件): who may do what (PROTOCOL part 2, Roles), the case book's answers turned into the
service's outcomes (store, events, alerts, SMS outbox rows), 电子监察 and retention. Runs on the service's worker."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from hall_bus import contract
from hall_bus.contract import BusError, ErrorCode, Op, Role, role_of
from hall_bus.idnumber import PhoneError, check_mobile
from hall_server.cases import Case, CaseBook, CaseOutcome, ServiceTerms
from hall_server.config import HallConfig
from hall_server.engine import Engine, Event, Outcome
from hall_server.records import TicketState
from hall_server.store import CASE_MARK, Store

log = logging.getLogger("onewindow.cases")

LIST_MAX = 500


def service_terms(config: HallConfig) -> dict[str, ServiceTerms]:
    return {s.id: ServiceTerms(id=s.id, name=s.name, name_en=s.name_en, department=s.department,
                               limit_unit=s.limit_unit, promised_days=s.promised_days, legal_days=s.legal_days)
            for s in config.services}


class CaseDesk:
    def __init__(self, config: HallConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.book = self._new_book(config)

    def _new_book(self, config: HallConfig) -> CaseBook:
        return CaseBook(config.hall_calendar, service_terms(config), number_prefix=config.cases.number_prefix,
                        yellow_days=config.supervision.case_yellow_days,
                        loader=lambda number: self.store.find_case(number=number),
                        token_loader=lambda token: self.store.find_case(token=token))

    def restore(self, today: date) -> int:
        """Open cases and today's from the store; returns the side file's mark when the store had lost cases."""
        self.book = self._new_book(self.config)
        lost = self.book.restore(today, self.store.load_cases(today),
                                 mark=self.store.high_water(today).get(CASE_MARK, 0))
        if lost:
            log.error("the store lost cases of %s (numbers up to %04d were given out): they are not reused", today,
                      lost)
        return lost

    def reconfigure(self, config: HallConfig) -> None:
        self.config = config
        self.book.calendar = config.hall_calendar
        self.book._due_memo.clear()          # deadlines follow the new calendar
        self.book.services = service_terms(config)
        self.book.yellow_days = config.supervision.case_yellow_days

    # ------------------------------------------------------------------ requests
    def handle(self, client: str, a: contract.Args, now: datetime, engine: Engine) -> Outcome:
        now = engine.local(now).replace(microsecond=0)
        role = role_of(client)
        if isinstance(a, contract.CaseAccept):
            return self._accept(client, a, now, engine)
        if isinstance(a, contract.CaseRefuse):
            return self._refuse(client, a, now, engine)
        if isinstance(a, contract.CaseUpdate):
            c = self._own(client, role, a.number)
            return self._outcome(self.book.update(
                now, c, a.change, actor=self._actor(client, a.actor), note=a.note, days=a.days,
                approved_by=a.approved_by, result=a.result, reasons=a.reasons,
                delivery=a.delivery.model_dump() if a.delivery else None, missing=a.missing), engine, now)
        if isinstance(a, contract.CaseGet):
            return Outcome(data=self._get(client, role, a, now))
        if isinstance(a, contract.CaseList):
            return Outcome(data=self._list(client, role, a, now))
        raise BusError(ErrorCode.UNKNOWN_OP, "not a case operation")

    @staticmethod
    def _actor(client: str, actor: str | None) -> str:
        return actor or client

    def _phone(self, phone: str | None, sms: bool) -> str | None:
        """The phone is kept only with the citizen's consent to SMS; consent without a phone is an error."""
        if not sms:
            return None
        if not phone:
            raise BusError(ErrorCode.BAD_PHONE, "sms: consent given but no phone number", "同意短信通知需填写手机号码")
        try:
            return check_mobile(phone)
        except PhoneError as exc:
            raise BusError(ErrorCode.BAD_PHONE, f"phone: {exc}") from None

    def _ticket_at(self, engine: Engine, window: str, ticket_id: str | None, required: bool) -> Any:
        if window not in engine.windows:
            raise BusError(ErrorCode.UNKNOWN_WINDOW, f"no window {window!r}")
        if ticket_id is None:
            current = engine.windows[window].current
            if current is None:
                if required:
                    raise BusError(ErrorCode.NO_TICKET, f"window {window} serves no ticket: give ticket_id",
                                   "本窗口当前没有正在办理的号")
                return None
            return engine.tickets[current]
        t = engine.tickets.get(ticket_id)
        if t is None or t.window != window or t.state not in (TicketState.SERVING, TicketState.DONE):
            raise BusError(ErrorCode.UNKNOWN_TICKET, f"no ticket {ticket_id!r} served at window {window} today")
        return t

    def _service_at(self, window: str, service: str | None, ticket: Any) -> str:
        chosen = service or (ticket.service if ticket is not None else None)
        if chosen is None:
            raise BusError(ErrorCode.BAD_REQUEST, "args.service: required when no ticket is given")
        if chosen not in self.config.services_by_id:
            raise BusError(ErrorCode.UNKNOWN_SERVICE, f"no service {chosen!r}")
        if chosen not in self.config.windows_by_id[window].services and (ticket is None or ticket.service != chosen):
            raise BusError(ErrorCode.UNKNOWN_SERVICE, f"window {window} does not accept {chosen}",
                           "本窗口不受理这项业务")
        return chosen

    def _accept(self, client: str, a: contract.CaseAccept, now: datetime, engine: Engine) -> Outcome:
        phone = self._phone(a.phone, a.sms)          # the request's own faults before the hall's state
        ticket = self._ticket_at(engine, a.window, a.ticket_id, required=True)
        service = self._service_at(a.window, a.service, ticket)
        actor = self._actor(client, a.actor)
        return self._outcome(self.book.accept(
            now, engine.day or now.date(), service, a.window, ticket_id=ticket.id,
            applicant={"name": a.applicant.name, "id_number": a.applicant.id_number}, phone=phone, actor=actor,
            staff=a.actor, missing=a.missing, note=a.note), engine, now)

    def _refuse(self, client: str, a: contract.CaseRefuse, now: datetime, engine: Engine) -> Outcome:
        phone = self._phone(a.phone, a.sms)
        ticket = self._ticket_at(engine, a.window, a.ticket_id, required=False)
        service = self._service_at(a.window, a.service, ticket)
        applicant = {"name": a.applicant.name, "id_number": a.applicant.id_number} if a.applicant else None
        return self._outcome(self.book.refuse(
            now, engine.day or now.date(), service, a.window, a.kind, ticket_id=ticket.id if ticket else None,
            reasons=a.reasons, missing=a.missing, applicant=applicant, phone=phone,
            actor=self._actor(client, a.actor), staff=a.actor, note=a.note), engine, now)

    def _own(self, client: str, role: Role | None, number: str) -> Case:
        """A case the client may change: a panel its window's, a department its services'."""
        c = self.book.find(number)
        if c is None or c.erased:
            raise BusError(ErrorCode.UNKNOWN_CASE, f"no case {number}")
        if role is Role.PANEL and c.window != client.removeprefix("panel-"):
            raise BusError(ErrorCode.FORBIDDEN, f"case {number} belongs to window {c.window}",
                           "这个办件不是本窗口受理的")
        if role is Role.DEPT and c.department != client.removeprefix("dept-"):
            raise BusError(ErrorCode.UNKNOWN_CASE, f"no case {number} among your department's")
        return c

    def _full_for(self, client: str, role: Role | None, c: Case) -> bool:
        if role is Role.CONSOLE:
            return True
        if role is Role.PANEL:
            return c.window == client.removeprefix("panel-")
        if role is Role.DEPT:
            return c.department == client.removeprefix("dept-")
        return False

    def _get(self, client: str, role: Role | None, a: contract.CaseGet, now: datetime) -> dict[str, Any]:
        today = now.date()
        if a.token is not None:
            c = self.book.find_token(a.token)
            if c is None or c.erased:
                raise BusError(ErrorCode.UNKNOWN_CASE, "no case with that token")
        elif a.query_code is not None:
            c = self.book.by_code(a.number or "", a.query_code)
        else:                      # number alone: staff roles only (may_call refused kiosks and web nodes)
            c = self.book.find(a.number or "")
            if c is None or c.erased or (role is Role.DEPT and not self._full_for(client, role, c)):
                raise BusError(ErrorCode.UNKNOWN_CASE, f"no case {a.number}")
        if self._full_for(client, role, c):
            return self.book.full_view(c, today).wire()
        return self.book.public_view(c, today).wire()

    def _list(self, client: str, role: Role | None, a: contract.CaseList, now: datetime) -> dict[str, Any]:
        window, department = a.window, None
        if role is Role.PANEL:
            window = client.removeprefix("panel-")
        elif role is Role.DEPT:
            department = client.removeprefix("dept-")
        today = now.date()
        due_before = date.fromisoformat(a.due_before) if a.due_before else None
        views = []
        for c in self.store.list_cases(window=window, department=department, status=a.status):
            c = self.book.cases.get(c.number, c)       # the memory's copy is the same or newer
            if due_before is not None:
                if c.status in ("incomplete", "refused") or self.book.due(c, today)[0] >= due_before:
                    continue
            views.append(self.book.full_view(c, today).wire())
            if len(views) >= LIST_MAX:
                break
        return {"cases": views}

    # ------------------------------------------------------------------ outcomes
    def _outcome(self, co: CaseOutcome, engine: Engine, now: datetime) -> Outcome:
        out = Outcome(data=co.data, cases=dict(co.cases))
        out.events.extend(Event("case", ev) for ev in co.events)
        for kind, level, target, zh, en, detail in co.alerts:
            out.events.append(engine._alert(now, kind, level, target, zh, en, **detail))
        for draft in co.sms:
            text = self._sms_text(draft.kind, draft.values)
            if text is not None:
                out.sms.append({"kind": draft.kind, "ref": draft.ref, "phone": draft.phone, "text": text,
                                "at": now})
        return out

    def _sms_text(self, kind: str, values: dict[str, str]) -> str | None:
        settings = self.config.sms
        if settings is None:
            return None             # no [sms]: cases work, no SMS is written
        from hall_server.sms.templates import render
        link = self.config.case_url().replace("{token}", values.get("token", ""))
        return render(settings, kind, {**values, "hall": self.config.hall.name, "link": link})

    # ------------------------------------------------------------------ 电子监察, days, retention
    def supervise(self, now: datetime, engine: Engine) -> Outcome:
        now = engine.local(now).replace(microsecond=0)
        return self._outcome(self.book.supervise(now), engine, now)

    def roll(self, day: date) -> None:
        self.book.roll(day)

    def retention(self, now: datetime, engine: Engine) -> Outcome:
        """Cases closed more than `retention_days` ago lose their personal data (applicant, phone, consent, notes);
        the SMS outbox rows of that age lose number and text."""
        cutoff = engine.local(now) - timedelta(days=self.config.cases.retention_days)
        out = Outcome()
        for c in self.store.cases_closed_before(cutoff):
            c = self.book.cases.get(c.number, c)
            self.book.erase(c)
            out.cases[c.number] = c
        erased = self.store.erase_sms_before(cutoff)
        if out.cases or erased:
            log.info("retention: erased the personal data of %d cases and %d SMS closed before %s",
                     len(out.cases), erased, cutoff.date())
        return out
