"""The panel's own config file (config/panel.toml): which window it is, the broker, and the window's optional receipt
printer and ID-card reader. Command-line flags override the file."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from hall_bus.configfile import BrokerUrl, ConfigError, ConfigModel, load_toml
from hall_bus.payloads import HallId

__all__ = ["PanelConfig", "PanelPrinter", "PanelIdCard", "load", "ConfigError"]

DEVICE_SCHEMES = ("serial", "tcp", "file", "sim")


def _device_url(v: str) -> str:
    v = v.strip()
    if v and (v.split("://", 1)[0].lower() if "://" in v else "") not in DEVICE_SCHEMES:
        raise ValueError(f"is not a device URL ({', '.join(s + '://' for s in DEVICE_SCHEMES)}); leave it empty "
                         "for none")
    return v


class PanelPrinter(ConfigModel):
    """The window's receipt printer for the 受理通知书 / 一次性告知书 / 不予受理通知书. Empty: notices show on screen."""
    url: str = Field("", description="serial:///dev/ttyUSB0?baud=115200 | tcp://HOST:9100 | file:///dev/usb/lp0 | "
                                     "sim://printer (the simulator) | empty: no printer")
    encoding: Literal["gbk", "gb18030", "utf-8"] = "gbk"
    paper_mm: Literal[58, 80] = 80

    _url = field_validator("url")(classmethod(lambda cls, v: _device_url(v)))


class PanelIdCard(ConfigModel):
    """The window's ID-card reader: a card on it fills in the applicant's name and number. Empty: typed."""
    url: str = Field("", description="serial:///dev/ttyUSB1?baud=115200 | sim://idcard | empty: no reader")
    poll_s: float = Field(0.5, gt=0, le=10, description="find-card poll interval")

    _url = field_validator("url")(classmethod(lambda cls, v: _device_url(v)))


class PanelConfig(ConfigModel):
    window: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="window id, e.g. w15; client panel-<window>")
    hall: HallId = "daan"
    broker: BrokerUrl = "mqtt://127.0.0.1:1883"
    language: Literal["zh", "en"] = "zh"
    printer: PanelPrinter = PanelPrinter()
    idcard: PanelIdCard = PanelIdCard()
    sign_in_screen: bool = Field(True, description="open on the staff sign-in screen (it can be skipped; calling "
                                                   "waits for a sign-in only when the server answers not_signed_in)")

    @property
    def client_id(self) -> str:
        return f"panel-{self.window}"


def load(path: str | Path) -> PanelConfig:
    return load_toml(path, PanelConfig)
