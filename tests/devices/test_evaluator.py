"""Evaluators and 7E keypads against the simulated line."""
from __future__ import annotations

import queue

from devices.evaluator import GRADES, Evaluator
from devices.frame7e.bus import Bus7E
from devices.keypad.driver7e import Keypad7E
from devices.transport import open_transport


def test_grades_and_invite_and_7e_keypad() -> None:
    url = "sim://bus7e?evaluators=11,12&keypads=21"
    transport = open_transport(url)
    sim = transport.simulator
    bus = Bus7E(transport, url=url, reply_timeout=0.15, poll_interval=0.02)
    e11, e12, pad = Evaluator(bus, 11), Evaluator(bus, 12), Keypad7E(bus, 21)
    grades: queue.Queue = queue.Queue()
    keys: queue.Queue = queue.Queue()
    e11.on_grade(lambda g: grades.put((11, g)))
    e12.on_grade(lambda g: grades.put((12, g)))
    pad.on_key(lambda key, digits: keys.put((key, digits)))
    bus.start()
    try:
        sim.press_grade(12, 1)
        sim.corrupt_next_reply(11)
        sim.press_grade(11, 5)
        got = {grades.get(timeout=5), grades.get(timeout=5)}
        assert got == {(12, 1), (11, 5)}
        assert GRADES[5] == "非常满意" and GRADES[1] == "非常不满意"
        for f in e11.invite():
            f.result(5)
        assert sim.screen_text(11) == "请您对本次服务进行评价" and sim.device(11).beeps == 1
        sim.press_key(21, 0x0F, (0, 6))
        assert keys.get(timeout=5) == (0x0F, (0, 6))
        pad.show_number("A023").result(5)
        pad.beep(2).result(5)
        assert (sim.device(21).number, sim.device(21).beeps) == ("A023", 2)
        assert grades.empty() and keys.empty()
    finally:
        bus.close()
