"""Load a TOML config file into a pydantic model; every problem is reported with its key path and value."""
from __future__ import annotations

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


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        problems.append(f"{_key_path(loc)}: {msg} (got {shown})")
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
        raise ConfigError(path, format_validation_error(exc)) from None
