"""The 7E bus master against the simulated device line over a pseudo-terminal, with every fault."""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest

from devices.frame7e import protocol as p
from devices.errors import DeviceError
from devices.frame7e.bus import Bus7E, DeviceOffline, DeviceState, NakError
from devices.transport import open_transport

URL = "sim://bus7e?screens=1,2&evaluators=11&keypads=21"


@pytest.fixture
def line() -> Iterator[tuple[Bus7E, object]]:
    transport = open_transport(URL)
    bus = Bus7E(transport, url=URL, reply_timeout=0.15, poll_interval=0.02, offline_retry_s=0.2)
    for addr in (1, 2, 11, 21):
        bus.add_device(addr)
    bus.start()
    yield bus, transport.simulator
    bus.close()


def _events(bus: Bus7E) -> "queue.Queue[tuple[int, object]]":
    q: queue.Queue[tuple[int, object]] = queue.Queue()
    bus.on_event(lambda addr, ev: q.put((addr, ev)))
    return q


def test_show_text_reaches_the_screen(line) -> None:
    bus, sim = line
    assert bus.request(1, p.Cmd.SHOW_TEXT, p.text_payload(0, "15号窗口")) == b""
    assert sim.screen_text(1) == "15号窗口"


def test_evaluation_is_delivered_once_by_polling(line) -> None:
    bus, sim = line
    events = _events(bus)
    sim.press_grade(11, 5)
    assert events.get(timeout=5) == (11, p.Evaluation(0, 5))
    sim.press_grade(11, 2)
    assert events.get(timeout=5) == (11, p.Evaluation(1, 2))
    assert sim.wait_for(lambda s: not s.device(11).events)


def test_event_offered_again_after_a_lost_ack_is_dropped_as_a_repeat(line) -> None:
    bus, sim = line
    events = _events(bus)
    sim.lose_next_ack(21)
    sim.press_key(21, 0x0C)
    assert events.get(timeout=5) == (21, p.KeyEvent(0, 0x0C, ()))
    assert sim.wait_for(lambda s: not s.device(21).events)   # offered twice, then taken
    sim.press_key(21, 0x0D)
    assert events.get(timeout=5) == (21, p.KeyEvent(1, 0x0D, ()))
    assert events.empty()
    assert bus.stats["repeats_dropped"] >= 1


def test_bad_crc_once_is_retried_with_the_same_seq_and_acted_on_once(line) -> None:
    bus, sim = line
    sim.corrupt_next_reply(2)
    bus.request(2, p.Cmd.SHOW_TEXT, p.text_payload(0, "暂停服务"))
    dev = sim.device(2)
    assert dev.text == "暂停服务"
    assert [c for c, _ in dev.executed].count(p.Cmd.SHOW_TEXT) == 1
    assert dev.repeats == 1
    assert bus.state(2) is DeviceState.OK


def test_busy_nak_is_retried(line) -> None:
    bus, sim = line
    sim.busy_next(1, times=2)
    bus.request(1, p.Cmd.SHOW_NUMBER, p.number_payload("A023"))
    assert sim.device(1).number == "A023"


def test_bad_payload_nak_is_an_error_without_retry(line) -> None:
    bus, sim = line
    with pytest.raises(NakError) as exc:
        bus.request(1, p.Cmd.SHOW_TEXT, b"\x00")
    assert exc.value.reason == p.NakReason.BAD_PAYLOAD
    with pytest.raises(NakError):
        bus.request(1, 0x55)
    assert bus.state(1) is DeviceState.OK


def test_garbage_on_the_line_does_not_break_the_exchange(line) -> None:
    bus, sim = line
    for _ in range(5):
        sim.garbage()
        sim.garbage(bytes(range(256)))
        bus.request(1, p.Cmd.BEEP, p.beep_payload(1))
    assert sim.device(1).beeps == 5


def test_a_silent_device_goes_offline_and_the_others_carry_on(line) -> None:
    bus, sim = line
    changes: queue.Queue[tuple[int, DeviceState]] = queue.Queue()
    bus.on_state(lambda addr, state, detail: changes.put((addr, state)))
    sim.silence(2)
    with pytest.raises(DeviceOffline):
        bus.request(2, p.Cmd.CLEAR)
    while changes.get(timeout=5) != (2, DeviceState.OFFLINE):
        pass
    assert bus.detail(2)["problem"].startswith("no reply")
    bus.request(1, p.Cmd.SHOW_TEXT, p.text_payload(0, "still here"))
    events = _events(bus)
    sim.press_grade(11, 4)
    assert events.get(timeout=5) == (11, p.Evaluation(0, 4))
    sim.silence(2, False)
    while changes.get(timeout=5) != (2, DeviceState.OK):   # found again by the offline re-poll
        pass


def test_broadcast_gets_no_reply_and_reaches_every_device(line) -> None:
    bus, sim = line
    bus.broadcast(p.Cmd.BRIGHTNESS, p.brightness_payload(40)).result(5)
    assert sim.wait_for(lambda s: all(d.brightness == 40 for d in s.devices.values()))
    before = sim.device(1).executed.count((p.Cmd.BRIGHTNESS, bytes([40])))
    assert before == 1


def test_power_loss_is_reported_by_the_next_poll(line) -> None:
    bus, sim = line
    lost = threading.Event()
    bus.request(1, p.Cmd.SHOW_TEXT, p.text_payload(0, "x"))
    bus.on_ping(lambda addr, info: lost.set() if addr == 1 and info.content_lost else None)
    sim.power_loss(1)
    assert lost.wait(5)
    assert sim.screen_text(1) == ""


def test_unplugged_line_marks_every_device_error(line) -> None:
    bus, sim = line
    errors: set[int] = set()
    done = threading.Event()

    def on_state(addr: int, state: DeviceState, detail: dict) -> None:
        if state is DeviceState.ERROR:
            errors.add(addr)
            if errors == {1, 2, 11, 21}:
                done.set()
    bus.on_state(on_state)
    back = threading.Event()
    bus.on_state(lambda addr, state, detail: back.set() if done.is_set() and state is DeviceState.OK else None)
    sim.unplug()
    assert done.wait(5)
    sim.replug()                      # the bus reopens the port by itself
    assert back.wait(10)
    bus.request(1, p.Cmd.SHOW_TEXT, p.text_payload(0, "back"))
    assert sim.screen_text(1) == "back"


def test_a_device_told_to_fall_silent_goes_offline_on_the_bus() -> None:
    """`silent_after=ADDR:SECONDS` (the demo's evaluator going offline): the device answers, then stops, and the
    master marks it offline; a bad setting is refused with the form to use."""
    url = "sim://bus7e?evaluators=11,12&silent_after=12:0.3"
    transport = open_transport(url)
    bus = Bus7E(transport, url=url, reply_timeout=0.1, poll_interval=0.02, offline_retry_s=0.2)
    for addr in (11, 12):
        bus.add_device(addr)
    states: "queue.Queue[tuple[int, DeviceState]]" = queue.Queue()
    bus.on_state(lambda addr, state, _detail: states.put((addr, state)))
    bus.start()
    try:
        seen: list[tuple[int, DeviceState]] = []
        while not any(a == 12 and s is DeviceState.OFFLINE for a, s in seen):
            seen.append(states.get(timeout=5))
        assert not any(a == 11 and s is DeviceState.OFFLINE for a, s in seen)
    finally:
        bus.close()
    for bad in ("12", "99:1", "12:-1"):
        with pytest.raises(DeviceError, match="silent_after"):
            open_transport(f"sim://bus7e?evaluators=12&silent_after={bad}")
