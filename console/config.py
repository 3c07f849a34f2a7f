"""The supervisor console's own config file (config/console.toml): who it is on the bus, where it listens, its
session secret (by environment variable), session lifetimes, the users file, the data dir (audit log, 差评 tasks)
and the hall calendar it counts working days with."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator

from hall_bus.configfile import BrokerUrl, ConfigError, ConfigModel, load_toml, parse_listen
from hall_bus.payloads import HallId

__all__ = ["ConsoleConfig", "FollowupConfig", "load", "parse_listen", "ConfigError"]


class FollowupConfig(ConfigModel):
    """差评 follow-up (好差评 rules): every 不满意/非常不满意 becomes a task."""
    callback_days: int = Field(1, ge=1, le=30, description="回访: call the citizen back within this many working days")
    fix_days: int = Field(15, ge=1, le=90, description="整改: the fix within this many working days")


class ConsoleConfig(ConfigModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,32}$", description="console name; MQTT client id console-<id>")
    hall: HallId = "daan"
    broker: BrokerUrl = "mqtt://127.0.0.1:1883"
    listen: str = "127.0.0.1:8090"
    session_secret: str = Field(description="env:NAME — signs session cookies and form tokens (≥ 16 characters)")
    session_idle_s: int = Field(1800, ge=60, le=86400, description="a session unused this long is over")
    session_max_s: int = Field(43200, ge=300, le=7 * 86400, description="a session is over this long after login")
    users_file: str = Field(description="the users file (`onewindow console user FILE NAME ROLE` writes it); "
                                        "relative to this file")
    data_dir: str = Field("console-data", description="audit log and 差评 tasks; relative to this file")
    hall_config: str = Field("", description="the hall's hall.toml, for working days (statutory holidays and 调休); "
                                             "empty: Monday–Friday")
    presence_timeout_s: int = Field(30, ge=5, le=3600, description="a device whose owner has not been heard of "
                                                                   "for this long after going silent is offline")
    case_due_days: int = Field(3, ge=0, le=60, description="cases due within this many days are listed")
    case_poll_s: int = Field(60, ge=10, le=3600, description="how often case.list is asked")
    request_timeout_s: float = Field(8.0, gt=0, le=60)
    trusted_proxies: tuple[str, ...] = Field((), description="addresses whose X-Forwarded-For is believed")
    followup: FollowupConfig = FollowupConfig()

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_listen(v)
        return v

    @field_validator("session_secret")
    @classmethod
    def _secret_env(cls, v: str) -> str:
        if not v.startswith("env:") or not v[4:].strip():
            raise ValueError("write env:NAME (the environment variable that holds the session secret); a literal "
                             "secret in the file is refused")
        return v

    @property
    def client_id(self) -> str:
        return f"console-{self.id}"

    def secret(self) -> bytes:
        """The session secret from the environment; ConfigError when it is not set or too short."""
        name = self.session_secret[4:]
        value = os.environ.get(name, "")
        if len(value) < 16:
            raise ConfigError("session_secret", [f"session_secret: environment variable {name} is "
                                                 f"{'not set' if not value else 'shorter than 16 characters'}"])
        return value.encode("utf-8")


def load(path: str | Path) -> ConsoleConfig:
    """Load and validate; relative paths (users file, data dir, hall config) become relative to the file. The users
    file is checked here too, so check-config reports a bad hash or role with its line."""
    p = Path(path)
    cfg = load_toml(p, ConsoleConfig)
    base = p.resolve().parent

    def rel(value: str) -> str:
        return value if not value or Path(value).is_absolute() else str(base / value)

    cfg = cfg.model_copy(update={"users_file": rel(cfg.users_file), "data_dir": rel(cfg.data_dir),
                                 "hall_config": rel(cfg.hall_config)})
    problems: list[str] = []
    if cfg.hall_config and not Path(cfg.hall_config).is_file():
        problems.append(f"hall_config: {cfg.hall_config} does not exist")
    from console.users import UsersFile
    users = UsersFile.read(Path(cfg.users_file))
    problems += [f"users_file: {p}" for p in users.problems]
    if problems:
        raise ConfigError(p, problems)
    return cfg
