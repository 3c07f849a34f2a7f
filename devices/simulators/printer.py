"""A Chinese ESC/POS ticket printer behind a pseudo-terminal: answers DLE EOT for its faults, records jobs.

URL: sim://printer?paper=ok|near_end|out&cover=open|closed&cutter=ok|error&offline=1&silent=1&garbage=1&encoding=gbk
     &mid_job=paper_out|cover_open|power_loss
Faults can also be changed at runtime with `set_fault(...)`. `mid_job` strikes once, while the next job's bytes
arrive (after the driver's status check): `paper_out` — the roll ends, the job is held (rejected_jobs);
`cover_open` — likewise; `power_loss` — the printer goes dark: the rest of the job is lost (lost_jobs) and it
answers nothing until `set_fault(silent=False)` (power back).
"""
from __future__ import annotations

import random
import threading

from devices.printer.layout import check_encoding
from devices.printer.scanner import EscPosScanner, printed_text
from devices.printer.status import encode_status, is_status_byte
from devices.simulators.base import SimulatedDevice, check_params, parse_bool
from devices.transport import register_simulator

_GARBAGE = bytes(b for b in range(256) if not is_status_byte(b))
MID_JOB_FAULTS = ("paper_out", "cover_open", "power_loss")


class PrinterSimulator(SimulatedDevice):
    kind = "printer"

    def __init__(self, paper: str = "ok", cover: str = "closed", cutter: str = "ok", offline: bool = False,
                 silent: bool = False, garbage: bool = False, encoding: str = "gbk", seed: int = 7,
                 mid_job: str | None = None) -> None:
        super().__init__()
        self.encoding = check_encoding(encoding)
        self.paper = paper
        self.cover = cover
        self.cutter = cutter
        self.offline = offline
        self.garbage = garbage
        self.silent = silent
        self.mid_job: str | None = None
        self.powered_off = False
        self.set_fault(mid_job=mid_job)  # validates
        self.status_queries = 0
        self.jobs: list[bytes] = []  # complete jobs (up to a cut) received while the printer could print
        self.rejected_jobs: list[bytes] = []  # jobs received while in an error state (a real printer holds them)
        self.lost_jobs: list[bytes] = []  # job bytes that arrived while the power was off
        self._scanner = EscPosScanner()
        self._job = bytearray()
        self._rng = random.Random(seed)
        self._jobs_changed = threading.Condition()

    def set_fault(self, *, paper: str | None = None, cover: str | None = None, cutter: str | None = None,
                  offline: bool | None = None, silent: bool | None = None, garbage: bool | None = None,
                  mid_job: str | None = None) -> None:
        """Change the printer's condition; None leaves a setting as it is. `silent=False` also brings the power
        back after a `power_loss`."""
        if mid_job is not None and mid_job not in MID_JOB_FAULTS:
            raise ValueError(f"mid_job={mid_job!r} is not one of {', '.join(MID_JOB_FAULTS)}")
        paper = self.paper if paper is None else paper
        cover = self.cover if cover is None else cover
        cutter = self.cutter if cutter is None else cutter
        if paper not in ("ok", "near_end", "out"):
            raise ValueError(f"paper={paper!r} is not ok, near_end or out")
        if cover not in ("open", "closed"):
            raise ValueError(f"cover={cover!r} is not open or closed")
        if cutter not in ("ok", "error"):
            raise ValueError(f"cutter={cutter!r} is not ok or error")
        self.paper, self.cover, self.cutter = paper, cover, cutter
        if offline is not None:
            self.offline = offline
        if silent is not None:
            self.silent = silent
            if not silent:
                self.powered_off = False
        if mid_job is not None:
            self.mid_job = mid_job
        if garbage is not None:
            self.garbage = garbage

    @property
    def can_print(self) -> bool:
        return self.paper != "out" and self.cover == "closed" and self.cutter == "ok" and not self.offline

    def status_bytes(self) -> dict[int, bytes]:
        return encode_status(offline=self.offline, cover_open=self.cover == "open", paper=self.paper,
                             cutter_error=self.cutter == "error")

    def _strike_mid_job(self) -> None:
        fault, self.mid_job = self.mid_job, None
        if fault == "paper_out":
            self.paper = "out"
        elif fault == "cover_open":
            self.cover = "open"
        elif fault == "power_loss":
            self.powered_off = True
            self.silent = True

    def on_bytes(self, data: bytes) -> None:
        for token in self._scanner.feed(data):
            d = token.data
            if self.powered_off:
                with self._jobs_changed:
                    self._job += d
                    if token.kind == "command" and d[:2] == b"\x1dV":
                        self.lost_jobs.append(bytes(self._job))
                        self._job.clear()
                        self._jobs_changed.notify_all()
                continue
            if token.kind == "command" and d[:2] == b"\x10\x04" and len(d) == 3:
                self.status_queries += 1
                if self.garbage:
                    self.send(bytes(self._rng.choice(_GARBAGE) for _ in range(self._rng.randint(1, 3))))
                else:
                    self.send(self.status_bytes().get(d[2], b""))
                continue
            if self.mid_job and not self._job:   # the job's first bytes: after the driver's status check
                self._strike_mid_job()
                if self.powered_off:
                    self._job += d
                    continue
            self._job += d
            if token.kind == "command" and d[:2] == b"\x1dV":
                with self._jobs_changed:
                    (self.jobs if self.can_print else self.rejected_jobs).append(bytes(self._job))
                    self._job.clear()
                    self._jobs_changed.notify_all()

    def printed_texts(self) -> list[str]:
        return [printed_text(job, self.encoding) for job in self.jobs]

    def wait_jobs(self, count: int, timeout: float = 5.0) -> bool:
        with self._jobs_changed:
            return self._jobs_changed.wait_for(
                lambda: len(self.jobs) + len(self.rejected_jobs) + len(self.lost_jobs) >= count, timeout)


def _factory(params: dict[str, str]) -> PrinterSimulator:
    check_params(params, {"paper", "cover", "cutter", "offline", "silent", "garbage", "encoding", "mid_job"},
                 "printer")
    return PrinterSimulator(
        paper=params.get("paper", "ok"), cover=params.get("cover", "closed"), cutter=params.get("cutter", "ok"),
        offline=parse_bool(params.get("offline"), "offline"), silent=parse_bool(params.get("silent"), "silent"),
        garbage=parse_bool(params.get("garbage"), "garbage"), encoding=params.get("encoding", "gbk"),
        mid_job=params.get("mid_job"))


register_simulator("printer", _factory)
