"""FF 68 keypad protocol: golden bytes, a parser that survives noise, and the key entry rules."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from devices.keypad import protocol as k
from devices.keypad.protocol import Action, Key, KeyEntry


def test_show_ticket_023_on_keypad_1_matches_the_deployed_systems_bytes() -> None:
    assert k.show_number(1, "023") == bytes.fromhex("FF 68 08 08 68 01 02 0A 0A 0A 00 02 03 26 16")


def test_prefix_letters_are_left_off_the_seven_segment_display() -> None:
    assert k.show_number(1, "A023") == k.show_number(1, "023")
    assert k.number_digits("AB123456") == bytes([1, 2, 3, 4, 5, 6])


def test_blank_display_and_beep_and_key_report_bytes() -> None:
    assert k.show_number(3, None) == bytes.fromhex("FF 68 08 08 68 03 02 0A 0A 0A 0A 0A 0A 41 16")
    assert k.beep(2) == bytes.fromhex("FF 68 03 03 68 02 03 01 06 16")
    assert k.key_report(1, Key.CALL) == bytes.fromhex("FF 68 03 03 68 01 01 0C 0E 16")
    # no-show: digits 0 6 then confirm in one report
    assert k.key_report(7, Key.CONFIRM, [0, 6]) == bytes.fromhex("FF 68 05 05 68 07 01 00 06 0F 1D 16")


def test_display_decodes_back_to_the_number() -> None:
    assert k.decode_display(bytes.fromhex("0A 0A 0A 00 02 03")) == "023"


def test_parser_reads_back_to_back_frames_split_anywhere() -> None:
    stream = k.key_report(1, Key.CALL) + k.show_number(2, "A105") + k.key_report(3, Key.CONFIRM, [0, 0])
    for cut in range(len(stream)):
        parser = k.FrameParser()
        frames = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert frames == [k.Frame(1, 1, bytes([0x0C])), k.Frame(2, 2, k.number_digits("105")),
                          k.Frame(3, 1, bytes([0, 0, 0x0F]))]


def test_parser_rejects_a_bad_checksum_and_finds_the_next_frame() -> None:
    bad = bytearray(k.key_report(1, Key.CALL))
    bad[-2] ^= 0xFF
    parser = k.FrameParser()
    assert parser.feed(bytes(bad) + k.key_report(2, Key.RECALL)) == [k.Frame(2, 1, bytes([Key.RECALL]))]
    assert parser.rejected == 1


def test_parser_resyncs_after_garbage_containing_false_starts() -> None:
    garbage = bytes.fromhex("00 FF FF 68 08 07 68 55 FF 68 03 03 68 01 01 0C 00 16 16 FF")
    parser = k.FrameParser()
    assert parser.feed(garbage + k.key_report(5, Key.PAUSE)) == [k.Frame(5, 1, bytes([Key.PAUSE]))]


@settings(max_examples=200, deadline=None)
@given(noise=st.lists(st.binary(max_size=40), min_size=1, max_size=5), seed=st.integers(0, 1000))
def test_parser_never_loses_a_frame_between_noise_bursts(noise: list[bytes], seed: int) -> None:
    rnd = random.Random(seed)
    frames = [k.Frame(rnd.randint(1, 30), 1, bytes([rnd.choice(list(Key))])) for _ in noise]
    stream = b""
    for junk, frame in zip(noise, frames):
        # a noise burst may end in a false frame header; the parser then reads the real frame's
        # bytes as that false frame's body, finds a bad checksum and backs up by one byte
        stream += junk + frame.encode()
    parser = k.FrameParser()
    got: list[k.Frame] = []
    for i in range(0, len(stream), 7):
        got += parser.feed(stream[i:i + 7])
    assert [f for f in got if f in frames][-len(frames):] == frames


@pytest.mark.parametrize(("presses", "expected"), [
    ([(Key.CALL, ())], k.Command(Action.CALL_NEXT)),
    ([(Key.RECALL, ())], k.Command(Action.RECALL)),
    ([(Key.EVALUATE, ())], k.Command(Action.EVALUATE)),
    ([(Key.PAUSE, ())], k.Command(Action.PAUSE_TOGGLE)),
    ([(Key.CONFIRM, (0, 6))], k.Command(Action.NO_SHOW)),
    ([(Key.CONFIRM, (0, 0))], k.Command(Action.HOLD)),
    ([(Key.CONFIRM, (0, 3, 0, 2, 3))], k.Command(Action.CALL_BACK, number="A023")),
    ([(Key.CONFIRM, (0, 3, 0, 2, 0, 2, 3))], k.Command(Action.CALL_BACK, number="B023")),
    ([(Key.CONFIRM, (0, 3, 0, 1, 0, 2, 0, 4, 5))], k.Command(Action.CALL_BACK, number="AB045")),
    ([(None, (0,)), (None, (3,)), (None, (1,)), (None, (0,)), (None, (7,)), (Key.CONFIRM, ())],
     k.Command(Action.CALL_BACK, number="A107")),
    ([(Key.TRANSFER, (1, 5))], k.Command(Action.TRANSFER, target="15")),
    ([(Key.TRANSFER, ())], k.Command(Action.TRANSFER, target="")),
    ([(None, (0,)), (Key.CANCEL, ()), (Key.CONFIRM, (0, 6))], k.Command(Action.NO_SHOW)),
])
def test_key_entry(presses: list, expected: k.Command) -> None:
    entry = KeyEntry(prefix="A")
    results = [entry.press(key, digits) for key, digits in presses]
    assert results[-1] == expected
    assert all(r is None or r.action is Action.CANCELLED for r in results[:-1])


@pytest.mark.parametrize("digits", [(0, 9), (), (0, 3, 2, 3), (0, 3, 2, 7, 0, 2, 3)])
def test_unknown_confirm_sequences_are_invalid_not_guessed(digits: tuple[int, ...]) -> None:
    assert KeyEntry(prefix="A").press(Key.CONFIRM, digits).action is Action.INVALID


def test_call_back_with_three_digits_needs_a_window_prefix() -> None:
    assert KeyEntry(prefix=None).press(Key.CONFIRM, (0, 3, 0, 2, 3)).action is Action.INVALID


def test_key_of_splits_digits_and_key() -> None:
    assert k.key_of(k.Frame(1, 1, bytes([0, 6, 0x0F]))) == ((0, 6), 0x0F)
    assert k.key_of(k.Frame(1, 1, bytes([4]))) == ((4,), None)
