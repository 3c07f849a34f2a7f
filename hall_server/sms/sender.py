"""The sender thread: hands the outbox's pending messages to the gateway, marks them sent once accepted, retries
failures with backoff, raises an alert when messages wait too long, and records 退订/TD replies (gammu) as
opt-outs.

At least once: a row is marked sent only after the gateway accepted it; the gateway's idempotency per outbox id
makes a hand-over repeated after a crash harmless. An opt-out cancels the number's pending messages (they keep
their row with cancelled_at and last_error 'opted out', without phone or text) and no new ones are written."""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hall_server.crypto import Sealer, mask_phone
from hall_server.sms import outbox
from hall_server.sms.gateways import Gateway, GatewayError
from hall_server.sms.settings import SmsSettings
from hall_server.sms.templates import check_phone

log = logging.getLogger("onewindow.sms")

OPT_OUT_WORDS = {"TD", "退订", "T", "退订短信", "取消订阅"}
BATCH = 50
FAILURES_PER_PASS = 3        # consecutive failures that end a pass (a gateway that is down costs one timeout each)
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def scrub(text: str) -> str:
    """Masks anything that looks like a mobile number (error texts go to logs and the outbox's last_error)."""
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def is_opt_out(text: str) -> bool:
    word = re.sub(r"[\s\W_]+", "", text).upper()
    return word in OPT_OUT_WORDS


def backoff_s(attempts: int, cap: float) -> float:
    """The wait after the attempts-th failure: 1, 2, 4, ... seconds, at most cap."""
    return float(min(cap, 2 ** max(0, min(attempts - 1, 30))))


class SmsSender:
    def __init__(self, db_path: str | Path, settings: SmsSettings, sealer: Sealer, gateway: Gateway, *,
                 on_failing: Callable[[str, str], None], on_recovered: Callable[[], None] | None = None,
                 clock: Callable[[], float] | None = None, poll_s: float = 1.0) -> None:
        self.db_path = str(db_path)
        self.settings = settings
        self.sealer = sealer
        self.gateway = gateway
        self.on_failing = on_failing
        self.on_recovered = on_recovered
        self.clock = clock or time.time
        self.poll_s = poll_s
        self.failing = False
        self._conn: sqlite3.Connection | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()           # one pass at a time (the thread, or a test's process_once)

    # ------------------------------------------------------------ lifecycle
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False, timeout=5.0)
            conn.execute("PRAGMA busy_timeout = 5000")
            outbox.ensure_schema(conn)
            self._conn = conn
        return self._conn

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sms-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ends the thread after its current hand-over (at most one gateway timeout) and closes the connection."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.settings.timeout_s * 2 + 5)
            self._thread = None
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def wake(self) -> None:
        """Called after each commit that wrote SMS: the thread looks at once instead of at its next poll."""
        self._wake.set()

    def erase_gateway_before(self, cutoff: float) -> int:
        """The gateway's own files with personal data (gammu's sent/, error/, inbox/; the demo folder) written
        before `cutoff` are removed: call it with the outbox's erase_before (retention)."""
        try:
            return self.gateway.erase_before(cutoff)
        except Exception as exc:                        # noqa: BLE001
            log.warning("sms: cannot erase old gateway files: %s", scrub(str(exc)))
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.process_once()
            except sqlite3.Error as exc:
                log.warning("sms sender: database: %s (retrying)", exc)
            except Exception:
                log.exception("sms sender: unexpected error (retrying)")
            self._wake.wait(self._sleep_s())
            self._wake.clear()

    def _sleep_s(self) -> float:
        try:
            with self._lock:
                due = outbox.next_due(self._db()) if self._conn is not None else None
        except sqlite3.Error:
            return self.poll_s
        if due is None:
            return self.poll_s
        return max(0.05, min(self.poll_s, due - self.clock()))

    # ------------------------------------------------------------ one pass
    def process_once(self) -> int:
        """One pass: opt-out replies, the due messages, the alert. Returns how many messages were accepted."""
        with self._lock:
            conn = self._db()
            self._take_replies(conn)
            sent = self._send_due(conn)
            self._check_backlog(conn)
            return sent

    def _take_replies(self, conn: sqlite3.Connection) -> None:
        try:
            replies = self.gateway.incoming()
        except Exception as exc:                        # noqa: BLE001 - the gateway's trouble, not the pass's
            log.warning("sms: cannot read received messages: %s", scrub(str(exc)))
            return
        for sender, text in replies:
            if not is_opt_out(text):
                log.info("sms: a reply from %s that is not an opt-out was dropped", mask_phone(sender))
                continue
            try:
                phone = check_phone(sender)
            except ValueError:
                log.info("sms: an opt-out from a number that is not a mainland mobile (%s) was dropped",
                         mask_phone(sender))
                continue
            now = self.clock()
            conn.execute("BEGIN IMMEDIATE")
            try:
                cancelled = outbox.opt_out(conn, self.sealer, phone, now, "sms-reply")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            log.info("sms: %s opted out by reply (%d pending message(s) cancelled)", mask_phone(phone), cancelled)

    def _send_due(self, conn: sqlite3.Connection) -> int:
        sent = 0
        failures = 0
        for row in outbox.pending(conn, self.clock(), BATCH):
            if self._stop.is_set() and self._thread is not None:
                break
            msg_id = row["id"]
            try:
                phone = self.sealer.open(row["phone_sealed"], outbox.PHONE_LABEL)
                text = self.sealer.open(row["text_sealed"], outbox.TEXT_LABEL)
            except (ValueError, TypeError) as exc:
                self._failed(conn, row, f"cannot open the sealed message: {exc}")
                failures += 1
                continue
            try:
                self.gateway.send(msg_id, phone, text)
            except Exception as exc:                    # noqa: BLE001 - any failure is retried
                detail = str(exc) if isinstance(exc, GatewayError) else f"{type(exc).__name__}: {exc}"
                self._failed(conn, row, scrub(detail))
                failures += 1
                if failures >= FAILURES_PER_PASS:
                    break
                continue
            failures = 0
            if outbox.mark_sent(conn, msg_id, self.clock()):
                sent += 1
            log.info("sms %s (%s, %s) to %s accepted by the gateway", msg_id, row["kind"], row["ref"],
                     mask_phone(phone))
        return sent

    def _failed(self, conn: sqlite3.Connection, row: dict, error: str) -> None:
        attempts = row["attempts"] + 1
        now = self.clock()
        wait = backoff_s(attempts, self.settings.retry_max_s)
        outbox.mark_failed(conn, row["id"], now, error, now + wait)
        log.warning("sms %s (%s): not accepted (attempt %d): %s; next try in %.0f s", row["id"], row["kind"],
                    attempts, error, wait)

    def _check_backlog(self, conn: sqlite3.Connection) -> None:
        oldest = outbox.oldest_unsent(conn)
        now = self.clock()
        late = oldest is not None and now - oldest > self.settings.alert_after_s
        if late and not self.failing:
            self.failing = True
            row = conn.execute(
                "SELECT COUNT(*), (SELECT last_error FROM sms_outbox WHERE sent_at IS NULL AND cancelled_at IS NULL "
                "AND erased_at IS NULL AND last_error IS NOT NULL ORDER BY created_at LIMIT 1) FROM sms_outbox "
                "WHERE sent_at IS NULL AND cancelled_at IS NULL AND erased_at IS NULL").fetchone()
            waiting, error = row[0], scrub(row[1] or "")
            minutes = int((now - oldest) // 60)
            zh = f"短信发不出去：{waiting} 条待发，最早一条已等 {minutes} 分钟" + (f"（{error}）" if error else "")
            en = f"SMS not going out: {waiting} waiting, the oldest for {minutes} min" + (f" ({error})" if error else "")
            log.warning("sms: %s", en)
            self.on_failing(zh, en)
        elif not late and self.failing:
            self.failing = False
            log.info("sms: messages are going out again")
            if self.on_recovered is not None:
                self.on_recovered()
