"""The service layer in-process on a real Mosquitto: a bug inside an operation becomes an `internal` reply and a
queue rebuilt from the store — never a dead server, never a half-applied change."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from hall_bus import BusClient, RequestError
from hall_server.config import load_hall_config
from hall_server.service import HallService
from hall_server.store import Store
from tests.support.hall import HALL_CONFIG, Mosquitto


@pytest.fixture
def service(tmp_path) -> Iterator[HallService]:
    broker = Mosquitto(tmp_path).start()
    svc = HallService(load_hall_config(HALL_CONFIG), Store(tmp_path / "hall.sqlite3"), broker.url,
                      open_all_day=True)
    assert svc.start()
    yield svc
    svc.stop()
    broker.stop()


def test_a_bug_in_an_operation_is_answered_internal_and_changes_nothing(service: HallService) -> None:
    engine_issue = service.engine.issue

    def buggy_issue(now, service_id, *args, **kwargs):
        out = engine_issue(now, service_id, *args, **kwargs)     # the change is made in memory ...
        if service_id == "ss_retire":
            raise RuntimeError("simulated bug after the change")  # ... and then the handler blows up
        return out

    service.engine.issue = buggy_issue   # type: ignore[method-assign]
    kiosk = BusClient(service.bus.address, "daan", "kiosk-k1").start()
    assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5)
    with pytest.raises(RequestError) as e:
        kiosk.request("ticket.issue", {"service": "ss_retire", "channel": "id_card",       # id_required
                                       "holder": {"ref": "holder-ref-0001", "birth_date": "1950-01-01"}}, timeout=5)
    assert e.value.code == "internal"
    # the queue was rebuilt from the store: the half-made ticket is gone and its number was not used up
    ok = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=5)
    assert ok["number"] == "A001"
    assert service._worker is not None and service._worker.is_alive()
    assert [t["number"] for t in service.store.tickets_of(service.engine.day)] == ["A001"]
    kiosk.stop()
