"""The kiosk's own config file (config/kiosk.toml): who it is, where the broker and its devices are."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from hall_bus.configfile import BrokerUrl, ConfigModel, ConfigError, load_toml
from hall_bus.payloads import HallId

__all__ = ["KioskConfig", "PrinterConfig", "DeviceConfig", "load", "ConfigError"]


DEVICE_SCHEMES = ("serial", "tcp", "file", "sim")


class PrinterConfig(ConfigModel):
    """The ticket printer. Its URL has no default: a kiosk prints into the simulator only when its file says
    `sim://printer`, never because a line was forgotten."""
    url: str = Field("", validate_default=True,
                     description="serial:///dev/onewindow-printer?baud=115200 | tcp://HOST:9100 | "
                                 "file:///dev/usb/lp0 | sim://printer (the simulator)")
    encoding: Literal["gbk", "gb18030", "utf-8"] = "gbk"
    paper_mm: Literal[58, 80] = 80
    poll_s: float = Field(2.0, gt=0, le=60, description="status poll interval while idle")

    @field_validator("url")
    @classmethod
    def _device_url(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("the kiosk needs its ticket printer's URL: write [printer] url = \"serial:///dev/...\" "
                             "(or \"sim://printer\" for the simulator)")
        scheme = v.split("://", 1)[0].lower() if "://" in v else ""
        if scheme not in DEVICE_SCHEMES:
            raise ValueError(f"is not a device URL ({', '.join(s + '://' for s in DEVICE_SCHEMES)})")
        return v


class DeviceConfig(ConfigModel):
    url: str = ""


class IdCardConfig(ConfigModel):
    url: str = ""
    poll_s: float = Field(0.5, gt=0, le=10, description="find-card poll interval")


class AnnouncerConfig(ConfigModel):
    """Spoken prompts at the kiosk (devices.voice synthesizer); off unless the terminal has a speaker."""
    enabled: bool = False
    output: str = Field("default", description="ALSA device, 'dir:PATH' or 'none'")
    rate: int = Field(170, ge=80, le=450)


class KioskConfig(ConfigModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,32}$", description="kiosk name; MQTT client id kiosk-<id>")
    hall: HallId = "daan"
    broker: BrokerUrl = "mqtt://127.0.0.1:1883"
    language: Literal["zh", "en"] = "zh"
    idle_timeout_s: float = Field(45.0, gt=0, le=600)
    elderly_timeout_s: float = Field(90.0, gt=0, le=1200)
    request_timeout_s: float = Field(8.0, gt=0, le=60)
    hmac_key: str = Field(min_length=1, description="literal key, or env:VARNAME")
    orientation: Literal["portrait", "landscape"] = "portrait"
    fullscreen: bool = True
    printer: PrinterConfig = Field(default_factory=dict, validate_default=True)   # [printer] url is required
    idcard: IdCardConfig = IdCardConfig()
    scanner: DeviceConfig = DeviceConfig()
    announcer: AnnouncerConfig = AnnouncerConfig()
    case_prefix: str = Field("DA", pattern=r"^[A-Z]{1,6}$",
                             description="the hall's case-number prefix (hall.toml [cases] number_prefix): the case "
                                         "query starts with it, so a citizen types only the sequence and the code")

    status_url: str | None = Field(None, exclude=True, description="moved to hall.toml: refused with a hint")

    @field_validator("status_url")
    @classmethod
    def _status_url_moved(cls, v: str | None) -> None:
        if v is not None:
            raise ValueError("no longer a kiosk setting: the ticket's QR link comes from the hall (hall.toml [hall] "
                             "status_url, with {token}); remove it here")
        return None

    @property
    def client_id(self) -> str:
        return f"kiosk-{self.id}"

    def device_id(self, kind: str) -> str:
        return f"{kind}-{self.id}"

    def resolve_hmac_key(self) -> bytes:
        """The key for ID references; `env:NAME` reads it from the environment at start."""
        if self.hmac_key.startswith("env:"):
            name = self.hmac_key[4:]
            value = os.environ.get(name)
            if not value:
                raise ConfigError("hmac_key", [f"hmac_key: environment variable {name} is not set"])
            return value.encode("utf-8")
        return self.hmac_key.encode("utf-8")


def load(path: str | Path) -> KioskConfig:
    return load_toml(path, KioskConfig)
