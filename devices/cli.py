"""`onewindow device ...` installer diagnostics (one JSON object on stdout each) and `onewindow devices`."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any

from devices.errors import DeviceError, IdCardError, PrinterError

WIRE_BAUDS = (9600, 115200)


def wire_seconds(nbytes: int, baud: int) -> float:
    """Time on an 8N1 line: 10 bits per byte."""
    return round(nbytes * 10 / baud, 4)


def _emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(command: str, error: str, **extra: Any) -> int:
    _emit({"ok": False, "command": command, "error": error, **extra})
    return 1


def _print_test(args: argparse.Namespace) -> int:
    from devices.printer import PrinterState, TicketPrinter, render_ticket, sample_ticket

    data = sample_ticket(args.lang)
    job = render_ticket(data, args.paper, args.encoding)
    printer = TicketPrinter(args.printer, encoding=args.encoding, paper_mm=args.paper)
    try:
        printer.open()
        result = printer.print_ticket(data)
    except PrinterError as exc:
        return _fail("print-test", str(exc), printer=args.printer, faults=list(exc.faults),
                     status=printer.last_status.to_dict() if printer.last_status else None)
    except DeviceError as exc:
        return _fail("print-test", str(exc), printer=args.printer)
    finally:
        printer.close()
    out = {"ok": True, "command": "print-test", "printer": args.printer, "paper_mm": args.paper,
           "encoding": args.encoding, "ticket": data.number, "bytes": result.bytes_sent,
           "wire_s": {str(b): wire_seconds(len(job), b) for b in WIRE_BAUDS}, "status": result.status.to_dict()}
    if result.status.state is PrinterState.UNKNOWN:
        out["warning"] = "the printer did not report its status; check that the ticket came out"
    _emit(out)
    return 0


def _status(args: argparse.Namespace) -> int:
    from devices.printer import PrinterState, TicketPrinter

    printer = TicketPrinter(args.printer, status_timeout=args.timeout)
    try:
        printer.open()
        status = printer.status()
    except DeviceError as exc:
        return _fail("status", str(exc), printer=args.printer)
    finally:
        printer.close()
    ok = status.state in (PrinterState.OK, PrinterState.WARNING)
    _emit({"ok": ok, "command": "status", "printer": args.printer, "status": status.to_dict()})
    return 0 if ok else 1


def _read_id(args: argparse.Namespace) -> int:
    from devices.idcard.diag import read_id

    try:
        result = read_id(args.port, timeout=args.timeout, show=args.show)
    except TimeoutError as exc:
        return _fail("read-id", str(exc), port=args.port)
    except IdCardError as exc:
        return _fail("read-id", str(exc), port=args.port, reason=exc.reason)
    except DeviceError as exc:
        return _fail("read-id", str(exc), port=args.port)
    _emit({"ok": True, "command": "read-id", "port": args.port, "shown": args.show, **result})
    return 0


def _delegate(command: str, module: str, func: str, call: Callable[[Callable], dict]) -> int:
    try:
        fn = getattr(import_module(module), func)
    except (ImportError, AttributeError) as exc:
        return _fail(command, f"{module}:{func} is not available ({exc})")
    try:
        result = call(fn)
    except DeviceError as exc:
        return _fail(command, str(exc))
    result = dict(result or {})
    ok = bool(result.get("ok", True))
    _emit({"ok": ok, "command": command, **{k: v for k, v in result.items() if k != "ok"}})
    return 0 if ok else 1


def _led(args: argparse.Namespace) -> int:
    return _delegate("led", "devices.led.diag", "led_command", lambda fn: fn(args.port, args.addr, args.text))


def _say(args: argparse.Namespace) -> int:
    return _delegate("say", "devices.voice.diag", "say_command", lambda fn: fn(args.text, args.out))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onewindow device", description="Installer diagnostics; each prints JSON.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("print-test", help="print the kiosk's ticket with sample data")
    p.add_argument("--printer", required=True, help="e.g. serial:///dev/ttyUSB0?baud=9600, tcp://host:9100, sim://printer")
    p.add_argument("--paper", type=int, choices=(58, 80), default=80)
    p.add_argument("--encoding", choices=("gbk", "gb18030", "utf-8"), default="gbk")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.set_defaults(run=_print_test)

    p = sub.add_parser("status", help="ask the printer's real-time status (DLE EOT)")
    p.add_argument("--printer", required=True)
    p.add_argument("--timeout", type=float, default=0.5, help="seconds to wait for each status byte")
    p.set_defaults(run=_status)

    p = sub.add_parser("read-id", help="wait for an ID card and describe it (masked unless --show)")
    p.add_argument("--port", required=True, help="e.g. serial:///dev/ttyUSB1?baud=115200, sim://idcard")
    p.add_argument("--show", action="store_true", help="print the full name, number and address (installer only)")
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(run=_read_id)

    p = sub.add_parser("led", help="show text on an LED window screen")
    p.add_argument("--port", required=True)
    p.add_argument("--addr", type=int, required=True)
    p.add_argument("--text", required=True, help="text to show (GBK on the wire)")
    p.set_defaults(run=_led)

    p = sub.add_parser("say", help="speak (or render to WAV) one phrase")
    p.add_argument("text")
    p.add_argument("--out", default=None, help="write a WAV file instead of playing")
    p.set_defaults(run=_say)
    return parser


def run_diagnostic(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return int(args.run(args))


def run_controller(argv: list[str]) -> int:
    """`onewindow devices`: the headless hall device controller (devices.controller:main)."""
    try:
        main = import_module("devices.controller").main
    except (ImportError, AttributeError) as exc:
        return _fail("devices", f"devices.controller:main is not available ({exc})")
    return int(main(argv) or 0)
