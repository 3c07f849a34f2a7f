"""The one command line: `onewindow <role> ...`; each role's module is imported only when used."""
from __future__ import annotations

import sys
from importlib import import_module

# command -> (module, function(argv) -> exit code, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "server": ("hall_server.main", "run", "the hall server (allocation, store, embedded broker)"),
    "check-config": ("hall_server.main", "check_config", "validate a config file"),
    "passwd": ("hall_server.passwords", "run", "set a client's broker password (Mosquitto format)"),
    "report": ("hall_server.report", "run", "daily statistics (HTML + CSV)"),
    "demo": ("hall_server.demo", "run", "the whole hall on one machine with simulated devices"),
    "kiosk": ("kiosk.app", "run", "the citizen touchscreen"),
    "panel": ("window_panel.app", "run", "the staff software caller of one window"),
    "display": ("display_board.app", "run", "the hall display (综合屏)"),
    "devices": ("devices.cli", "run_controller", "the headless hall device controller"),
    "device": ("devices.cli", "run_diagnostic", "installer diagnostics for one device"),
}


def usage() -> str:
    lines = ["usage: onewindow COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<13} {help_}" for name, (_m, _f, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"onewindow: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, func, _help = COMMANDS[name]
    try:
        fn = getattr(import_module(module), func)
    except ImportError as exc:
        print(f"onewindow {name}: cannot load {module}: {exc}", file=sys.stderr)
        return 1
    return int(fn(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
