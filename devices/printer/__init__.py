"""ESC/POS ticket printer (取号小票打印机): pure protocol plus the TicketPrinter driver."""
from devices.printer.driver import PrinterListener, PrintResult, TicketPrinter
from devices.printer.protocol import (
    FAULT_TEXT_ZH, ChecklistItem, PrinterState, PrinterStatus, TicketData, printed_text, render_checklist,
    render_ticket, sample_ticket,
)

__all__ = [
    "FAULT_TEXT_ZH", "ChecklistItem", "PrintResult", "PrinterListener", "PrinterState", "PrinterStatus",
    "TicketData", "TicketPrinter", "printed_text", "render_checklist", "render_ticket", "sample_ticket",
]
