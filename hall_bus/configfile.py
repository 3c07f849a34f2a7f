"""Load a TOML config file into a pydantic model; every problem is reported with its key path and value."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


def _broker_url(value: str) -> str:
    from hall_bus.client import parse_broker_url   # scheme, host, port, TLS files that exist and load
    parse_broker_url(value)
    return value


BrokerUrl = Annotated[str, AfterValidator(_broker_url)]
"""A broker URL in a config file: mqtt://host:port or mqtts://host:port?ca=PATH, checked when the file loads."""


class ConfigModel(BaseModel):
    """Base for config sections: unknown keys are errors (a typo must not pass silently)."""
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(Exception):
    """A config file that cannot be used; `problems` lists 'key.path: message (got value)' lines."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


_ROW_ID = re.compile(r"[^\s\[\].]{1,64}")     # an id that reads unambiguously inside [...] in a key path


def _row_name(rows: list[Any], index: int) -> str:
    """How a list row is named in a key path: by its `id` when it has a plain one that no other row shares
    (`services[ss_enroll]`), else by its index (`issuing.hours[1]`, or rows whose id is missing or repeated)."""
    row = rows[index] if 0 <= index < len(rows) else None
    row_id = row.get("id") if isinstance(row, dict) else None
    if isinstance(row_id, str) and _ROW_ID.fullmatch(row_id):
        if sum(1 for r in rows if isinstance(r, dict) and r.get("id") == row_id) == 1:
            return row_id
    return str(index)


def key_path(loc: tuple[Any, ...], data: Any = None) -> str:
    """The key path of a pydantic error location, e.g. `services[ss_enroll].daily_quota`. With `data` (the raw
    file as read) list rows that have an id are named by it; without it, or for rows without one, by index."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{_row_name(node, part) if isinstance(node, list) else part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def format_validation_error(exc: ValidationError, data: Any = None) -> list[str]:
    """One 'key.path: message (got value)' line per error; pass the raw data to name list rows by their id."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        problems.append(f"{key_path(loc, data)}: {msg} (got {shown})")
    return problems


def load_toml(path: str | Path, model: type[M]) -> M:
    """Read and validate path; raise ConfigError listing every problem."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(p, [f"(file): cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(p, [f"(file): not UTF-8 at byte {exc.start}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(p, [f"(syntax): {exc}"]) from None
    return validate(p, data, model)


def validate(path: str | Path, data: dict[str, Any], model: type[M]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, format_validation_error(exc, data)) from None


def parse_listen(value: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 as [::1]:8080) → (host, port); raises ValueError. The web roles' `listen`."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not HOST:PORT")
    host = host.strip("[]")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{value!r}: port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"{value!r}: port {number} is out of range")
    return host, number


def ask_twice(prompt: str) -> str | None:
    """A secret typed twice at the terminal (not echoed), for the commands that write a password or PIN hash into a
    file (`onewindow passwd`, `staff`, `console user`); None when the two differ."""
    import getpass
    first = getpass.getpass(prompt)
    return first if getpass.getpass("again: ") == first else None
