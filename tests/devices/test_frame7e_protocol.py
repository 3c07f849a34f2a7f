"""7E addressed frames: CRC16/MODBUS, golden bytes with escaping, and a parser that survives noise."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from devices.frame7e import protocol as p


def test_crc16_modbus_check_value() -> None:
    assert p.crc16_modbus(b"123456789") == 0x4B37


def test_ping_golden_bytes() -> None:
    # 7E | VER 01 | DST 01 | SRC FE | SEQ 01 | PING 01 | LEN 00 00 | CRC F973 low byte first | 7F
    assert p.encode_frame(1, p.MASTER, 1, p.Cmd.PING) == bytes.fromhex("7E 01 01 FE 01 01 00 00 73 F9 7F")


def test_show_text_golden_bytes_in_gbk_with_an_escaped_seq() -> None:
    raw = p.encode_frame(2, p.MASTER, 0x7E, p.Cmd.SHOW_TEXT, p.text_payload(1, "请A023号"))
    assert raw == bytes.fromhex("7E 01 02 FE 7D 5E 10 00 0A 01 00 C7 EB 41 30 32 33 BA C5 FA 1B 7F")


def test_evaluation_golden_bytes_escape_7d() -> None:
    raw = p.encode_frame(p.MASTER, 11, 5, p.Cmd.EVALUATION, p.evaluation_payload(0x7D, 5))
    assert raw == bytes.fromhex("7E 01 FE 0B 05 21 00 02 7D 5D 05 CF A9 7F")


@settings(max_examples=300, deadline=None)
@given(dst=st.integers(0, 255), src=st.integers(0, 255), seq=st.integers(0, 255), cmd=st.integers(0, 255),
       payload=st.binary(max_size=300))
def test_round_trip_and_no_raw_markers_inside(dst: int, src: int, seq: int, cmd: int, payload: bytes) -> None:
    raw = p.encode_frame(dst, src, seq, cmd, payload)
    inner = raw[1:-1]
    assert p.SOF not in inner and p.EOF not in inner
    assert p.FrameParser().feed(raw) == [p.Frame(dst, src, seq, cmd, payload)]


def test_bad_crc_is_dropped_and_the_next_frame_is_read() -> None:
    good = p.encode_frame(p.MASTER, 3, 9, p.Cmd.ACK)
    bad = bytearray(p.encode_frame(p.MASTER, 3, 8, p.Cmd.ACK))
    bad[3] ^= 0x40
    parser = p.FrameParser()
    assert parser.feed(bytes(bad) + good) == [p.Frame(p.MASTER, 3, 9, p.Cmd.ACK)]
    assert parser.rejected == 1


def test_truncated_frame_then_new_start_recovers() -> None:
    good = p.encode_frame(p.MASTER, 4, 1, p.Cmd.ACK, b"\x01\x00")
    parser = p.FrameParser()
    assert parser.feed(good[:6] + good) == [p.Frame(p.MASTER, 4, 1, p.Cmd.ACK, b"\x01\x00")]


def test_length_field_must_match_and_version_must_be_known() -> None:
    body = bytes([1, 1, 0xFE, 1, 1, 0, 5])       # claims 5 bytes of payload, has none
    crc = p.crc16_modbus(body).to_bytes(2, "little")
    assert p.FrameParser().feed(b"\x7e" + p.escape(body + crc) + b"\x7f") == []
    v2 = p.encode_frame(1, 0xFE, 1, p.Cmd.PING, ver=2)
    assert p.FrameParser().feed(v2) == []


@settings(max_examples=200, deadline=None)
@given(noise=st.lists(st.binary(max_size=60), min_size=1, max_size=6), chunk=st.integers(1, 20))
def test_parser_finds_every_frame_between_noise(noise: list[bytes], chunk: int) -> None:
    frames = [p.Frame(p.MASTER, i + 1, i, p.Cmd.EVALUATION, bytes([i, 3])) for i in range(len(noise))]
    # noise may end inside a half frame; a real frame always begins with 7E, which restarts the parser
    stream = b"".join(junk + f.encode() for junk, f in zip(noise, frames))
    parser = p.FrameParser()
    got: list[p.Frame] = []
    for i in range(0, len(stream), chunk):
        got += parser.feed(stream[i:i + chunk])
    assert [f for f in got if f in frames] == frames


def test_payload_helpers() -> None:
    assert p.parse_text(p.text_payload(0, "15号窗口", scroll=True)) == (0, True, "15号窗口")
    assert p.text_payload(0, "\U0001F600") == b"\x00\x00?"      # not in GBK: replaced, never a crash
    assert p.parse_key_event(p.key_event_payload(4, 0x0F, (0, 6))) == p.KeyEvent(4, 0x0F, (0, 6))
    assert p.parse_key_event(p.key_event_payload(4, None, (7,))) == p.KeyEvent(4, None, (7,))
    assert p.parse_evaluation(p.evaluation_payload(9, 1)) == p.Evaluation(9, 1)
    with pytest.raises(ValueError):
        p.parse_evaluation(bytes([9, 6]))
    with pytest.raises(ValueError):
        p.brightness_payload(101)
    assert p.parse_ping_reply(bytes([p.DeviceKind.SCREEN, p.FLAG_CONTENT_LOST])).content_lost
