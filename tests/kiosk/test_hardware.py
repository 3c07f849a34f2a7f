"""kiosk.hardware's adapters on the real drivers over sim:// pseudo-terminals (no Qt): the printer's status and
refusals become the kiosk's codes, a rejected ID card is a failure reason, never a holder."""
from __future__ import annotations

import queue

import pytest

from kiosk.hardware import IdCardAdapter, PrinterAdapter
from kiosk.model import Catalog, Health, PrintFailed, Ticket
from kiosk.model import Guide
from kiosk.sample import sample_catalog, sample_guides
from tests.kiosk.conftest import KEY, make_config

CATALOG = Catalog.parse(sample_catalog(), {sid: Guide.parse(g) for sid, g in sample_guides().items()})
TICKET = Ticket(id="t-1", number="A007", service="ss_pension", zone="z1", state="waiting", channel="walk_in",
                issued_at="2026-11-27T09:41:00+08:00", ahead=2, verify="K7Q2", token="Zq3x_9kLmN0pQrStUvWxYz")


@pytest.fixture
def printer_at():
    made: list[PrinterAdapter] = []

    def make(url: str) -> PrinterAdapter:
        adapter = PrinterAdapter(make_config(printer={"url": url}), lambda: CATALOG)
        adapter.open()
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.mark.parametrize("url,state,code", [
    ("sim://printer", Health.OK, ""),
    ("sim://printer?paper=near_end", Health.WARNING, "near_end"),
    ("sim://printer?paper=out", Health.ERROR, "paper_out"),
    ("sim://printer?cover=open", Health.ERROR, "cover_open"),
    ("sim://printer?cutter=error", Health.ERROR, "cutter_error"),
    ("sim://printer?offline=1", Health.ERROR, "offline"),
    ("sim://printer?silent=1", Health.OFFLINE, "no_reply"),
    ("sim://printer?garbage=1", Health.OFFLINE, "bad_reply"),
])
def test_printer_health_from_what_the_printer_answers(printer_at, url, state, code):
    health = printer_at(url).health()
    assert (health.state, health.code) == (state, code)


def test_printed_ticket_is_what_the_printer_received(printer_at):
    adapter = printer_at("sim://printer")
    progress: list[float] = []
    adapter.print_ticket(TICKET, "zh", progress.append)
    sim = adapter.driver.transport.simulator
    assert sim.wait_jobs(1)
    assert sim.printed_texts()[0].splitlines()[:4] == ["大安区政务服务中心", "社会保障服务区 1F", "A007", "养老保险待遇申领"]
    assert progress == [0.1, 1.0]


@pytest.mark.parametrize("fault,code", [({"paper": "out"}, "paper_out"), ({"cover": "open"}, "cover_open")])
def test_refused_job_raises_the_kiosk_code(printer_at, fault, code):
    adapter = printer_at("sim://printer")
    sim = adapter.driver.transport.simulator
    sim.set_fault(**fault)
    with pytest.raises(PrintFailed) as info:
        adapter.print_ticket(TICKET, "zh", lambda _f: None)
    assert info.value.code == code
    with pytest.raises(PrintFailed) as info:
        adapter.print_checklist(CATALOG.service("ss_pension"), "zh")
    assert info.value.code == code
    assert sim.jobs == [] and sim.rejected_jobs == []


def test_unplugged_printer_is_disconnected(printer_at):
    adapter = printer_at("sim://printer")
    adapter.driver.transport.simulator.unplug()
    assert (adapter.health().state, adapter.health().code) == (Health.OFFLINE, "disconnected")
    with pytest.raises(PrintFailed) as info:
        adapter.print_ticket(TICKET, "zh", lambda _f: None)
    assert info.value.code == "disconnected"


def test_id_reader_cards_and_rejections():
    events: queue.Queue = queue.Queue()
    adapter = IdCardAdapter("sim://idcard?card=absent", KEY, poll_s=0.05)
    adapter.open(lambda h: events.put(("card", h)), lambda h: events.put(("health", h)),
                 lambda r: events.put(("rejected", r)))
    try:
        seen: list[tuple] = []

        def until(kind: str) -> object:
            while True:
                seen.append(events.get(timeout=5))
                if seen[-1][0] == kind:
                    return seen[-1][1]
        until("health")
        until("health")
        assert [h.code for _k, h in seen] == ["starting", "ready"]
        assert all(h.state is Health.OK for _k, h in seen)      # starting is not an error
        sim = adapter.reader.transport.simulator
        sim.insert("bad_number")
        assert until("rejected") == "invalid_number"
        sim.insert("ouyang")
        holder = until("card")
        assert holder.display_name == "欧阳*" and holder.birth_date == "1990-03-15" and len(holder.ref) == 43
        assert ("health", (Health.OK, "card")) in [(k, (v.state, v.code)) for k, v in seen if k == "health"]
    finally:
        adapter.close()
