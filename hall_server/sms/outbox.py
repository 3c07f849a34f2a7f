"""The durable SMS outbox: rows written on the caller's sqlite3 connection, inside the caller's transaction, so a
text exists exactly when the change that causes it was committed. None of these functions begins or commits a
transaction.

Personal data: the phone number is sealed (`sms_outbox.phone`) and looked up by its keyed digest; the text is
sealed too (`sms_outbox.text`: a case_accepted text holds the query code). `erase_before` drops both, keeping id,
kind, ref and the dates for statistics. Times are Unix seconds (float)."""
from __future__ import annotations

import sqlite3
import time
import uuid
from typing import Any

from hall_server.crypto import Sealer
from hall_server.sms.templates import check_phone, ucs2_units

PHONE_LABEL = "sms_outbox.phone"        # associated data of the sealed phone (and the digest's label)
TEXT_LABEL = "sms_outbox.text"
DIGEST_LABEL = "phone"                  # one digest label for every phone lookup (opt-outs, appointments)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_outbox (
    id TEXT PRIMARY KEY,                -- 'S' + 32 hex digits (uuid4): unique forever, the gateways' dedup key
    kind TEXT NOT NULL,                 -- case_accepted ... appointment_booked
    ref TEXT NOT NULL,                  -- the case number or appointment code
    phone_sealed TEXT,                  -- Sealer.seal(phone, 'sms_outbox.phone'); NULL once erased/cancelled
    phone_digest TEXT,                  -- Sealer.digest(phone, 'phone'); NULL once erased/cancelled
    text_sealed TEXT,                   -- Sealer.seal(text, 'sms_outbox.text'); NULL once erased/cancelled
    units INTEGER NOT NULL,             -- UCS-2 code units of the text (statistics: segments billed)
    created_at REAL NOT NULL,
    sent_at REAL,                       -- when the gateway accepted it
    attempts INTEGER NOT NULL DEFAULT 0,    -- failed hand-overs so far
    next_try_at REAL NOT NULL,
    last_error TEXT,
    cancelled_at REAL,                  -- never to be sent (the number opted out)
    erased_at REAL);
CREATE INDEX IF NOT EXISTS sms_outbox_pending ON sms_outbox (next_try_at)
    WHERE sent_at IS NULL AND cancelled_at IS NULL AND erased_at IS NULL;
CREATE INDEX IF NOT EXISTS sms_outbox_ref ON sms_outbox (ref);
CREATE INDEX IF NOT EXISTS sms_outbox_created ON sms_outbox (created_at) WHERE erased_at IS NULL;
CREATE TABLE IF NOT EXISTS sms_optout (
    phone_digest TEXT PRIMARY KEY, at REAL NOT NULL, source TEXT NOT NULL);
"""

_PENDING = "sent_at IS NULL AND cancelled_at IS NULL AND erased_at IS NULL"


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Creates the tables (idempotent). executescript commits first: call it at open, not inside a transaction."""
    conn.executescript(SCHEMA)


def new_id() -> str:
    return "S" + uuid.uuid4().hex


def phone_digest(sealer: Sealer, phone: str) -> str:
    return sealer.digest(check_phone(phone), DIGEST_LABEL)


def enqueue(conn: sqlite3.Connection, sealer: Sealer, *, kind: str, ref: str, phone: str, text: str,
            now: float) -> str | None:
    """Writes one message; returns its outbox id, or None (nothing written) when the number opted out. `phone`
    is normalised (check_phone: ValueError for a bad number)."""
    phone = check_phone(phone)
    digest = sealer.digest(phone, DIGEST_LABEL)
    if conn.execute("SELECT 1 FROM sms_optout WHERE phone_digest = ?", (digest,)).fetchone():
        return None
    msg_id = new_id()
    conn.execute(
        "INSERT INTO sms_outbox (id, kind, ref, phone_sealed, phone_digest, text_sealed, units, created_at, "
        "next_try_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (msg_id, kind, ref, sealer.seal(phone, PHONE_LABEL), digest, sealer.seal(text, TEXT_LABEL),
         ucs2_units(text), now, now))
    return msg_id


def pending(conn: sqlite3.Connection, now: float, limit: int = 50) -> list[dict[str, Any]]:
    """Messages due now (not sent, cancelled or erased; next_try_at reached), oldest first. Phone and text are
    still sealed (`phone_sealed`, `text_sealed`)."""
    rows = conn.execute(
        f"SELECT id, kind, ref, phone_sealed, text_sealed, created_at, attempts, next_try_at, last_error "
        f"FROM sms_outbox WHERE {_PENDING} AND next_try_at <= ? ORDER BY next_try_at, created_at LIMIT ?",
        (now, limit)).fetchall()
    keys = ("id", "kind", "ref", "phone_sealed", "text_sealed", "created_at", "attempts", "next_try_at",
            "last_error")
    return [dict(zip(keys, r)) for r in rows]


def oldest_unsent(conn: sqlite3.Connection) -> float | None:
    """created_at of the oldest message not yet accepted by the gateway (None: no backlog)."""
    row = conn.execute(f"SELECT MIN(created_at) FROM sms_outbox WHERE {_PENDING}").fetchone()
    return row[0] if row else None


def next_due(conn: sqlite3.Connection) -> float | None:
    row = conn.execute(f"SELECT MIN(next_try_at) FROM sms_outbox WHERE {_PENDING}").fetchone()
    return row[0] if row else None


def mark_sent(conn: sqlite3.Connection, msg_id: str, now: float) -> bool:
    """True when the row was pending and is now sent (False: already sent, cancelled or unknown)."""
    cur = conn.execute(f"UPDATE sms_outbox SET sent_at = ?, last_error = NULL WHERE id = ? AND {_PENDING}",
                       (now, msg_id))
    return cur.rowcount == 1


def mark_failed(conn: sqlite3.Connection, msg_id: str, now: float, error: str, next_try: float) -> None:
    conn.execute(f"UPDATE sms_outbox SET attempts = attempts + 1, last_error = ?, next_try_at = ? "
                 f"WHERE id = ? AND {_PENDING}", (error[:300], next_try, msg_id))


def is_opted_out(conn: sqlite3.Connection, sealer: Sealer, phone: str) -> bool:
    digest = phone_digest(sealer, phone)
    return conn.execute("SELECT 1 FROM sms_optout WHERE phone_digest = ?", (digest,)).fetchone() is not None


def opt_out(conn: sqlite3.Connection, sealer: Sealer, phone: str, now: float, source: str) -> int:
    """Records the opt-out (again: keeps the first) and cancels the number's pending messages: they get
    cancelled_at, last_error 'opted out', and lose phone and text. Returns how many were cancelled."""
    digest = phone_digest(sealer, phone)
    conn.execute("INSERT OR IGNORE INTO sms_optout (phone_digest, at, source) VALUES (?, ?, ?)",
                 (digest, now, source))
    cur = conn.execute(
        f"UPDATE sms_outbox SET cancelled_at = ?, last_error = 'opted out', phone_sealed = NULL, "
        f"phone_digest = NULL, text_sealed = NULL WHERE phone_digest = ? AND {_PENDING}", (now, digest))
    return cur.rowcount


def opt_in(conn: sqlite3.Connection, sealer: Sealer, phone: str) -> bool:
    """Removes an opt-out (the citizen asked at a window); True when there was one."""
    cur = conn.execute("DELETE FROM sms_optout WHERE phone_digest = ?", (phone_digest(sealer, phone),))
    return cur.rowcount == 1


def erase_before(conn: sqlite3.Connection, cutoff: float, now: float | None = None) -> int:
    """Drops phone, digest and text of the messages created before `cutoff` (sent or not: an erased message is
    never sent); keeps id, kind, ref and the dates. Returns how many rows were erased now."""
    cur = conn.execute(
        "UPDATE sms_outbox SET phone_sealed = NULL, phone_digest = NULL, text_sealed = NULL, erased_at = ? "
        "WHERE created_at < ? AND erased_at IS NULL", (time.time() if now is None else now, cutoff))
    return cur.rowcount


def counts(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """For the books, per ref (case number or appointment code): `messages` written, `sent`, `pending`,
    `cancelled` (opted out), `erased` unsent (never sent, erased with the archive), `segments` billed for the
    sent ones, and `kinds` {kind: messages}. The store compares `messages` with the consented changes it made."""
    out: dict[str, dict[str, Any]] = {}
    rows = conn.execute(
        "SELECT ref, kind, COUNT(*), "
        "SUM(sent_at IS NOT NULL), "
        "SUM(sent_at IS NULL AND cancelled_at IS NULL AND erased_at IS NULL), "
        "SUM(cancelled_at IS NOT NULL), "
        "SUM(sent_at IS NULL AND cancelled_at IS NULL AND erased_at IS NOT NULL), "
        "SUM(CASE WHEN sent_at IS NOT NULL THEN (units + 66) / 67 * (units > 70) + (units <= 70) ELSE 0 END) "
        "FROM sms_outbox GROUP BY ref, kind").fetchall()
    for ref, kind, n, sent, pend, cancelled, erased, segments in rows:
        c = out.setdefault(ref, {"messages": 0, "sent": 0, "pending": 0, "cancelled": 0, "erased_unsent": 0,
                                 "segments": 0, "kinds": {}})
        c["messages"] += n
        c["sent"] += sent
        c["pending"] += pend
        c["cancelled"] += cancelled
        c["erased_unsent"] += erased
        c["segments"] += segments
        c["kinds"][kind] = n
    return out
