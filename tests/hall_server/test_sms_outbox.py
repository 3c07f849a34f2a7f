"""The SMS outbox (SQL in the caller's transaction) and the sender's passes, with an in-memory gateway."""
from __future__ import annotations

import sqlite3

import pytest

from hall_server.crypto import Sealer
from hall_server.sms import outbox
from hall_server.sms.gateways import GatewayError
from hall_server.sms.sender import SmsSender, backoff_s, is_opt_out, scrub
from hall_server.sms.settings import SmsSettings

PHONE = "13812345678"
SETTINGS = SmsSettings(gateway="dir:///unused", signature="【大安政务】", alert_after_s=600, retry_max_s=8)


class FakeGateway:
    """Accepts or refuses as told; remembers what it was handed, per outbox id."""

    def __init__(self) -> None:
        self.handed: list[tuple[str, str, str]] = []
        self.refuse = 0               # refuse this many hand-overs
        self.replies: list[tuple[str, str]] = []

    def send(self, msg_id: str, to: str, text: str) -> None:
        if self.refuse:
            self.refuse -= 1
            raise GatewayError(f"platform down (to {to})")
        self.handed.append((msg_id, to, text))

    def erase_before(self, cutoff: float) -> int:
        return 0

    def incoming(self) -> list[tuple[str, str]]:
        out, self.replies = self.replies, []
        return out


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(bytes(range(32)))


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "hall.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    outbox.ensure_schema(conn)
    yield path, conn
    conn.close()


def write(conn, sealer, now, *, phone=PHONE, kind="case_accepted", ref="DA-20261130-0007",
          text="【大安政务】您的办件DA-20261130-0007已受理，查询码123456。"):
    conn.execute("BEGIN IMMEDIATE")
    msg_id = outbox.enqueue(conn, sealer, kind=kind, ref=ref, phone=phone, text=text, now=now)
    conn.execute("COMMIT")
    return msg_id


def make_sender(path, sealer, gateway, clock, alerts=None, recovered=None) -> SmsSender:
    alerts = alerts if alerts is not None else []
    return SmsSender(path, SETTINGS, sealer, gateway, on_failing=lambda zh, en: alerts.append((zh, en)),
                     on_recovered=(lambda: recovered.append(1)) if recovered is not None else None, clock=clock)


def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(db, sealer):
    path, conn = db
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE cases (number TEXT)")
    conn.execute("INSERT INTO cases VALUES ('DA-20261130-0007')")
    assert outbox.enqueue(conn, sealer, kind="case_accepted", ref="DA-20261130-0007", phone=PHONE, text="x",
                          now=1.0) is not None
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT COUNT(*) FROM sms_outbox").fetchone() == (0,)
    assert outbox.pending(conn, 10.0) == []


def test_the_phone_and_text_are_not_stored_in_clear(db, sealer):
    path, conn = db
    msg_id = write(conn, sealer, 1.0, phone="+86 138 1234 5678")
    assert msg_id.startswith("S") and len(msg_id) == 33
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = path.read_bytes() + (path.with_name("hall.db-wal").read_bytes() if path.with_name("hall.db-wal").exists() else b"")
    assert PHONE.encode() not in raw
    assert "123456".encode() not in raw and "查询码".encode() not in raw
    row = outbox.pending(conn, 1.0)[0]
    assert sealer.open(row["phone_sealed"], outbox.PHONE_LABEL) == PHONE


def test_opted_out_numbers_get_no_row(db, sealer):
    path, conn = db
    first = write(conn, sealer, 1.0)
    conn.execute("BEGIN IMMEDIATE")
    assert outbox.opt_out(conn, sealer, "+8613812345678", 2.0, "window") == 1   # the pending one is cancelled
    conn.execute("COMMIT")
    assert outbox.is_opted_out(conn, sealer, PHONE)
    assert write(conn, sealer, 3.0) is None
    assert write(conn, sealer, 3.0, phone="13912345678") is not None
    cancelled = conn.execute("SELECT cancelled_at, last_error, phone_sealed, text_sealed FROM sms_outbox "
                             "WHERE id = ?", (first,)).fetchone()
    assert cancelled == (2.0, "opted out", None, None)
    assert [r["id"] for r in outbox.pending(conn, 10.0)] != [first]
    with pytest.raises(ValueError):
        write(conn, sealer, 3.0, phone="12345")
    conn.execute("ROLLBACK")


def test_erase_before_keeps_the_statistics(db, sealer):
    path, conn = db
    old = write(conn, sealer, 100.0)
    new = write(conn, sealer, 200.0, ref="DA-20261130-0008")
    conn.execute("BEGIN IMMEDIATE")
    outbox.mark_sent(conn, old, 101.0)
    conn.execute("COMMIT")
    assert outbox.erase_before(conn, 150.0, now=300.0) == 1
    assert outbox.erase_before(conn, 150.0, now=301.0) == 0
    row = conn.execute("SELECT id, kind, ref, phone_sealed, phone_digest, text_sealed, created_at, sent_at, erased_at "
                       "FROM sms_outbox WHERE id = ?", (old,)).fetchone()
    assert row == (old, "case_accepted", "DA-20261130-0007", None, None, None, 100.0, 101.0, 300.0)
    assert conn.execute("SELECT phone_sealed IS NOT NULL FROM sms_outbox WHERE id = ?", (new,)).fetchone() == (1,)
    books = outbox.counts(conn)
    assert books["DA-20261130-0007"]["messages"] == 1 and books["DA-20261130-0007"]["sent"] == 1
    assert books["DA-20261130-0008"]["pending"] == 1
    assert books["DA-20261130-0007"]["kinds"] == {"case_accepted": 1}


def test_sender_marks_sent_exactly_once_and_never_resends_after_a_restart(db, sealer):
    path, conn = db
    clock = Clock()
    gw = FakeGateway()
    ids = [write(conn, sealer, clock.t, ref=f"DA-20261130-000{i}") for i in range(3)]
    sender = make_sender(path, sealer, gw, clock)
    assert sender.process_once() == 3
    assert [h[0] for h in gw.handed] == ids
    assert gw.handed[0][1] == PHONE and "查询码123456" in gw.handed[0][2]
    clock.t += 1000
    assert sender.process_once() == 0
    sender.stop()
    again = make_sender(path, sealer, gw, clock)            # a restart on the same database
    assert again.process_once() == 0
    again.stop()
    assert len(gw.handed) == 3
    assert conn.execute("SELECT COUNT(*) FROM sms_outbox WHERE sent_at IS NOT NULL").fetchone() == (3,)


def test_a_crash_between_hand_over_and_mark_hands_over_again_with_the_same_id(db, sealer):
    path, conn = db
    clock = Clock()
    msg_id = write(conn, sealer, clock.t)
    gw = FakeGateway()
    sender = make_sender(path, sealer, gw, clock)
    real_mark = outbox.mark_sent
    outbox.mark_sent = lambda *a: (_ for _ in ()).throw(RuntimeError("power cut"))
    try:
        with pytest.raises(RuntimeError):
            sender.process_once()
    finally:
        outbox.mark_sent = real_mark
    sender.stop()
    again = make_sender(path, sealer, gw, clock)
    assert again.process_once() == 1
    again.stop()
    assert [h[0] for h in gw.handed] == [msg_id, msg_id]     # the gateway's dedup key is the same


def test_failures_are_retried_with_doubling_backoff(db, sealer):
    path, conn = db
    clock = Clock()
    msg_id = write(conn, sealer, clock.t)
    gw = FakeGateway()
    gw.refuse = 5
    sender = make_sender(path, sealer, gw, clock)
    waits = []
    for _ in range(5):
        assert sender.process_once() == 0
        attempts, next_try, error = conn.execute(
            "SELECT attempts, next_try_at, last_error FROM sms_outbox WHERE id = ?", (msg_id,)).fetchone()
        waits.append(next_try - clock.t)
        assert error == "platform down (to 138****5678)"          # no phone number in the stored error
        left = gw.refuse
        clock.t += 0.5
        assert sender.process_once() == 0 and gw.refuse == left     # not due yet: not handed over
        clock.t = next_try
    assert waits == [1, 2, 4, 8, 8]                            # capped at retry_max_s
    assert attempts == 5
    assert sender.process_once() == 1
    assert [h[0] for h in gw.handed] == [msg_id]
    sender.stop()


def test_on_failing_after_alert_after_s_and_recovered_when_it_goes_out(db, sealer):
    path, conn = db
    clock = Clock()
    write(conn, sealer, clock.t)
    gw = FakeGateway()
    gw.refuse = 10_000
    alerts: list[tuple[str, str]] = []
    recovered: list[int] = []
    sender = make_sender(path, sealer, gw, clock, alerts, recovered)
    for _ in range(12):
        clock.t += 50
        sender.process_once()
    assert alerts == []                                         # 600 s not yet over
    clock.t += 60
    sender.process_once()
    assert len(alerts) == 1
    zh, en = alerts[0]
    assert "1 条待发" in zh and "SMS not going out: 1 waiting" in en and PHONE not in zh + en
    clock.t += 300
    sender.process_once()
    assert len(alerts) == 1                                     # once, not on every pass
    gw.refuse = 0
    clock.t += 400
    sender.process_once()
    assert recovered == [1] and len(gw.handed) == 1
    sender.stop()


def test_a_td_reply_opts_the_number_out_and_cancels_its_pending_messages(db, sealer):
    path, conn = db
    clock = Clock()
    gw = FakeGateway()
    gw.refuse = 1
    pending_id = write(conn, sealer, clock.t)
    sender = make_sender(path, sealer, gw, clock)
    sender.process_once()                                       # refused once: still pending
    gw.replies = [("+8613812345678", " 退订 "), ("13912345678", "谢谢")]
    clock.t += 10
    sender.process_once()
    assert gw.handed == []
    assert outbox.is_opted_out(conn, sealer, PHONE)
    assert not outbox.is_opted_out(conn, sealer, "13912345678")
    assert conn.execute("SELECT last_error, sent_at FROM sms_outbox WHERE id = ?",
                        (pending_id,)).fetchone() == ("opted out", None)
    assert write(conn, sealer, clock.t) is None
    sender.stop()


def test_the_sender_thread_sends_on_wake(db, sealer):
    path, conn = db
    gw = FakeGateway()
    sender = SmsSender(path, SETTINGS, sealer, gw, on_failing=lambda zh, en: None, poll_s=30)
    sender.start()
    try:
        import time
        time.sleep(0.2)
        msg_id = write(conn, sealer, time.time())
        sender.wake()
        deadline = time.monotonic() + 5
        while not gw.handed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [h[0] for h in gw.handed] == [msg_id]
    finally:
        sender.stop()


def test_helpers():
    assert [backoff_s(n, 300) for n in (1, 2, 3, 9, 10, 50)] == [1, 2, 4, 256, 300, 300]
    assert is_opt_out("TD") and is_opt_out("td。") and is_opt_out("退订") and not is_opt_out("TD 123")
    assert scrub("to 13812345678 and +8613912345678") == "to 138****5678 and 139****5678"
