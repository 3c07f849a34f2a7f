"""Resident ID numbers: format, GB 11643 check digit and birth date decide; the area code never refuses a number
(older residents hold codes created after their birth, and stdnum's table does not know every code)."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from hall_bus.idnumber import (
    BAD_BIRTH_DATE, BAD_CHECK_DIGIT, INVALID_FORMAT, IdNumber, IdNumberError, check_digit, check_id_number,
)

TODAY = date(2026, 11, 27)


def full(first17: str) -> str:
    return first17 + check_digit(first17)


def stdnum_refuses(number: str) -> bool:
    try:
        ric.validate(number)
    except Exception:       # ValidationError, or KeyError for a code its table lacks below the province
        return True
    return False


@pytest.mark.parametrize("number, birth, why", [
    (full("51030419480915031"), date(1948, 9, 15), "510304 大安区 dates from 1983 in stdnum's table"),
    (full("51031119750101000"), date(1975, 1, 1), "510311 沿滩区 dates from 1983 too"),
    (full("11011819600520002"), date(1960, 5, 20), "110118 密云区 dates from 2015"),
    (full("51039919600101002"), date(1960, 1, 1), "510399 is not in stdnum's table at all"),
])
def test_area_code_is_information_never_a_reason_to_refuse(number, birth, why):
    assert stdnum_refuses(number), f"stdnum refuses it ({why}); we must not"
    checked = check_id_number(number, today=TODAY)
    assert checked == IdNumber(number, birth)
    assert checked.birth_date == birth and checked.area_code == number[:6]


def test_lower_case_x_and_surrounding_spaces_are_accepted_and_normalised():
    number = full("51030419750303002")
    assert number.endswith("X")
    checked = check_id_number(f"  {number.lower()} ", today=TODAY)
    assert checked.number == number and checked.birth_date == date(1975, 3, 3)


def test_sex_from_the_order_code():
    assert check_id_number(full("51030419480915031"), today=TODAY).is_male
    assert not check_id_number(full("51030419900315002"), today=TODAY).is_male


@pytest.mark.parametrize("number, reason", [
    (full("51030419850612124")[:-1] + "0", BAD_CHECK_DIGIT),
    ("51030419850612123", INVALID_FORMAT),                     # 17 characters
    (full("51030419850612123") + "1", INVALID_FORMAT),         # 19
    ("5103041985061212X9", INVALID_FORMAT),                    # X only as the check digit
    ("５１０３０４１９８５０６１２１２３９", INVALID_FORMAT),     # full-width digits
    ("51030419850612123Y", INVALID_FORMAT),
    ("", INVALID_FORMAT),
    (full("51030419850230002"), BAD_BIRTH_DATE),               # 30 February
    (full("51030419851301002"), BAD_BIRTH_DATE),               # month 13
    (full("51030420300101002"), BAD_BIRTH_DATE),               # born 2030: in the future
    (full("51030417030101002"), BAD_BIRTH_DATE),               # born 1703
])
def test_refusals_carry_a_reason_and_never_the_number(number, reason):
    with pytest.raises(IdNumberError) as info:
        check_id_number(number, today=TODAY)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
    if number:
        assert number not in str(info.value) and number[:14] not in str(info.value)


def test_birth_today_is_fine_tomorrow_is_not():
    assert check_id_number(full("51030420261127002"), today=TODAY).birth_date == TODAY
    with pytest.raises(IdNumberError) as info:
        check_id_number(full("51030420261128002"), today=TODAY)
    assert info.value.reason == BAD_BIRTH_DATE and "future" in str(info.value)


def test_repr_masks_the_number():
    number = full("51030419480915031")
    checked = check_id_number(number, today=TODAY)
    assert number not in repr(checked) and number not in str(checked)
    assert checked.masked == number[:4] + "*" * 10 + number[-4:]


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_agrees_with_gb11643_as_stdnum_computes_it(first17):
    # stdnum's calc_check_digit wants all 18 characters and ignores the last one
    assert check_digit(first17) == ric.calc_check_digit(first17 + "0")
