"""The SMS gateways against the real thing: the http gateway against a local HTTP server, the gammu-smsd gateway
against the real daemon with Gammu's dummy phone (no modem)."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hall_server.crypto import Sealer
from hall_server.sms import outbox
from hall_server.sms.gateways import (SIGNATURE_HEADER, DirGateway, GammuFilesGateway, GatewayConfigError,
                                      GatewayError, HttpGateway, gateway_from)
from hall_server.sms.sender import SmsSender
from hall_server.sms.settings import SmsSettings
from tests.support.sms_platform import Platform, Smsd, wait_for, write_rc
from tests.support.tools import require_tool

SECRET = b"s3cret-for-the-platform-0123456789"
PHONE = "13812345678"
TEXT = "【大安政务】您的办件DA-20261130-0007已受理，查询码123456。𠀀"


@pytest.fixture
def platform() -> Iterator[Platform]:
    p = Platform()
    yield p
    p.close()


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def db(tmp_path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    path = tmp_path / "hall.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    outbox.ensure_schema(conn)
    yield path, conn
    conn.close()


SEALER = Sealer(bytes(range(32)))


def settings(gateway: str, **kw) -> SmsSettings:
    return SmsSettings(gateway=gateway, signature="【大安政务】", **kw)


def enqueue(conn, now, phone=PHONE, text=TEXT) -> str:
    conn.execute("BEGIN IMMEDIATE")
    msg_id = outbox.enqueue(conn, SEALER, kind="case_accepted", ref="DA-20261130-0007", phone=phone, text=text,
                            now=now)
    conn.execute("COMMIT")
    return msg_id


def test_http_body_and_signature(platform):
    gw = HttpGateway(platform.url, secret=SECRET, timeout_s=5)
    gw.send("S" + "0" * 32, PHONE, TEXT)
    headers, body = platform.requests[0]
    assert json.loads(body) == {"id": "S" + "0" * 32, "to": PHONE, "text": TEXT}
    assert headers[SIGNATURE_HEADER.lower()] == hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert headers["content-type"] == "application/json; charset=utf-8"
    unsigned = HttpGateway(platform.url, timeout_s=5)
    unsigned.send("S" + "1" * 32, PHONE, TEXT)
    assert SIGNATURE_HEADER.lower() not in platform.requests[1][0]


def test_http_500_then_200_is_retried_with_the_same_id(platform, db):
    path, conn = db
    clock = Clock()
    msg_id = enqueue(conn, clock.t)
    platform.script = [500, 503]
    sender = SmsSender(path, settings(platform.url, secret="x" * 20), SEALER,
                       HttpGateway(platform.url, secret=b"x" * 20, timeout_s=5), on_failing=lambda zh, en: None,
                       clock=clock)
    try:
        for _ in range(5):
            sender.process_once()
            clock.t += 10
    finally:
        sender.stop()
    ids = [json.loads(body)["id"] for _, body in platform.requests]
    assert ids == [msg_id, msg_id, msg_id]
    assert platform.accepted == [msg_id]
    assert conn.execute("SELECT attempts, sent_at IS NOT NULL FROM sms_outbox").fetchone() == (2, 1)


def test_http_platform_down_for_a_while_then_up_delivers_once(db):
    path, conn = db
    probe = Platform()
    port = probe.port
    probe.close()                                  # nobody listens there now
    url = f"http://127.0.0.1:{port}/api/send"
    clock = Clock()
    msg_id = enqueue(conn, clock.t)
    alerts: list[str] = []
    back: list[int] = []
    sender = SmsSender(path, settings(url, alert_after_s=60), SEALER, HttpGateway(url, timeout_s=2),
                       on_failing=lambda zh, en: alerts.append(en), on_recovered=lambda: back.append(1), clock=clock)
    up = None
    try:
        with pytest.raises(GatewayError, match="cannot reach"):
            HttpGateway(url, timeout_s=2).send(msg_id, PHONE, TEXT)
        for _ in range(5):
            sender.process_once()
            clock.t += 20
        assert alerts and "SMS not going out" in alerts[0] and PHONE not in alerts[0]
        up = Platform(port)
        for _ in range(3):
            clock.t += 300
            sender.process_once()
    finally:
        sender.stop()
        if up is not None:
            up.close()
    assert up.accepted == [msg_id]
    assert back == [1]


def test_dir_gateway_is_idempotent(tmp_path):
    gw = gateway_from(settings("dir://sms-out"), tmp_path)
    assert isinstance(gw, DirGateway) and gw.path == tmp_path / "sms-out"
    gw.send("S" + "a" * 32, PHONE, TEXT)
    gw.send("S" + "a" * 32, PHONE, "changed")
    files = list((tmp_path / "sms-out").iterdir())
    assert [f.name for f in files] == ["S" + "a" * 32 + ".txt"]
    assert json.loads(files[0].read_text(encoding="utf-8")) == {"id": "S" + "a" * 32, "to": PHONE, "text": TEXT}


# ---------------------------------------------------------------- gammu-smsd

@pytest.fixture
def gammu_dir(tmp_path) -> Path:
    d = tmp_path / "gammu"
    d.mkdir()
    return d


def test_gammu_delivers_chinese_intact_and_once(gammu_dir, db):
    smsd = Smsd(gammu_dir)
    try:
        path, conn = db
        gw = gateway_from(settings(f"gammu-smsd://{smsd.rc}"), path.parent)
        assert isinstance(gw, GammuFilesGateway)
        msg_id = enqueue(conn, time.time())
        sender = SmsSender(path, settings(f"gammu-smsd://{smsd.rc}"), SEALER, gw, on_failing=lambda zh, en: None)
        try:
            assert sender.process_once() == 1
        finally:
            sender.stop()
        sent = wait_for(lambda: list((gammu_dir / "sent").glob(f"OUT*_{PHONE}_{msg_id}.txt")))
        raw = sent[0].read_bytes()
        assert raw[:2] == b"\xff\xfe" and raw[2:].decode("utf-16-le") == TEXT
        # what the daemon read and handed to the phone: the whole text, coding 1 (UCS-2), 42 code units
        found = re.findall(r'Found 1 sms to "(\d+)" with text "(.*)" cod (\d) lgt (\d+)', smsd.log_text())
        assert found == [(PHONE, TEXT, "1", "42")]
        assert "SMS sent on device" in smsd.log_text()
        # the same id again (a crash between hand-over and "mark sent"): no second file, nothing sent again
        gw.send(msg_id, PHONE, TEXT)
        assert list((gammu_dir / "outbox").iterdir()) == []
        time.sleep(2.5)
        assert len(list((gammu_dir / "sent").iterdir())) == 1
        assert smsd.log_text().count("Found 1 sms") == 1
        # personal data at the gateway goes with the archive
        assert gw.erase_before(time.time() + 1) == 1
        assert list((gammu_dir / "sent").iterdir()) == []
    finally:
        smsd.stop()
    assert smsd.proc.returncode == 0


def test_gammu_td_reply_opts_the_number_out(gammu_dir, db):
    gammu = require_tool("gammu", package="gammu")
    smsd = Smsd(gammu_dir)
    try:
        path, conn = db
        gw = GammuFilesGateway(smsd.rc, settle_s=0.3)
        # the dummy phone receives: a message saved to its inbox folder (sms/1) is read by the daemon
        for sender_no, text in (("+8613812345678", "退订"), ("13912345678", "你好")):
            subprocess.run([gammu, "-c", str(smsd.rc), "savesms", "TEXT", "-folder", "1", "-unread",
                            "-sender", sender_no, "-unicode", "-text", text], check=True, timeout=15,
                           capture_output=True)
        wait_for(lambda: len(list((gammu_dir / "inbox").glob("IN*.txt"))) == 2)
        time.sleep(0.4)
        enqueue(conn, time.time())                      # pending for the number that opts out
        sender = SmsSender(path, settings(f"gammu-smsd://{smsd.rc}"), SEALER, gw, on_failing=lambda zh, en: None)
        # the pending message may go out first in this pass; what matters: the opt-out is recorded
        real_send = gw.send
        handed: list[str] = []
        gw.send = lambda msg_id, to, text: handed.append(msg_id)
        try:
            sender.process_once()
        finally:
            sender.stop()
            gw.send = real_send
        assert outbox.is_opted_out(conn, SEALER, PHONE)
        assert not outbox.is_opted_out(conn, SEALER, "13912345678")
        assert handed == []                               # cancelled before the send step
        assert list((gammu_dir / "inbox").iterdir()) == []   # read files are removed (they hold a number)
        conn.execute("BEGIN IMMEDIATE")
        assert outbox.enqueue(conn, SEALER, kind="case_ready", ref="DA-20261130-0007", phone=PHONE, text="x",
                              now=time.time()) is None
        conn.execute("ROLLBACK")
    finally:
        smsd.stop()
    assert smsd.proc.returncode == 0


def test_gammu_incoming_decodes_a_hand_written_inbox_file(tmp_path):
    rc = write_rc(tmp_path)
    gw = GammuFilesGateway(rc, settle_s=0)
    name = tmp_path / "inbox" / "IN20261130_101500_00_+8613812345678_00.txt"
    name.write_bytes(b"\xfe\xff" + "TD".encode("utf-16-be") + b"\x00\x00\x00\x00")
    assert gw.incoming() == [("+8613812345678", "TD")]
    assert not name.exists()


@pytest.mark.parametrize("change, message", [
    ({"transmitformat": None}, "TransmitFormat = (not set): set TransmitFormat = unicode"),
    ({"transmitformat": "7bit"}, "TransmitFormat = 7bit"),
    ({"service": "sql"}, "service = sql: OneWindow supports service = files only"),
    ({"outboxpath": "outbox/"}, "use an absolute path"),
    ({"sentsmspath": "/nonexistent/sent"}, "end it with '/'"),
    ({"sentsmspath": None, "errorsmspath": None}, "sentsmspath is not set"),
    ({"inboxformat": "detail"}, "InboxFormat = detail"),
])
def test_gammu_rc_refusals(tmp_path, change, message):
    rc = write_rc(tmp_path, **change)
    with pytest.raises(GatewayConfigError, match=re.escape(message)):
        GammuFilesGateway(rc)


def test_gammu_without_transmitformat_garbles_chinese(gammu_dir):
    """Why TransmitFormat = unicode is required: without it gammu-smsd 1.42 picks the GSM 7-bit alphabet."""
    rc = write_rc(gammu_dir, transmitformat=None)
    (gammu_dir / "outbox" / "OUTA20261130_101500_00_13812345678_Sx.txt").write_bytes(
        b"\xff\xfe" + "【大安政务】您好".encode("utf-16-le"))
    exe = require_tool("gammu-smsd", package="gammu-smsd")
    proc = subprocess.Popen([exe, "-c", str(rc)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        log = gammu_dir / "smsd.log"
        wait_for(lambda: log.exists() and "Found 1 sms" in log.read_text(errors="replace"))
        assert re.search(r'Found 1 sms to "13812345678" with text ".*" cod 3 ', log.read_text(errors="replace"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
