"""A five-grade evaluator on the 7E bus: grades come in as polled EVALUATION events."""
from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Callable

from devices.frame7e import protocol as p
from devices.frame7e.bus import Bus7E, BusEvent
from hall_bus.hall import GRADES as HALL_GRADES

log = logging.getLogger("onewindow.devices.evaluator")

# grade -> label; grade numbers are those of evaluation.submit (PROTOCOL.md)
GRADES: dict[int, str] = {g: zh for g, (zh, _en) in HALL_GRADES.items()}   # 好差评 labels (hall_bus.hall)
INVITE_TEXT = "请您对本次服务进行评价"
THANKS_TEXT = "感谢您的评价"


class Evaluator:
    """The evaluator at `addr`; listeners get grade 1..5 on the bus thread (keep them short)."""

    def __init__(self, bus: Bus7E, addr: int) -> None:
        self.bus = bus
        self.addr = addr
        self._listeners: list[Callable[[int], None]] = []
        bus.add_device(addr)
        bus.on_event(self._on_event)

    def on_grade(self, listener: Callable[[int], None]) -> None:
        self._listeners.append(listener)

    def invite(self, text: str = INVITE_TEXT) -> list[Future]:
        """Ask the citizen for a grade: a prompt on the evaluator's display and a beep."""
        return [self.bus.submit(self.addr, p.Cmd.SHOW_TEXT, p.text_payload(0, text)),
                self.bus.submit(self.addr, p.Cmd.BEEP, p.beep_payload(1))]

    def thank(self, text: str = THANKS_TEXT) -> Future:
        return self.bus.submit(self.addr, p.Cmd.SHOW_TEXT, p.text_payload(0, text))

    def _on_event(self, addr: int, event: BusEvent) -> None:
        if addr != self.addr or not isinstance(event, p.Evaluation):
            return
        log.info("%s evaluator %d: grade %d (%s)", self.bus.url, addr, event.grade, GRADES[event.grade])
        for listener in list(self._listeners):
            try:
                listener(event.grade)
            except Exception:
                log.exception("evaluator listener failed")
