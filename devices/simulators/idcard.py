"""A SAM_V second-generation ID-card reader behind a pseudo-terminal, with sample cards and fault injection.

URL: sim://idcard?card=zhang|ouyang|elder|elder_daan|bad_number|absent&sam=ok|fail&silent=1&garbage=1&pace=1
Runtime: insert(card), remove(), corrupt_next(), garbage_next(), set_fault(silent=.., garbage=.., sam=..),
unplug(), replug(). The sample people are fictional; their numbers carry correct GB 11643 check digits.
"""
from __future__ import annotations

import random

from devices.idcard.protocol import (
    FIND_CARD, READ_TEXT_PHOTO, RESET, SELECT_CARD, STATUS, SW_BAD_COMMAND, SW_CARD_FOUND, SW_CHECKSUM_ERROR,
    SW_NO_CARD, SW_OK, SW_READ_FAILED, SW_SAM_SELF_TEST_FAILED, SW_SELECT_FAILED, BadFrame, CardText, FrameParser,
    build_read_reply, build_reply,
)
from devices.simulators.base import SimulatedDevice, check_params, parse_bool
from devices.transport import register_simulator
from hall_bus.idnumber import check_digit


def sample_number(first17: str) -> str:
    """Complete a 17-digit prefix with its GB 11643 check digit."""
    return first17 + check_digit(first17)


SAMPLE_CARDS: dict[str, CardText] = {
    "zhang": CardText("张伟", "1", "01", "19850612", "四川省自贡市大安区马吃水路88号", sample_number("51030419850612123"),
                      "自贡市公安局大安区分局", "20150612", "20350612"),
    "ouyang": CardText("欧阳娜娜", "2", "03", "19900315", "四川省自贡市大安区凉高山路6号2栋1单元",
                       sample_number("51030419900315002"), "自贡市公安局大安区分局", "20200315", "20400315"),
    "elder": CardText("李秀英", "2", "01", "19460304", "北京市朝阳区朝阳门外大街12号", sample_number("11010519460304002"),
                      "北京市公安局朝阳分局", "20060304", "长期"),
    # born 1948 in what became 大安区 (510304) only in 1983: the card keeps the code it was issued under
    "elder_daan": CardText("刘德明", "1", "01", "19480915", "四川省自贡市大安区大山铺镇新街17号",
                           sample_number("51030419480915031"), "自贡市公安局大安区分局", "20080915", "长期"),
    # a forged/misread card: the last digit is wrong, the driver must reject it
    "bad_number": CardText("王芳", "2", "01", "19850612", "四川省自贡市大安区马吃水路90号",
                           sample_number("51030419850612124")[:-1] + "0", "自贡市公安局大安区分局", "20150612", "20350612"),
}
assert SAMPLE_CARDS["bad_number"].number[17] != check_digit(SAMPLE_CARDS["bad_number"].number[:17])


class IdCardReaderSimulator(SimulatedDevice):
    kind = "idcard"

    def __init__(self, card: CardText | str | None = "zhang", sam_ok: bool = True, seed: int = 11) -> None:
        super().__init__()
        self.card: CardText | None = None
        self.insert(card)
        self.sam_ok = sam_ok
        self.garbage = False  # noise before every reply
        self.commands: list[tuple[int, int]] = []
        self._parser = FrameParser()
        self._corrupt = 0
        self._noise = 0
        self._rng = random.Random(seed)

    # --- what the test does with the card and the reader -----------------------------------------------------
    def insert(self, card: CardText | str | None) -> None:
        if isinstance(card, str):
            if card not in SAMPLE_CARDS:
                raise ValueError(f"card={card!r} is not one of {', '.join(SAMPLE_CARDS)} or absent")
            card = SAMPLE_CARDS[card]
        self.card = card

    def remove(self) -> None:
        self.card = None

    def corrupt_next(self, count: int = 1) -> None:
        """The next `count` replies go out with a wrong checksum."""
        self._corrupt += count

    def garbage_next(self, count: int = 1) -> None:
        """The next `count` replies are preceded by line noise."""
        self._noise += count

    def set_fault(self, *, silent: bool | None = None, garbage: bool | None = None, sam: str | None = None) -> None:
        if silent is not None:
            self.silent = silent
        if garbage is not None:
            self.garbage = garbage
        if sam is not None:
            if sam not in ("ok", "fail"):
                raise ValueError(f"sam={sam!r} is not ok or fail")
            self.sam_ok = sam == "ok"

    # --- the wire -------------------------------------------------------------------------------------------
    def _reply(self, frame: bytes) -> None:
        if self.garbage or self._noise:
            self._noise = max(0, self._noise - 1)
            self.send(bytes(self._rng.choice((0x00, 0xFF, 0xAA, 0x96, 0x55, 0x13)) for _ in range(self._rng.randint(3, 20))))
        if self._corrupt:
            self._corrupt -= 1
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        self.send(frame)

    def on_bytes(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            if isinstance(frame, BadFrame):
                if frame.reason == "checksum":
                    self._reply(build_reply(SW_CHECKSUM_ERROR))
                continue
            command = frame.command
            self.commands.append(command)
            card = self.card
            if not self.sam_ok and command != RESET:
                self._reply(build_reply(SW_SAM_SELF_TEST_FAILED))
            elif command in (RESET, STATUS):
                self._reply(build_reply(SW_OK))
            elif command == FIND_CARD:
                self._reply(build_reply(SW_CARD_FOUND, bytes(4)) if card else build_reply(SW_NO_CARD))
            elif command == SELECT_CARD:
                self._reply(build_reply(SW_OK, bytes(8)) if card else build_reply(SW_SELECT_FAILED))
            elif command == READ_TEXT_PHOTO:
                self._reply(build_read_reply(card) if card else build_reply(SW_READ_FAILED))
            else:
                self._reply(build_reply(SW_BAD_COMMAND))


def _factory(params: dict[str, str]) -> IdCardReaderSimulator:
    check_params(params, {"card", "sam", "silent", "garbage", "pace"}, "idcard")
    card = params.get("card", "zhang")
    sim = IdCardReaderSimulator(None if card in ("absent", "none", "") else card)
    sim.set_fault(silent=parse_bool(params.get("silent"), "silent"),
                  garbage=parse_bool(params.get("garbage"), "garbage"), sam=params.get("sam", "ok"))
    sim.pace = parse_bool(params.get("pace"), "pace")
    return sim


register_simulator("idcard", _factory)
