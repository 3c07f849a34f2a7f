"""`onewindow check-config PATH [--kind KIND]`: validate a config file against the schema of its kind (the hall's,
a kiosk's, a display's, a device controller's) before a role is (re)started with it."""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from hall_bus.configfile import ConfigError


@dataclass(frozen=True)
class ConfigKind:
    """One kind of config file: the role's own loader and how to tell such a file from the others."""
    name: str
    what: str
    loader: str                                 # "module:function", function(path) -> model, raises ConfigError
    tables: frozenset[str]                      # top-level keys that only this kind of file has
    summary: Callable[[Any], str]               # one line about a valid file
    # further problems found beside the file (the hall's broker password file), and a note for the OK line
    beside: Callable[[Any, Path], tuple[list[str], str]] | None = None

    def load(self, path: Path) -> Any:
        module, _, func = self.loader.partition(":")
        return getattr(import_module(module), func)(path)   # the role's module only: a kiosk check loads no server


def _hall_summary(cfg: Any) -> str:
    return (f"hall {cfg.hall.id} ({cfg.hall.name}), {len(cfg.zones)} zones, {len(cfg.services)} services, "
            f"{len(cfg.windows)} windows")


def _hall_password_file(cfg: Any, path: Path) -> tuple[list[str], str]:
    from hall_server.config import catalog_warnings
    # valid, but said: anonymous beyond loopback, a deprecated key, a catalog near the bus's message limit ...
    for warning in [*cfg.broker.warnings(), *cfg.issuing.warnings(), *catalog_warnings(cfg)]:
        print(f"{path}: warning: {warning}", file=sys.stderr)
    # deadlines, issuing and booking days need next year's holidays (chinese-calendar knows only up to its release)
    from datetime import datetime
    from zoneinfo import ZoneInfo
    for warning in cfg.hall_calendar.warnings(datetime.now(ZoneInfo(cfg.hall.timezone)).date()):
        print(f"{path}: warning: {warning}", file=sys.stderr)
    if not cfg.broker.password_file:
        return [], ""
    from hall_server.main import broker_logins
    logins, problems = broker_logins(cfg, path)
    return [f"broker.password_file: {p}" for p in problems], f", broker logins for {len(logins)} clients"


def _kiosk_summary(cfg: Any) -> str:
    devices = ", ".join(f"{name} {url}" for name, url in
                        (("printer", cfg.printer.url), ("ID-card reader", cfg.idcard.url),
                         ("scanner", cfg.scanner.url)) if url)
    return f"kiosk {cfg.id} (client {cfg.client_id}) of hall {cfg.hall}, {devices or 'no devices'}"


def _display_summary(cfg: Any) -> str:
    zones = ", ".join(cfg.zones) or "every zone"
    return (f"display {cfg.id} (client {cfg.client_id}) of hall {cfg.hall}, {cfg.orientation}, "
            f"{'+'.join(cfg.languages)}, {zones}, voice {'on' if cfg.voice.enabled else 'off'}")


def _devices_summary(cfg: Any) -> str:
    counts = ", ".join(f"{len(getattr(cfg, section))} {section}" for section in
                       ("keypads", "screens", "strips", "evaluators", "speakers"))
    return f"controller {cfg.name} (client devices-{cfg.name}) of hall {cfg.hall}, {len(cfg.buses)} buses, {counts}"


def _panel_summary(cfg: Any) -> str:
    devices = ", ".join(f"{name} {url}" for name, url in
                        (("printer", cfg.printer.url), ("ID-card reader", cfg.idcard.url)) if url)
    return f"panel of window {cfg.window} (client {cfg.client_id}) of hall {cfg.hall}, {devices or 'no devices'}"


def _console_summary(cfg: Any) -> str:
    from console.users import UsersFile
    users = UsersFile.read(Path(cfg.users_file)).users
    return (f"console {cfg.id} (client {cfg.client_id}) of hall {cfg.hall}, listening on {cfg.listen}, "
            f"{len(users)} users, sessions idle {cfg.session_idle_s} s")


def _web_summary(cfg: Any) -> str:
    return (f"web node {cfg.id} (client {cfg.client_id}) of hall {cfg.hall}, listening on {cfg.listen}, "
            f"{len(cfg.forms)} forms, booking {cfg.booking.days_ahead} days ahead")


def _staff_summary(check: Any) -> str:
    against = (f"windows and departments checked against {check.hall}" if check.hall else
               "windows and departments not checked (no hall.toml beside it names this file)")
    return f"{len(check.book.members)} staff members, PINs as argon2 hashes, {against}"


# kind -> how to load and recognise it. A role with a config file of its own adds its line here.
KINDS: dict[str, ConfigKind] = {k.name: k for k in (
    ConfigKind("hall", "the hall server's file (zones, services, windows)", "hall_server.config:load_hall_config",
               frozenset({"hall", "issuing", "priority", "supervision", "appointments", "zones", "services",
                          "windows", "device_controllers", "departments", "cases", "calendar", "sms"}),
               _hall_summary, _hall_password_file),
    ConfigKind("kiosk", "one kiosk (its printer, ID-card reader, scanner)", "kiosk.config:load",
               frozenset({"printer", "idcard", "scanner", "announcer", "hmac_key", "status_url", "idle_timeout_s",
                          "elderly_timeout_s"}),
               _kiosk_summary),
    ConfigKind("display", "one hall display (languages, calling voice)", "display_board.config:load",
               frozenset({"voice", "language_mode", "alternate_seconds", "highlight_seconds", "recent_calls"}),
               _display_summary),
    ConfigKind("devices", "the hall device controller (RS-485 buses, keypads, screens, speakers)",
               "devices.config:load_config",
               frozenset({"buses", "keypads", "screens", "strips", "evaluators", "speakers", "refresh_s",
                          "evaluation_window_s", "transfer_window_format"}),
               _devices_summary),
    ConfigKind("panel", "one window's staff panel (its receipt printer, ID-card reader)", "window_panel.config:load",
               frozenset({"window", "printer", "idcard"}), _panel_summary),
    ConfigKind("web", "a citizen web node (listen address, secrets by env:NAME, rate limits, forms)",
               "citizen_web.config:load",
               frozenset({"listen", "csrf_secret", "trusted_proxies", "booking", "limits", "forms", "forms_dir",
                          "max_body_bytes"}),
               _web_summary),
    ConfigKind("console", "the supervisor console (listen address, session secret by env:NAME, users file)",
               "console.config:load",
               frozenset({"session_secret", "session_idle_s", "session_max_s", "users_file", "followup",
                          "hall_config", "presence_timeout_s", "case_due_days", "case_poll_s"}),
               _console_summary),
    ConfigKind("staff", "the window staff file named by hall.toml [staff] file (numbers, windows, PIN hashes)",
               "hall_server.staff:check_staff_file", frozenset({"staff"}), _staff_summary),
)}


def kind_by_name(path: Path) -> ConfigKind | None:
    """hall.toml, kiosk.toml, kiosk-k2.toml, display_2f.toml ...: the first word of the file's name."""
    return KINDS.get(re.split(r"[-_.]", path.stem.lower(), maxsplit=1)[0])


def kind_by_tables(data: dict[str, Any]) -> ConfigKind | None:
    """The kind whose distinctive top-level tables and keys the file has most of; None when none or a tie."""
    scores = sorted(((len(k.tables & data.keys()), k.name) for k in KINDS.values()), reverse=True)
    (best, name), (second, _) = scores[0], scores[1]
    return KINDS[name] if best > second else None


def read_toml(path: Path) -> dict[str, Any]:
    """The raw file, or ConfigError for a file that cannot be read or is not TOML (as the loaders report it)."""
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(path, [f"(file): cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"(file): not UTF-8 at byte {exc.start}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"(syntax): {exc}"]) from None


def report_problems(path: Path, kind: ConfigKind, problems: list[str], hint: str = "") -> None:
    print(f"{path}: {len(problems)} problem(s) as a {kind.name} config" + (f" ({hint})" if hint else ""))
    print("\n".join(f"  {p}" for p in problems))


def run(argv: list[str]) -> int:
    kinds = "\n".join(f"  {k.name:<9}{k.what}" for k in KINDS.values())
    p = argparse.ArgumentParser(
        prog="onewindow check-config", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Validate a config file: exit 0, or every problem listed with its key path (exit 1).",
        epilog=f"kinds (told by the file's name, e.g. kiosk.toml, else by its tables):\n{kinds}")
    p.add_argument("path", type=Path)
    p.add_argument("--kind", choices=list(KINDS), help="check the file as this kind whatever its name")
    args = p.parse_args(argv)
    path: Path = args.path

    kind = KINDS[args.kind] if args.kind else kind_by_name(path)
    looks_like: ConfigKind | None = None
    if not args.kind:
        try:
            looks_like = kind_by_tables(read_toml(path))
        except ConfigError as err:
            if kind is None:            # nothing else to go on: the file's own problem is the answer
                print(err)
                return 1
        kind = kind or looks_like
    if kind is None:
        print(f"onewindow check-config: cannot tell which kind of config {path} is; name it after its kind "
              f"(hall.toml, kiosk.toml ...) or give --kind KIND. Kinds:\n{kinds}", file=sys.stderr)
        return 2

    try:
        cfg = kind.load(path)
    except ConfigError as err:
        hint = ""
        if looks_like is not None and looks_like is not kind:
            hint = f"its tables look like a {looks_like.name} config: --kind {looks_like.name} checks it as one"
        report_problems(path, kind, err.problems, hint)
        return 1
    beside, note = kind.beside(cfg, path) if kind.beside else ([], "")
    if beside:
        report_problems(path, kind, beside)
        return 1
    print(f"{path}: OK ({kind.name} config) — {kind.summary(cfg)}{note}")
    return 0
