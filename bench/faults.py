"""Faults that used to take the hall down, timed: from each fault to the hall serving again (or refusing clearly and
being restarted, as systemd would), with a kiosk issuing all the while; then the books: every acknowledged ticket is
in the store and no number was given twice. Prints JSON.

    .venv/bin/python bench/faults.py

Faults: the broker child killed (SIGKILL, as an OOM kill would); the server deaf (its broker frozen with SIGSTOP
until the server's heartbeat gives up; then SIGCONT); the store's file deleted while serving."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hall_bus import BusClient, RequestError  # noqa: E402
from hall_bus.contract import Op  # noqa: E402
from tests.support.hall import HALL_CONFIG, RunningHall, start_hall, start_server  # noqa: E402
from tests.support.tools import require_tool  # noqa: E402

SERVICE = "ss_enroll"          # a walk-in service of the reference hall (prefix A)
ISSUE_EVERY_S = 0.05
DEADLINE_S = 60.0              # a fault not recovered from by then is a failure, not a figure


class Kiosk:
    """Issues a ticket every ISSUE_EVERY_S, each retried under its own request id until answered (what a kiosk
    does), and notes what was acknowledged and when."""

    def __init__(self, url: str, hall: str) -> None:
        self.client = BusClient(url, hall, "kiosk-faults").start()
        if not self.client.wait_connected(10):
            raise TimeoutError(f"kiosk could not connect to {url}")
        self.acked: list[dict] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.tag = f"k{time.monotonic_ns():x}"      # request ids unique across kiosk restarts, as a kiosk's are
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            rid = f"{self.tag}-{n}"
            while not self.stop.is_set():
                try:
                    t = self.client.request(Op.TICKET_ISSUE, {"service": SERVICE, "channel": "walk_in"},
                                            timeout=3.0, attempt=0.5, request_id=rid)
                    self.acked.append({"id": t["id"], "number": t["number"], "at": time.monotonic()})
                    break
                except RequestError as exc:
                    if exc.code != "timeout":
                        self.errors.append(f"{exc.code}: {exc.message}")
                        break
            self.stop.wait(ISSUE_EVERY_S)

    def served_after(self, t0: float, timeout: float = DEADLINE_S) -> float | None:
        """Seconds from t0 to the first ticket acknowledged after it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            later = [a["at"] for a in self.acked if a["at"] > t0]
            if later:
                return round(min(later) - t0, 3)
            time.sleep(0.01)
        return None

    def close(self) -> None:
        if self.stop.is_set():
            return
        self.stop.set()
        self.thread.join(10)
        self.client.stop()


def wait_exit(proc: subprocess.Popen, t0: float, timeout: float = DEADLINE_S) -> tuple[float | None, int | None]:
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None, None
    return round(time.monotonic() - t0, 3), code


def books(data: Path, acked: list[dict]) -> dict:
    """Acknowledged tickets missing from the store, and numbers given twice today."""
    db = next(data.glob("*.sqlite3"))
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        stored = {i: n for i, n in con.execute("SELECT id, number FROM tickets")}
        day = con.execute("SELECT max(day) FROM tickets").fetchone()[0]
        numbers = [n for (n,) in con.execute("SELECT number FROM tickets WHERE day=?", (day,))]
    finally:
        con.close()
    acked_numbers = [n for _i, n in {(a["id"], a["number"]) for a in acked}]   # one entry per ticket
    return {"acknowledged": len(acked),
            "lost": sum(1 for a in acked if a["id"] not in stored),
            "duplicated_numbers": (len(numbers) - len(set(numbers))) + (len(acked_numbers) - len(set(acked_numbers)))}


def broker_killed(tmp: Path) -> dict:
    hall = start_hall(tmp / "killed", "embedded")
    kiosk = Kiosk(hall.url, hall.hall)
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        os.kill(hall.ready["broker_pid"], signal.SIGKILL)
        serving = kiosk.served_after(t0)
        time.sleep(1.0)
    finally:
        kiosk.close()
        hall.stop()
    return {"fault": "broker child killed (SIGKILL)", "serving_again_s": serving, "server_restarts": 0,
            **books(hall.data, kiosk.acked), "refusals": kiosk.errors[:3]}


def restart(hall: RunningHall) -> RunningHall:
    """What systemd does after the server exits non-zero: start it again on the same data."""
    proc, ready, log = start_server(hall.data, config=HALL_CONFIG)
    return RunningHall(ready["broker"], ready["hall"], hall.data, proc, None, ready, log)


def fatal_fault(tmp: Path, name: str, fault: Callable[[RunningHall], None],
                after_exit: Callable[[RunningHall], None]) -> tuple[dict, Kiosk, Kiosk | None]:
    """A fault the server must answer by exiting non-zero: time to the exit, then to a restarted server serving a
    kiosk again. Returns the timings and the kiosks before and after the restart."""
    hall = start_hall(tmp / name, "embedded")
    first = Kiosk(hall.url, hall.hall)
    again = second = None
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        fault(hall)
        exited_s, code = wait_exit(hall.proc, t0)
        after_exit(hall)
        first.close()
        again = restart(hall)
        second = Kiosk(again.url, again.hall)
        serving = second.served_after(t0)
        time.sleep(1.0)
    finally:
        first.close()
        if second:
            second.close()
        (again or hall).stop()
    timings = {"server_exit_s": exited_s, "exit_code": code, "serving_again_s": serving, "server_restarts": 1,
               "refusals": (first.errors + (second.errors if second else []))[:3]}
    return timings, first, second


def server_deaf(tmp: Path) -> dict:
    def freeze(hall: RunningHall) -> None:      # the server hears nothing: its heartbeat gets no echo
        os.kill(hall.ready["broker_pid"], signal.SIGSTOP)

    def thaw(hall: RunningHall) -> None:        # the frozen child of the server that gave up
        try:
            os.kill(hall.ready["broker_pid"], signal.SIGCONT)
            os.kill(hall.ready["broker_pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    timings, first, second = fatal_fault(tmp, "deaf", freeze, thaw)
    acked = first.acked + (second.acked if second else [])
    return {"fault": "server deaf (its broker frozen)", **timings, **books(tmp / "deaf" / "data", acked)}


def store_deleted(tmp: Path) -> dict:
    def delete(hall: RunningHall) -> None:
        db = next(hall.data.glob("*.sqlite3"))
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.unlink(missing_ok=True)
    timings, first, second = fatal_fault(tmp, "store", delete, lambda hall: hall.stop())   # its broker child too
    # The tickets acknowledged before the deletion went with the file (that is the fault): none of their numbers
    # may be given again today, and nothing acknowledged after the restart may be lost or doubled.
    after = second.acked if second else []
    reused = {a["number"] for a in after} & {a["number"] for a in first.acked}
    return {"fault": "store file deleted while serving", **timings, "acknowledged_before": len(first.acked),
            "numbers_reused_after_restart": len(reused), **books(tmp / "store" / "data", after)}


def main() -> None:
    require_tool("mosquitto", package="mosquitto")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        results = [broker_killed(tmp), server_deaf(tmp), store_deleted(tmp)]
    failed = [r["fault"] for r in results
              if r.get("serving_again_s") is None or r.get("lost") or r.get("duplicated_numbers")
              or r.get("numbers_reused_after_restart")]
    print(json.dumps({"bench": "faults", "machine_cores": os.cpu_count(), "results": results, "failed": failed,
                      "targets": {"lost": 0, "duplicated_numbers": 0}}, ensure_ascii=False, indent=1))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
