"""A citizen web node's own config file (config/web.toml): who it is, where it listens, its secrets (by environment
variable only), its per-node rate limits and the downloadable forms it serves."""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, field_validator

from hall_bus.configfile import BrokerUrl, ConfigError, ConfigModel, load_toml, parse_listen
from hall_bus.payloads import HallId

__all__ = ["WebConfig", "load", "ConfigError", "PACKAGE_FORMS", "parse_listen"]

PACKAGE_FORMS = Path(__file__).resolve().parent / "forms"


def _env_only(what: str, value: str) -> str:
    """A secret of a public node is named by `env:NAME`; a literal key in a file on an internet-facing host is
    refused (the file gets copied, backed up and read by more people than the key should)."""
    if not value.startswith("env:") or not value[4:].strip():
        raise ValueError(f"write env:NAME (the environment variable that holds the {what}); a literal key in the "
                         "file of a public node is refused")
    return value


class BookingConfig(ConfigModel):
    days_ahead: int = Field(7, ge=1, le=60, description="how many days ahead the booking page lists (the server "
                                                         "answers each day's slots and may still say closed)")
    kept_days: int = Field(30, ge=1, le=3650, description="how long the hall keeps a booking's personal data after "
                                                           "the appointment day (stated on the consent form)")


class LimitsConfig(ConfigModel):
    """Per client IP, per node (each node counts on its own: N nodes let an address through N times as often)."""
    page_per_minute: int = Field(120, ge=1, le=100000)
    lookup_per_minute: int = Field(20, ge=1, le=100000, description="ticket/case lookups and live streams")
    post_per_minute: int = Field(10, ge=1, le=100000, description="form submissions")
    max_streams_per_ip: int = Field(20, ge=1, le=100000, description="open live ticket pages per address")


class FormFile(ConfigModel):
    """A downloadable form (表格下载) served by the node itself from `forms_dir`."""
    service: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    name: str = Field(min_length=1, max_length=80)
    name_en: str = Field("", max_length=120)
    file: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="a file name in forms_dir")


class WebConfig(ConfigModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,32}$", description="node name; MQTT client id web-<id>")
    hall: HallId = "daan"
    broker: BrokerUrl = "mqtt://127.0.0.1:1883"
    listen: str = "127.0.0.1:8080"
    hmac_key: str = Field(description="env:NAME — the hall's key for ID references (the kiosks' key)")
    csrf_secret: str = Field(description="env:NAME — shared by every node behind the load balancer")
    trusted_proxies: tuple[str, ...] = Field((), description="addresses/networks whose X-Forwarded-For is believed")
    request_timeout_s: float = Field(8.0, gt=0, le=60)
    max_body_bytes: int = Field(8192, ge=1024, le=1048576)
    forms_dir: str = Field("", description="where the [[forms]] files are; empty: the forms shipped with the node; "
                                           "relative paths are relative to this file")
    booking: BookingConfig = BookingConfig()
    limits: LimitsConfig = LimitsConfig()
    forms: tuple[FormFile, ...] = ()

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_listen(v)
        return v

    @field_validator("hmac_key")
    @classmethod
    def _hmac_env(cls, v: str) -> str:
        return _env_only("ID reference key", v)

    @field_validator("csrf_secret")
    @classmethod
    def _csrf_env(cls, v: str) -> str:
        return _env_only("form (CSRF) secret", v)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for net in v:
            ipaddress.ip_network(net, strict=False)
        return v

    @property
    def client_id(self) -> str:
        return f"web-{self.id}"

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)

    def forms_path(self, base: Path | None = None) -> Path:
        if not self.forms_dir:
            return PACKAGE_FORMS
        p = Path(self.forms_dir)
        return p if p.is_absolute() or base is None else base / p

    def secret(self, which: str) -> bytes:
        """The value of hmac_key or csrf_secret from the environment; ConfigError when it is not set."""
        name = getattr(self, which)[4:]
        value = os.environ.get(name, "")
        if len(value) < 16:
            raise ConfigError(which, [f"{which}: environment variable {name} is "
                                      f"{'not set' if not value else 'shorter than 16 characters'}"])
        return value.encode("utf-8")


def load(path: str | Path) -> WebConfig:
    p = Path(path)
    cfg = load_toml(p, WebConfig)
    base = p.resolve().parent
    folder = cfg.forms_path(base)
    problems = [f"forms[{i}].file: {f.file!r} is not in {folder}" for i, f in enumerate(cfg.forms)
                if not (folder / f.file).is_file()]
    if problems:
        raise ConfigError(p, problems)
    if cfg.forms_dir and not Path(cfg.forms_dir).is_absolute():
        cfg = cfg.model_copy(update={"forms_dir": str(folder)})
    return cfg
