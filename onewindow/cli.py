"""The one command line, `onewindow ROLE [options]`: one sub-command per role, each role's module imported only
when that role runs (so the kiosk never loads the server, and the headless roles never load Qt)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Command:
    name: str
    target: str     # "module:function"; the function takes the arguments after the command and returns an exit code
    help: str


# One line per role, in the order `onewindow --help` lists them. A new role adds its line here and keeps its own
# argument parsing in its package's run(argv).
COMMANDS: tuple[Command, ...] = (
    Command("server", "hall_server.main:run", "the hall server: allocation engine, SQLite record, embedded broker"),
    Command("kiosk", "kiosk.app:run", "the citizen touchscreen (printer, ID-card reader, QR scanner)"),
    Command("panel", "window_panel.app:run", "the staff software caller of one window"),
    Command("display", "display_board.app:run", "the hall display (综合屏) and calling voice"),
    Command("devices", "devices.cli:run_controller", "keypads, LED screens, evaluators and speakers on RS-485"),
    Command("device", "devices.cli:run_diagnostic", "installer diagnostics for one device"),
    Command("web", "citizen_web.main:run", "the citizen web node: ticket, hall, guide, booking, case pages"),
    Command("console", "console.main:run", "the supervisor console (值班长): live hall, alerts, 差评 tasks, actions"),
    Command("check-config", "onewindow.check_config:run", "validate a config file (hall, kiosk, display, devices, panel, web, console, staff)"),
    Command("passwd", "hall_server.passwords:run", "set a client's broker login in the password file"),
    Command("staff", "hall_server.staff:run", "add window staff or set a PIN in the staff file (argon2)"),
    Command("report", "hall_server.report:run", "daily statistics (HTML with charts, CSV)"),
    Command("demo", "onewindow.demo:run", "everything at once with simulated devices and a crowd"),
)
BY_NAME = {c.name: c for c in COMMANDS}


def parser() -> argparse.ArgumentParser:
    width = max(len(c.name) for c in COMMANDS) + 2
    listing = "\n".join(f"  {c.name:<{width}}{c.help}" for c in COMMANDS)     # one line per role, never wrapped
    p = argparse.ArgumentParser(prog="onewindow", usage="onewindow COMMAND [options]",
                                description="OneWindow (一窗): one command per role of the hall.",
                                epilog=f"commands:\n{listing}\n\n`onewindow COMMAND --help` lists the options of one command.",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True, help=argparse.SUPPRESS)
    for c in COMMANDS:
        sub.add_parser(c.name, add_help=False)   # the role parses its own options, --help included
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Only the first word is ours; argparse exits 2 with the usage on no command or an unknown one, 0 on --help.
    command = BY_NAME[parser().parse_args(argv[:1]).command]
    module, _, func = command.target.partition(":")
    try:
        run = getattr(import_module(module), func)
    except ImportError as exc:
        print(f"onewindow {command.name}: cannot load {module}: {exc}", file=sys.stderr)
        return 1
    return int(run(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
