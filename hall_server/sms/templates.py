"""SMS texts: filling in the hall's templates, counting UCS-2 code units (70 make one segment), checking phone
numbers."""
from __future__ import annotations

from hall_bus.idnumber import check_mobile
from hall_server.sms.settings import ALLOWED, KINDS, SmsSettings

SEGMENT_UNITS = 70

# Worst cases for the placeholders the hall config does not decide (the caller passes the others: the longest
# service and hall names, the longest link, a worst-case case number).
DEFAULT_LONGEST: dict[str, str] = {
    "number": "XXXX-20261130-0007",
    "query_code": "000000",
    "due_date": "2026-12-31",
    "missing_count": "99",
    "code": "000000",
    "date": "2026-12-31",
    "start": "09:00",
    "service": "某" * 20,
    "hall": "某" * 12,
    "link": "https://zwfw.example.gov.cn/r/" + "x" * 10,
}


def ucs2_units(text: str) -> int:
    """UCS-2/UTF-16 code units: a character outside the BMP (CJK Extension B, emoji) takes two."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def render(settings: SmsSettings, kind: str, values: dict[str, object]) -> str:
    """The text as sent: the carrier signature, then the kind's template filled in. A placeholder the template
    uses but `values` lacks is a ValueError; values the template does not use are ignored."""
    if kind not in KINDS:
        raise ValueError(f"unknown SMS kind {kind!r} (known: {', '.join(KINDS)})")
    template = settings.templates[kind]
    try:
        body = template.format_map({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise ValueError(f"sms.templates.{kind}: no value for {{{exc.args[0]}}}") from None
    return settings.signature + body


def overflow_problems(settings: SmsSettings, longest: dict[str, str]) -> list[str]:
    """Each template filled in with the longest value each placeholder can take (`longest`, else
    DEFAULT_LONGEST): one problem line per kind whose text would need more than one segment."""
    values = {**DEFAULT_LONGEST, **longest}
    problems = []
    for kind in KINDS:
        used = {k: values[k] for k in ALLOWED[kind]}
        units = ucs2_units(render(settings, kind, used))
        if units > SEGMENT_UNITS:
            problems.append(f"sms.templates.{kind}: {units} UCS-2 units with the longest values (limit "
                            f"{SEGMENT_UNITS}, the signature {settings.signature} included): shorten the text")
    return problems


def check_phone(s: str) -> str:
    """A mainland mobile number as 11 digits: '+86 138-1234-5678' -> '13812345678'. ValueError otherwise (the one
    check, hall_bus.idnumber.check_mobile, that the panel and the server use too)."""
    return check_mobile(s)
