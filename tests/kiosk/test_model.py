"""Pure parts of the kiosk: catalogue parsing, code classification, texts, config, printer status mapping."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from devices.idcard import ReaderState
from devices.printer import PrinterState, PrinterStatus
from hall_bus.configfile import ConfigError
from kiosk.config import KioskConfig, load
from kiosk.hardware import printer_health, reader_health
from kiosk.i18n import TEXT, t
from hall_bus.payloads import Guide, PayloadError
from kiosk.model import Catalog, DeviceHealth, Health, Ticket, classify_code
from kiosk.sample import sample_catalog, sample_guides

ROOT = Path(__file__).resolve().parents[2]


def test_catalog_from_state_payload_and_guides():
    guides: dict = {}
    cat = Catalog.parse(sample_catalog(), guides)
    assert [z.id for z in cat.zones] == ["z1", "z2", "z3", "z4", "z5", "z6"]
    svc = cat.service("ss_pension")
    assert svc.promised_days == 5 and svc.legal_days == 20 and svc.materials == ()     # its guide is not here yet
    guides.update({sid: Guide.parse(g) for sid, g in sample_guides().items()})      # state/guide/+ arrives
    assert cat.service("ss_pension").materials[0].name_en == "Resident ID card"
    assert cat.priority_age == 70 and cat.hall_title("en").startswith("Daan")


def test_catalog_with_wrong_types_is_refused_and_unknown_fields_ignored():
    with pytest.raises(PayloadError, match="hall"):
        Catalog.parse({"v": 1, "hall": "oops", "zones": [{"id": "z1", "name": 5}, "x"], "services": [{}]})
    cat = Catalog.parse({"v": 1, "hall": {"id": "daan", "name": "大安", "future_field": 1}, "new_list": [1]})
    assert cat.hall_id == "daan" and cat.services == ()


def test_ticket_url_carries_the_token_never_the_verify_code():
    cat = Catalog.parse(sample_catalog())
    tk = Ticket(id="1", number="A001", service="s", zone="z1", state="waiting", channel="walk_in",
                issued_at="2026-11-27T09:00:00+08:00", verify="K7Q2", token="Zq3x_9kLmN0pQrStUvWxYz")
    assert cat.ticket_url(tk) == "https://zwfw.daan.gov.cn/t/Zq3x_9kLmN0pQrStUvWxYz"


@pytest.mark.parametrize("text,kind,value", [
    ("https://zwfw.example.gov.cn/t/Zq3x_9kLmN0pQrStUvWxYz", "token", "Zq3x_9kLmN0pQrStUvWxYz"),
    ("https://zwfw.example.gov.cn/t/Zq3x_9kLmN0pQrStUvWxYz/?utm=1", "token", "Zq3x_9kLmN0pQrStUvWxYz"),
    ("https://zwfw.example.gov.cn/t/K7Q2", "invalid", "https://zwfw.example.gov.cn/t/K7Q2"),   # a guessable code
    ("a023", "number", "A023"),
    ("AB123", "number", "AB123"),
    ("APPT-20261127-0815", "appointment", "APPT-20261127-0815"),
    ("a b", "invalid", "a b"),
])
def test_classify_code(text, kind, value):
    q = classify_code(text)
    assert (q.kind, q.value) == (kind, value)


def test_status_screen_reads_bare_codes_as_verify_codes():
    assert classify_code("k7q2", for_status=True).kind == "verify"


def test_every_text_has_both_languages_with_the_same_placeholders():
    for key, (zh, en) in TEXT.items():
        assert zh and en, key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key
    assert t("ahead", "en", n=3) == "3 ahead of you"


def test_window_name_in_english_when_the_server_gives_only_chinese():
    tk = Ticket(id="1", number="A001", service="s", zone="z1", state="serving", channel="walk_in",
                issued_at="2026-11-27T09:00:00+08:00", window="w15", window_name="15号窗口")
    assert tk.window_title("en") == "Window 15" and tk.window_title("zh") == "15号窗口"


def test_shipped_config_loads(monkeypatch):
    cfg = load(ROOT / "config" / "kiosk.toml")
    assert cfg.client_id == "kiosk-k1" and cfg.device_id("printer") == "printer-k1"
    monkeypatch.setenv("ONEWINDOW_ID_HMAC_KEY", "secret")
    assert cfg.resolve_hmac_key() == b"secret"
    monkeypatch.delenv("ONEWINDOW_ID_HMAC_KEY")
    with pytest.raises(ConfigError):
        cfg.resolve_hmac_key()


def test_bad_config_lists_every_problem(tmp_path):
    p = tmp_path / "k.toml"
    p.write_text('id = "k 1"\nhmac_key = "x"\nstatus_url = "https://x/t"\nlanguage = "fr"\nbogus = 1\n')
    with pytest.raises(ConfigError) as exc:
        load(p)
    keys = " ".join(exc.value.problems)
    for key in ("id", "status_url", "language", "bogus"):
        assert key in keys


@pytest.mark.parametrize("status,health,code", [
    (PrinterStatus(PrinterState.OK), Health.OK, ""),
    (PrinterStatus(PrinterState.WARNING, paper_near_end=True), Health.WARNING, "near_end"),
    (PrinterStatus(PrinterState.ERROR, paper_end=True), Health.ERROR, "paper_out"),
    (PrinterStatus(PrinterState.ERROR, cover_open=True), Health.ERROR, "cover_open"),
    (PrinterStatus(PrinterState.UNKNOWN, detail="no_reply"), Health.OFFLINE, "no_reply"),
])
def test_printer_status_to_health(status, health, code):
    h = printer_health(status, "sim://printer")
    assert (h.state, h.code) == (health, code)
    assert h.blocks_issuing == (health in (Health.ERROR, Health.OFFLINE))


def test_unknown_printer_status_is_never_fine_except_on_write_only_links():
    s = PrinterStatus(PrinterState.UNKNOWN, detail="no_reply")
    assert printer_health(s, "serial:///dev/ttyUSB0").blocks_issuing
    assert not printer_health(s, "file:///dev/usb/lp0").blocks_issuing


def test_device_status_payload_for_staff():
    assert DeviceHealth("printer", Health.ERROR, "paper_out").status_payload() == \
        {"v": 1, "kind": "printer", "state": "error", "detail": {"code": "paper_out"}}
    assert DeviceHealth("idcard").status_payload()["state"] == "offline"


@pytest.mark.parametrize("state,health", [
    (ReaderState.STARTING, Health.OK),       # not an error: the first status reply is on its way
    (ReaderState.READY, Health.OK),
    (ReaderState.CARD, Health.OK),           # a valid card lies on the reader
    (ReaderState.FAULT, Health.ERROR),
    (ReaderState.UNPLUGGED, Health.OFFLINE),
    (ReaderState.CLOSED, Health.OFFLINE),
])
def test_id_reader_states(state, health):
    h = reader_health(state, "SAM self-test failed" if health is Health.ERROR else "")
    assert (h.kind, h.state, h.code) == ("idcard", health, state.value)


def test_every_reader_state_has_a_health():
    assert {reader_health(s).code for s in ReaderState} == {s.value for s in ReaderState}


@pytest.mark.parametrize("text, words", [
    ("", "needs its ticket printer's URL"),                             # no [printer] at all
    ('[printer]\npaper_mm = 58\n', "needs its ticket printer's URL"),   # a [printer] without its url
    ('[printer]\nurl = ""\n', "needs its ticket printer's URL"),
    ('[printer]\nurl = "/dev/usb/lp0"\n', "not a device URL"),
])
def test_a_kiosk_without_a_printer_url_is_a_config_error_never_the_simulator(tmp_path, text, words):
    p = tmp_path / "k.toml"
    p.write_text('id = "k1"\nhmac_key = "x"\n' + text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load(p)
    assert [q for q in exc.value.problems if q.startswith("printer.url:") and words in q], exc.value.problems


def test_config_rejects_broker_without_scheme():
    with pytest.raises(ValueError):
        KioskConfig.model_validate({"id": "k1", "hmac_key": "x", "broker": "127.0.0.1:1883"})
