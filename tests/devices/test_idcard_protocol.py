"""SAM_V frames (golden bytes), the streaming parser, the 1,295-byte read reply and card validation/masking."""
from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import IdCardError
from devices.idcard.card import NATIONS, IdCard, Sex, card_from_text, mask_name
from devices.idcard.protocol import (
    FIND_CARD, READ_TEXT_PHOTO, RESET, SELECT_CARD, STATUS, SW_NO_CARD, SW_OK, BadFrame, Frame, FrameParser,
    build_command, build_read_reply, build_reply, decode_read_reply, decode_text, encode_text,
)
from devices.simulators.idcard import SAMPLE_CARDS, sample_number

URL = "serial:///dev/ttyUSB1?baud=115200"


@pytest.mark.parametrize("command, golden", [
    (RESET, "AA AA AA 96 69 00 03 10 FF EC"),
    (STATUS, "AA AA AA 96 69 00 03 11 FF ED"),
    (FIND_CARD, "AA AA AA 96 69 00 03 20 01 22"),
    (SELECT_CARD, "AA AA AA 96 69 00 03 20 02 21"),
    (READ_TEXT_PHOTO, "AA AA AA 96 69 00 03 30 01 32"),
])
def test_command_golden_bytes(command, golden):
    assert build_command(command) == bytes.fromhex(golden)


def test_reply_golden_bytes():
    assert build_reply(SW_OK) == bytes.fromhex("AA AA AA 96 69 00 04 00 00 90 94")
    assert build_reply(SW_NO_CARD) == bytes.fromhex("AA AA AA 96 69 00 04 00 00 80 84")
    assert build_reply(0x9F, bytes(4)) == bytes.fromhex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")


def test_read_reply_layout_is_1295_bytes_with_text_at_14_and_photo_at_270():
    card = SAMPLE_CARDS["zhang"]
    photo = bytes(range(256)) * 4
    reply = build_read_reply(card, photo)
    assert len(reply) == 1295
    assert reply[5:7] == b"\x05\x08"
    assert reply[7:10] == b"\x00\x00\x90"
    assert reply[10:14] == b"\x01\x00\x04\x00"  # text 256, photo 1024
    assert reply[14:20] == "张伟 ".encode("utf-16-le")
    assert reply[270:1294] == photo
    frames = FrameParser().feed(reply)
    assert len(frames) == 1 and isinstance(frames[0], Frame)
    assert decode_read_reply(frames[0]) == card


def test_text_block_fields_and_long_term_validity():
    text = encode_text(SAMPLE_CARDS["elder"])
    assert len(text) == 256
    decoded = decode_text(text)
    assert (decoded.name, decoded.sex, decoded.nation, decoded.birth) == ("李秀英", "2", "01", "19460304")
    assert decoded.valid_to == "长期"
    assert "李秀英" not in repr(decoded)


def test_parser_never_half_parses_and_resyncs_after_noise():
    frame = build_reply(SW_OK)
    parser = FrameParser()
    for b in frame[:-1]:
        assert parser.feed(bytes([b])) == []
    assert parser.feed(frame[-1:]) == [Frame(b"\x00\x00\x90")]
    assert parser.feed(b"\x00\xff\xaa\x13\xaa\xaa" + frame + b"\xaa\xaa") == [Frame(b"\x00\x00\x90")]
    assert parser.feed(b"\xaa\x96\x69\x00\x04\x00\x00\x80\x84") == [Frame(b"\x00\x00\x80")]


def test_bad_checksum_is_reported_and_the_next_frame_still_parses():
    bad = build_reply(SW_OK)[:-1] + b"\x00"
    out = FrameParser().feed(bad + build_reply(SW_NO_CARD))
    assert isinstance(out[0], BadFrame) and out[0].reason == "checksum"
    assert out[1:] == [Frame(b"\x00\x00\x80")]


def test_a_false_preamble_with_a_huge_length_does_not_swallow_a_real_frame():
    noise = b"\xaa\xaa\xaa\x96\x69\x0f\xff\x01\x02"
    out = FrameParser().feed(noise + build_reply(SW_OK))
    assert [f for f in out if isinstance(f, Frame)] == [Frame(b"\x00\x00\x90")]


def test_impossible_length_is_skipped():
    out = FrameParser().feed(b"\xaa\xaa\xaa\x96\x69\x00\x01" + build_reply(SW_OK))
    assert isinstance(out[0], BadFrame) and out[0].reason == "length"
    assert out[1] == Frame(b"\x00\x00\x90")


@settings(max_examples=150, deadline=None)
@given(noise=st.binary(max_size=40).filter(lambda b: b"\x69" not in b),
       cuts=st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_parser_recovers_frames_however_they_are_chunked(noise, cuts):
    stream = noise + build_read_reply(SAMPLE_CARDS["ouyang"]) + noise + build_reply(SW_NO_CARD)
    parser = FrameParser()
    out, pos = [], 0
    for size in cuts * 10:
        out += parser.feed(stream[pos:pos + size])
        pos += size
    out += parser.feed(stream[pos:])
    frames = [f for f in out if isinstance(f, Frame)]
    assert len(frames) == 2
    assert decode_read_reply(frames[0]) == SAMPLE_CARDS["ouyang"] and frames[1].sw3 == SW_NO_CARD


# --- the IdCard value -----------------------------------------------------------------------------------------

def test_nation_table_has_all_56_nations_plus_other_and_foreign_origin():
    assert sorted(NATIONS) == list(range(1, 57)) + [97, 98]
    assert (NATIONS[1], NATIONS[3], NATIONS[5], NATIONS[29], NATIONS[56]) == ("汉", "回", "维吾尔", "柯尔克孜", "基诺")
    assert len(set(NATIONS.values())) == 58


def test_valid_card_becomes_an_idcard_that_hides_the_number_and_name():
    card = card_from_text(SAMPLE_CARDS["zhang"], URL)
    assert isinstance(card, IdCard)
    assert (card.masked_name, card.sex, card.nation, card.birth_date) == ("张*", Sex.MALE, "汉", date(1985, 6, 12))
    assert card.masked_number == "5103**********1239"
    assert card.valid_until == date(2035, 6, 12) and not card.expired_on(date(2026, 11, 27))
    assert card.age_on(date(2026, 11, 27)) == 41 and card.age_on(date(2026, 6, 11)) == 40
    for text in (repr(card), str(card)):
        assert "510304198506121239" not in text and "张伟" not in text and "大安区马吃水路" not in text
    with pytest.raises(TypeError):
        pickle.dumps(card)
    elder = card_from_text(SAMPLE_CARDS["elder"], URL)
    assert elder.valid_until is None and elder.sex is Sex.FEMALE and elder.age_on(date(2026, 11, 27)) == 80


def test_ref_is_a_stable_keyed_hmac():
    a = card_from_text(SAMPLE_CARDS["zhang"], URL)
    b = card_from_text(SAMPLE_CARDS["zhang"], URL)
    assert a == b and hash(a) == hash(b)
    assert a.ref(b"hall-key") == b.ref(b"hall-key") and len(a.ref(b"hall-key")) == 43
    assert a.ref(b"hall-key") != a.ref(b"other-key")
    assert len(a.ref(b"k", "hex")) == 64
    assert a != card_from_text(SAMPLE_CARDS["ouyang"], URL)
    with pytest.raises(ValueError):
        a.ref(b"")


@pytest.mark.parametrize("name, masked", [("张三", "张*"), ("张伟", "张*"), ("欧阳娜娜", "欧阳*"), ("司马懿", "司马*"),
                                          ("欧阳", "欧*"), ("阿依古丽·买买提", "阿*"), ("", "*")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("change, reason, words", [
    ({"number": SAMPLE_CARDS["bad_number"].number}, "invalid_number", "check digit"),
    ({"number": "51030419850612123"}, "invalid_number", "not valid"),
    ({"number": sample_number("51030419850230123"), "birth": "19850230"}, "invalid_number", "bad_birth_date"),
    ({"birth": "19850613"}, "inconsistent", "birth date"),
    ({"sex": "2"}, "inconsistent", "sex"),
    ({"sex": "9"}, "bad_field", "sex code"),
    ({"nation": "77"}, "bad_field", "GB 3304"),
    ({"valid_to": "2035-06"}, "bad_field", "valid-to"),
    ({"name": ""}, "bad_field", "name"),
])
def test_bad_cards_are_rejected_without_revealing_the_number(change, reason, words):
    text = replace(SAMPLE_CARDS["zhang"], **change)
    with pytest.raises(IdCardError) as info:
        card_from_text(text, URL)
    assert info.value.reason == reason and words in str(info.value)
    assert str(info.value).startswith(URL)
    assert text.number not in str(info.value) and "张伟" not in str(info.value)


@pytest.mark.parametrize("first17, birth", [
    ("51030419480915031", "19480915"),      # 大安区 510304 exists since 1983 only (stdnum refuses the number)
    ("51031119600101001", "19600101"),      # 沿滩区 510311, likewise
    ("51039919600101001", "19600101"),      # a code stdnum's table does not have
])
def test_older_residents_cards_are_accepted_whatever_their_area_code(first17, birth):
    text = replace(SAMPLE_CARDS["zhang"], number=sample_number(first17), birth=birth)
    card = card_from_text(text, URL)
    assert card.birth_date == date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    elder = card_from_text(SAMPLE_CARDS["elder_daan"], URL)
    assert (elder.masked_name, elder.sex, elder.birth_date) == ("刘*", Sex.MALE, date(1948, 9, 15))
    assert elder.valid_until is None and elder.age_on(date(2026, 11, 27)) == 78


def test_lower_case_x_check_digit_reads_as_the_same_card():
    number = sample_number("51030419750303002")
    assert number.endswith("X")
    text = replace(SAMPLE_CARDS["ouyang"], number=number, birth="19750303")
    assert card_from_text(replace(text, number=number.lower()), URL) == card_from_text(text, URL)


def test_a_birth_date_in_the_future_is_refused():
    text = replace(SAMPLE_CARDS["zhang"], number=sample_number("51030420270101123"), birth="20270101")
    with pytest.raises(IdCardError) as info:
        card_from_text(text, URL, today=date(2026, 11, 27))
    assert info.value.reason == "invalid_number" and "future" in str(info.value)
    assert text.number not in str(info.value)
    assert card_from_text(text, URL, today=date(2027, 1, 1)).birth_date == date(2027, 1, 1)
