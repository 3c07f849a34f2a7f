"""The hall's records as the store keeps them: tickets, windows and appointments of a business day, with their
states (pure data; hall_server.engine changes them, hall_server.store writes them)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class TicketState(StrEnum):
    WAITING = "waiting"
    SERVING = "serving"
    HELD = "held"              # 挂起, called back later with window.call
    NO_SHOW = "no_show"        # 过号
    DONE = "done"
    TRANSFERRED = "transferred"  # waits again in the target queue, number and issue time kept
    EXPIRED = "expired"
    CANCELLED = "cancelled"


QUEUED = frozenset({TicketState.WAITING, TicketState.TRANSFERRED})
OPEN_STATES = frozenset({TicketState.WAITING, TicketState.TRANSFERRED, TicketState.HELD, TicketState.SERVING})


class WindowStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass
class Ticket:
    id: str
    day: date
    number: str
    prefix: str
    seq: int
    service: str
    zone: str
    channel: str
    priority: bool
    issued_at: datetime
    verify: str
    state: TicketState = TicketState.WAITING
    called_at: datetime | None = None
    finished_at: datetime | None = None
    window: str | None = None          # window serving / holding / that last called it
    to_window: str | None = None       # transferred to a specific window
    holder_ref: str | None = None
    birth_date: str | None = None
    display_name: str | None = None    # masked (张*), never the full name
    appointment: str | None = None
    issued_for: str | None = None      # service at issue (quota); `service` changes on transfer
    calls: int = 0
    grade: int | None = None
    alerted: bool = False
    token: str = ""                    # the citizen's long random key to the ticket page (/t/{token}); never public
    issued_by: str | None = None       # client id that asked for it (a kiosk may cancel only its own, unclaimed)
    green: bool = False                # the green channel (绿色通道, a console's staff ticket): called before all others
    actor: str | None = None           # the console user who issued it (with issued_by, the console's client id)
    served_by: str | None = None       # staff number signed in at the window that called it (sign-in on)

    def sort_key(self) -> tuple[int, datetime, int, str]:
        return (0 if self.green else 1 if self.priority else 2, self.issued_at, self.seq, self.prefix)

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id, "day": self.day.isoformat(), "number": self.number, "prefix": self.prefix,
            "seq": self.seq, "service": self.service, "zone": self.zone, "channel": self.channel,
            "priority": self.priority, "issued_at": self.issued_at.isoformat(), "verify": self.verify,
            "state": self.state.value, "called_at": _iso(self.called_at), "finished_at": _iso(self.finished_at),
            "window": self.window, "to_window": self.to_window, "holder_ref": self.holder_ref,
            "birth_date": self.birth_date, "display_name": self.display_name, "appointment": self.appointment,
            "calls": self.calls, "grade": self.grade, "alerted": self.alerted, "issued_for": self.issued_for,
            "token": self.token, "issued_by": self.issued_by, "green": self.green, "actor": self.actor,
            "served_by": self.served_by,
        }

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Ticket":
        return cls(
            id=r["id"], day=date.fromisoformat(r["day"]), number=r["number"], prefix=r["prefix"], seq=r["seq"],
            service=r["service"], zone=r["zone"], channel=r["channel"], priority=r["priority"],
            issued_at=datetime.fromisoformat(r["issued_at"]), verify=r["verify"], state=TicketState(r["state"]),
            called_at=_dt(r.get("called_at")), finished_at=_dt(r.get("finished_at")), window=r.get("window"),
            to_window=r.get("to_window"), holder_ref=r.get("holder_ref"), birth_date=r.get("birth_date"),
            display_name=r.get("display_name"), appointment=r.get("appointment"), calls=r.get("calls", 0),
            grade=r.get("grade"), alerted=r.get("alerted", False), issued_for=r.get("issued_for"),
            token=r.get("token") or "", issued_by=r.get("issued_by"), green=r.get("green", False),
            actor=r.get("actor"), served_by=r.get("served_by"),
        )


@dataclass
class WindowState:
    id: str
    status: WindowStatus = WindowStatus.CLOSED
    reason: str | None = None
    staff: str | None = None
    current: str | None = None          # ticket id being served
    last_finished: str | None = None    # ticket id the evaluator binds to
    since: datetime | None = None       # when the status last changed
    alerted: bool = False
    signed_in: str | None = None        # staff number signed in (staff.sign_in), until sign-out, close or rollover
    signed_in_at: datetime | None = None

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status.value, "reason": self.reason, "staff": self.staff,
                "current": self.current, "last_finished": self.last_finished, "since": _iso(self.since),
                "alerted": self.alerted, "signed_in": self.signed_in, "signed_in_at": _iso(self.signed_in_at)}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "WindowState":
        return cls(id=r["id"], status=WindowStatus(r["status"]), reason=r.get("reason"), staff=r.get("staff"),
                   current=r.get("current"), last_finished=r.get("last_finished"), since=_dt(r.get("since")),
                   alerted=r.get("alerted", False), signed_in=r.get("signed_in"),
                   signed_in_at=_dt(r.get("signed_in_at")))


BOOKED = "booked"              # appointment statuses: live, waiting for its check-in
CANCELLED = "cancelled"
CHECKED_IN = "checked_in"
NO_SHOW_APPT = "no_show"       # not checked in by the end of its day (counted per holder: the no-show rule)
APPOINTMENT_STATUSES = (BOOKED, CANCELLED, CHECKED_IN, NO_SHOW_APPT)


@dataclass
class Appointment:
    """A booking (预约): from the citizen web (`source` "web", under a holder) or the provincial platform's CSV
    (`source` "import", no holder, its own slot times). The phone is kept only with consent, sealed at rest."""
    code: str
    service: str
    day: date
    start: str = "00:00"
    end: str = "23:59"
    ticket_id: str | None = None
    status: str = BOOKED
    source: str = "import"
    holder_ref: str | None = None
    display_name: str | None = None     # masked (张*)
    phone: str | None = None            # only with consent to SMS; sealed at rest
    consent: dict[str, Any] | None = None   # {"by","at","how"}
    created_at: datetime | None = None
    changed_at: datetime | None = None  # cancelled, checked in or marked no_show
    sms_ref: str | None = None          # the outbox rows' ref (the sender logs refs: never the code itself)

    @property
    def live(self) -> bool:
        """Holds a seat: booked, or already checked in."""
        return self.status in (BOOKED, CHECKED_IN)

    def details(self) -> dict[str, Any]:
        """The store's `record` column: what has no column of its own (no phone: that is sealed apart)."""
        return {"display_name": self.display_name, "consent": self.consent,
                "created_at": _iso(self.created_at), "changed_at": _iso(self.changed_at), "sms_ref": self.sms_ref}


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None
