"""The bus adapter of the hall server: requests in, engine, one durable commit per batch, replies out,
then events and retained state. A single worker thread owns the engine and the store."""
from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from hall_bus import contract
from hall_bus import payloads as bus
from hall_bus.client import BusClient
from hall_bus.contract import (
    BusError, ErrorCode, Op, make_error, make_ok, may_call, parse_request, request_id_of,
)
from hall_bus.topics import Topics
from hall_server import __version__
from hall_server.alerts import AlertBoard, DeviceWatch
from hall_server.booking_desk import BookingDesk
from hall_server.case_desk import CaseDesk
from hall_server.config import HallConfig
from hall_server.crypto import Sealer, load_or_create_key
from hall_server.engine import Engine, Event, HallError, Outcome
from hall_server.staff import SignInGuard, verify_pin
from hall_server.store import CASE_MARK, Store, StoreLost, is_storage_full

log = logging.getLogger("onewindow.server")

FLUSH_S = 0.2           # queue-length state is published at most this late
BATCH_MAX = 256          # requests committed together (group commit: one fsync for the batch)
SERVER_CLIENT_ID = "onewindow-server"
READERS = 2              # threads answering ticket.get of tickets not in today's queue
CASE_OPS = frozenset({Op.CASE_ACCEPT, Op.CASE_REFUSE, Op.CASE_UPDATE, Op.CASE_GET, Op.CASE_LIST})
BOOKING_OPS = frozenset({Op.APPOINTMENT_SLOTS, Op.APPOINTMENT_BOOK, Op.APPOINTMENT_CANCEL})
PIN_CHECKERS = 2         # threads checking staff PINs (argon2), so the worker never waits for one
# window ops that need a signed-in staff member when [staff] sign_in_required (window.close never does)
SIGNED_IN_OPS = frozenset({Op.WINDOW_OPEN, Op.WINDOW_CALL_NEXT, Op.WINDOW_CALL, Op.WINDOW_RECALL, Op.WINDOW_FINISH,
                           Op.WINDOW_NO_SHOW, Op.WINDOW_HOLD, Op.WINDOW_TRANSFER, Op.WINDOW_PAUSE, Op.WINDOW_RESUME})
READ_OPS = frozenset({Op.TICKET_GET, Op.CASE_GET, Op.CASE_LIST, Op.APPOINTMENT_SLOTS})
AUDITED_ROLES = frozenset({contract.Role.CONSOLE, contract.Role.DEPT})


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:      # a lone UTF-16 surrogate: valid JSON, but nothing can store or send it
        return False


def args_digest(args: contract.Args) -> str:
    """SHA-256 of a request's canonical arguments (what idempotency remembers instead of the arguments)."""
    given = args.given()
    if isinstance(args, contract.StaffSignIn):
        given.pop("pin", None)         # a PIN is never kept, not even as part of a digest (4 digits are guessed)
    canonical = json.dumps(given, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _PastLookup(Exception):
    """ticket.get of a ticket not in today's queue: answered from the store by a reader thread."""

    def __init__(self, args: contract.TicketGet, error: HallError) -> None:
        super().__init__(error.message)
        self.lookup = args
        self.error = error


class _StorageFull(Exception):
    """The batch could not be stored because the disk is full (already answered and logged)."""


@dataclass
class _Request:
    client: str
    op: str
    payload: bytes


@dataclass
class _Tick:
    kind: str   # "supervise" | "roll" | "flush" | "publish_all"


@dataclass
class _Raise:
    """An alert raised off the worker (the SMS sender): stored and published by the worker."""
    kind: str
    level: str
    target: str
    text_zh: str
    text_en: str


class _PinCheck(Exception):
    """staff.sign_in: the PIN is checked on a PIN thread, the sign-in committed by the worker when it returns."""

    def __init__(self, args: contract.StaffSignIn) -> None:
        super().__init__("PIN check")
        self.sign_in = args


@dataclass
class _PinChecked:
    """A PIN check's result, back on the worker: "ok", "bad" (bad_login) or "window" (not allowed there)."""
    client: str
    rid: str
    op: str
    args: contract.StaffSignIn
    result: str
    digest: str | None = None


@dataclass
class _Device:
    """A device status (device/{owner}/{device}/status) or an owner's presence (device "" ), for the worker."""
    owner: str
    device: str
    state: str
    detail: dict


@dataclass
class _Reload:
    config: HallConfig


@dataclass
class _Import:
    """The booking platform's file, read again (SIGHUP): stored and added to the engine by the worker."""
    appointments: list


class HallService:
    """Wires Engine + Store to the bus."""

    def __init__(self, config: HallConfig, store: Store, broker_url: str, *, open_all_day: bool = False,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.store = store
        self.open_all_day = open_all_day
        self.engine = Engine(config)
        self.topics = Topics(config.hall.id)
        self._clock = clock or (lambda: datetime.now(self.engine.tz))
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._timer: threading.Thread | None = None
        self._stopping = threading.Event()
        self._dirty_windows: set[str] = set()
        self._dirty_zones: set[str] = set()
        self._last_flush = 0.0
        self._digests: dict[tuple[str, str], str] = {}   # args digests of this batch's requests, for the store
        self._rebuild_after = False
        self._storage_full_alerted = False
        self._clock_behind = False
        self._lost: str | None = None            # why the store can no longer be trusted (nothing is acknowledged)
        self.on_fatal: Callable[[str], object] | None = None   # the server's exit (onewindow server: exit non-zero)
        self._pending_events: list = []           # alerts raised before the bus was up (published by the worker)
        self._backups = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hall-backup")
        self._backup_running = threading.Event()
        # lookups of older (or unknown) tickets read the store on their own read-only connections
        self._readers = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="hall-reader")
        self._dirty_since: float | None = None   # when the oldest change not yet published was made
        if store.sealer is None:      # the key for personal data at rest (cases, phones): env or a 600 key file
            store.sealer = Sealer(load_or_create_key(config.cases.key, store.path.parent, log))
        self.cases = CaseDesk(config, store)
        self.booking = BookingDesk(config, store)
        self.sms_sender: Any = None               # hall_server.sms.sender.SmsSender, started with the service
        self.published = threading.Event()        # every retained state message went out once (ready means served)
        self.alerts = AlertBoard(store.open_alerts())          # state/alerts
        self.devices = DeviceWatch.from_alerts(store.device_faults())
        self._alerts_dirty = False
        self.notice = store.notice()                           # state/notice
        self.sign_ins = SignInGuard()
        self._pins = ThreadPoolExecutor(max_workers=PIN_CHECKERS, thread_name_prefix="hall-pin")
        self._pin_pending: set[tuple[str, str]] = set()
        self._restore()
        self._window_zones: dict[str, set[str]] = {}
        offline = bus.ServerState(state="offline", version=__version__, business_day=self._day_str()).wire()
        self.bus = BusClient(broker_url, config.hall.id, SERVER_CLIENT_ID,
                             will=(self.topics.state_server, offline), max_inflight=1000)
        # A retained request would run again at every resubscribe: the server reads requests live only.
        self.bus.subscribe(self.topics.request_filter(), self._on_request, raw=True, retained=False)
        # device faults and owners going offline become alerts (retained: a fault from before a restart counts)
        self.bus.subscribe(self.topics.device_status_all, self._on_device, model=bus.DeviceStatus)
        self.bus.subscribe(self.topics.presence_all, self._on_presence, model=bus.Presence)
        self.bus.on_connection(self._on_connection)

    # ------------------------------------------------------------------ start / stop
    def _restore(self) -> None:
        now = self._clock()
        today = self._business_day(now)
        tickets, windows, calls, appts = self.store.load_day(today)
        self.engine.restore(today, tickets, windows, calls, appts, now=now)
        self._adopt_orphans(now, today)
        lost = self.engine.raise_counters(self._ticket_marks(today))
        lost_cases = self.cases.restore(today)
        if lost_cases:
            self._pending_events.append(self.engine._alert(
                now, "store_lost", "red", "cases", f"数据库丢失了今天的部分办件（编号到 {lost_cases:04d} 已发出），这些编号"
                f"不会重复使用；请从备份恢复", f"the database lost some of today's cases (numbers up to "
                f"{lost_cases:04d} were given out); those numbers are not reused; restore from a backup"))
        if lost:
            said = ", ".join(f"{p}{have:03d} < {p}{mark:03d}" for p, (have, mark) in sorted(lost.items()))
            log.error("the store lost tickets of %s (stored < given out: %s): their numbers are not issued again",
                      today, said)
            self._pending_events.append(self.engine._alert(
                now, "store_lost", "red", "server", f"数据库丢失了今天的部分号票（{said}），这些号不会重复发放；请从备份恢复",
                f"the database lost some of today's tickets ({said}); those numbers are not reused; restore from a "
                f"backup", prefixes={p: mark for p, (_h, mark) in lost.items()}))
        out = Outcome()
        # Windows stored on an earlier day are reset by the rollover rule; tickets of earlier days that were
        # left open (server down over midnight) expire now.
        last = self.store.last_day()
        if last is not None and last != today:
            old_engine = Engine(self.config)
            old_engine.restore(last, *self.store.load_day(last))
            out.tickets.update(old_engine.orphans.tickets)     # cancelled: their service or window is gone
            old_engine.roll(now, out)
            for wid in out.windows:
                self.engine.windows[wid] = old_engine.windows[wid]
            self.store.commit(out, old_engine.windows, today)
        self.store.prune(today, self.config.booking.block_days)
        self._answered = self.store.reply_keys()   # lookups hit the database only for real retries
        log.info("restored %s: %d tickets, %d calls", today, len(tickets), len(calls))

    def start(self, timeout: float = 15.0) -> bool:
        self._worker = threading.Thread(target=self._work, name="hall-worker", daemon=True)
        self._worker.start()
        if self.config.sms is not None and self.sms_sender is None:
            self.start_sms(self.config.sms)
        self.bus.start()
        ok = self.bus.wait_connected(timeout) and self.bus.subscribed.wait(timeout)
        self._timer = threading.Thread(target=self._tick_loop, name="hall-timer", daemon=True)
        self._timer.start()
        return ok

    def start_sms(self, settings: Any, gateway: Any = None) -> None:
        """The SMS sender: hands the outbox's messages to the gateway (at least once, idempotent per outbox id)."""
        from hall_server.sms.gateways import gateway_from
        from hall_server.sms.sender import SmsSender
        gw = gateway or gateway_from(settings, self.store.path.parent)

        def failing(text_zh: str, text_en: str) -> None:
            self._inbox.put(_Raise("sms_failing", "red", "sms", text_zh, text_en))

        def recovered() -> None:
            log.info("SMS gateway accepts messages again")
        self.sms_sender = SmsSender(self.store.path, settings, self.store.sealer, gw, on_failing=failing,
                                    on_recovered=recovered)
        self.sms_sender.start()

    def stop(self) -> None:
        self._stopping.set()
        self._inbox.put(None)
        if self._worker:
            self._worker.join(10)
        self._readers.shutdown(wait=True, cancel_futures=True)
        self._pins.shutdown(wait=True, cancel_futures=True)
        self._backups.shutdown(wait=True, cancel_futures=True)
        if self.sms_sender is not None:
            self.sms_sender.stop()
        self.bus.stop()
        self.store.close()

    def _tick_loop(self) -> None:
        interval = self.config.supervision.check_interval_s
        last_sup = last_roll = last_backup = time.monotonic()
        while not self._stopping.wait(FLUSH_S):
            if self._dirty_windows or self._dirty_zones or self._alerts_dirty:
                self._inbox.put(_Tick("flush"))
            now = time.monotonic()
            if now - last_roll >= 1.0:
                last_roll = now
                self._inbox.put(_Tick("roll"))
            if now - last_sup >= interval:
                last_sup = now
                self._inbox.put(_Tick("supervise"))
            every = self.config.store.backup_every_min * 60
            if every and now - last_backup >= every:
                last_backup = now
                self.start_backup()

    # ------------------------------------------------------------------ bus callbacks (paho thread)
    def _on_request(self, topic: str, payload: bytes) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None or len(parsed.parts) != 2:
            log.warning("dropped message on %s: not a request topic", topic)
            return
        client, op = parsed.parts
        self._inbox.put(_Request(client, op, payload))

    def _on_device(self, topic: str, payload: dict[str, Any]) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None or len(parsed.parts) != 3:
            return
        owner, device, _status = parsed.parts
        self._inbox.put(_Device(owner, device, payload["state"], dict(payload.get("detail") or {})))

    def _on_presence(self, topic: str, payload: dict[str, Any]) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None or len(parsed.parts) != 1 or parsed.parts[0] == SERVER_CLIENT_ID:
            return
        self._inbox.put(_Device(parsed.parts[0], "", payload["state"], {}))

    def _on_connection(self, up: bool) -> None:
        if up:
            self._inbox.put(_Tick("publish_all"))

    # ------------------------------------------------------------------ the worker
    def _work(self) -> None:
        while True:
            first = self._inbox.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._inbox.put(None)
                    break
                batch.append(item)
            try:
                self._process(batch)
            except _StorageFull:
                pass                   # answered, logged in one line and alerted
            except Exception:
                log.exception("batch of %d failed; rebuilding the queue from the store", len(batch))
                self._rebuild()

    def _rebuild(self) -> None:
        self.engine = Engine(self.config)
        now = self._clock()
        today = self._business_day(now)
        self.engine.restore(today, *self.store.load_day(today))
        self.engine.raise_counters(self._ticket_marks(today))
        self.cases.restore(today)
        self.alerts = AlertBoard(self.store.open_alerts())
        self.devices = DeviceWatch.from_alerts(self.store.device_faults())
        self.notice = self.store.notice()
        self._publish_all()

    def _ticket_marks(self, day: date) -> dict[str, int]:
        return {k: v for k, v in self.store.high_water(day).items() if k != CASE_MARK}

    def _adopt_orphans(self, now: datetime, today: date) -> None:
        """Tickets of a service or window removed from hall.toml since they were stored: cancelled (stored now),
        their cancel events and one `config` alert published by the worker's first batch."""
        orphans = self.engine.orphans
        cancelled = [t for t in orphans.tickets.values() if t.state.value == "cancelled"]
        if not (orphans.tickets or orphans.windows):
            return
        self.store.commit(Outcome(tickets=dict(orphans.tickets), windows=set(orphans.windows)), self.engine.windows,
                          today)
        if not cancelled:
            return
        numbers = ", ".join(t.number for t in cancelled)
        log.warning("cancelled %d tickets of services or windows no longer in the configuration: %s",
                    len(cancelled), numbers)
        self._pending_events.extend(orphans.events)
        self._pending_events.append(self.engine._alert(
            now, "config", "red", "server", f"配置中已删除的业务或窗口还有号票，已取消：{numbers}",
            f"tickets of services or windows removed from the configuration were cancelled: {numbers}",
            tickets=[t.number for t in cancelled]))
        self.engine.orphans = Outcome()

    def _business_day(self, now: datetime) -> date:
        """The clock's business day, but never before the store's last one: the day only moves forward (a clock
        set back, or a wrong real-time clock at boot, must not expire the real day's tickets)."""
        today = self.engine.business_day(now)
        last = self.store.last_day()
        return max(today, last) if last else today

    def _check_clock(self, now: datetime, before: date | None, roll: Outcome, outcomes: list[Outcome]) -> None:
        """A clock behind the business day keeps the day and raises one `clock` alert until it catches up; a jump
        forward by more than a day while running is logged and alerted (the day still rolls)."""
        clock_day = self.engine.business_day(now)
        day = self.engine.day
        out = Outcome()
        if day is not None and clock_day < day:
            if not self._clock_behind:
                self._clock_behind = True
                log.warning("clock behind the business day: the clock says %s, the business day is %s; keeping %s",
                            clock_day, day, day)
                out.events.append(self.engine._alert(
                    now, "clock", "red", "server", f"服务器时钟（{clock_day}）落后于业务日期（{day}），请校准时间",
                    f"the server clock ({clock_day}) is behind the business day ({day}); fix the time", clock=clock_day.isoformat(),
                    business_day=day.isoformat()))
        elif self._clock_behind:
            self._clock_behind = False
            log.info("clock caught up with the business day %s", day)
        if roll.rollover and before is not None and (roll.rollover - before).days > 1:
            log.warning("clock jumped forward from business day %s to %s while running", before, roll.rollover)
            out.events.append(self.engine._alert(
                now, "clock", "yellow", "server", f"服务器时钟从{before}跳到{roll.rollover}，请核对时间",
                f"the server clock jumped from {before} to {roll.rollover} while running; check the time",
                previous_day=before.isoformat(), business_day=roll.rollover.isoformat()))
        if out.events:
            outcomes.append(out)

    def reload(self, new: HallConfig) -> str | None:
        """Apply a new config at the next batch; None when accepted, else why it needs a restart. Texts, notices,
        materials, quotas, hours, priority and supervision apply at once; the hall's structure (ids of zones,
        services and windows, prefixes, which window serves what) only with a restart, which is quick and safe."""
        def shape(c: HallConfig) -> tuple:
            return (c.hall.id, c.hall.timezone, [z.id for z in c.zones],
                    [(s.id, s.zone, s.prefix) for s in c.services], [(w.id, w.zone, w.services) for w in c.windows],
                    c.broker, c.device_controllers)
        if shape(new) != shape(self.config):
            return "zones, services, windows, prefixes, broker or controllers changed: restart the server to apply"
        self._inbox.put(_Reload(new))
        return None

    def import_appointments(self, appointments: list) -> None:
        """The booking platform's file (at start before the worker runs, or again on SIGHUP): stored, and today's
        and later ones added to the engine, on the worker."""
        self._inbox.put(_Import(list(appointments)))

    def _process(self, batch: list[Any]) -> None:
        now = self._clock()
        committed: list[tuple[_Request, str, dict[str, Any], Outcome]] = []
        replies_now: list[tuple[str, dict[str, Any]]] = []     # (client, reply) needing no commit
        outcomes: list[Outcome] = []
        seen: dict[tuple[str, str], tuple[dict[str, Any], str | None, str | None]] = {}
        publish_all = False
        flush = False

        roll = Outcome()
        before = self.engine.day
        self.engine.roll(now, roll)
        if roll.tickets or roll.windows or roll.rollover:
            outcomes.append(roll)
            publish_all = bool(roll.rollover)
        self._check_clock(now, before, roll, outcomes)
        if self._pending_events:
            outcomes.append(Outcome(events=self._pending_events))
            self._pending_events = []
        if roll.rollover:
            self.cases.roll(roll.rollover)
            outcomes.append(self.cases.retention(now, self.engine))
            if self.sms_sender is not None:       # the gateway's own folders (sent, inbox, demo files) too
                cutoff = now.timestamp() - self.config.cases.retention_days * 86400
                self._backups.submit(self.sms_sender.erase_gateway_before, cutoff)
            self.start_backup("-rollover")

        for item in batch:
            if isinstance(item, _Reload):
                self.config = item.config
                self.engine.reconfigure(item.config)
                self.cases.reconfigure(item.config)
                self.booking.reconfigure(item.config)
                self._window_zones.clear()
                publish_all = True
                log.info("configuration reloaded")
                continue
            if isinstance(item, _Import):
                self.store.save_appointments(item.appointments)
                day = self.engine.day
                self.engine.add_appointments(a for a in item.appointments if day is None or a.day >= day)
                log.info("appointments file: %d bookings read", len(item.appointments))
                continue
            if isinstance(item, _Raise):
                outcomes.append(Outcome(events=[self.engine._alert(now, item.kind, item.level, item.target,
                                                                   item.text_zh, item.text_en)]))
                continue
            if isinstance(item, _Device):
                events = (self.devices.status(now, item.owner, item.device, item.state, item.detail, self.engine._alert)
                          if item.device else self.devices.presence(now, item.owner, item.state, self.engine._alert))
                if events:
                    outcomes.append(Outcome(events=events))
                continue
            if isinstance(item, _PinChecked):
                self._signed_in(item, now, committed, replies_now, seen)
                continue
            if isinstance(item, _Tick):
                if item.kind == "roll":
                    self._check_store(now)
                if item.kind == "supervise":
                    outcomes.append(self.engine.supervise(now))
                    outcomes.append(self.cases.supervise(now, self.engine))
                elif item.kind == "publish_all":
                    publish_all = True
                elif item.kind == "flush":
                    flush = True           # after this batch's replies, never before them
                continue
            self._handle(item, now, committed, replies_now, seen)

        all_outcomes = outcomes + [o for _r, _id, _rep, o in committed]
        if any(o.stores for o in all_outcomes):
            try:
                self._commit(outcomes, committed)
            except _StorageFull:
                for client, reply in replies_now:      # reads and refusals are still answered
                    self._send(client, reply)
                raise
            all_outcomes = outcomes + [o for _r, _id, _rep, o in committed]   # without the ones not stored
        # State first, then replies: a client that has its reply reads state that already includes it.
        if roll.rollover:              # a new business day: yesterday's holder data is no longer needed
            self.store.prune(roll.rollover, self.config.booking.block_days)
            self._answered = self.store.reply_keys()     # pruned together with the stored replies
        self._publish_changes(all_outcomes, publish_all)
        if self.sms_sender is not None and any(o.sms for o in all_outcomes):
            self.sms_sender.wake()
        for req, _rid, reply, _o in committed:
            self._send(req.client, reply)
        for client, reply in replies_now:
            self._send(client, reply)
        self._digests.clear()          # only needed until the batch is stored
        if self._rebuild_after:
            self._rebuild_after = False
            self._rebuild()
        if flush or time.monotonic() - self._last_flush >= FLUSH_S:    # after the replies: never delays one
            self._flush()

    def _commit(self, outcomes: list[Outcome], committed: list[tuple[_Request, str, dict[str, Any], Outcome]]) -> None:
        """One transaction for the batch, one savepoint per request: a request that cannot be stored is answered
        `internal` alone (and the queue rebuilt from the store), the others are acknowledged."""
        day = self.engine.day
        try:
            failed = self.store.commit_many(
                [(o, None, None, None) for o in outcomes] +
                [(o, req.client, rid, reply, req.op, self._digests.get((req.client, rid)))
                 for req, rid, reply, o in committed],
                self.engine.windows, day)
        except StoreLost as exc:
            for req, rid, _reply, _o in committed:
                self._forget(req.client, rid)
                self._send(req.client, make_error(rid, req.op, BusError(ErrorCode.INTERNAL, "the store was lost")))
            committed.clear()
            self._store_lost(str(exc))
            raise _StorageFull() from None       # answered, logged and alerted: no traceback
        except Exception as exc:
            full = is_storage_full(exc)
            if full:
                log.error("storage full: %s; %d requests refused (%s)", self.store.path, len(committed), exc)
            else:
                log.exception("commit failed; nothing of this batch is acknowledged")
            err = (BusError(ErrorCode.STORAGE_FULL, "the server's storage is full") if full
                   else BusError(ErrorCode.INTERNAL, "could not store the change"))
            for req, rid, _reply, _o in committed:
                self._forget(req.client, rid)
                self._send(req.client, make_error(rid, req.op, err))
            committed.clear()
            self._rebuild()
            if full:
                self._storage_alert()
                raise _StorageFull() from None
            raise
        self._storage_full_alerted = False
        if not failed:
            return
        n_outcomes = len(outcomes)
        drop: set[int] = set()
        for i, exc in failed:
            if i < n_outcomes:
                log.error("could not store a %s change: %s", "rollover/supervision", exc)
                continue
            req, rid, _reply, _o = committed[i - n_outcomes]
            log.warning("%s %r from %s could not be stored: %s", req.op, rid, req.client, exc)
            self._forget(req.client, rid)
            self._send(req.client, make_error(rid, req.op, BusError(ErrorCode.INTERNAL, "could not store the change")))
            drop.add(i - n_outcomes)
        committed[:] = [c for j, c in enumerate(committed) if j not in drop]
        self._rebuild_after = True     # memory holds changes the store refused: rebuild once the batch is out

    def _check_store(self, now: datetime) -> None:
        if self._lost is None:
            why = self.store.check_file()
            if why:
                self._store_lost(why)

    def _store_lost(self, why: str) -> None:
        """The database file is gone or changed under the open handle: acknowledge nothing more, alert, and exit
        non-zero (onewindow server), so the server restarts on what is on disk and the side file's numbers."""
        if self._lost is not None:
            return
        self._lost = why
        log.critical("store lost: %s; no request is acknowledged any more", why)
        alert = self.engine._alert(self._clock(), "store_lost", "red", "server",
                                   "数据库文件丢失或被截断，服务已停止受理，请立即联系技术人员从备份恢复",
                                   f"the database file was lost ({why}); the server stopped acknowledging requests",
                                   reason=why)
        self._board_add(alert.payload)
        self._send_event(alert.payload)
        if self.on_fatal is not None:
            self.on_fatal(f"store lost: {why}")

    def start_backup(self, label: str = "") -> None:
        """An online backup on the backup thread (the worker goes on), unless one is running."""
        if self._backup_running.is_set() or self._lost is not None:
            return
        self._backup_running.set()
        directory = self.store.path.parent / (self.config.store.backup_dir or "backups")

        def run() -> None:
            try:
                t0 = time.monotonic()
                target = self.store.backup(directory, self.config.store.backups_keep, label)
                log.info("backup %s in %.1f s", target, time.monotonic() - t0)
            except Exception as exc:   # noqa: BLE001 - a failed backup is logged, the hall goes on
                log.error("backup to %s failed: %s", directory, exc)
            finally:
                self._backup_running.clear()
        try:
            self._backups.submit(run)
        except RuntimeError:       # shutting down
            self._backup_running.clear()

    def _forget(self, client: str, rid: str) -> None:
        self._answered.discard((client, rid))
        self._digests.pop((client, rid), None)

    def _send(self, client: str, reply: dict[str, Any]) -> None:
        """A reply; one that cannot be encoded is logged and dropped, never a failed batch."""
        try:
            self.bus.publish(self.topics.response(client), reply)
        except Exception as exc:       # noqa: BLE001 - one reply, never the batch
            log.warning("reply to %s not sent: %s", client, exc)

    def _storage_alert(self) -> None:
        if self._storage_full_alerted:
            return
        self._storage_full_alerted = True
        now = self._clock()
        alert = self.engine._alert(now, "storage_full", "red", "server",
                                   "服务器存储空间已满，无法取号和叫号，请立即联系技术人员",
                                   f"the server's storage is full ({self.store.path}): nothing can be stored")
        self._board_add(alert.payload)
        self._send_event(alert.payload)

    def _board_add(self, alert: dict[str, Any]) -> None:
        """An alert that could not be stored (storage full, store lost) still shows in state/alerts."""
        if self.alerts.add(alert):
            self._alerts_dirty = True

    def raise_alert(self, alert: dict[str, Any]) -> None:
        """An alert raised outside the worker (the broker heartbeat): stored and published by the worker."""
        self._inbox.put(_Raise(alert.get("kind", "broker"), alert.get("level", "red"), alert.get("target", "server"),
                               alert.get("text_zh", ""), alert.get("text_en", "")))

    def _send_event(self, payload: dict[str, Any]) -> None:
        try:
            self.bus.publish(self.topics.event_alert, payload)
        except Exception as exc:       # noqa: BLE001
            log.warning("alert not sent: %s", exc)

    @staticmethod
    def _refuse(req: _Request, rid: str | None, exc: BusError, replies_now: list) -> None:
        """A request the hall will not serve: answered with the error (one log line), or dropped when it has no id
        to answer to."""
        if rid is None:
            log.warning("dropped request on %s/%s: %s", req.client, req.op, exc.message)
            return
        log.info("%s %s from %s: %s %s", req.op, rid, req.client, exc.code, exc.message)
        replies_now.append((req.client, make_error(rid, req.op, exc)))

    def _handle(self, req: _Request, now: datetime, committed: list, replies_now: list,
                seen: dict[tuple[str, str], tuple[dict[str, Any], str | None, str | None]]) -> None:
        rid = request_id_of(req.payload)
        if rid is not None and not _encodable(rid):
            log.warning("dropped request on %s/%s: its id cannot be encoded (lone surrogate)", req.client, req.op)
            replies_now.append((req.client, make_error(None, req.op, BusError(
                ErrorCode.BAD_REQUEST, "id: not encodable as UTF-8 (a lone UTF-16 surrogate)"))))
            return
        try:
            request = parse_request(req.op, req.payload)
            rid = request.id
            digest = args_digest(request.args)      # also refuses arguments that cannot be stored or sent
        except UnicodeEncodeError:
            self._refuse(req, rid, BusError(ErrorCode.BAD_REQUEST,
                                            "args: a string is not encodable as UTF-8 (a lone UTF-16 surrogate)"),
                         replies_now)
            return
        except BusError as exc:
            self._refuse(req, rid, exc, replies_now)
            return
        try:
            key = (req.client, rid)
            stored = seen.get(key) or (self.store.stored_request(req.client, rid) if key in self._answered else None)
            if stored is not None:     # a retry: the stored reply, nothing changes
                reply, op, old_digest = stored
                if (op is not None and op != req.op) or (old_digest is not None and old_digest != digest):
                    what = f"{op}" if op != req.op else f"{op} with other arguments"
                    raise BusError(ErrorCode.BAD_REQUEST,
                                   f"id {rid!r} reused: it was already used by this client for {what}")
                replies_now.append((req.client, reply))
                return
            if self._lost is not None:
                raise BusError(ErrorCode.INTERNAL, "the server's store was lost; it is restarting")
            if not may_call(req.client, req.op, request.args, self.config.controller_windows):
                raise BusError(ErrorCode.FORBIDDEN, f"client {req.client!r} may not call {req.op}"
                               + (f" for window {request.args.window!r}"
                                  if isinstance(request.args, contract.WindowArgs) else ""))
            outcome = self._dispatch(req.client, req.op, request.args, now)
            audit = self._audit(req.client, req.op, request.args, outcome, now)
            if audit is not None:
                outcome.events.append(audit)
        except _PastLookup as past:
            self._readers.submit(self._answer_past, req.client, rid, req.op, past)
            return
        except _PinCheck as check:
            self._start_pin_check(req.client, rid, req.op, check.sign_in, digest)
            return
        except BusError as exc:
            self._refuse(req, rid, exc, replies_now)
            return
        except Exception:
            # A bug, not a refusal: this client hears so at once; the batch is dropped and the queue rebuilt from
            # the store, and the other requests of the batch (unanswered, uncommitted) are retried by their clients.
            log.exception("%s from %s failed", req.op, req.client)
            if rid is not None:
                self.bus.publish(self.topics.response(req.client),
                                 make_error(rid, req.op, BusError(ErrorCode.INTERNAL, "internal error")))
            raise
        reply = make_ok(rid, req.op, outcome.data)
        seen[(req.client, rid)] = (reply, req.op, digest)
        self._answered.add((req.client, rid))
        self._digests[(req.client, rid)] = digest
        if outcome.stores:
            committed.append((req, rid, reply, outcome))
        else:   # reads change nothing and need no durable record
            replies_now.append((req.client, reply))

    def _dispatch(self, client: str, op: str, a: contract.Args, now: datetime) -> Outcome:
        e = self.engine
        op = Op(op)
        role = contract.role_of(client)
        if role in (contract.Role.PANEL, contract.Role.DEVICES) and self.config.staff.sign_in_required:
            a = self._as_signed_in(client, op, a)
        if isinstance(a, contract.TicketIssue):
            console = role is contract.Role.CONSOLE
            return e.issue(now, a.service, a.channel, a.holder.given() if a.holder else None,
                           open_all_day=self.open_all_day, issued_by=client, green=console and bool(a.priority),
                           actor=a.actor if console else None)
        if isinstance(a, contract.StaffSignIn):
            e._window(a.window)                    # unknown_window at once; the PIN on a PIN thread
            raise _PinCheck(a)
        if isinstance(a, contract.StaffSignOut):
            return e.sign_out(now, a.window)
        if isinstance(a, contract.TicketReprint):
            return e.reprint(now, a.ticket_id, a.kiosk)
        if isinstance(a, contract.AlertAck):
            acked = self.alerts.acked(a.alert_id, a.actor, e.local(now))
            return Outcome(data=acked, events=[Event("alert_ack", acked)])
        if isinstance(a, contract.NoticeSet):
            return Outcome(data={}, notice={"zh": a.zh, "en": a.en})
        if isinstance(a, contract.TicketCancel):    # a kiosk only its own tickets (may_call checked the reason)
            return e.cancel(now, a.reason, ticket_id=a.ticket_id, number=a.number, actor=a.actor,
                            only_issued_by=client if contract.role_of(client) is contract.Role.KIOSK else None)
        if isinstance(a, contract.TicketGet):
            try:
                return e.get(now, ticket_id=a.ticket_id, number=a.number, verify=a.verify, token=a.token)
            except HallError as exc:
                if a.number:          # numbers are per day: only today's
                    raise
                raise _PastLookup(a, exc) from None
        if isinstance(a, contract.AppointmentCheckin):
            return e.checkin(now, a.code, open_all_day=self.open_all_day, issued_by=client)
        if op in CASE_OPS:
            return self.cases.handle(client, a, now, e)
        if op in BOOKING_OPS:
            return self.booking.handle(client, a, now, e)
        if isinstance(a, contract.EvaluationSubmit):
            if a.token is not None and a.token not in e.by_token:
                return self._rate_case(a, now)      # not today's ticket: a case token (办结评议), or unknown_ticket
            return e.evaluate(now, a.grade, a.comment, ticket_id=a.ticket_id, verify=a.verify, token=a.token)
        assert isinstance(a, contract.WindowArgs)
        w = a.window
        if op is Op.WINDOW_CALL_NEXT:
            return e.call_next(now, w)
        if isinstance(a, contract.WindowCall):
            return e.call_number(now, w, a.number)
        if op is Op.WINDOW_RECALL:
            return e.recall(now, w)
        if op is Op.WINDOW_FINISH:
            return e.finish(now, w)
        if op is Op.WINDOW_NO_SHOW:
            return e.no_show(now, w)
        if op is Op.WINDOW_HOLD:
            return e.hold(now, w)
        if isinstance(a, contract.WindowTransfer):
            return e.transfer(now, w, service=a.service, to_window=a.to_window)
        if isinstance(a, contract.WindowOpenClose):
            staff = e.signed_in_at(w) if self.config.staff.sign_in_required else a.staff
            return e.set_window(now, w, op.value.split(".")[1], staff=staff)
        if isinstance(a, contract.WindowPause):
            return e.set_window(now, w, op.value.split(".")[1], reason=a.reason)
        raise BusError(ErrorCode.UNKNOWN_OP, f"unknown operation {op!r}")

    # ------------------------------------------------------------------ staff sign-in
    def _as_signed_in(self, client: str, op: Op, a: contract.Args) -> contract.Args:
        """With sign-in required: a window op of a window nobody is signed in at is `not_signed_in` (window.close and
        the staff ops always work), and a panel's or keypad's `actor` is the staff member signed in there."""
        window = a.window if isinstance(a, contract.WindowArgs) else client.removeprefix("panel-")
        staff = self.engine.signed_in_at(window)
        if op in SIGNED_IN_OPS and staff is None:
            self.engine._window(window)            # unknown_window before not_signed_in
            raise BusError(ErrorCode.NOT_SIGNED_IN, f"nobody is signed in at window {window}: staff.sign_in first")
        if "actor" in type(a).model_fields:
            a = a.model_copy(update={"actor": staff})
        return a

    def _start_pin_check(self, client: str, rid: str, op: str, args: contract.StaffSignIn, digest: str) -> None:
        key = (client, rid)
        if key in self._pin_pending:       # a retry while its first check runs: the first answer serves both
            return
        self._pin_pending.add(key)
        wait = self.sign_ins.wait_s(args.window)       # a window slowed down by failures waits before its check
        if wait > 0:
            timer = threading.Timer(wait, self._submit_pin_check, (client, rid, op, args, digest))
            timer.daemon = True
            timer.start()
        else:
            self._submit_pin_check(client, rid, op, args, digest)

    def _submit_pin_check(self, client: str, rid: str, op: str, args: contract.StaffSignIn, digest: str) -> None:
        try:
            self._pins.submit(self._check_pin, client, rid, op, args, digest)
        except RuntimeError:       # shutting down
            pass

    def _check_pin(self, client: str, rid: str, op: str, args: contract.StaffSignIn, digest: str) -> None:
        """On a PIN thread: argon2 (tens of ms) never runs on the worker. The result goes back to the worker; a
        failure's answer waits as long as the window's failures say (never a lock-out)."""
        member = self.config.staff_book.get(args.staff)
        if not verify_pin(member, args.pin):
            delay = self.sign_ins.failed(args.window)
            log.info("staff.sign_in at %s from %s: bad login (%d failures at this window, answered in %.1f s)",
                     args.window, client, self.sign_ins.failures(args.window), delay)
            item = _PinChecked(client, rid, op, args, "bad", digest)
            if delay > 0:
                timer = threading.Timer(delay, self._inbox.put, (item,))
                timer.daemon = True
                timer.start()
            else:
                self._inbox.put(item)
            return
        self.sign_ins.succeeded(args.window)
        assert member is not None
        self._inbox.put(_PinChecked(client, rid, op, args, "ok" if member.may_sign_in_at(args.window) else "window",
                                    digest))

    def _signed_in(self, item: _PinChecked, now: datetime, committed: list, replies_now: list,
                   seen: dict[tuple[str, str], tuple[dict[str, Any], str | None, str | None]]) -> None:
        """On the worker: the PIN was right — commit the sign-in (or refuse it) and answer with the batch."""
        key = (item.client, item.rid)
        self._pin_pending.discard(key)
        req = _Request(item.client, item.op, b"")
        a = item.args
        try:
            if item.result == "bad":
                raise BusError(ErrorCode.BAD_LOGIN, "wrong staff number or PIN")
            if item.result == "window":
                raise BusError(ErrorCode.FORBIDDEN, f"staff {a.staff} may not sign in at window {a.window}",
                               "您没有在本窗口签到的权限")
            if self._lost is not None:
                raise BusError(ErrorCode.INTERNAL, "the server's store was lost; it is restarting")
            outcome = self.engine.sign_in(now, a.window, a.staff)
        except BusError as exc:
            self._refuse(req, item.rid, exc, replies_now)
            return
        name = self.config.staff_book.masked_name(a.staff) or "*"
        outcome.data = bus.SignedIn(staff=a.staff, name=name, window=a.window).wire()
        outcome.events.append(self._audit_event(a.staff, item.client, item.op, a.window, now))
        reply = make_ok(item.rid, item.op, outcome.data)
        seen[key] = (reply, item.op, item.digest)
        self._answered.add(key)
        if item.digest:
            self._digests[key] = item.digest
        committed.append((req, item.rid, reply, outcome))

    def staff_view(self, window: str) -> dict[str, Any]:
        """`state/staff/{window}`: the staff number and masked name signed in there, or staff null."""
        w = self.engine.windows.get(window)
        if w is None or not w.signed_in:
            return {"v": 1, "staff": None}
        return bus.StaffState(staff=w.signed_in, name=self.config.staff_book.masked_name(w.signed_in) or "*",
                              since=w.signed_in_at.isoformat() if w.signed_in_at else None).wire()

    # ------------------------------------------------------------------ audit
    def _audit_event(self, actor: str, client: str, op: str, target: str, now: datetime) -> Event:
        return Event("audit", bus.AuditEvent(actor=actor, client=client, op=op, target=target,
                                             ts=self.engine.local(now).isoformat()).wire())

    def _audit(self, client: str, op: str, a: contract.Args, outcome: Outcome, now: datetime) -> Event | None:
        """`event/audit` for every action (not reads) of a console or a department, and staff sign-outs (sign-ins
        are audited when committed)."""
        role = contract.role_of(client)
        o = Op(op)
        if o in READ_OPS or not (role in AUDITED_ROLES or o is Op.STAFF_SIGN_OUT):
            return None
        actor = getattr(a, "actor", None) or client
        data = outcome.data if isinstance(outcome.data, dict) else {}
        if isinstance(a, contract.TicketReprint):
            t = self.engine.tickets.get(a.ticket_id)
            target = f"{t.number if t else a.ticket_id}@{a.kiosk}"
        elif isinstance(a, contract.AlertAck):
            target = a.alert_id
        elif isinstance(a, contract.NoticeSet):
            target = "notice"
        elif isinstance(a, contract.WindowArgs):
            target = a.window
        elif isinstance(a, contract.CaseUpdate):
            target = a.number
        else:
            target = str(data.get("number") or data.get("id") or "")
        return self._audit_event(actor, client, op, target, now)

    def _rate_case(self, a: contract.EvaluationSubmit, now: datetime) -> Outcome:
        """evaluation.submit with a case token: the case's one rating (一事一评). An unknown token is the same
        unknown_ticket as before (the reply never says whether a case or a ticket was meant)."""
        c = self.cases.book.find_token(a.token or "")
        if c is None or c.erased:
            raise HallError(ErrorCode.UNKNOWN_TICKET, "no ticket '(token)' today")
        local = self.engine.local(now).replace(microsecond=0)
        co = self.cases.book.rate(local, c, a.grade, a.comment, bad_grade=self.config.supervision.bad_grade)
        return self.cases._outcome(co, self.engine, local)

    def _answer_past(self, client: str, rid: str, op: str, past: _PastLookup) -> None:
        """On a reader thread: the ticket from an earlier day, or the unknown_ticket error; never the worker's time."""
        a = past.lookup
        older = None
        try:
            older = self.store.find_ticket_readonly(ticket_id=a.ticket_id, verify=a.verify.upper() if a.verify else None,
                                                    token=a.token)
            reply = make_ok(rid, op, self._past_ticket(older)) if older else make_error(rid, op, past.error)
        except Exception:      # noqa: BLE001 - a read that failed is this request's error only
            log.exception("%s %s from %s: lookup failed", op, rid, client)
            reply = make_error(rid, op, BusError(ErrorCode.INTERNAL, "lookup failed"))
        if older is None:
            log.info("%s %s from %s: %s %s", op, rid, client, past.error.code, past.error.message)
        self._send(client, reply)

    def _past_ticket(self, rec: dict[str, Any]) -> dict[str, Any]:
        """A ticket of an earlier day, from its stored record (nobody is ahead of it any more)."""
        svc = self.config.services_by_id.get(rec["service"])
        zone = self.config.zones_by_id.get(rec["zone"])
        win = self.config.windows_by_id.get(rec.get("window") or "")
        return bus.Ticket(
            id=rec["id"], number=rec["number"], service=rec["service"], zone=rec["zone"], state=rec["state"],
            channel=rec["channel"], priority=rec["priority"], issued_at=rec["issued_at"],
            called_at=rec.get("called_at"), window=rec.get("window"), verify=rec["verify"],
            token=rec.get("token") or None, grade=rec.get("grade"),
            service_name=svc.name if svc else rec["service"], service_name_en=svc.name_en if svc else rec["service"],
            zone_name=zone.name if zone else rec["zone"], zone_name_en=zone.name_en if zone else rec["zone"],
            window_name=win.name if win else None, window_name_en=win.name_en if win else None).wire()

    # ------------------------------------------------------------------ publishing
    def _day_str(self) -> str:
        return self.engine.day.isoformat() if self.engine.day else ""

    def _publish_changes(self, outcomes: list[Outcome], publish_all: bool) -> None:
        if publish_all:
            self._publish_all()
        windows: set[str] = set()
        staff: set[str] = set()
        calls = False
        for o in outcomes:
            for ev in o.events:
                if ev.kind == "alert":
                    if self.alerts.add(ev.payload):
                        self._alerts_dirty = True
                elif ev.kind in ("alert_ack", "alert_clear"):
                    if self.alerts.remove(ev.payload["id"]):
                        self._alerts_dirty = True
                    if ev.kind == "alert_clear":
                        continue               # it leaves state/alerts; nothing to announce
                if ev.kind == "reprint":
                    self.bus.publish(self.topics.event_reprint(ev.to or ""), ev.payload)
                    continue
                topic = {"call": self.topics.event_call, "ticket": self.topics.event_ticket,
                         "alert": self.topics.event_alert, "alert_ack": self.topics.event_alert,
                         "case": self.topics.event_case, "audit": self.topics.event_audit}[ev.kind]
                self.bus.publish(topic, ev.payload)
            if o.notice is not None:
                self.notice = dict(o.notice)
                self._publish_notice()
            staff |= o.staff
            windows |= o.windows
            self._dirty_windows |= o.publish_windows
            self._dirty_zones |= o.zones
            # `ahead` of a zone's tickets moves when any window able to call them calls, opens or closes
            for w in o.windows | o.publish_windows:
                self._dirty_zones |= self._queue_zones_of(w)
            calls = calls or bool(o.calls)
        if publish_all:
            self._dirty_windows.clear()
            self._dirty_zones.clear()
            self._dirty_since = None
            return
        for w in sorted(staff):
            self._publish_staff(w)
        if (self._dirty_windows or self._dirty_zones) and self._dirty_since is None:
            self._dirty_since = time.monotonic()
        # A window's own state (status, current ticket) and the calls go out at once; queue lengths of other
        # windows and zones are coalesced (at most FLUSH_S late), which keeps a burst of tickets cheap.
        self._dirty_windows -= windows
        for w in sorted(windows):
            self._publish_window(w)
        if calls:
            self._publish_calls()

    def _queue_zones_of(self, window: str) -> set[str]:
        zones = self._window_zones.get(window)
        if zones is None:
            services = self.config.services_by_id
            zones = self._window_zones[window] = {services[s].zone for s in self.engine.window_services.get(window, ())
                                                  if s in services}
        return zones

    def _publish_staff(self, w: str) -> None:
        self.bus.publish(self.topics.state_staff(w), self.staff_view(w), retain=True)

    def _publish_notice(self) -> None:
        self.bus.publish(self.topics.state_notice, bus.NoticeState(zh=self.notice.get("zh", ""),
                                                                   en=self.notice.get("en", "")).wire(), retain=True)

    def _publish_alerts(self) -> None:
        self._alerts_dirty = False
        self.bus.publish(self.topics.state_alerts, self.alerts.view(), retain=True)

    def _publish_window(self, w: str) -> None:
        self.bus.publish(self.topics.state_window(w), self.engine.window_view(w), retain=True)

    def _publish_zone(self, z: str) -> None:
        self.bus.publish(self.topics.state_zone(z), self.engine.zone_view(z, self._clock()), retain=True)
        self.bus.publish(self.topics.state_queue(z), self.engine.queue_view(z), retain=True)

    def _flush(self) -> None:
        """Publish the coalesced window, zone and queue states. Requests come first: while one waits in the inbox
        (and the oldest unpublished change is younger than FLUSH_S) the flush stops between two messages and queues
        itself behind the waiting requests, so a reply never waits for a whole flush; past FLUSH_S it finishes."""
        self._last_flush = now = time.monotonic()
        if self._alerts_dirty:                 # open alerts: coalesced like the queue lengths
            self._publish_alerts()
        if self._dirty_since is None:
            return
        may_yield = now - self._dirty_since < FLUSH_S
        for kind, dirty, publish in (("window", self._dirty_windows, self._publish_window),
                                     ("zone", self._dirty_zones, self._publish_zone)):
            for item in sorted(dirty):
                if may_yield and not self._inbox.empty():
                    self._inbox.put(_Tick("flush"))
                    return
                dirty.discard(item)
                publish(item)
        self._dirty_since = None

    def _publish_calls(self) -> None:
        self.bus.publish(self.topics.state_calls, bus.CallsState.parse({"calls": self.engine.calls_view()}).wire(),
                         retain=True)

    def _publish_all(self) -> None:
        """Every retained state message (after connect and at rollover)."""
        t = self.topics
        self.bus.publish(t.state_catalog, self.config.public_catalog(self._day_str()).wire(), retain=True)
        for guide in self.config.guides():
            self.bus.publish(t.state_guide(guide.service), guide.wire(), retain=True)
        for z in self.config.zones:
            self._publish_zone(z.id)
        for w in self.config.windows:
            self._publish_window(w.id)
            self._publish_staff(w.id)
        self._publish_calls()
        self._publish_alerts()
        self._publish_notice()
        self.bus.publish(t.state_server, bus.ServerState(state="online", version=__version__,
                                                         business_day=self._day_str()).wire(), retain=True)
        self.published.set()
