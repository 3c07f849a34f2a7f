"""Resident ID numbers (居民身份证号码, GB 11643-1999): the one check every role uses — the kiosk's card reader
today, the web booking and the case records later.

A number is valid when it has 17 digits and a check digit (0-9 or X), the check digit is right and the birth date
is a real date that has already happened. The first six digits (the area code, 行政区划代码) are only information:
a card keeps the code of the place where it was first issued, codes are renamed and merged, and a resident born
before their district was created (510304 大安区 dates from 1983) holds a perfectly good card — which is why this
module does not use python-stdnum's `ric.validate` (it refuses such numbers). No message here contains the number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

INVALID_FORMAT = "invalid_format"
BAD_CHECK_DIGIT = "bad_check_digit"
BAD_BIRTH_DATE = "bad_birth_date"
REASONS = (INVALID_FORMAT, BAD_CHECK_DIGIT, BAD_BIRTH_DATE)

# No living holder was born earlier; a year like 0001 or 1703 is a misread or a forgery.
EARLIEST_BIRTH = date(1870, 1, 1)

_FORMAT = re.compile(r"[0-9]{17}[0-9X]")     # ASCII only: str.isdigit() would take full-width ０-９ too
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))   # GB 11643: W_i = 2^(18-i) mod 11, i = 1..17


class IdNumberError(ValueError):
    """The number is not a valid resident ID number; `reason` is one of REASONS. The message never contains the
    number."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, repr=False)
class IdNumber:
    """A checked ID number. `number` is the normalised form (18 characters, upper-case X); repr masks it."""

    number: str
    birth_date: date

    @property
    def area_code(self) -> str:
        """The 6-digit administrative code of the place of first issue: information, never checked."""
        return self.number[:6]

    @property
    def is_male(self) -> bool:
        """The 17th digit (order code) is odd for men, even for women."""
        return int(self.number[16]) % 2 == 1

    @property
    def masked(self) -> str:
        return self.number[:4] + "*" * 10 + self.number[-4:]

    def __repr__(self) -> str:
        return f"IdNumber({self.masked!r}, birth_date={self.birth_date.isoformat()})"

    __str__ = __repr__


def check_digit(first17: str) -> str:
    """The GB 11643 check digit ('0'-'9' or 'X') of the first 17 digits (pass exactly 17 digits)."""
    if len(first17) != 17 or not _FORMAT.fullmatch(first17 + "0"):
        raise IdNumberError(INVALID_FORMAT, "check_digit needs the first 17 digits of an ID number")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def check_id_number(number: str, *, today: date | None = None) -> IdNumber:
    """Check an 18-character resident ID number (surrounding spaces ignored, lower-case x accepted) and return it
    normalised with its birth date; raise IdNumberError (invalid_format / bad_check_digit / bad_birth_date).
    `today` (default: this machine's date) bounds the birth date: nobody is born in the future."""
    if not isinstance(number, str):
        raise IdNumberError(INVALID_FORMAT, "ID number must be text")
    number = number.strip().upper()
    if len(number) != 18:
        raise IdNumberError(INVALID_FORMAT, f"ID number must be 18 characters, not {len(number)}")
    if not _FORMAT.fullmatch(number):
        raise IdNumberError(INVALID_FORMAT, "ID number must be 17 digits and a check digit (0-9 or X)")
    if number[17] != check_digit(number[:17]):
        raise IdNumberError(BAD_CHECK_DIGIT, "ID number fails its check digit (GB 11643)")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(BAD_BIRTH_DATE, "ID number's birth date (digits 7-14) is not a calendar date") from None
    if birth > (today or date.today()):
        raise IdNumberError(BAD_BIRTH_DATE, "ID number's birth date (digits 7-14) is in the future")
    if birth < EARLIEST_BIRTH:
        raise IdNumberError(BAD_BIRTH_DATE,
                            f"ID number's birth date (digits 7-14) is before {EARLIEST_BIRTH.year}")
    return IdNumber(number, birth)


# ---------------------------------------------------------------- mainland mobile numbers (for SMS, with consent)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


class PhoneError(ValueError):
    """Not a mainland mobile number; the message never contains the number."""


def check_mobile(text: str) -> str:
    """A mainland China mobile number (11 digits, 13x-19x), normalised: spaces, dashes and a +86 / 86 / 0086 prefix
    are dropped. Raises PhoneError with a message that never repeats the number."""
    if not isinstance(text, str):
        raise PhoneError("mobile number must be text")
    digits = re.sub(r"[\s\-()]", "", text)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
            break
    if not digits.isascii() or not digits.isdigit():
        raise PhoneError("mobile number must be digits (spaces, dashes and +86 allowed)")
    if len(digits) != 11:
        raise PhoneError(f"mobile number must have 11 digits, not {len(digits)}")
    if not _MOBILE.fullmatch(digits):
        raise PhoneError("not a mainland mobile number (11 digits starting 13-19)")
    return digits
