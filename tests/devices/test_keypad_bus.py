"""The FF 68 keypad bus driver against the simulated keypads over a pseudo-terminal, with faults."""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest

from devices.frame7e.bus import DeviceOffline, DeviceState
from devices.keypad.bus import KeypadBus
from devices.keypad.protocol import Key
from devices.transport import open_transport


def _open(url: str, **kw) -> tuple[KeypadBus, object]:
    transport = open_transport(url)
    bus = KeypadBus(transport, url=url, echo_timeout=0.15, **kw)
    for addr in (1, 2, 3):
        bus.add_keypad(addr)
    return bus, transport.simulator


@pytest.fixture
def line() -> Iterator[tuple[KeypadBus, object, "queue.Queue"]]:
    bus, sim = _open("sim://keypads?addrs=1,2,3")
    keys: queue.Queue = queue.Queue()
    bus.on_key(lambda addr, key, digits: keys.put((addr, key, digits)))
    bus.start()
    yield bus, sim, keys
    bus.close()


def test_key_press_is_echoed_and_delivered(line) -> None:
    bus, sim, keys = line
    assert sim.press(1, Key.CALL)
    assert keys.get(timeout=5) == (1, Key.CALL, ())
    assert sim.press(2, Key.CONFIRM, (0, 6))
    assert keys.get(timeout=5) == (2, Key.CONFIRM, (0, 6))
    assert sim.keypad(1).reports_sent == 1


def test_lost_echo_makes_the_keypad_repeat_and_the_host_delivers_once(line) -> None:
    bus, sim, keys = line
    sim.drop_next_echo(3)
    assert sim.press(3, Key.RECALL)
    assert sim.keypad(3).reports_sent == 2
    assert keys.get(timeout=5) == (3, Key.RECALL, ())
    assert sim.press(3, Key.PAUSE)
    assert keys.get(timeout=5) == (3, Key.PAUSE, ())
    assert keys.empty()
    assert bus.stats["repeats_dropped"] == 1


def test_show_number_and_beep_reach_the_keypad(line) -> None:
    bus, sim, _keys = line
    bus.show_number(1, "A023").result(5)
    bus.beep(1, 2).result(5)
    assert sim.keypad(1).display == "023"
    assert sim.keypad(1).beeps == 2
    assert bus.state(1) is DeviceState.OK


def test_garbage_between_reports_is_skipped(line) -> None:
    bus, sim, keys = line
    sim.garbage()
    assert sim.press(1, Key.CALL)
    sim.garbage(bytes(range(256)) * 2)
    assert sim.press(1, Key.EVALUATE)
    assert [keys.get(timeout=5), keys.get(timeout=5)] == [(1, Key.CALL, ()), (1, Key.EVALUATE, ())]


def test_digits_typed_one_frame_at_a_time(line) -> None:
    bus, sim, keys = line
    assert sim.type_keys(2, [0, 3, 0, 2, 3, Key.CONFIRM])
    got = [keys.get(timeout=5) for _ in range(6)]
    assert got[:5] == [(2, None, (d,)) for d in (0, 3, 0, 2, 3)]
    assert got[5] == (2, Key.CONFIRM, ())


def test_silent_keypad_goes_offline_and_the_others_still_work(line) -> None:
    bus, sim, keys = line
    states: queue.Queue = queue.Queue()
    bus.on_state(lambda addr, state, detail: states.put((addr, state)))
    sim.silence(2)
    with pytest.raises(DeviceOffline):
        bus.show_number(2, "A001").result(5)
    assert bus.state(2) is DeviceState.OFFLINE
    bus.show_number(1, "A002").result(5)
    assert sim.press(3, Key.CALL)
    assert keys.get(timeout=5) == (3, Key.CALL, ())
    sim.silence(2, False)
    bus.show_number(2, "A001").result(5)
    assert sim.keypad(2).display == "001"
    assert bus.state(2) is DeviceState.OK


def test_keypads_that_never_echo_are_not_reported_offline() -> None:
    bus, sim = _open("sim://keypads?addrs=1,2,3&echo=0", expect_echo=False)
    bus.start()
    try:
        bus.show_number(1, "B117").result(5)
        assert sim.wait_for(lambda s: s.keypad(1).display == "117")
        assert bus.state(1) is DeviceState.OK
    finally:
        bus.close()


def test_unplug_and_replug_of_the_line(line) -> None:
    bus, sim, keys = line
    error = threading.Event()
    bus.on_state(lambda addr, state, detail: error.set() if state is DeviceState.ERROR else None)
    sim.unplug()
    assert error.wait(5)
    sim.replug()
    # the driver reopens by itself; a press then gets through again
    assert sim.wait_for(lambda s: s.plugged)
    for _ in range(20):
        if sim.press(1, Key.CALL):
            break
    assert keys.get(timeout=5) == (1, Key.CALL, ())
