"""ESC/POS ticket printer (取号小票打印机): the pure protocol in three parts (layout: the bytes of a ticket or a
checklist; status: DLE EOT queries and replies; scanner: bytes read back into text and commands) and the
TicketPrinter driver that puts them on a transport."""
from devices.printer.driver import PrinterListener, PrintResult, TicketPrinter
from devices.printer.layout import ChecklistItem, TicketData, render_checklist, render_ticket, sample_ticket
from devices.printer.scanner import printed_text, qr_payloads
from devices.printer.status import FAULT_TEXT_ZH, PrinterState, PrinterStatus

__all__ = [
    "FAULT_TEXT_ZH", "ChecklistItem", "PrintResult", "PrinterListener", "PrinterState", "PrinterStatus",
    "TicketData", "TicketPrinter", "printed_text", "qr_payloads", "render_checklist", "render_ticket",
    "sample_ticket",
]
