"""ESC/POS real-time status, pure: the DLE EOT 1..4 queries, their one-byte replies decoded into a PrinterStatus
(and encoded back, for the simulator and tests)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

STATUS_QUERIES: dict[int, bytes] = {n: bytes([0x10, 0x04, n]) for n in (1, 2, 3, 4)}


class PrinterState(Enum):
    OK = "ok"
    WARNING = "warning"  # prints, but someone should look (paper near end)
    ERROR = "error"  # will not print
    UNKNOWN = "unknown"  # no (valid) answer: never assume fine


FAULT_TEXT_ZH = {
    "offline": "打印机离线", "cover_open": "打印机盖未关好", "paper_end": "打印纸已用完",
    "paper_near_end": "打印纸即将用完", "cutter_error": "切刀故障", "error": "打印机故障",
    "no_reply": "打印机无响应", "bad_reply": "打印机应答异常", "disconnected": "打印机未连接",
    "write_only": "打印机连接不回报状态",
}


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterState
    online: bool | None = None
    cover_open: bool | None = None
    paper_near_end: bool | None = None
    paper_end: bool | None = None
    cutter_error: bool | None = None
    error: bool | None = None  # any other error the printer flags (DLE EOT 2 bit 0x40 / DLE EOT 3)
    detail: str = ""
    raw: bytes = field(default=b"", repr=False)

    @property
    def faults(self) -> tuple[str, ...]:
        """Machine words for what is wrong, worst first (keys of FAULT_TEXT_ZH)."""
        out = [name for name, on in (("paper_end", self.paper_end), ("cover_open", self.cover_open),
                                     ("cutter_error", self.cutter_error), ("error", self.error),
                                     ("offline", self.online is False),
                                     ("paper_near_end", self.paper_near_end and not self.paper_end))
               if on]
        if self.state is PrinterState.UNKNOWN:
            out.append(self.detail if self.detail in FAULT_TEXT_ZH else "no_reply")
        return tuple(out)

    def to_dict(self) -> dict:
        return {"state": self.state.value, "online": self.online, "cover_open": self.cover_open,
                "paper_near_end": self.paper_near_end, "paper_end": self.paper_end,
                "cutter_error": self.cutter_error, "error": self.error, "faults": list(self.faults),
                "detail": self.detail, "raw": self.raw.hex(" ")}


def is_status_byte(b: int) -> bool:
    """DLE EOT replies have fixed bits: bit 1 and bit 4 set, bits 0 and 7 clear."""
    return b & 0x93 == 0x12


def decode_status(replies: Mapping[int, bytes | None]) -> PrinterStatus:
    """Decode the replies to DLE EOT 1..4 (one byte each; missing or malformed → UNKNOWN)."""
    raw = b"".join(replies.get(n) or b"" for n in (1, 2, 3, 4))
    values: dict[int, int] = {}
    for n in (1, 2, 3, 4):
        reply = replies.get(n)
        if not reply:
            return PrinterStatus(PrinterState.UNKNOWN, detail="no_reply", raw=raw)
        if len(reply) != 1 or not is_status_byte(reply[0]):
            return PrinterStatus(PrinterState.UNKNOWN, detail="bad_reply", raw=raw)
        values[n] = reply[0]
    online = not values[1] & 0x08
    cover_open = bool(values[2] & 0x04)
    paper_end = bool(values[2] & 0x20) or bool(values[4] & 0x60)
    near_end = bool(values[4] & 0x0C)
    cutter = bool(values[3] & 0x08)
    error = bool(values[2] & 0x40 and not (cover_open or paper_end or cutter)) or bool(values[3] & 0x60)
    if not online or cover_open or paper_end or cutter or error:
        state = PrinterState.ERROR
    elif near_end:
        state = PrinterState.WARNING
    else:
        state = PrinterState.OK
    return PrinterStatus(state, online=online, cover_open=cover_open, paper_near_end=near_end,
                         paper_end=paper_end, cutter_error=cutter, error=error, raw=raw)


def encode_status(*, offline: bool = False, cover_open: bool = False, paper: str = "ok",
                  cutter_error: bool = False) -> dict[int, bytes]:
    """The reply bytes a printer in this condition sends to DLE EOT 1..4 (used by the simulator and tests)."""
    if paper not in ("ok", "near_end", "out"):
        raise ValueError(f"paper={paper!r} is not ok, near_end or out")
    out = paper == "out"
    offline = offline or cover_open or out or cutter_error
    b1 = 0x12 | (0x08 if offline else 0)
    b2 = 0x12 | (0x04 if cover_open else 0) | (0x20 if out else 0) | (0x40 if (cover_open or out or cutter_error) else 0)
    b3 = 0x12 | (0x08 if cutter_error else 0)
    b4 = 0x12 | (0x0C if paper in ("near_end", "out") else 0) | (0x60 if out else 0)
    return {1: bytes([b1]), 2: bytes([b2]), 3: bytes([b3]), 4: bytes([b4])}
