"""Crash and restart: a server killed with SIGKILL mid-load loses no acknowledged ticket and creates no
duplicate; a broker restart is survived by the server and its clients."""
from __future__ import annotations

import queue
import sqlite3
import threading
import time

import pytest

from tests.support.hall import Mosquitto, start_hall, start_server

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_kill9_mid_load_loses_nothing_and_duplicates_nothing(tmp_path, broker: str) -> None:
    hall = start_hall(tmp_path, broker)
    port = int(hall.url.rsplit(":", 1)[1])
    kiosks = [hall.client(f"kiosk-load{i}") for i in range(6)]
    acked: list[tuple[str, str, str]] = []      # (request id, ticket id, number)
    errors: list[BaseException] = []
    lock = threading.Lock()
    started = threading.Event()

    def load(k) -> None:
        try:
            for n in range(25):
                rid = f"{k.client_id}-{n}"
                t = k.request("ticket.issue", {"service": "ss_enroll" if n % 2 else "tx_invoice",
                                               "channel": "walk_in"}, timeout=60, attempt=1.0, request_id=rid)
                with lock:
                    acked.append((rid, t["id"], t["number"]))
                    if len(acked) >= 20:
                        started.set()
        except BaseException as exc:   # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(k,)) for k in kiosks]
    for t in threads:
        t.start()
    assert started.wait(30)
    hall.kill()                                    # power cut in the middle of the load
    killed_at = len(acked)
    proc, _ready, _log = start_server(hall.data, broker_url=hall.mosquitto.url if hall.mosquitto else None,
                                      broker_port=None if hall.mosquitto else port)
    hall.proc = proc
    for t in threads:
        t.join(90)
    assert not errors, errors
    assert len(acked) == 6 * 25 and killed_at < len(acked)
    numbers = [n for _r, _i, n in acked]
    assert len(set(numbers)) == len(numbers), "a number was given twice"
    assert len({i for _r, i, _n in acked}) == len(acked)
    db = sqlite3.connect(hall.data / "daan.sqlite3")
    stored = dict(db.execute("SELECT id, number FROM tickets"))
    db.close()
    assert {i: n for _r, i, n in acked} == stored, "stored tickets differ from acknowledged ones"
    for prefix in ("A", "G"):   # consecutive: a retried request used no second number
        seqs = sorted(int(n[1:]) for n in numbers if n.startswith(prefix))
        assert seqs == list(range(1, len(seqs) + 1))
    for k in kiosks:
        k.stop()
    hall.stop()


def test_broker_restart_is_survived_by_server_and_clients(tmp_path) -> None:
    hall = start_hall(tmp_path, "mosquitto")
    assert hall.mosquitto is not None
    kiosk = hall.client("kiosk-k1")
    panel = hall.client("panel-w1")
    ups: queue.Queue[bool] = queue.Queue()
    panel.on_connection(ups.put)
    kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
    hall.mosquitto.stop()                      # retained state is lost with it (persistence false)
    assert ups.get(timeout=10) is False
    hall.mosquitto = Mosquitto(tmp_path, port=hall.mosquitto.port).start()
    assert ups.get(timeout=15) is True
    served = panel.request("window.call_next", {"window": "w1"}, timeout=20)
    assert served["number"] == "A001"
    # the server re-published its retained state after reconnecting
    late = hall.client("display-late")
    got: queue.Queue = queue.Queue()
    late.subscribe(hall.topics.state_server, lambda t, p: got.put(p))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if got.get(timeout=10)["state"] == "online":
            break
    else:
        pytest.fail("state/server not re-published after the broker restart")
    for c in (kiosk, panel, late):
        c.stop()
    hall.stop()
