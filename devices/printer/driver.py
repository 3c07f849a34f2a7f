"""The ticket printer driver: a transport plus the ESC/POS profile; checks real-time status before each job."""
from __future__ import annotations

import logging
import threading
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


class PrinterListener:
    """Optional base for listeners; any object with some of these methods will do. Called on the caller's thread
    (or the monitor thread); exceptions are logged, never raised into the driver."""

    def status_changed(self, status: PrinterStatus) -> None: ...
    def printed(self, result: PrintResult) -> None: ...


class TicketPrinter:
    """`TicketPrinter("serial:///dev/ttyUSB0?baud=9600", encoding="gbk", paper_mm=80)`; open(), print_ticket(), close()."""

    def __init__(self, url: str, encoding: str = "gbk", paper_mm: int = 80, status_timeout: float = 0.5,
                 require_status: bool = False) -> None:
        self.url = url
        self.encoding = check_encoding(encoding)
        self.paper_mm = check_paper(paper_mm)
        self.status_timeout = status_timeout
        # True: refuse to print when the printer does not answer status (never on write-only links like file://)
        self.require_status = require_status
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
            result = PrintResult(len(job), status)
        self._listeners.notify("printed", result)
        return result

    def print_ticket(self, data: TicketData) -> PrintResult:
        return self.print_bytes(render_ticket(data, self.paper_mm, self.encoding))

    def print_checklist(self, title: str, items: Iterable[ChecklistItem | Mapping | str], *, lang: str = "zh",
                        hall_name: str = "", footer: str = "", steps: Sequence[str] = ()) -> PrintResult:
        return self.print_bytes(render_checklist(title, items, paper_mm=self.paper_mm, encoding=self.encoding,
                                                 lang=lang, hall_name=hall_name, footer=footer, steps=steps))
