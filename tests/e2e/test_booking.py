"""Online booking (预约) end to end: the real server (subprocess) on its own broker; a web node books over the bus, a
kiosk checks the booking in within its slot's grace, the web node cancels another with the phone's last digits, the
appointment_booked SMS reaches a local SMS platform; the platform's CSV is read again on SIGHUP; a web node may not
look a ticket up by its verify code. The hall config puts a slot right now: issuing all day, today an extra day."""
from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall_bus import RequestError
from hall_bus.contract import Op
from tests.support.hall import HALL_CONFIG, RunningHall, all_day_hall, start_hall
from tests.support.sms_platform import Platform, wait_for

PHONE = "13912345678"
SERVICE = "ss_enroll"
TZ = ZoneInfo("Asia/Shanghai")


def hall_config(tmp_path: Path, platform: Platform) -> Path:
    today = datetime.now(TZ).date()
    text = HALL_CONFIG.read_text(encoding="utf-8")
    text = all_day_hall(text, extra_days=[today, today + timedelta(days=1)])
    text = text.replace("slot_minutes = 30", "slot_minutes = 10").replace("# seats = 4", "seats = 2", 1)
    text += (f'\n[sms]\ngateway = "{platform.url}"\nsignature = "【大安政务】"\nretry_max_s = 2\n')
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def platform() -> Iterator[Platform]:
    p = Platform()
    yield p
    p.close()


def next_slot(web, day: str) -> dict:
    slots = web.request(Op.APPOINTMENT_SLOTS, {"service": SERVICE, "date": day}, timeout=5)
    assert slots["date"] == day and slots["service"] == SERVICE
    return slots["slots"][0]


def test_book_check_in_cancel_and_the_sms(tmp_path: Path, platform: Platform) -> None:
    now = datetime.now(TZ)
    if now.hour == 23 and now.minute >= 45:
        pytest.skip("no slot of today is left after 23:45 (slots of 10 minutes up to 23:59)")
    today = now.date().isoformat()
    csv_path = tmp_path / "bookings.csv"
    csv_path.write_text(f"code,service,date,start,end\nYY0001,{SERVICE},{today},00:00,23:59\n", encoding="utf-8")
    hall: RunningHall = start_hall(tmp_path, config=hall_config(tmp_path, platform),
                                   extra=["--appointments", str(csv_path)])
    web = hall.client("web-n1")
    kiosk = hall.client("kiosk-k1")
    try:
        slot = next_slot(web, today)                       # the next slot: it starts within 10 minutes
        assert slot["seats"] == 2 and slot["left"] == 2
        holder = {"ref": "hmac-ref-of-an-id-0001", "display_name": "欧*"}
        booked = web.request(Op.APPOINTMENT_BOOK, {"service": SERVICE, "date": today, "start": slot["start"],
                                                   "holder": holder, "phone": PHONE, "sms": True}, timeout=5)
        assert booked["start"] == slot["start"] and booked["end"] == slot["end"] and len(booked["code"]) == 10
        assert next_slot(web, today)["left"] == 1
        with pytest.raises(RequestError) as e:             # one booking per holder, service and day
            web.request(Op.APPOINTMENT_BOOK, {"service": SERVICE, "date": today, "start": slot["start"],
                                              "holder": holder}, timeout=5)
        assert e.value.code == "duplicate_holder"

        # the kiosk checks it in: within the grace (30 min before the slot starts)
        t = kiosk.request(Op.APPOINTMENT_CHECKIN, {"code": booked["code"]}, timeout=5)
        assert t["channel"] == "appointment" and t["priority"] is True and t["service"] == SERVICE
        with pytest.raises(RequestError) as e:
            kiosk.request(Op.APPOINTMENT_CHECKIN, {"code": "NOSUCHCODE"}, timeout=5)
        assert e.value.code == "unknown_appointment"

        # another booking, cancelled with the phone's last four digits; a wrong code or wrong digits: one answer
        other = web.request(Op.APPOINTMENT_BOOK, {"service": SERVICE, "date": today, "start": slot["start"],
                                                  "holder": {"ref": "hmac-ref-of-an-id-0002"}, "phone": PHONE,
                                                  "sms": True}, timeout=5)
        with pytest.raises(RequestError) as e:
            web.request(Op.APPOINTMENT_BOOK, {"service": SERVICE, "date": today, "start": slot["start"],
                                              "holder": {"ref": "hmac-ref-of-an-id-0003"}}, timeout=5)
        assert e.value.code == "slot_full"
        answers = []
        for code, digits in ((other["code"], "0000"), ("ABCDEFGHJK", "5678")):
            with pytest.raises(RequestError) as e:
                web.request(Op.APPOINTMENT_CANCEL, {"code": code, "phone_last4": digits}, timeout=5)
            answers.append((e.value.code, e.value.message))
        assert answers[0] == answers[1] and answers[0][0] == "unknown_appointment"
        assert web.request(Op.APPOINTMENT_CANCEL, {"code": other["code"], "phone_last4": "5678"}, timeout=5) == {}
        assert next_slot(web, today)["left"] == 1            # the seat came back (the checked-in one keeps its)

        # the appointment_booked SMS of both bookings reached the SMS platform, once each
        texts = wait_for(lambda: len(platform.accepted) >= 2 and
                         [json.loads(b)["text"] for _h, b in platform.requests], timeout=15)
        assert len(set(platform.accepted)) == 2
        assert any(booked["code"] in x and slot["start"] in x and x.startswith("【大安政务】您已预约") for x in texts)
        assert all(json.loads(b)["to"] == PHONE for _h, b in platform.requests)

        # a web node reads a ticket by its token only
        assert web.request(Op.TICKET_GET, {"token": t["token"]}, timeout=5)["id"] == t["id"]
        with pytest.raises(RequestError) as e:
            web.request(Op.TICKET_GET, {"verify": t["verify"]}, timeout=5)
        assert e.value.code == "forbidden"

        # the booking platform's file, read again on SIGHUP
        assert kiosk.request(Op.APPOINTMENT_CHECKIN, {"code": "YY0001"}, timeout=5)["channel"] == "appointment"
        with csv_path.open("a", encoding="utf-8") as f:
            f.write(f"YY0002,{SERVICE},{today},00:00,23:59\n")
        hall.proc.send_signal(signal.SIGHUP)

        def checked_in() -> dict | None:
            try:
                return kiosk.request(Op.APPOINTMENT_CHECKIN, {"code": "YY0002"}, timeout=5)
            except RequestError as exc:
                assert exc.code == "unknown_appointment"
                return None
        assert wait_for(checked_in, timeout=10)["channel"] == "appointment"
    finally:
        web.stop()
        kiosk.stop()
        hall.stop()
    log = hall.log()
    for secret in (PHONE, booked["code"], other["code"], "hmac-ref-of-an-id"):
        assert secret not in log, secret
