"""TicketPrinter against the ESC/POS printer simulator over a pseudo-terminal, through every fault."""
from __future__ import annotations

import pytest

from devices.errors import PrinterError
from devices.printer import PrinterState, TicketPrinter, printed_text, render_ticket, sample_ticket


class Listener:
    def __init__(self) -> None:
        self.statuses = []
        self.results = []

    def status_changed(self, status) -> None:
        self.statuses.append(status)

    def printed(self, result) -> None:
        self.results.append(result)


@pytest.fixture
def printer():
    p = TicketPrinter("sim://printer", status_timeout=0.2)
    p.open()
    yield p
    p.close()


def test_prints_the_kiosk_ticket_and_the_printer_receives_exactly_it(printer):
    listener = Listener()
    printer.add_listener(listener)
    data = sample_ticket("zh")
    result = printer.print_ticket(data)
    sim = printer.transport.simulator
    assert sim.wait_jobs(1)
    expected = render_ticket(data, 80, "gbk")
    assert result.bytes_sent == len(expected) and result.status.state is PrinterState.OK
    assert sim.jobs == [expected]
    assert sim.printed_texts()[0].startswith("大安区政务服务中心\n社会保障服务区\nA023\n养老保险业务\n")
    assert [s.state for s in listener.statuses] == [PrinterState.OK]
    assert listener.results == [result]


@pytest.mark.parametrize("fault, faults", [
    ({"paper": "out"}, ("paper_end", "offline")),
    ({"cover": "open"}, ("cover_open", "offline")),
    ({"cutter": "error"}, ("cutter_error", "offline")),
    ({"offline": True}, ("offline",)),
])
def test_refuses_to_print_naming_the_fault(printer, fault, faults):
    sim = printer.transport.simulator
    sim.set_fault(**fault)
    with pytest.raises(PrinterError) as info:
        printer.print_ticket(sample_ticket())
    assert info.value.faults == faults
    assert str(info.value).startswith("sim://printer: printer cannot print: " + faults[0])
    assert sim.jobs == [] and sim.rejected_jobs == []  # nothing was sent
    sim.set_fault(paper="ok", cover="closed", cutter="ok", offline=False)  # fixed at runtime
    printer.print_ticket(sample_ticket())
    assert sim.wait_jobs(1) and len(sim.jobs) == 1


def test_paper_near_end_prints_but_warns_listeners(printer):
    listener = Listener()
    printer.add_listener(listener)
    printer.transport.simulator.set_fault(paper="near_end")
    result = printer.print_ticket(sample_ticket())
    assert result.status.state is PrinterState.WARNING
    assert listener.statuses[-1].faults == ("paper_near_end",)
    assert printer.transport.simulator.wait_jobs(1)


def test_status_changes_are_reported_once_each(printer):
    listener = Listener()
    printer.add_listener(listener)
    sim = printer.transport.simulator
    for paper in ("ok", "ok", "near_end", "near_end", "out", "ok"):
        sim.set_fault(paper=paper)
        printer.status()
    assert [s.state for s in listener.statuses] == [PrinterState.OK, PrinterState.WARNING, PrinterState.ERROR,
                                                    PrinterState.OK]


def test_silent_printer_is_unknown_never_fine():
    p = TicketPrinter("sim://printer?silent=1", status_timeout=0.1)
    try:
        p.open()
        status = p.status()
        assert status.state is PrinterState.UNKNOWN and status.faults == ("no_reply",)
        assert status.paper_end is None
        # by default a printer that cannot report status still gets the job (USB/parallel printers never answer)
        p.print_ticket(sample_ticket())
        sim = p.transport.simulator
        assert sim.wait_jobs(1)
        assert sim.status_queries == 2  # one unanswered query per status check, not four timeouts each
    finally:
        p.close()


def test_require_status_refuses_a_silent_printer():
    p = TicketPrinter("sim://printer?silent=1", status_timeout=0.1, require_status=True)
    try:
        with pytest.raises(PrinterError, match="status unknown"):
            p.print_ticket(sample_ticket())
    finally:
        p.close()


def test_garbage_replies_are_unknown(printer):
    sim = printer.transport.simulator
    sim.set_fault(garbage=True)
    assert printer.status().detail == "bad_reply"
    sim.set_fault(garbage=False)
    assert printer.status().state is PrinterState.OK  # stale noise is drained before asking again


def test_unplug_then_replug(printer):
    sim = printer.transport.simulator
    sim.unplug()
    status = printer.status()
    assert status.state is PrinterState.UNKNOWN and status.detail == "disconnected"
    sim.replug()
    assert printer.status().state is PrinterState.OK
    printer.print_ticket(sample_ticket())
    assert sim.wait_jobs(1)


def test_write_failure_while_printing_is_a_printer_error(printer):
    sim = printer.transport.simulator
    sim.unplug()
    with pytest.raises(PrinterError) as info:
        printer.print_bytes(b"\x1b@hello\n")
    assert info.value.faults == ("disconnected",)


def test_58mm_gb18030_printer_and_checklist():
    p = TicketPrinter("sim://printer?encoding=gb18030", encoding="gb18030", paper_mm=58, status_timeout=0.2)
    try:
        p.open()
        p.print_ticket(sample_ticket("en"))
        p.print_checklist("城乡居民养老保险参保登记", [{"name": "居民身份证", "copies": 1, "original": True}])
        sim = p.transport.simulator
        assert sim.wait_jobs(2)
        texts = sim.printed_texts()
        assert "Pension insurance" in texts[0]
        assert "1. 居民身份证（原件1份）" in texts[1]
        assert printed_text(sim.jobs[1], "gb18030") == texts[1]
    finally:
        p.close()


def test_file_printer_gets_the_bytes(tmp_path):
    path = tmp_path / "ticket.bin"
    with TicketPrinter(f"file://{path}") as p:
        result = p.print_ticket(sample_ticket())
    assert result.status.state is PrinterState.UNKNOWN and result.status.faults == ("write_only",)
    assert path.read_bytes() == render_ticket(sample_ticket())


@pytest.mark.parametrize("fault, faults", [
    ("paper_out", ("paper_end", "offline")),
    ("cover_open", ("cover_open", "offline")),
])
def test_a_fault_while_the_job_arrives_is_not_a_success(printer, fault, faults):
    """The status check before the job passes; the roll ends (or the cover opens) while the bytes arrive."""
    listener = Listener()
    printer.add_listener(listener)
    sim = printer.transport.simulator
    sim.set_fault(mid_job=fault)
    with pytest.raises(PrinterError) as info:
        printer.print_ticket(sample_ticket())
    assert info.value.faults == faults
    assert str(info.value).startswith("sim://printer: print not confirmed: " + faults[0])
    assert sim.jobs == [] and len(sim.rejected_jobs) == 1     # the job reached a printer that could not print it
    assert listener.results == []                               # never reported as printed
    assert printer.last_status.state is PrinterState.ERROR


def test_power_lost_while_the_job_arrives_is_not_a_success(printer):
    sim = printer.transport.simulator
    sim.set_fault(mid_job="power_loss")
    with pytest.raises(PrinterError) as info:
        printer.print_ticket(sample_ticket())
    assert info.value.faults == ("no_reply",)
    assert "print not confirmed: no status after the job" in str(info.value)
    assert sim.jobs == [] and sim.rejected_jobs == [] and len(sim.lost_jobs) == 1
    assert printer.last_status.state is PrinterState.UNKNOWN
    sim.set_fault(silent=False)                                 # power back
    result = printer.print_ticket(sample_ticket())
    assert result.confirmed is not None and result.confirmed.state is PrinterState.OK
    assert len(sim.jobs) == 1


def test_a_printed_job_is_confirmed_by_the_status_after_it(printer):
    result = printer.print_ticket(sample_ticket())
    assert result.confirmed is not None and result.confirmed.state is PrinterState.OK
    assert printer.transport.simulator.status_queries == 8       # four queries before the job, four after


def test_mid_job_fault_from_the_url():
    with TicketPrinter("sim://printer?mid_job=paper_out", status_timeout=0.2) as p:
        with pytest.raises(PrinterError):
            p.print_ticket(sample_ticket())
