"""Durable record of the hall: SQLite in WAL mode with synchronous=FULL. One transaction per request holds
the state change and the idempotency record, so a crash at any moment loses no acknowledged ticket and a
retried request gets the stored reply."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from hall_bus.contract import Op
from hall_server import cases as case_records
from hall_server.crypto import Sealer
from hall_server.engine import Outcome
from hall_server.records import Appointment, Ticket, WindowState
from hall_server.sms import outbox

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, number TEXT NOT NULL, service TEXT NOT NULL,
    state TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (day, number));
CREATE INDEX IF NOT EXISTS tickets_day ON tickets (day);
CREATE INDEX IF NOT EXISTS tickets_token ON tickets (json_extract(record, '$.token'))
    WHERE json_extract(record, '$.token') IS NOT NULL;
CREATE INDEX IF NOT EXISTS tickets_verify ON tickets (json_extract(record, '$.verify'), day);
CREATE TABLE IF NOT EXISTS windows (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (day TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (day, seq));
CREATE TABLE IF NOT EXISTS replies (client TEXT NOT NULL, request_id TEXT NOT NULL, day TEXT NOT NULL,
    reply TEXT NOT NULL, PRIMARY KEY (client, request_id));
CREATE INDEX IF NOT EXISTS replies_day ON replies (day);
CREATE TABLE IF NOT EXISTS events (rowid INTEGER PRIMARY KEY, day TEXT NOT NULL, kind TEXT NOT NULL,
    record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_day ON events (day);
CREATE TABLE IF NOT EXISTS appointments (code TEXT PRIMARY KEY, service TEXT NOT NULL, day TEXT NOT NULL,
    start TEXT NOT NULL, end_ TEXT NOT NULL, ticket_id TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    number TEXT PRIMARY KEY, day TEXT NOT NULL, token TEXT NOT NULL UNIQUE, service TEXT NOT NULL,
    department TEXT NOT NULL, window TEXT NOT NULL, status TEXT NOT NULL, accepted_at TEXT NOT NULL,
    closed_at TEXT, record TEXT NOT NULL,
    applicant TEXT,          -- sealed (hall_server.crypto): {"name","id_number"}, NULL once erased
    phone TEXT);             -- sealed, only with the citizen's consent to SMS
CREATE INDEX IF NOT EXISTS cases_day ON cases (day);
CREATE INDEX IF NOT EXISTS cases_open ON cases (status) WHERE status IN ('accepted','in_progress','needs_materials',
    'suspended');
CREATE INDEX IF NOT EXISTS cases_window ON cases (window, accepted_at);
CREATE INDEX IF NOT EXISTS cases_department ON cases (department, accepted_at);
CREATE INDEX IF NOT EXISTS cases_closed ON cases (closed_at) WHERE closed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS alerts (      -- every alert raised: open until acknowledged (or, a device's, cleared)
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, ts TEXT NOT NULL, open INTEGER NOT NULL,
    cleared INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (ts) WHERE open = 1;
"""
ALERT_KEEP_DAYS = 90       # closed alerts stay this long in the alerts table (the events table keeps them all)

REPLY_KEEP_DAYS = 2   # idempotency records live at least the business day
CHECKPOINT_EVERY_S = 1.0   # WAL checkpoints, on their own thread

# Columns added after 0.1: a store written by an earlier version gets them (with their defaults) when opened.
MIGRATIONS = {
    "replies": [("op", "TEXT"), ("digest", "TEXT")],   # the request's op and SHA-256 of its canonical args
    # bookings (预约) from the citizen web: status, where from, the holder (an HMAC reference; kept past the day only
    # on no_show rows, for the no-show rule), the sealed phone (consent only), and the rest as JSON
    "appointments": [("status", "TEXT NOT NULL DEFAULT 'booked'"), ("source", "TEXT NOT NULL DEFAULT 'import'"),
                     ("holder_ref", "TEXT"), ("phone", "TEXT"), ("created_at", "TEXT"), ("record", "TEXT")],
}
AFTER_MIGRATIONS = """
CREATE INDEX IF NOT EXISTS appointments_holder ON appointments (holder_ref, day) WHERE holder_ref IS NOT NULL;
CREATE INDEX IF NOT EXISTS appointments_day ON appointments (day);
"""
APPOINTMENT_COLUMNS = ("code, service, day, start, end_, ticket_id, status, source, holder_ref, phone, created_at, "
                       "record")


log = logging.getLogger("onewindow.store")

HIGH_WATER_BYTES = 4096
CASE_MARK = "case"         # the side file's counter of the day's case numbers (ticket prefixes are upper-case)
SEALED_REPLY = "sealed:"   # a stored reply holding personal data (a case's full view) is sealed at rest    # the side file is rewritten in place at this fixed length (one sector-sized write)


class StoreError(Exception):
    """The store cannot be used (corrupt, unreadable, or its file gone while running); the message says what to do."""


class StoreLost(StoreError):
    """The database file behind the open handle was deleted, replaced or truncated: nothing more is acknowledged."""


def is_storage_full(exc: BaseException) -> bool:
    """SQLITE_FULL: the disk (or the database's page limit) is full."""
    return isinstance(exc, sqlite3.Error) and (getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                                               or "database or disk is full" in str(exc))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Store:
    """The only place that touches the database file. Not thread-safe by design: the service uses it from
    its single request worker (a lock guards the rare calls from other threads)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Seals personal data at rest (cases' applicants and phones, SMS numbers, case replies); the service sets
        # it from the [cases] key before anything personal is written. Without it nothing personal is stored.
        self.sealer: Sealer | None = None
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the store {self.path} is corrupt or unreadable ({exc}). To restore it: stop the server, move "
                f"{self.path.name} and any {self.path.name}-wal and {self.path.name}-shm aside, copy the newest "
                f"backup (backups/ in the data directory, or [store] backup_dir) to {self.path}, then start the "
                f"server; numbers already given out today are not reused ({self.high_water_path.name}).") from None

    @property
    def high_water_path(self) -> Path:
        return self.path.with_name(self.path.name + ".numbers")

    def _open(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()            # reader threads' read-only connections
        self._readers: list[sqlite3.Connection] = []
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        row = self.db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {row[0] if row else 'no answer'}")
        self.db.executescript(SCHEMA)
        outbox.ensure_schema(self.db)
        self._migrate()
        self.db.executescript(AFTER_MIGRATIONS)
        # WAL checkpoints (copying the log into the database file, with its fsync) run on a thread of their own, so
        # they never stall a commit on the request worker: with 100,000 tickets stored, auto-checkpoints inside
        # commits lifted a single-ticket commit's p99 from 0.8 to 4 ms.
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self._ckpt_stop = threading.Event()
        self._ckpt_db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None,
                                        check_same_thread=False)     # never creates a file that went away
        self._ckpt_db.execute("PRAGMA synchronous=FULL")
        self._ckpt_thread = threading.Thread(target=self._checkpoints, name="store-checkpoint", daemon=True)
        self._ckpt_thread.start()
        st = os.stat(self.path)
        self._identity = (st.st_dev, st.st_ino)
        self._size_seen = st.st_size
        self._marks_fd: int | None = None
        self._marks = self._read_high_water()

    # ------------------------------------------------------------------ the file behind the handle
    def check_file(self) -> str | None:
        """None while the database file is the one opened and whole; else what happened to it (deleted, replaced,
        truncated). SQLite would go on writing to a deleted file's handle and acknowledge tickets nobody keeps."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"{self.path} was deleted while the server ran"
        except OSError as exc:
            return f"{self.path} cannot be read: {exc}"
        if (st.st_dev, st.st_ino) != self._identity:
            return f"{self.path} was replaced by another file while the server ran"
        if st.st_size < self._size_seen:    # SQLite never shrinks it (no VACUUM, no auto_vacuum)
            return f"{self.path} was truncated from {self._size_seen} to {st.st_size} bytes while the server ran"
        self._size_seen = st.st_size
        return None

    # ------------------------------------------------------------------ numbers given out, outside the database
    def _read_high_water(self) -> dict[str, Any]:
        try:
            data = json.loads(self.high_water_path.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) and isinstance(data.get("counters"), dict) else {}

    def high_water(self, day: date) -> dict[str, int]:
        """The highest number per prefix given out on `day`, as the side file remembers it."""
        if self._marks.get("day") != day.isoformat():
            return {}
        return {str(k): int(v) for k, v in self._marks["counters"].items()}

    def _raise_high_water(self, day: str, items: list) -> None:
        """Before the commit that stores them: the side file's marks go up to the items' new numbers (fsynced)."""
        marks = dict(self._marks["counters"]) if self._marks.get("day") == day else {}
        changed = False
        for item in items:
            for t in item[0].tickets.values():
                if t.day.isoformat() == day and t.seq > marks.get(t.prefix, 0):
                    marks[t.prefix] = t.seq
                    changed = True
            for c in item[0].cases.values():      # case numbers: the key "case" (ticket prefixes are A-Z)
                if c.day.isoformat() == day and c.seq > marks.get(CASE_MARK, 0):
                    marks[CASE_MARK] = c.seq
                    changed = True
        if not changed and self._marks.get("day") == day:
            return
        self._write_high_water({"day": day, "counters": marks})

    def _write_high_water(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, separators=(",", ":")).encode()
        if len(text) > HIGH_WATER_BYTES:
            raise StoreError("high-water file overflow")
        if self._marks_fd is None:
            self._marks_fd = os.open(self.high_water_path, os.O_RDWR | os.O_CREAT, 0o640)
        os.pwrite(self._marks_fd, text.ljust(HIGH_WATER_BYTES), 0)
        # fdatasync, not fsync: the file keeps its size (padded), so only the data must reach the disk; fsync also
        # journals the mtime, p99 2.4 ms against 0.28 ms on this ext4, once per commit batch.
        os.fdatasync(self._marks_fd)
        self._marks = data

    # ------------------------------------------------------------------ online backup
    def backup(self, directory: str | Path, keep: int, label: str = "") -> Path:
        """A consistent copy through the SQLite backup API on a connection of its own (the writer goes on), into
        `directory` as {stem}-{YYYYmmdd-HHMMSS}{label}.sqlite3, plus the high-water file; the oldest beyond `keep`
        are deleted."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = d / f"{self.path.stem}-{stamp}{label}.sqlite3"
        tmp = target.with_name(target.name + ".part")
        src = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst, pages=1024, sleep=0.001)
        finally:
            dst.close()
            src.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        if self.high_water_path.exists():
            (d / (target.name + ".numbers")).write_bytes(self.high_water_path.read_bytes().rstrip())
        olds = sorted(d.glob(f"{self.path.stem}-*.sqlite3"))
        for old in olds[:-keep]:
            old.unlink(missing_ok=True)
            (d / (old.name + ".numbers")).unlink(missing_ok=True)
        return target

    def _migrate(self) -> None:
        for table, columns in MIGRATIONS.items():
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns:
                if name not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")

    def _checkpoints(self) -> None:
        warned = False
        while not self._ckpt_stop.wait(CHECKPOINT_EVERY_S):
            try:
                self._ckpt_db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                warned = False
            except sqlite3.Error as exc:     # e.g. disk full: the WAL keeps the data; try again next time
                if not warned:
                    log.warning("checkpoint of %s failed: %s", self.path.name, exc)
                    warned = True

    def close(self) -> None:
        self._ckpt_stop.set()
        self._ckpt_thread.join(5)
        try:
            self._ckpt_db.close()
        except sqlite3.Error:
            pass
        with self._lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
            self.db.close()
            if self._marks_fd is not None:
                os.close(self._marks_fd)
                self._marks_fd = None

    # ------------------------------------------------------------------ reads
    def stored_reply(self, client: str, request_id: str) -> dict[str, Any] | None:
        found = self.stored_request(client, request_id)
        return found[0] if found else None

    def stored_request(self, client: str, request_id: str) -> tuple[dict[str, Any], str | None, str | None] | None:
        """(reply, op, args digest) stored for this client's request id; op and digest are None for records
        written before they were kept."""
        with self._lock:
            row = self.db.execute("SELECT reply, op, digest FROM replies WHERE client=? AND request_id=?",
                                  (client, request_id)).fetchone()
        if not row:
            return None
        text = row[0]
        if text.startswith(SEALED_REPLY):
            text = self._sealer().open(text[len(SEALED_REPLY):], "reply")
        return (json.loads(text), row[1], row[2])

    def reply_keys(self) -> set[tuple[str, str]]:
        with self._lock:
            return {(c, r) for c, r in self.db.execute("SELECT client, request_id FROM replies")}

    def load_day(self, day: date) -> tuple[list[Ticket], list[WindowState], list[dict[str, Any]], list[Appointment]]:
        d = day.isoformat()
        with self._lock:
            tickets = [Ticket.from_record(json.loads(r[0])) for r in
                       self.db.execute("SELECT record FROM tickets WHERE day=?", (d,))]
            windows = [WindowState.from_record(json.loads(r[0])) for r in self.db.execute("SELECT record FROM windows")]
            calls = [json.loads(r[0]) for r in
                     self.db.execute("SELECT record FROM calls WHERE day=? ORDER BY seq DESC LIMIT 10", (d,))][::-1]
            rows = self.db.execute(f"SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE day>=?", (d,)).fetchall()
        return tickets, windows, calls, [self._appointment_of(r) for r in rows]

    # ------------------------------------------------------------------ appointments (预约)
    def _appointment_of(self, row: tuple[Any, ...]) -> Appointment:
        code, svc, day_, start, end, tid, status, source, holder_ref, phone, created_at, record = row
        extra = json.loads(record) if record else {}
        phone_ = None
        if phone and self.sealer is not None:
            try:
                phone_ = self.sealer.open(phone, f"phone:appointment:{code}")
            except ValueError as exc:
                log.error("appointment %s…: its phone does not open with this key (%s)", code[:2], exc)
        return Appointment(code, svc, date.fromisoformat(day_), start, end, tid, status=status or "booked",
                           source=source or "import", holder_ref=holder_ref,
                           display_name=extra.get("display_name"), phone=phone_, consent=extra.get("consent"),
                           created_at=_dt(created_at), changed_at=_dt(extra.get("changed_at")),
                           sms_ref=extra.get("sms_ref"))

    def _write_appointment(self, cur: sqlite3.Cursor, a: Appointment) -> None:
        phone = self._sealer().seal(a.phone, f"phone:appointment:{a.code}") if a.phone else None
        cur.execute(f"INSERT OR REPLACE INTO appointments ({APPOINTMENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (a.code, a.service, a.day.isoformat(), a.start, a.end, a.ticket_id, a.status, a.source,
                     a.holder_ref, phone, a.created_at.isoformat() if a.created_at else None, _dumps(a.details())))

    def appointment_code_used(self, code: str) -> bool:
        """Whether a code was ever given out (codes are unique forever, whatever happened to the booking)."""
        with self._lock:
            return self.db.execute("SELECT 1 FROM appointments WHERE code=?", (code,)).fetchone() is not None

    def no_show_days(self, holder_ref: str, since: date) -> list[date]:
        """The days since `since` on which this holder missed a booking (the no-show rule)."""
        with self._lock:
            rows = self.db.execute("SELECT day FROM appointments WHERE holder_ref=? AND day>=? AND status='no_show'",
                                   (holder_ref, since.isoformat())).fetchall()
        return [date.fromisoformat(r[0]) for r in rows]

    def last_day(self) -> date | None:
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key='business_day'").fetchone()
        return date.fromisoformat(row[0]) if row else None

    def tickets_of(self, day: date) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self.db.execute("SELECT record FROM tickets WHERE day=? ORDER BY rowid", (day.isoformat(),)).fetchall()
        for (rec,) in rows:
            yield json.loads(rec)

    def events_of(self, day: date, kind: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT kind, record FROM events WHERE day=?" + (" AND kind=?" if kind else "") + " ORDER BY rowid"
        with self._lock:
            rows = self.db.execute(q, (day.isoformat(), kind) if kind else (day.isoformat(),)).fetchall()
        return [{"kind": k, **json.loads(r)} for k, r in rows]

    def find_ticket(self, *, ticket_id: str | None = None, verify: str | None = None,
                    token: str | None = None) -> dict[str, Any] | None:
        """Older tickets (before today) for status queries; today's are in the engine."""
        with self._lock:
            return self._find(self.db, ticket_id, verify, token)

    def find_ticket_readonly(self, *, ticket_id: str | None = None, verify: str | None = None,
                             token: str | None = None) -> dict[str, Any] | None:
        """find_ticket on the calling thread's own read-only connection (WAL readers never wait for the writer):
        for the service's reader threads, so a lookup of an old or unknown ticket never holds up the worker."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
            with self._lock:
                self._readers.append(db)
        return self._find(db, ticket_id, verify, token)

    @staticmethod
    def _find(db: sqlite3.Connection, ticket_id: str | None, verify: str | None,
              token: str | None) -> dict[str, Any] | None:
        # each lookup is served by an index: the primary key, tickets_token, tickets_verify (verify, day)
        if ticket_id:
            row = db.execute("SELECT record FROM tickets WHERE id=?", (ticket_id,)).fetchone()
        elif token:
            row = db.execute("SELECT record FROM tickets WHERE json_extract(record, '$.token')=?",
                             (token,)).fetchone()
        else:
            row = db.execute("SELECT record FROM tickets WHERE json_extract(record, '$.verify')=? "
                             "ORDER BY day DESC LIMIT 1", (verify,)).fetchone()
        return json.loads(row[0]) if row else None

    # ------------------------------------------------------------------ the one write path
    def commit(self, outcome: Outcome, windows: dict[str, WindowState], day: date | None) -> None:
        failed = self.commit_many([(outcome, None, None, None)], windows, day)
        if failed:
            raise failed[0][1]

    def commit_many(self, items: list[tuple[Outcome, str | None, str | None, dict[str, Any] | None]
                                     | tuple[Outcome, str | None, str | None, dict[str, Any] | None, str | None,
                                             str | None]],
                    windows: dict[str, WindowState], day: date | None) -> list[tuple[int, Exception]]:
        """Persist outcomes (changed tickets, windows, calls, events, appointments) with their idempotency
        records (client, request id, reply[, op, args digest]) — all in one transaction, one fsync (group commit).
        Each item is written under its own SAVEPOINT: an item that cannot be stored is rolled back alone and
        returned as (index, exception); the others commit. A full disk (SQLITE_FULL) or any failure outside one
        item rolls back everything and raises."""
        d = day.isoformat() if day else ""
        failed: list[tuple[int, Exception]] = []
        with self._lock:
            lost = self.check_file()
            if lost:
                raise StoreLost(lost)
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                changed_windows: set[str] = set()
                for i, item in enumerate(items):
                    cur.execute("SAVEPOINT item")
                    try:
                        self._write_item(cur, d, *item)
                    except Exception as exc:
                        if is_storage_full(exc):
                            raise
                        cur.execute("ROLLBACK TO item")
                        cur.execute("RELEASE item")
                        failed.append((i, exc))
                        continue
                    cur.execute("RELEASE item")
                    changed_windows |= item[0].windows
                for wid in changed_windows:
                    cur.execute("INSERT OR REPLACE INTO windows (id, record) VALUES (?,?)",
                                (wid, _dumps(windows[wid].to_record())))
                if day is not None:
                    cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('business_day', ?)", (d,))
                cur.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            if d:
                # After the commit, before any reply goes out: every acknowledged number is in the side file, and
                # a crash in between leaves no gap (the store has the ticket; restart takes the larger of the two).
                try:
                    refused = {f for f, _e in failed}
                    self._raise_high_water(d, [it for i, it in enumerate(items) if i not in refused])
                except OSError as exc:
                    log.error("could not write %s: %s", self.high_water_path, exc)
        return failed

    def _write_item(self, cur: sqlite3.Cursor, d: str, outcome: Outcome, client: str | None, request_id: str | None,
                    reply: dict[str, Any] | None, op: str | None = None, digest: str | None = None) -> None:
        for t in outcome.tickets.values():
            cur.execute("INSERT INTO tickets (id, day, number, service, state, record) VALUES (?,?,?,?,?,?) "
                        "ON CONFLICT(id) DO UPDATE SET state=excluded.state, service=excluded.service, "
                        "record=excluded.record",
                        (t.id, t.day.isoformat(), t.number, t.service, t.state.value, _dumps(t.to_record())))
        for c in outcome.calls:
            cur.execute("INSERT OR REPLACE INTO calls (day, seq, record) VALUES (?,?,?)", (d, c["seq"], _dumps(c)))
        for ev in outcome.events:
            if ev.kind == "reprint":         # a ticket with its token for one kiosk: never kept
                continue
            cur.execute("INSERT INTO events (day, kind, record) VALUES (?,?,?)", (d, ev.kind, _dumps(ev.payload)))
            if ev.kind in ("alert", "alert_ack", "alert_clear"):
                self._write_alert(cur, ev.kind, ev.payload)
        if outcome.notice is not None:
            cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('notice', ?)", (_dumps(outcome.notice),))
        for a in outcome.appointments:
            self._write_appointment(cur, a)
        if outcome.cases or outcome.sms:
            self._write_cases(cur, outcome)
        if client is not None and request_id is not None and reply is not None:
            text = _dumps(reply)
            if op is not None and (op.startswith("case.") or op == Op.APPOINTMENT_BOOK):   # the code opens the booking
                text = SEALED_REPLY + self._sealer().seal(text, "reply")
            cur.execute("INSERT INTO replies (client, request_id, day, reply, op, digest) VALUES (?,?,?,?,?,?)",
                        (client, request_id, d, text, op, digest))

    @staticmethod
    def _write_alert(cur: sqlite3.Cursor, kind: str, a: dict[str, Any]) -> None:
        if kind == "alert" and not a.get("acked_by"):
            cur.execute("INSERT OR IGNORE INTO alerts (id, kind, target, ts, open, record) VALUES (?,?,?,?,1,?)",
                        (a["id"], a.get("kind", ""), a.get("target", ""), a.get("ts", ""), _dumps(a)))
        elif kind in ("alert", "alert_ack"):
            cur.execute("UPDATE alerts SET open=0, record=? WHERE id=?", (_dumps(a), a["id"]))
        else:
            cur.execute("UPDATE alerts SET open=0, cleared=1 WHERE id=?", (a["id"],))

    def open_alerts(self) -> list[dict[str, Any]]:
        """Alerts not yet acknowledged (nor cleared), oldest first."""
        with self._lock:
            rows = self.db.execute("SELECT record FROM alerts WHERE open=1 ORDER BY ts").fetchall()
        return [json.loads(r[0]) for r in rows]

    def device_faults(self) -> list[dict[str, Any]]:
        """Device alerts whose fault has not cleared (acknowledged or not): they are not raised again."""
        with self._lock:
            rows = self.db.execute("SELECT record FROM alerts WHERE kind IN ('device_fault','device_offline') "
                                   "AND cleared=0").fetchall()
        return [json.loads(r[0]) for r in rows]

    def notice(self) -> dict[str, str]:
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key='notice'").fetchone()
        return json.loads(row[0]) if row else {"zh": "", "en": ""}

    def audit_of(self, day: date) -> list[dict[str, Any]]:
        return self.events_of(day, "audit")

    def _sealer(self) -> Sealer:
        if self.sealer is None:
            raise StoreError("no key for personal data: the store refuses to write it in clear")
        return self.sealer

    def _write_cases(self, cur: sqlite3.Cursor, outcome: Outcome) -> None:
        sealer = self._sealer()
        for c in outcome.cases.values():
            applicant = (sealer.seal(json.dumps(c.applicant, ensure_ascii=False), f"applicant:{c.number}")
                         if c.applicant else None)
            phone = sealer.seal(c.phone, f"phone:{c.number}") if c.phone else None
            cur.execute("INSERT INTO cases (number, day, token, service, department, window, status, accepted_at, "
                        "closed_at, record, applicant, phone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                        "ON CONFLICT(number) DO UPDATE SET status=excluded.status, closed_at=excluded.closed_at, "
                        "record=excluded.record, applicant=excluded.applicant, phone=excluded.phone",
                        (c.number, c.day.isoformat(), c.token, c.service, c.department, c.window, c.status,
                         c.accepted_at.isoformat(), c.closed_at.isoformat() if c.closed_at else None,
                         _dumps(c.to_record()), applicant, phone))
        for m in outcome.sms:
            outbox.enqueue(cur.connection, sealer, kind=m["kind"], ref=m["ref"], phone=m["phone"], text=m["text"],
                           now=m["at"].timestamp())

    # ------------------------------------------------------------------ cases
    def _case_of(self, row: tuple[str, str | None, str | None]) -> case_records.Case:
        record, applicant, phone = row
        r = json.loads(record)
        person = phone_ = None
        if self.sealer is not None:
            try:
                person = json.loads(self.sealer.open(applicant, f"applicant:{r['number']}")) if applicant else None
                phone_ = self.sealer.open(phone, f"phone:{r['number']}") if phone else None
            except ValueError as exc:
                log.error("case %s: its personal data does not open with this key (%s)", r["number"], exc)
        return case_records.Case.from_record(r, person, phone_)

    def load_cases(self, day: date) -> list[case_records.Case]:
        """The open cases and `day`'s cases (the case book's memory)."""
        with self._lock:
            rows = self.db.execute("SELECT record, applicant, phone FROM cases WHERE status IN ('accepted',"
                                   "'in_progress','needs_materials','suspended') OR day=?",
                                   (day.isoformat(),)).fetchall()
        return [self._case_of(r) for r in rows]

    def find_case(self, *, number: str | None = None, token: str | None = None) -> case_records.Case | None:
        with self._lock:
            row = self.db.execute("SELECT record, applicant, phone FROM cases WHERE "
                                  + ("number=?" if number else "token=?"), (number or token,)).fetchone()
        return self._case_of(row) if row else None

    def list_cases(self, *, window: str | None = None, department: str | None = None, status: str | None = None,
                   limit: int = 2000) -> list[case_records.Case]:
        """Newest first; filtered by window, department and status in SQL (the due date is the caller's)."""
        where, args = [], []
        for col, value in (("window", window), ("department", department), ("status", status)):
            if value is not None:
                where.append(f"{col}=?")
                args.append(value)
        q = ("SELECT record, applicant, phone FROM cases" + (" WHERE " + " AND ".join(where) if where else "")
             + " ORDER BY accepted_at DESC, number DESC LIMIT ?")
        with self._lock:
            rows = self.db.execute(q, (*args, limit)).fetchall()
        return [self._case_of(r) for r in rows]

    def cases_closed_before(self, cutoff: datetime) -> list[case_records.Case]:
        """Cases closed before `cutoff` whose personal data is not yet erased (retention)."""
        with self._lock:
            rows = self.db.execute("SELECT record, applicant, phone FROM cases WHERE closed_at < ? AND "
                                   "(applicant IS NOT NULL OR phone IS NOT NULL OR json_extract(record, '$.erased') "
                                   "IS NOT 1)", (cutoff.isoformat(),)).fetchall()
        return [self._case_of(r) for r in rows]

    def erase_sms_before(self, cutoff: datetime) -> int:
        """The SMS outbox rows created before `cutoff` lose number and text (retention)."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                n = outbox.erase_before(self.db, cutoff.timestamp())
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return n

    def case_rows(self, since: date, until: date) -> list[dict[str, Any]]:
        """The non-personal records of cases accepted in [since, until] (reports)."""
        with self._lock:
            rows = self.db.execute("SELECT record FROM cases WHERE day BETWEEN ? AND ? ORDER BY number",
                                   (since.isoformat(), until.isoformat())).fetchall()
        return [json.loads(r[0]) for r in rows]

    def save_appointments(self, appointments: Iterable[Appointment]) -> None:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for a in appointments:     # a re-import keeps the check-in; a web booking's code is never replaced
                    self.db.execute("INSERT INTO appointments (code, service, day, start, end_, ticket_id, status, "
                                    "source, created_at) VALUES (?,?,?,?,?,?,?,?,?) "
                                    "ON CONFLICT(code) DO UPDATE SET service=excluded.service, day=excluded.day, "
                                    "start=excluded.start, end_=excluded.end_ WHERE appointments.source != 'web'",
                                    (a.code, a.service, a.day.isoformat(), a.start, a.end, a.ticket_id, a.status,
                                     "import", a.created_at.isoformat() if a.created_at else None))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def prune(self, today: date, no_show_days: int = 30) -> None:
        """Keep only what is needed: idempotency records older than REPLY_KEEP_DAYS go (they may hold a masked
        name), and tickets of past days lose their holder data (ID reference, birth date, masked name), which
        served only the day's duplicate check and age priority. Tickets and events stay for the reports.
        Bookings of past days lose masked name, phone and consent, and their booking SMS its number and text; the
        holder reference stays only on no_show rows of the last `no_show_days` days (the no-show rule)."""
        cutoff = date.fromordinal(today.toordinal() - REPLY_KEEP_DAYS).isoformat()
        block_from = date.fromordinal(today.toordinal() - no_show_days).isoformat()
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM replies WHERE day < ?", (cutoff,))
            self.db.execute("DELETE FROM alerts WHERE open=0 AND (cleared=1 OR kind NOT IN ('device_fault', "
                            "'device_offline')) AND ts < ?",
                            (date.fromordinal(today.toordinal() - ALERT_KEEP_DAYS).isoformat(),))
            self.db.execute("UPDATE tickets SET record = json_set(record, '$.holder_ref', NULL, '$.birth_date', NULL, "
                            "'$.display_name', NULL) WHERE day < ? AND (json_extract(record, '$.holder_ref') IS NOT NULL"
                            " OR json_extract(record, '$.birth_date') IS NOT NULL"
                            " OR json_extract(record, '$.display_name') IS NOT NULL)", (today.isoformat(),))
            self.db.execute("UPDATE appointments SET phone=NULL, record=json_set(record, '$.display_name', NULL, "
                            "'$.consent', NULL) WHERE day < ? AND record IS NOT NULL AND (phone IS NOT NULL OR "
                            "json_extract(record, '$.display_name') IS NOT NULL OR json_extract(record, '$.consent') "
                            "IS NOT NULL)", (today.isoformat(),))
            self.db.execute("UPDATE appointments SET holder_ref=NULL WHERE day < ? AND holder_ref IS NOT NULL AND "
                            "NOT (status='no_show' AND day >= ?)", (today.isoformat(), block_from))
            self.db.execute("UPDATE sms_outbox SET phone_sealed=NULL, phone_digest=NULL, text_sealed=NULL, "
                            "erased_at=? WHERE kind='appointment_booked' AND erased_at IS NULL AND ref IN "
                            "(SELECT json_extract(record, '$.sms_ref') FROM appointments WHERE day < ? AND "
                            "record IS NOT NULL)", (time.time(), today.isoformat()))
            self.db.execute("COMMIT")


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None
