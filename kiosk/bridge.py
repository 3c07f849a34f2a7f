"""The one object between the kiosk's widgets and the outside world: it owns the bus client and the
device drivers, runs every blocking call on worker threads and reports through Qt signals that carry
plain values (kiosk.model). Widgets never touch the bus or a driver."""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from hall_bus import BusClient, RequestError, Topics
from hall_bus.contract import Op
from hall_bus.payloads import Guide, PayloadError, ServerState
from hall_bus.gui_thread import Mailbox
from kiosk.config import KioskConfig
from kiosk.model import (
    CasePublic, CaseQuery, Catalog, CodeQuery, Connectivity, DeviceHealth, Health, Holder, IssueOutcome, Service, Ticket, ZoneLoad,
)

log = logging.getLogger("onewindow.kiosk")


# ------------------------------------------------------------------ what the bridge needs from devices
class PrinterPort(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def health(self) -> DeviceHealth: ...
    def print_ticket(self, ticket: Ticket, lang: str, progress: Callable[[float], None]) -> None: ...
    def print_checklist(self, service: Service, lang: str) -> None: ...


class IdCardPort(Protocol):
    """on_card(Holder) for a valid card; on_health(DeviceHealth) for reader state; on_failure(reason)."""
    def open(self, on_card: Callable[[Holder], None], on_health: Callable[[DeviceHealth], None],
             on_failure: Callable[[str], None]) -> None: ...
    def close(self) -> None: ...


class ScannerPort(Protocol):
    def open(self, on_code: Callable[[str], None], on_health: Callable[[DeviceHealth], None]) -> None: ...
    def close(self) -> None: ...


class BusPort(Protocol):
    topics: Topics
    connected: bool
    def start(self) -> Any: ...
    def stop(self) -> None: ...
    def subscribe(self, topic_filter: str, handler: Callable[[str, dict[str, Any]], None]) -> None: ...
    def publish(self, topic: str, payload: dict[str, Any], *, retain: bool = False) -> Any: ...
    def request(self, op: str, args: dict[str, Any], *, timeout: float = 8.0,
                request_id: str | None = None) -> dict[str, Any]: ...
    def on_connection(self, listener: Callable[[bool], None]) -> None: ...


LOG_EVENTS = True
# A ticket request that timed out is asked again under its id until the server answers (a broker frozen for a while
# must not leave a ticket issued that nobody holds): a pause between attempts, and a limit.
SETTLE_PAUSE_S = 1.0
SETTLE_GIVE_UP_S = 900.0


def emit_log(event: str, **fields: Any) -> None:
    """One JSON line on stdout per notable event (tests and the bench read them)."""
    if not LOG_EVENTS:
        return
    try:
        sys.stdout.write(json.dumps({"event": event, "ts": round(time.time(), 3), **fields}, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except (ValueError, OSError):
        pass


class KioskBridge(QObject):
    catalogChanged = Signal(object)          # Catalog
    zoneLoadChanged = Signal(str, object)    # zone id, ZoneLoad
    connectivityChanged = Signal(object)     # Connectivity
    deviceChanged = Signal(object)           # DeviceHealth
    holderRead = Signal(object)              # Holder
    idcardFailed = Signal(str)               # reason word
    scanned = Signal(str)                    # code from a serial scanner
    issueProgress = Signal(str, float)       # stage (request, print, done), fraction 0..1
    issueFinished = Signal(object)           # IssueOutcome
    lookupFinished = Signal(object)          # IssueOutcome (kind found / refused / unreachable)
    caseFinished = Signal(object)            # IssueOutcome (found with .case / refused / unreachable)
    checklistFinished = Signal(bool, str)    # ok, printer code when not printed
    evaluationFinished = Signal(object)      # IssueOutcome (kind evaluated / refused / unreachable)
    printedBytes = Signal(float)             # monotonic time the last ticket byte went to the transport
    # the server answered a ticket request late, after the citizen was told "unreachable": the outcome they were
    # shown, the ticket and the language; the window prints it (citizen still there) or cancels it (unclaimed)
    lateTicket = Signal(object, object, str)

    def __init__(self, config: KioskConfig, *, bus: BusPort | None = None, printer: PrinterPort | None = None,
                 idcard: IdCardPort | None = None, scanner: ScannerPort | None = None, voice: Any = None,
                 hmac_key: bytes | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.topics = Topics(config.hall)
        self._bus = bus
        self._printer = printer
        self._idcard = idcard
        self._scanner = scanner
        self._voice = voice
        self._hmac_key = hmac_key
        self._device_worker = ThreadPoolExecutor(1, thread_name_prefix="kiosk-device")
        self._bus_worker = ThreadPoolExecutor(2, thread_name_prefix="kiosk-bus")
        self._lock = threading.Lock()
        self._conn = Connectivity()
        self._health: dict[str, DeviceHealth] = {}
        self._poll_pending: Future[Any] | None = None
        self._busy = False
        self._stopped = False
        self._stopping = threading.Event()        # ends the retries of requests that timed out
        self._unsettled: tuple[str, dict[str, Any], str, str, IssueOutcome] | None = None
        self.catalog: Catalog | None = None
        self._guides: dict[str, Guide] = {}          # service id -> guide (state/guide/+), shared with the catalog
        self.zone_loads: dict[str, ZoneLoad] = {}
        # Bus and device callbacks arrive on other threads; they reach the widgets through the mailbox,
        # drained on this (the GUI) thread, so no other thread ever calls into Qt (see hall_bus.gui_thread).
        self._mailbox = Mailbox().watch(lambda fd: QSocketNotifier(fd, QSocketNotifier.Type.Read, self))
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(int(config.printer.poll_s * 1000))
        self._poll_timer.timeout.connect(self.poll_printer)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._bus is None:
            self._bus = BusClient(self.config.broker, self.config.hall, self.config.client_id,
                                  presence={"kiosk": self.config.id})
        bus = self._bus
        bus.on_connection(self._on_bus_connection)
        bus.subscribe(self.topics.state_catalog, self._on_catalog)
        bus.subscribe(self.topics.state_guide("+"), self._on_guide)
        bus.subscribe(self.topics.state_zone("+"), self._on_zone)
        bus.subscribe(self.topics.state_server, self._on_server)
        bus.start()
        for health in list(self._health.values()):     # found before the bus existed
            bus.publish(self._device_topic(health.kind), health.status_payload(), retain=True)
        if self._printer is not None:
            self._device_worker.submit(self._open_printer)
            self._poll_timer.start()
        else:
            self._set_health(DeviceHealth("printer", Health.OFFLINE, "not_configured"))
        if self._idcard is not None:
            self._device_worker.submit(self._guard, "idcard", lambda: self._idcard.open(  # type: ignore[union-attr]
                self._on_card, self._set_health, self._on_card_rejected))
        if self._scanner is not None:
            self._device_worker.submit(self._guard, "scanner", lambda: self._scanner.open(  # type: ignore[union-attr]
                lambda code: self._emit(self.scanned, code), self._set_health))

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self._poll_timer.stop()
        for port in (self._idcard, self._scanner, self._printer, self._voice):
            if port is not None:
                try:
                    port.close()
                except Exception:  # closing must not stop the others from closing
                    log.exception("closing %r failed", port)
        self._device_worker.shutdown(wait=True, cancel_futures=True)
        self._bus_worker.shutdown(wait=False, cancel_futures=True)
        if self._bus is not None:
            self._bus.stop()
        self._mailbox.close()

    def _emit(self, signal: Any, *args: Any) -> None:
        """signal.emit(*args) on the GUI thread, whichever thread calls this."""
        self._mailbox.call(signal.emit, *args)

    def _guard(self, kind: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:  # a missing reader must not stop the kiosk
            log.warning("%s failed to open: %s", kind, exc)
            self._set_health(DeviceHealth(kind, Health.ERROR, "open_failed", {"message": str(exc)[:200]}))

    # ------------------------------------------------------------ state from the bus (paho's thread)
    @property
    def connectivity(self) -> Connectivity:
        return self._conn

    def health(self, kind: str) -> DeviceHealth:
        return self._health.get(kind, DeviceHealth(kind))

    def _on_bus_connection(self, up: bool) -> None:
        with self._lock:
            self._conn = Connectivity(up, self._conn.server)
            conn = self._conn
        if up:  # the broker may have lost our retained device states: they are re-published by the client
            pass
        emit_log("bus", connected=up)
        self._emit(self.connectivityChanged, conn)

    def _on_server(self, topic: str, obj: dict[str, Any]) -> None:
        try:
            online = ServerState.parse(obj).state == "online"
        except PayloadError as exc:
            log.warning("%s dropped: %s", topic, exc)
            return
        with self._lock:
            self._conn = Connectivity(self._conn.bus or bool(getattr(self._bus, "connected", True)), online)
            conn = self._conn
        emit_log("server", online=online)
        self._emit(self.connectivityChanged, conn)

    def _on_catalog(self, _topic: str, obj: dict[str, Any]) -> None:
        try:
            catalog = Catalog.parse(obj, self._guides)
        except PayloadError as exc:
            log.warning("state/catalog dropped: %s", exc)
            return
        self.catalog = catalog
        self._emit(self.catalogChanged, catalog)

    def _on_guide(self, topic: str, obj: dict[str, Any]) -> None:
        # The guide book is shared with the catalog the screens hold: a guide that arrives later is simply there.
        try:
            guide = Guide.parse(obj)
        except PayloadError as exc:
            log.warning("%s dropped: %s", topic, exc)
            return
        self._guides[guide.service] = guide

    def _on_zone(self, topic: str, obj: dict[str, Any]) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None or len(parsed.parts) != 2:
            return
        zone = parsed.parts[1]
        try:
            load = ZoneLoad.parse(obj)
        except PayloadError as exc:
            log.warning("%s dropped: %s", topic, exc)
            return
        self.zone_loads[zone] = load
        self._emit(self.zoneLoadChanged, zone, load)

    def _device_topic(self, kind: str) -> str:
        return self.topics.device_status(self.config.client_id, self.config.device_id(kind))

    # ------------------------------------------------------------ devices
    def _set_health(self, health: DeviceHealth) -> None:
        with self._lock:
            old = self._health.get(health.kind)
            self._health[health.kind] = health
        if old == health:
            return
        emit_log("device", kind=health.kind, state=health.state.value, code=health.code)
        if self._bus is not None:
            try:
                self._bus.publish(self._device_topic(health.kind), health.status_payload(), retain=True)
            except Exception:  # the retained copy is re-published on reconnect
                log.exception("publishing %s status failed", health.kind)
        self._emit(self.deviceChanged, health)

    def report_device(self, kind: str, state: str, code: str) -> None:
        """A device problem found outside its driver (e.g. no HMAC key for the ID reader)."""
        self._set_health(DeviceHealth(kind, Health(state), code))

    def _open_printer(self) -> None:
        assert self._printer is not None
        try:
            self._printer.open()
        except Exception as exc:
            self._set_health(DeviceHealth("printer", Health.OFFLINE, "open_failed", {"message": str(exc)[:200]}))
            return
        self._check_printer()

    def _check_printer(self) -> DeviceHealth:
        assert self._printer is not None
        try:
            health = self._printer.health()
        except Exception as exc:
            health = DeviceHealth("printer", Health.OFFLINE, "no_reply", {"message": str(exc)[:200]})
        self._set_health(health)
        return health

    def poll_printer(self) -> None:
        """Ask the printer for its status when it is idle (recovery from paper out needs no restart)."""
        if self._printer is None or self._stopped or self._busy:
            return
        if self._poll_pending is not None and not self._poll_pending.done():
            return
        self._poll_pending = self._device_worker.submit(self._check_printer)

    def _on_card(self, holder: Holder) -> None:
        emit_log("idcard", masked_name=holder.display_name)
        self._emit(self.holderRead, holder)

    def _on_card_rejected(self, reason: str) -> None:
        emit_log("idcard_rejected", reason=reason)
        self._emit(self.idcardFailed, reason)

    # ------------------------------------------------------------ intents from the screens
    def say(self, text: str, lang: str) -> None:
        """A spoken prompt, when the kiosk has a voice (config [announcer])."""
        if self._voice is not None:
            self._voice.say(text, lang)

    def issue(self, service_id: str, holder: Holder | None, lang: str) -> None:
        args: dict[str, Any] = {"service": service_id, "channel": "id_card" if holder else "walk_in", "lang": lang}
        if holder is not None:
            args["holder"] = holder.as_args()
        self._start_issue(Op.TICKET_ISSUE, args, lang)

    def checkin(self, code: str, lang: str) -> None:
        self._start_issue(Op.APPOINTMENT_CHECKIN, {"code": code}, lang)

    def _start_issue(self, op: str, args: dict[str, Any], lang: str) -> None:
        self._busy = True
        self._device_worker.submit(self._issue_job, op, args, lang)

    def _issue_job(self, op: str, args: dict[str, Any], lang: str) -> None:
        try:
            self._emit(self.issueFinished, self._issue(op, args, lang))
        except Exception as exc:  # never leave the citizen on a spinning screen
            log.exception("%s failed", op)
            self._emit(self.issueFinished, IssueOutcome("refused", code="internal", message=str(exc)[:200],
                                                 message_zh="本机内部错误，请联系工作人员"))
        finally:
            self._busy = False
            unsettled, self._unsettled = self._unsettled, None
            if unsettled is not None:      # after the citizen's outcome, so a late answer always comes second
                threading.Thread(target=self._settle, args=unsettled, name="kiosk-settle", daemon=True).start()

    # ------------------------------------------------------------ requests that timed out (issue 9, finding 8)
    def _new_request_id(self) -> str:
        make = getattr(self._bus, "new_request_id", None)
        return make() if make is not None else f"{self.config.client_id}-{uuid.uuid4().hex[:12]}"

    def _until_answered(self, op: str, args: dict[str, Any], rid: str) -> dict[str, Any] | RequestError | None:
        """Ask again under the same request id until the server answers (the server answers a repeated id with
        its stored reply, so nothing is issued twice). None when the kiosk stops or gives up."""
        give_up = time.monotonic() + SETTLE_GIVE_UP_S
        while not self._stopping.is_set() and time.monotonic() < give_up:
            try:
                return self._bus.request(op, args, timeout=self.config.request_timeout_s,  # type: ignore[union-attr]
                                         request_id=rid)
            except RequestError as exc:
                if exc.code != "timeout":
                    return exc
            self._stopping.wait(SETTLE_PAUSE_S)
        if not self._stopping.is_set():
            log.error("%s %s: no answer in %.0f s; giving up", op, rid, SETTLE_GIVE_UP_S)
            emit_log("unanswered", op=op, request=rid)
        return None

    def _settle(self, op: str, args: dict[str, Any], rid: str, lang: str, shown: IssueOutcome) -> None:
        """The citizen was told "unreachable"; the server may still have issued the ticket. Learn the answer."""
        answer = self._until_answered(op, args, rid)
        if not isinstance(answer, dict):
            if isinstance(answer, RequestError):
                log.info("%s %s answered late: %s (nothing issued)", op, rid, answer.code)
            return
        try:
            ticket = Ticket.parse(answer)
        except PayloadError as exc:
            log.error("%s %s: late reply cannot be read: %s", op, rid, exc)
            return
        log.warning("%s %s answered late: ticket %s", op, rid, ticket.number)
        emit_log("answered_late", number=ticket.number)
        self._emit(self.lateTicket, shown, ticket, lang)

    def print_late(self, ticket: Ticket, lang: str) -> None:
        """The citizen who was told "unreachable" is still there: print the ticket the server issued late."""
        self._busy = True
        self._device_worker.submit(self._late_print_job, ticket, lang)

    def _late_print_job(self, ticket: Ticket, lang: str) -> None:
        try:
            self._emit(self.issueFinished, self._print_issued(ticket, lang))
        except Exception as exc:  # the number is valid
            log.exception("late ticket %s failed", ticket.number)
            self._emit(self.issueFinished, IssueOutcome("unprinted", ticket=ticket, code="print_failed",
                                                        detail=str(exc)[:200]))
        finally:
            self._busy = False

    def cancel_unclaimed(self, ticket: Ticket) -> None:
        """The citizen left before the late answer: cancel the ticket so nobody is called for it (PROTOCOL part 2:
        a kiosk cancels only its own tickets, reason `unclaimed`)."""
        def run() -> None:
            rid = self._new_request_id()
            answer = self._until_answered(Op.TICKET_CANCEL.value,
                                          {"ticket_id": ticket.id, "reason": "unclaimed"}, rid)
            if isinstance(answer, dict):
                log.warning("ticket %s cancelled: unclaimed", ticket.number)
                emit_log("cancelled_unclaimed", number=ticket.number)
            elif isinstance(answer, RequestError):
                log.error("ticket %s could not be cancelled: %s %s", ticket.number, answer.code, answer.message)
        threading.Thread(target=run, name="kiosk-cancel", daemon=True).start()

    def _issue(self, op: str, args: dict[str, Any], lang: str) -> IssueOutcome:
        # Ask the printer first: a kiosk that cannot print issues nothing.
        health = self._check_printer() if self._printer is not None else self.health("printer")
        if health.blocks_issuing:
            return IssueOutcome("printer_blocked", code=health.code)
        if not self._conn.reachable or self._bus is None:
            return IssueOutcome("unreachable", code="offline")
        self._emit(self.issueProgress, "request", 0.15)
        rid = self._new_request_id()
        try:
            data = self._bus.request(op, args, timeout=self.config.request_timeout_s, request_id=rid)
        except RequestError as exc:
            if exc.code == "timeout":   # the server may have issued it: keep asking under this id (see _settle)
                outcome = IssueOutcome("unreachable", code="timeout")
                self._unsettled = (op, args, rid, lang, outcome)
                return outcome
            return IssueOutcome("refused", code=exc.code, message=exc.message, message_zh=exc.message_zh)
        try:
            ticket = Ticket.parse(data)
        except PayloadError as exc:   # issued, but the reply breaks the contract: nothing to print from it
            log.error("%s reply cannot be read: %s", op, exc)
            return IssueOutcome("refused", code="bad_reply", message=str(exc), message_zh="服务器答复无法识别，请联系工作人员")
        return self._print_issued(ticket, lang)

    def _print_issued(self, ticket: Ticket, lang: str) -> IssueOutcome:
        emit_log("issued", number=ticket.number, service=ticket.service, channel=ticket.channel)
        self._emit(self.issueProgress, "print", 0.5)
        assert self._printer is not None
        try:
            self._printer.print_ticket(ticket, lang,
                                       lambda f: self._emit(self.issueProgress, "print", 0.5 + 0.45 * f))
            self._emit(self.printedBytes, time.monotonic())
        except Exception as exc:  # the number is valid: show it large, tell staff
            after = self._check_printer()
            code = after.code if after.state is not Health.OK else (getattr(exc, "code", "") or "print_failed")
            log.warning("ticket %s issued but not printed: %s", ticket.number, exc)
            emit_log("unprinted", number=ticket.number, reason=code)
            if after.state is Health.OK:
                self._set_health(DeviceHealth("printer", Health.ERROR, code, {"message": str(exc)[:200]}))
            return IssueOutcome("unprinted", ticket=ticket, code=code, detail=str(exc)[:200])
        self._emit(self.issueProgress, "done", 1.0)
        emit_log("printed", number=ticket.number)
        self._check_printer()   # paper may now be near its end
        return IssueOutcome("printed", ticket=ticket)

    def lookup(self, query: CodeQuery) -> None:
        args = {query.kind: query.value}
        self._bus_worker.submit(self._lookup_job, args)

    def _lookup_job(self, args: dict[str, Any]) -> None:
        data, failed = self._ask(Op.TICKET_GET, args)
        if failed is None:
            try:
                found = IssueOutcome("found", ticket=Ticket.parse(data))
            except PayloadError as exc:
                log.error("ticket.get reply cannot be read: %s", exc)
                found = IssueOutcome("refused", code="bad_reply", message=str(exc),
                                     message_zh="服务器答复无法识别，请联系工作人员")
        self._emit(self.lookupFinished, failed or found)

    def case_lookup(self, query: CaseQuery) -> None:
        """case.get by number + query code (PROTOCOL part 2): the public view, or unknown_case for a wrong number
        and a wrong code alike."""
        self._bus_worker.submit(self._case_job, query.as_args())

    def _case_job(self, args: dict[str, Any]) -> None:
        data, failed = self._ask(Op.CASE_GET, args)
        if failed is None:
            try:
                found = IssueOutcome("found", case=CasePublic.parse(data))
            except PayloadError as exc:
                log.error("case.get reply cannot be read: %s", exc)
                found = IssueOutcome("refused", code="bad_reply", message=str(exc),
                                     message_zh="服务器答复无法识别，请联系工作人员")
        outcome = failed or found
        emit_log("case_lookup", outcome=outcome.kind, code=outcome.code)     # never the number or the query code
        self._emit(self.caseFinished, outcome)

    def evaluate(self, ticket_id: str, grade: int) -> None:
        """好差评 from the kiosk (PROTOCOL.md: kiosks may call evaluation.submit), for a finished ticket."""
        self._bus_worker.submit(self._evaluate_job, ticket_id, grade)

    def _evaluate_job(self, ticket_id: str, grade: int) -> None:
        _data, failed = self._ask(Op.EVALUATION_SUBMIT, {"ticket_id": ticket_id, "grade": grade})
        if failed is None:
            emit_log("evaluated", grade=grade)
        self._emit(self.evaluationFinished, failed or IssueOutcome("evaluated", detail=str(grade)))

    def _ask(self, op: str, args: dict[str, Any]) -> tuple[dict[str, Any], IssueOutcome | None]:
        """One request on a worker thread: (data, None), or ({}, the outcome that tells why not)."""
        if not self._conn.reachable or self._bus is None:
            return {}, IssueOutcome("unreachable", code="offline")
        try:
            return self._bus.request(op, args, timeout=self.config.request_timeout_s), None
        except RequestError as exc:
            kind = "unreachable" if exc.code == "timeout" else "refused"
            return {}, IssueOutcome(kind, code=exc.code, message=exc.message, message_zh=exc.message_zh)

    def print_checklist(self, service: Service, lang: str) -> None:
        self._device_worker.submit(self._checklist_job, service, lang)

    def _checklist_job(self, service: Service, lang: str) -> None:
        if self._printer is None:
            self._emit(self.checklistFinished, False, "no printer")
            return
        health = self._check_printer()
        if health.blocks_issuing:
            self._emit(self.checklistFinished, False, health.code)
            return
        try:
            self._printer.print_checklist(service, lang)
        except Exception as exc:
            log.warning("checklist for %s not printed: %s", service.id, exc)
            after = self._check_printer()
            self._emit(self.checklistFinished, False, after.code if after.state is not Health.OK
                                        else (getattr(exc, "code", "") or "print_failed"))
            return
        self._emit(self.checklistFinished, True, "")
