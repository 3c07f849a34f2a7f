"""IdCardReader against the SAM_V simulator over a pseudo-terminal: cards in/out and every fault."""
from __future__ import annotations

import queue

import pytest

from devices.errors import DeviceError, IdCardError
from devices.idcard import IdCard, IdCardReader, ReaderState
from devices.idcard.protocol import FIND_CARD, STATUS

FAST = {"poll_interval": 0.02, "reply_timeout": 0.4, "reconnect_interval": 0.05}


class Events:
    """Listener that queues every callback; expect() waits for the next event of a kind (no sleeping)."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()
        self.seen: list[tuple] = []

    def card_inserted(self, card: IdCard) -> None:
        self.q.put(("inserted", card))

    def card_removed(self) -> None:
        self.q.put(("removed",))

    def card_rejected(self, error: IdCardError) -> None:
        self.q.put(("rejected", error))

    def state_changed(self, state: ReaderState, detail: str) -> None:
        self.q.put(("state", state, detail))

    def expect(self, kind: str, state: ReaderState | None = None, timeout: float = 5.0) -> tuple:
        while True:
            try:
                event = self.q.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {kind} {state or ''} event; saw {self.seen}") from None
            self.seen.append(event)
            if event[0] == kind and (state is None or event[1] is state):
                return event

    def kinds(self) -> list[str]:
        while not self.q.empty():
            self.seen.append(self.q.get_nowait())
        return [e[0] for e in self.seen]


@pytest.fixture
def reader_for():
    readers: list[IdCardReader] = []

    def make(url: str = "sim://idcard", **kw) -> tuple[IdCardReader, Events]:
        reader = IdCardReader(url, **{**FAST, **kw})
        events = Events()
        reader.add_listener(events)
        readers.append(reader)
        reader.open()
        return reader, events

    yield make
    for r in readers:
        r.close()


def test_card_on_the_reader_is_reported_masked(reader_for):
    reader, events = reader_for()
    events.expect("state", ReaderState.READY)
    card = events.expect("inserted")[1]
    assert card.masked_name == "张*" and card.masked_number == "5103**********1239"
    assert reader.state is ReaderState.CARD and reader.current_card == card
    sim = reader.transport.simulator
    assert sim.commands[0] == STATUS  # status first, then the find/select/read cycle


def test_remove_and_insert_another_card(reader_for):
    reader, events = reader_for()
    events.expect("inserted")
    sim = reader.transport.simulator
    sim.remove()
    events.expect("removed")
    assert events.expect("state", ReaderState.READY)
    sim.insert("ouyang")
    assert events.expect("inserted")[1].masked_name == "欧阳*"


def test_a_card_left_on_the_reader_is_reported_once(reader_for):
    reader, events = reader_for()
    events.expect("inserted")
    sim = reader.transport.simulator
    # let several more poll cycles pass, observed through the simulator's own log
    start = sim.commands.count(FIND_CARD)
    assert sim.wait_received(lambda _: sim.commands.count(FIND_CARD) >= start + 3)
    assert events.kinds().count("inserted") == 1


def test_bad_checksum_reply_is_retried(reader_for):
    reader, events = reader_for("sim://idcard?card=absent")
    events.expect("state", ReaderState.READY)
    sim = reader.transport.simulator
    sim.corrupt_next(1)
    sim.insert("elder")
    card = events.expect("inserted")[1]
    assert card.masked_name == "李*"
    events.kinds()
    states = [e[1] for e in events.seen if e[0] == "state"]
    assert states == [ReaderState.STARTING, ReaderState.READY, ReaderState.CARD]  # no UNPLUGGED blip
    assert sim._corrupt == 0  # the corrupted reply was sent, and retried past


def test_line_noise_before_replies_is_skipped(reader_for):
    reader, events = reader_for("sim://idcard?garbage=1")
    assert events.expect("inserted")[1].masked_name == "张*"


def test_silence_is_reported_and_recovered(reader_for):
    reader, events = reader_for()
    events.expect("inserted")
    sim = reader.transport.simulator
    sim.set_fault(silent=True)
    events.expect("removed")
    _, _, detail = events.expect("state", ReaderState.UNPLUGGED)
    assert detail.startswith("no reply")
    sim.set_fault(silent=False)
    events.expect("state", ReaderState.READY)
    events.expect("inserted")


def test_unplug_and_replug(reader_for):
    reader, events = reader_for()
    events.expect("inserted")
    sim = reader.transport.simulator
    sim.unplug()
    events.expect("removed")
    _, _, detail = events.expect("state", ReaderState.UNPLUGGED)
    assert detail.startswith("port error")
    sim.replug()
    events.expect("state", ReaderState.READY)
    assert events.expect("inserted")[1].masked_name == "张*"


def test_sam_fault(reader_for):
    reader, events = reader_for("sim://idcard?sam=fail")
    _, _, detail = events.expect("state", ReaderState.FAULT)
    assert detail == "SAM self-test failed"
    reader.transport.simulator.set_fault(sam="ok")
    events.expect("state", ReaderState.READY)
    events.expect("inserted")


def test_invalid_number_is_rejected_once_and_never_inserted(reader_for):
    reader, events = reader_for("sim://idcard?card=bad_number")
    error = events.expect("rejected")[1]
    assert error.reason == "invalid_number" and "check digit" in str(error)
    sim = reader.transport.simulator
    start = sim.commands.count(FIND_CARD)
    assert sim.wait_received(lambda _: sim.commands.count(FIND_CARD) >= start + 3)
    assert events.kinds().count("rejected") == 1 and "inserted" not in events.kinds()
    sim.insert("zhang")
    events.expect("inserted")


def test_missing_port_is_unplugged_not_a_crash(reader_for):
    reader, events = reader_for("serial:///dev/ttyNOPE7?baud=115200")
    _, _, detail = events.expect("state", ReaderState.UNPLUGGED)
    assert "/dev/ttyNOPE7" in detail


def test_wait_for_card_and_read_once():
    reader = IdCardReader("sim://idcard?card=ouyang", **FAST)
    try:
        assert reader.wait_for_card(5).nation == "回"
    finally:
        reader.close()
    once = IdCardReader("sim://idcard?card=elder", **FAST)
    try:
        assert once.read_once().masked_name == "李*"
        once.transport.simulator.remove()
        assert once.read_once() is None
        once.transport.simulator.insert("bad_number")
        with pytest.raises(IdCardError, match="check digit"):
            once.read_once()
        once.open()
        with pytest.raises(DeviceError, match="polling thread"):
            once.read_once()
    finally:
        once.close()
    assert once.state is ReaderState.CLOSED


def test_wait_for_card_times_out_naming_the_state():
    reader = IdCardReader("sim://idcard?card=absent", **FAST)
    try:
        with pytest.raises(TimeoutError, match="no card within 0.3s"):
            reader.wait_for_card(0.3)
    finally:
        reader.close()
