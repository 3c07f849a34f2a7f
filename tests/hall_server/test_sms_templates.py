"""SMS texts: UCS-2 counting, filling in, the 70-unit check with the longest values, template and phone checks."""
from __future__ import annotations

import pytest

from hall_bus.configfile import ConfigError, validate
from hall_server.sms.settings import KINDS, SmsSettings
from hall_server.sms.templates import check_phone, overflow_problems, render, ucs2_units

REALISTIC_LONGEST = {
    "number": "XXXX-20261130-0007",
    "query_code": "123456",
    "code": "654321",
    "service": "城乡居民基本养老保险参保登记",
    "hall": "大安区政务服务中心",
    "link": "https://zwfw.example.gov.cn/t/" + "A" * 22,
    "due_date": "2026-12-31",
    "date": "2026-12-31",
    "start": "09:30",
    "missing_count": "12",
}


def settings(**kw) -> SmsSettings:
    return SmsSettings(gateway="dir:///tmp/sms", signature=kw.pop("signature", "【大安政务】"), **kw)


def load(sms: dict) -> SmsSettings:
    from pydantic import BaseModel

    class Wrap(BaseModel):
        sms: SmsSettings

    return validate("hall.toml", {"sms": sms}, Wrap).sms


def test_ucs2_units_counts_a_non_bmp_character_twice():
    assert ucs2_units("") == 0
    assert ucs2_units("abc") == 3
    assert ucs2_units("【大安政务】") == 6
    assert ucs2_units("𠀀") == 2                      # CJK Extension B
    assert ucs2_units("办件𠀀A") == 5


def test_render_puts_the_signature_in_front():
    s = settings()
    text = render(s, "case_accepted", {"number": "DA-20261130-0007", "query_code": "123456",
                                       "due_date": "2026-12-31", "service": "x", "hall": "y"})
    assert text == "【大安政务】您的办件DA-20261130-0007已受理，查询码123456，承诺2026-12-31前办结。"


def test_render_without_a_needed_value_is_refused():
    with pytest.raises(ValueError, match=r"sms.templates.case_accepted: no value for \{query_code\}"):
        render(settings(), "case_accepted", {"number": "DA-20261130-0007", "due_date": "2026-12-31"})
    with pytest.raises(ValueError, match="unknown SMS kind"):
        render(settings(), "case_lost", {})


def test_every_default_template_fits_one_segment_with_realistic_longest_values():
    s = settings()
    assert overflow_problems(s, REALISTIC_LONGEST) == []
    for kind in KINDS:
        assert ucs2_units(render(s, kind, REALISTIC_LONGEST)) <= 70, kind
    # and with a long signature and the built-in worst cases
    assert overflow_problems(settings(signature="【大安区政务服务】"), {"link": "https://zwfw.example.gov.cn/t/x"}) == []


def test_an_overflowing_template_is_reported_with_its_key_path():
    s = load({"gateway": "dir:///tmp/sms", "signature": "【大安政务】",
              "templates": {"case_ready": "您的办件{number}（{service}）已经全部办理完毕，请您携带本人有效身份证件原件到{hall}领取。"}})
    problems = overflow_problems(s, REALISTIC_LONGEST)
    assert len(problems) == 1
    assert problems[0].startswith("sms.templates.case_ready: ")
    assert "UCS-2 units with the longest values (limit 70" in problems[0]
    units = ucs2_units(render(s, "case_ready", REALISTIC_LONGEST))
    assert f": {units} UCS-2 units" in problems[0] and units > 70


def test_a_non_bmp_character_can_tip_a_text_over():
    s = load({"gateway": "dir:///tmp/sms", "signature": "【大安政务】",
              "templates": {"case_ready": "您的办件{number}已办结" + "请" * 39}})
    assert ucs2_units(render(s, "case_ready", {"number": "X" * 18})) == 70
    assert overflow_problems(s, {"number": "X" * 18, "service": "a", "hall": "b", "link": "c"}) == []
    assert overflow_problems(s, {"number": "X" * 17 + "𠀀", "service": "a", "hall": "b", "link": "c"}) != []


@pytest.mark.parametrize("templates, expected", [
    ({"case_ready": "办件{numbr}已办结"}, "sms.templates.case_ready: unknown placeholder {numbr}"),
    ({"case_ready": "办件{query_code}"}, "sms.templates.case_ready: placeholder {query_code} is not filled in"),
    ({"case_ready": "办件{number:>20}"}, "sms.templates.case_ready: placeholder {number}: no format spec"),
    ({"case_ready": "办件{number.x}"}, "sms.templates.case_ready: placeholder {number.x}: only names"),
    ({"case_ready": "办件{"}, "sms.templates.case_ready: not a valid template"),
    ({"case_lost": "x"}, "sms.templates.case_lost: Extra inputs are not permitted"),
])
def test_template_problems_name_the_key_path(templates, expected):
    with pytest.raises(ConfigError) as err:
        load({"gateway": "dir:///tmp/sms", "signature": "【大安政务】", "templates": templates})
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


@pytest.mark.parametrize("sms, expected", [
    ({"gateway": "ftp://x", "signature": "【大安政务】"}, "sms.gateway: must start with"),
    ({"gateway": "dir:///x", "signature": "大安政务"}, "sms.signature: must be the carrier signature"),
    ({"gateway": "dir:///x"}, "sms.signature: Field required"),
    ({"gateway": "https://x/y", "signature": "【大安政务】", "secret": "short"}, "sms.secret:"),
    ({"gateway": "dir:///x", "signature": "【大安政务】", "retry": 3}, "sms.retry: Extra inputs"),
])
def test_settings_problems(sms, expected):
    with pytest.raises(ConfigError) as err:
        load(sms)
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


def test_settings_defaults_and_secret(monkeypatch):
    s = load({"gateway": "https://sms.example/api", "signature": "【大安政务】", "secret": "env:SMS_KEY_TEST"})
    assert (s.alert_after_s, s.retry_max_s) == (600, 300)
    monkeypatch.delenv("SMS_KEY_TEST", raising=False)
    assert s.secret_value() is None
    monkeypatch.setenv("SMS_KEY_TEST", "k" * 32)
    assert s.secret_value() == b"k" * 32
    assert s.templates["case_rate"] == s.templates.case_rate


@pytest.mark.parametrize("raw, expected", [
    ("13812345678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("86-138-1234-5678", "13812345678"),
    ("+8619912345678", "19912345678"),
])
def test_good_phone_numbers(raw, expected):
    assert check_phone(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("12345678901", "starting 13-19"),
    ("1381234567", "11 digits, not 10"),
    ("23812345678", "starting 13-19"),
    ("138abcd5678", "must be digits"),
    ("１３８１２３４５６７８", "must be digits"),           # full-width digits
    ("", "must be digits"),
])
def test_bad_phone_numbers(raw, message):
    with pytest.raises(ValueError, match=message):
        check_phone(raw)
