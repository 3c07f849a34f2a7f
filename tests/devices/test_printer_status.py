"""ESC/POS real-time status: the DLE EOT queries, replies decoded (a missing or odd reply is never "fine")."""
from __future__ import annotations

import pytest

from devices.printer.status import STATUS_QUERIES, PrinterState, decode_status, encode_status


def test_status_queries_are_dle_eot_1_to_4():
    assert STATUS_QUERIES == {1: b"\x10\x04\x01", 2: b"\x10\x04\x02", 3: b"\x10\x04\x03", 4: b"\x10\x04\x04"}


@pytest.mark.parametrize("replies, state, faults", [
    ({1: b"\x12", 2: b"\x12", 3: b"\x12", 4: b"\x12"}, PrinterState.OK, ()),
    ({1: b"\x12", 2: b"\x12", 3: b"\x12", 4: b"\x1e"}, PrinterState.WARNING, ("paper_near_end",)),
    ({1: b"\x1a", 2: b"\x72", 3: b"\x12", 4: b"\x7e"}, PrinterState.ERROR, ("paper_end", "offline")),
    ({1: b"\x1a", 2: b"\x56", 3: b"\x12", 4: b"\x12"}, PrinterState.ERROR, ("cover_open", "offline")),
    ({1: b"\x1a", 2: b"\x52", 3: b"\x1a", 4: b"\x12"}, PrinterState.ERROR, ("cutter_error", "offline")),
    ({1: b"\x1a", 2: b"\x12", 3: b"\x12", 4: b"\x12"}, PrinterState.ERROR, ("offline",)),
    ({}, PrinterState.UNKNOWN, ("no_reply",)),
    ({1: b"\x12", 2: b"\x12"}, PrinterState.UNKNOWN, ("no_reply",)),
    ({1: b"\xff", 2: b"\x12", 3: b"\x12", 4: b"\x12"}, PrinterState.UNKNOWN, ("bad_reply",)),
    ({1: b"\x12\x00", 2: b"\x12", 3: b"\x12", 4: b"\x12"}, PrinterState.UNKNOWN, ("bad_reply",)),
])
def test_status_decoding(replies, state, faults):
    status = decode_status(replies)
    assert status.state is state
    assert status.faults == faults
    if state is PrinterState.UNKNOWN:
        assert status.paper_end is None and status.online is None  # unknown is never "fine"


@pytest.mark.parametrize("kwargs, state", [
    ({}, PrinterState.OK), ({"paper": "near_end"}, PrinterState.WARNING), ({"paper": "out"}, PrinterState.ERROR),
    ({"cover_open": True}, PrinterState.ERROR), ({"cutter_error": True}, PrinterState.ERROR),
])
def test_encode_and_decode_status_agree(kwargs, state):
    assert decode_status(encode_status(**kwargs)).state is state
