"""The ticket printer driver: a transport plus the ESC/POS profile; checks real-time status before each job and
confirms it after the job's bytes (paper may run out, or the power drop, while they arrive)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devices.errors import PrinterError, TransportError
from devices.printer.layout import (
    ChecklistItem, TicketData, check_encoding, check_paper, render_checklist, render_ticket,
)
from devices.printer.status import STATUS_QUERIES, PrinterState, PrinterStatus, decode_status
from devices.listeners import Listeners
from devices.transport import DriverPort, Transport

log = logging.getLogger(__name__)

_DRAIN_LIMIT = 64  # reads of stale input before a status query (garbage, late replies)


@dataclass(frozen=True)
class PrintResult:
    bytes_sent: int
    status: PrinterStatus  # what the printer reported just before the job was sent
    # what it reported after the job's cut (None: not asked, the printer never answers status, e.g. file://)
    confirmed: PrinterStatus | None = None


class PrinterListener:
    """Optional base for listeners; any object with some of these methods will do. Called on the caller's thread
    (or the monitor thread); exceptions are logged, never raised into the driver."""

    def status_changed(self, status: PrinterStatus) -> None: ...
    def printed(self, result: PrintResult) -> None: ...


class TicketPrinter:
    """`TicketPrinter("serial:///dev/ttyUSB0?baud=9600", encoding="gbk", paper_mm=80)`; open(), print_ticket(), close()."""

    def __init__(self, url: str, encoding: str = "gbk", paper_mm: int = 80, status_timeout: float = 0.5,
                 require_status: bool = False, confirm_delay: float = 0.0) -> None:
        self.url = url
        self.encoding = check_encoding(encoding)
        self.paper_mm = check_paper(paper_mm)
        self.status_timeout = status_timeout
        # True: refuse to print when the printer does not answer status (never on write-only links like file://)
        self.require_status = require_status
        # seconds to let the printer work through the job before asking its status again (a real printer answers
        # DLE EOT at once, while its buffer still prints: give it the time one ticket takes)
        self.confirm_delay = confirm_delay
        self._port = DriverPort(url)
        self._lock = threading.RLock()
        self._listeners = Listeners(log, f"printer {url}")
        self._last_status: PrinterStatus | None = None
        self._monitor: threading.Thread | None = None
        self._stop = threading.Event()

    # --- lifecycle -------------------------------------------------------------------------------------------
    def open(self) -> TicketPrinter:
        """Open the transport (TransportError if the port is absent; later calls retry by themselves)."""
        import escpos.printer  # noqa: F401 - load python-escpos now, not while a citizen waits for a ticket

        with self._lock:
            self._port.get()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5)
        self._monitor = None
        with self._lock:
            self._port.close()

    def __enter__(self) -> TicketPrinter:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def transport(self) -> Transport | None:
        return self._port.transport

    @property
    def last_status(self) -> PrinterStatus | None:
        return self._last_status

    def add_listener(self, listener: Any) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Any) -> None:
        self._listeners.remove(listener)

    # --- status ----------------------------------------------------------------------------------------------
    def status(self, timeout: float | None = None) -> PrinterStatus:
        """Ask DLE EOT 1..4. No answer (or an unusable one) is UNKNOWN, never OK. Notifies on change."""
        timeout = self.status_timeout if timeout is None else timeout
        with self._lock:
            try:
                transport = self._port.get()
                status = self._query(transport, timeout)
            except TransportError as exc:
                self._port.mark_broken()
                status = PrinterStatus(PrinterState.UNKNOWN, detail="disconnected")
                log.warning("printer status: %s", exc)
            self._set_status(status)
        return status

    def _query(self, transport: Transport, timeout: float) -> PrinterStatus:
        if not getattr(transport, "can_read", True):
            return PrinterStatus(PrinterState.UNKNOWN, detail="write_only")
        for _ in range(_DRAIN_LIMIT):
            if not transport.read(4096, 0):
                break
        replies: dict[int, bytes] = {}
        for n, query in STATUS_QUERIES.items():
            transport.write(query)
            reply = transport.read(1, timeout)
            if not reply:
                break  # a silent printer costs one timeout, not four
            # anything beyond one byte is noise; let decode_status judge the first byte
            replies[n] = reply + transport.read(16, 0)
            if len(replies[n]) != 1:
                break
        return decode_status(replies)

    def _set_status(self, status: PrinterStatus) -> None:
        previous, self._last_status = self._last_status, status
        if previous is None or (previous.state, previous.faults) != (status.state, status.faults):
            if status.state is not PrinterState.OK:
                log.warning("printer %s: %s %s", self.url, status.state.value, ",".join(status.faults))
            self._listeners.notify("status_changed", status)

    def start_monitor(self, interval: float = 10.0) -> None:
        """Poll status in a daemon thread so listeners hear about paper/cover changes between jobs."""
        if self._monitor is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.is_set():
                self.status()
                self._stop.wait(interval)

        self._monitor = threading.Thread(target=run, name=f"printer-monitor {self.url}", daemon=True)
        self._monitor.start()

    # --- printing --------------------------------------------------------------------------------------------
    def print_bytes(self, job: bytes) -> PrintResult:
        """Send a rendered job after checking status. PrinterError names the fault when it must not print."""
        with self._lock:
            status = self.status()
            if status.state is PrinterState.ERROR:
                raise PrinterError(self.url, f"printer cannot print: {', '.join(status.faults)}", status.faults)
            if status.state is PrinterState.UNKNOWN:
                if self.require_status:
                    raise PrinterError(self.url, f"printer status unknown ({status.detail}); not printing",
                                       status.faults)
                log.warning("printer %s: status unknown (%s); printing anyway", self.url, status.detail)
            elif status.state is PrinterState.WARNING:
                log.warning("printer %s: %s", self.url, ", ".join(status.faults))
            try:
                self._port.get().write(job)
            except TransportError as exc:
                self._port.mark_broken()
                raise PrinterError(self.url, f"print failed: {exc.message}", ("disconnected",)) from exc
            confirmed = self._confirm(status)
            result = PrintResult(len(job), status, confirmed)
        self._listeners.notify("printed", result)
        return result

    def _confirm(self, before: PrinterStatus) -> PrinterStatus | None:
        """Ask status again after the job's bytes (the cut is their end). A printer that answered before the job
        must answer fine after it: an error (paper sensor, cover, offline) or no answer at all (the power dropped)
        means the ticket may not be in the citizen's hand — PrinterError, never success."""
        if before.state is PrinterState.UNKNOWN:
            return None          # printed anyway on a link that never answers: nothing to confirm with
        if self.confirm_delay > 0:
            time.sleep(self.confirm_delay)
        after = self.status()
        if after.state is PrinterState.ERROR:
            raise PrinterError(self.url, f"print not confirmed: {', '.join(after.faults)}", after.faults)
        if after.state is PrinterState.UNKNOWN:
            raise PrinterError(self.url, f"print not confirmed: no status after the job ({after.detail})",
                               after.faults)
        return after

    def print_ticket(self, data: TicketData) -> PrintResult:
        return self.print_bytes(render_ticket(data, self.paper_mm, self.encoding))

    def print_checklist(self, title: str, items: Iterable[ChecklistItem | Mapping | str], *, lang: str = "zh",
                        hall_name: str = "", footer: str = "", steps: Sequence[str] = ()) -> PrintResult:
        return self.print_bytes(render_checklist(title, items, paper_mm=self.paper_mm, encoding=self.encoding,
                                                 lang=lang, hall_name=hall_name, footer=footer, steps=steps))
