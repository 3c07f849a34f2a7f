"""Staff sign-in on the wired keypad: `08 <staff> 0F <PIN> 0F` signs in, `08 0F` signs out; interrupted, abandoned
and timed-out entries; every sequence that existed before still means what it meant; a PIN never shows in a
command's repr or reason."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from devices.keypad import protocol as k
from devices.keypad.protocol import Action, Command, Key, KeyEntry

# Every sequence the keypads had before sign-in, as (presses, command) with presses (key, digits).
EXISTING: list[tuple[list[tuple[int | None, tuple[int, ...]]], Command]] = [
    ([(Key.CALL, ())], Command(Action.CALL_NEXT)),
    ([(Key.CALL, (0, 8))], Command(Action.CALL_NEXT)),              # digits before CALL were always ignored
    ([(Key.RECALL, ())], Command(Action.RECALL)),
    ([(Key.EVALUATE, ())], Command(Action.EVALUATE)),
    ([(Key.PAUSE, ())], Command(Action.PAUSE_TOGGLE)),
    ([(Key.CONFIRM, (0, 6))], Command(Action.NO_SHOW)),
    ([(Key.CONFIRM, (0, 0))], Command(Action.HOLD)),
    ([(Key.CONFIRM, (0, 3, 0, 2, 3))], Command(Action.CALL_BACK, number="A023")),
    ([(Key.CONFIRM, (0, 3, 0, 2, 0, 2, 3))], Command(Action.CALL_BACK, number="B023")),
    ([(Key.CONFIRM, (0, 3, 0, 1, 0, 2, 0, 4, 5))], Command(Action.CALL_BACK, number="AB045")),
    ([(None, (0,)), (None, (3,)), (None, (1,)), (None, (0,)), (None, (7,)), (Key.CONFIRM, ())],
     Command(Action.CALL_BACK, number="A107")),
    ([(Key.TRANSFER, (1, 5))], Command(Action.TRANSFER, target="15")),
    ([(Key.TRANSFER, (0, 8))], Command(Action.TRANSFER, target="8")),      # 08 before 13 stays a transfer
    ([(Key.TRANSFER, ())], Command(Action.TRANSFER, target="")),
    ([(Key.CANCEL, ())], Command(Action.CANCELLED)),
]
INVALID_BEFORE = [(0, 9), (), (0, 3, 2, 3), (0, 3, 2, 7, 0, 2, 3), (0, 1), (0, 2), (0, 4), (0, 5), (0, 7)]


def run(entry: KeyEntry, presses: list[tuple[int | None, tuple[int, ...]]], now: float | None = None) -> Command | None:
    result = None
    for key, digits in presses:
        result = entry.press(key, digits, now)
    return result


def typed(entry: KeyEntry, keys: list[int], now: float | None = None) -> list[Command | None]:
    """A keypad that reports every key on its own: digits 0..9 and key codes."""
    return [entry.press(None, (c,), now) if c <= 9 else entry.press(c, (), now) for c in keys]


def sign_in(entry: KeyEntry, staff: str, pin: str, now: float | None = None) -> Command | None:
    first = entry.press(Key.CONFIRM, tuple(int(c) for c in "08" + staff), now)
    assert first == Command(Action.PIN_WANTED, staff=staff)
    return entry.press(Key.CONFIRM, tuple(int(c) for c in pin), now)


# ---------------------------------------------------------------- the new sequences
def test_sign_in_takes_the_staff_number_then_the_pin() -> None:
    entry = KeyEntry(prefix="A")
    assert sign_in(entry, "1015", "2468") == Command(Action.SIGN_IN, staff="1015", pin="2468")
    assert not entry.awaiting_pin


def test_sign_in_typed_one_key_at_a_time() -> None:
    entry = KeyEntry(prefix="A")
    got = typed(entry, [0, 8, 1, 0, 1, 5, Key.CONFIRM, 9, 0, 7, 1, 3, 5, Key.CONFIRM])
    assert got[6] == Command(Action.PIN_WANTED, staff="1015")
    assert got[-1] == Command(Action.SIGN_IN, staff="1015", pin="907135")
    assert all(g is None for g in got[:6] + got[7:-1])


def test_longest_staff_number_and_pin_fit() -> None:
    entry = KeyEntry()
    assert sign_in(entry, "123456789012", "987654321098") == \
        Command(Action.SIGN_IN, staff="123456789012", pin="987654321098")
    assert sign_in(entry, "7", "0000") == Command(Action.SIGN_IN, staff="7", pin="0000")


def test_sign_out_is_08_confirm() -> None:
    assert KeyEntry().press(Key.CONFIRM, (0, 8)) == Command(Action.SIGN_OUT)
    assert typed(KeyEntry(), [0, 8, Key.CONFIRM])[-1] == Command(Action.SIGN_OUT)


@pytest.mark.parametrize("pin", ["123", "", "1234567890123"])
def test_a_pin_of_the_wrong_length_is_refused_without_naming_it(pin: str) -> None:
    entry = KeyEntry()
    entry.press(Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    got = entry.press(Key.CONFIRM, tuple(int(c) for c in pin))
    assert got is not None and got.action is Action.INVALID and got.pin is None
    assert not pin or pin not in (got.reason or "")
    assert not entry.awaiting_pin and entry.press(Key.CONFIRM, (0, 6)) == Command(Action.NO_SHOW)


def test_a_staff_number_over_12_digits_is_too_many_digits() -> None:
    entry = KeyEntry()
    got = entry.press(Key.CONFIRM, tuple([0, 8] + [1] * 13))
    assert got is not None and got.action is Action.INVALID and got.reason == "too many digits"
    assert entry.press(Key.CALL) == Command(Action.CALL_NEXT)


# ---------------------------------------------------------------- interrupted, abandoned, timed out
def test_cancel_abandons_the_sign_in_and_the_next_entry_is_fresh() -> None:
    entry = KeyEntry(prefix="A")
    entry.press(Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    entry.press(None, (2,))
    entry.press(None, (4,))
    assert entry.press(Key.CANCEL).action is Action.CANCELLED
    assert entry.press(Key.CONFIRM, (0, 6)) == Command(Action.NO_SHOW)


@pytest.mark.parametrize("key", [Key.CALL, Key.RECALL, Key.EVALUATE, Key.PAUSE, Key.TRANSFER])
def test_another_key_interrupts_the_sign_in_and_does_nothing_else(key: Key) -> None:
    entry = KeyEntry(prefix="A")
    entry.press(Key.CONFIRM, (0, 8, 1, 0, 1, 5))
    got = entry.press(key, (2, 4, 6, 8))
    assert got is not None and got.action is Action.INVALID and "interrupted" in (got.reason or "")
    assert "2468" not in repr(got)
    assert entry.press(key) == run(KeyEntry(prefix="A"), [(key, ())])      # pressed again: as always


def test_a_pin_after_the_timeout_is_refused_with_its_digits() -> None:
    entry = KeyEntry(prefix="A", pin_timeout=30)
    assert entry.press(Key.CONFIRM, (0, 8, 1, 0, 1, 5), now=100.0).action is Action.PIN_WANTED
    got = entry.press(Key.CONFIRM, (0, 3, 1, 2, 3, 4, 5), now=131.0)    # a late PIN that looks like a call back
    assert got is not None and got.action is Action.INVALID and "too late" in (got.reason or "")
    assert not entry.awaiting_pin
    assert entry.press(Key.CONFIRM, (0, 6), now=132.0) == Command(Action.NO_SHOW)


def test_a_late_pin_typed_key_by_key_is_refused_too() -> None:
    entry = KeyEntry(prefix="A", pin_timeout=30)
    typed(entry, [0, 8, 1, 0, 1, 5, Key.CONFIRM], now=0.0)
    typed(entry, [0, 6], now=10.0)                                      # PIN digits within the time...
    got = typed(entry, [1, 2, Key.CONFIRM], now=40.0)[-1]               # ...the rest after it: all refused
    assert got is not None and got.action is Action.INVALID and "too late" in (got.reason or "")


def test_a_pin_within_the_timeout_signs_in() -> None:
    entry = KeyEntry(prefix="A", pin_timeout=30)
    typed(entry, [0, 8, 1, 0, 1, 5, Key.CONFIRM], now=0.0)
    assert typed(entry, [2, 4, 6, 8, Key.CONFIRM], now=29.5)[-1] == Command(Action.SIGN_IN, staff="1015", pin="2468")


def test_a_key_alone_after_the_timeout_acts_as_usual() -> None:
    """Someone typed a staff number and walked off; the next person's CALL calls."""
    entry = KeyEntry(prefix="A", pin_timeout=30)
    entry.press(Key.CONFIRM, (0, 8, 1, 0, 1, 5), now=0.0)
    assert entry.press(Key.CALL, now=600.0) == Command(Action.CALL_NEXT)


# ---------------------------------------------------------------- nothing that existed changes
@pytest.mark.parametrize(("presses", "expected"), EXISTING)
def test_every_existing_sequence_still_parses_as_before(presses, expected) -> None:
    assert run(KeyEntry(prefix="A"), presses) == expected
    for before in ([(Key.CONFIRM, (0, 8))],                                         # after a sign-out
                   [(Key.CONFIRM, (0, 8, 1, 0, 1, 5)), (Key.CONFIRM, (2, 4, 6, 8))],  # after a sign-in
                   [(Key.CONFIRM, (0, 8, 1, 0, 1, 5)), (Key.CANCEL, ())]):           # after an abandoned one
        entry = KeyEntry(prefix="A")
        run(entry, before, now=0.0)
        assert run(entry, presses, now=1.0) == expected
    entry = KeyEntry(prefix="A", pin_timeout=30)                                    # after a timed-out one
    entry.press(Key.CONFIRM, (0, 8, 1, 0, 1, 5), now=0.0)
    if presses[0][1]:                                 # digits after the timeout are a late PIN (refused once)
        run(entry, presses, now=100.0)
    assert run(entry, presses, now=101.0) == expected


@pytest.mark.parametrize("digits", INVALID_BEFORE)
def test_what_was_invalid_stays_invalid(digits: tuple[int, ...]) -> None:
    assert KeyEntry(prefix="A").press(Key.CONFIRM, digits).action is Action.INVALID


@settings(max_examples=300, deadline=None)
@given(digits=st.lists(st.integers(0, 9), min_size=0, max_size=12))
def test_no_confirm_sequence_outside_08_is_a_sign_in(digits: list[int]) -> None:
    got = KeyEntry(prefix="A").press(Key.CONFIRM, tuple(digits))
    assert got is not None
    is_08 = digits[:2] == [0, 8]
    assert (got.action in (Action.SIGN_OUT, Action.PIN_WANTED)) == is_08


# ---------------------------------------------------------------- the PIN stays out of logs
def test_the_pin_is_not_in_the_commands_repr() -> None:
    got = sign_in(KeyEntry(), "1015", "97531")
    assert got is not None and got.pin == "97531"
    assert "97531" not in repr(got) and "97531" not in str(got)


def test_invalid_reasons_never_name_the_digits_typed() -> None:
    for digits in [(9, 7, 5, 3, 1), (0, 3, 9, 7, 5, 3), (0, 3, 2, 7, 0, 2, 3)]:
        got = KeyEntry(prefix="A").press(Key.CONFIRM, digits)
        assert got is not None and got.action is Action.INVALID
        assert "".join(map(str, digits))[2:] not in (got.reason or "")


def test_sign_in_key_report_bytes() -> None:
    """08 1015 then confirm in one report, then the PIN with confirm (what the simulator sends)."""
    assert k.key_report(1, Key.CONFIRM, [0, 8, 1, 0, 1, 5]) == \
        bytes.fromhex("FF 68 09 09 68 01 01 00 08 01 00 01 05 0F 20 16")
