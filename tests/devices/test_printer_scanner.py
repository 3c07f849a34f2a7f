"""The ESC/POS byte scanner: whole commands and text runs, however the bytes arrive."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.printer.layout import render_checklist, render_ticket, sample_ticket
from devices.printer.scanner import EscPosScanner, scan


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_scanner_gives_the_same_tokens_however_the_bytes_are_chunked(cuts):
    job = render_ticket(sample_ticket("zh")) + b"\x10\x04\x04" + render_checklist("业务", ["身份证"])
    whole = scan(job)
    scanner = EscPosScanner()
    tokens, pos = [], 0
    for size in cuts * 50:
        if pos >= len(job):
            break
        tokens += scanner.feed(job[pos:pos + size])
        pos += size
    tokens += scanner.feed(job[pos:])
    # text runs may be split differently; commands must be identical and text identical when joined
    assert [t for t in tokens if t.kind == "command"] == [t for t in whole if t.kind == "command"]
    assert b"".join(t.data for t in tokens if t.kind == "text") == b"".join(t.data for t in whole if t.kind == "text")
