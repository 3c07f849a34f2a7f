"""config/devices.toml, the hall device controller's file: its buses, the devices on them and the window or zone
each serves, its speakers; cross-references between the sections are checked once every field is valid."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from hall_bus.configfile import BrokerUrl, ConfigError, ConfigModel, load_toml
from hall_bus.payloads import ID_PATTERN, HallId

__all__ = ["BusConfig", "KeypadConfig", "ScreenConfig", "StripConfig", "EvaluatorConfig", "SpeakerConfig",
           "DevicesConfig", "load_config", "ConfigError"]

_ID = ID_PATTERN      # ids as the bus declares them


class BusConfig(ConfigModel):
    kind: Literal["keypad", "bus7e"]
    url: str = Field(min_length=1, description="transport URL: serial:///dev/ttyUSB0?baud=9600, sim://keypads?addrs=1")
    poll_interval_s: float = Field(0.1, gt=0, le=10, description="7E: pause between poll rounds; keypad: idle read")
    reply_timeout_s: float = Field(0.2, gt=0, le=5, description="wait for an ACK/NAK (7E) or an echo (keypad)")
    retries: int = Field(3, ge=0, le=3, description="re-sends with the same SEQ after the first attempt")
    offline_retry_s: float = Field(3.0, gt=0, le=600, description="7E: how often an offline device is tried again")
    expect_echo: bool = Field(True, description="keypad: keypads echo host commands (health check)")
    repeat_window_s: float = Field(0.6, gt=0, le=5, description="keypad: the same key report again within this "
                                   "time is the keypad repeating it (our echo was lost), not a new press")


class _Device(ConfigModel):
    id: str = Field(pattern=_ID, description="device id for device/{controller client id}/{id}/status")
    bus: str
    addr: int = Field(ge=1, le=255)


class KeypadConfig(_Device):
    window: str = Field(pattern=_ID)
    prefix: str | None = Field(None, pattern=r"^[A-Z]{1,2}$", description="letters for a 3-digit call-back number")
    transfer_to: str | None = Field(None, pattern=_ID, description="target window of the transfer key alone")


class ScreenConfig(_Device):
    window: str = Field(pattern=_ID)
    brightness: int | None = Field(None, ge=0, le=100)


class StripConfig(_Device):
    zone: str = Field(pattern=_ID)
    zone_name: str | None = None
    brightness: int | None = Field(None, ge=0, le=100)


class EvaluatorConfig(_Device):
    window: str = Field(pattern=_ID)


class SpeakerConfig(ConfigModel):
    id: str = Field(pattern=_ID)
    zones: list[str] = Field(default_factory=list, description="zones announced here; empty = every zone")
    voice: dict[str, Any] = Field(default_factory=dict, description="devices.voice.VoiceConfig options")

    @field_validator("voice")
    @classmethod
    def _voice_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            from devices.voice import VoiceConfig
        except ImportError:          # checked again (and reported) when the controller starts
            return value
        VoiceConfig.model_validate(value)
        return value


class DevicesConfig(ConfigModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$", description="client id is devices-{name}")
    hall: HallId
    broker: BrokerUrl = "mqtt://127.0.0.1:1883"
    refresh_s: float = Field(30.0, gt=0, le=3600, description="re-send screen and keypad contents this often")
    evaluation_window_s: float = Field(600.0, gt=0, description="a grade binds to a ticket finished this recently")
    transfer_window_format: str = Field("w{n}", description="window id from the digits typed before the transfer key")
    buses: dict[str, BusConfig] = Field(default_factory=dict)
    keypads: list[KeypadConfig] = Field(default_factory=list)
    screens: list[ScreenConfig] = Field(default_factory=list)
    strips: list[StripConfig] = Field(default_factory=list)
    evaluators: list[EvaluatorConfig] = Field(default_factory=list)
    speakers: list[SpeakerConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> "DevicesConfig":
        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        seen_ids: set[str] = set()
        seen_addr: dict[tuple[str, int], str] = {}
        for section in ("keypads", "screens", "strips", "evaluators"):
            for i, dev in enumerate(getattr(self, section)):
                if dev.id in seen_ids:
                    problems.append(((section, i, "id"), f"{dev.id!r} is used twice", dev.id))
                seen_ids.add(dev.id)
                bus = self.buses.get(dev.bus)
                if bus is None:
                    problems.append(((section, i, "bus"), f"no bus {dev.bus!r} (known: {', '.join(self.buses) or 'none'})",
                                     dev.bus))
                    continue
                if section != "keypads" and bus.kind != "bus7e":
                    problems.append(((section, i, "bus"), f"{section} need a bus7e bus, {dev.bus!r} is {bus.kind}",
                                     dev.bus))
                if bus.kind == "bus7e" and dev.addr > 0xEF:
                    problems.append(((section, i, "addr"), "7E device addresses are 1..239", dev.addr))
                other = seen_addr.get((dev.bus, dev.addr))
                if other:
                    problems.append(((section, i, "addr"), f"{dev.addr} on bus {dev.bus!r} is already {other!r}",
                                     dev.addr))
                seen_addr[(dev.bus, dev.addr)] = dev.id
        for i, spk in enumerate(self.speakers):
            if spk.id in seen_ids:
                problems.append((("speakers", i, "id"), f"{spk.id!r} is used twice", spk.id))
            seen_ids.add(spk.id)
        if "{n}" not in self.transfer_window_format:
            problems.append((("transfer_window_format",), "must contain {n}", self.transfer_window_format))
        if problems:
            raise ValidationError.from_exception_data("DevicesConfig", [
                {"type": PydanticCustomError("reference", msg), "loc": loc, "input": value}
                for loc, msg, value in problems])
        return self

    @property
    def windows(self) -> set[str]:
        return {d.window for d in [*self.keypads, *self.screens, *self.evaluators]}


def load_config(path: str | Path) -> DevicesConfig:
    return load_toml(path, DevicesConfig)
