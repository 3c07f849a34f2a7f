"""display.toml: what one hall display shows and whether (and where) it speaks the calls."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from hall_bus.configfile import BrokerUrl, ConfigModel, load_toml
from hall_bus.payloads import HallId

Lang = Literal["zh", "en"]


class VoiceConfig(ConfigModel):
    """Calling voice played by this display (devices.voice.Announcer)."""
    enabled: bool = False
    # "default" (ALSA default), an ALSA device such as "plughw:1,0", or "dir:PATH" (write WAV clips: tests, bench)
    output: str = "default"
    repeat: int = Field(default=2, ge=1, le=5)
    languages: list[Lang] = Field(default_factory=lambda: ["zh"], min_length=1)
    chime: bool = True
    # zone id -> output, for halls with one speaker group per zone; zones not listed use `output`
    speakers: dict[str, str] = Field(default_factory=dict)

    @field_validator("output")
    @classmethod
    def _output(cls, value: str) -> str:
        if value.startswith("dir:") and len(value) <= 4:
            raise ValueError("dir: needs a path, e.g. dir:/var/lib/onewindow/voice")
        if not value:
            raise ValueError("must not be empty")
        return value


class DisplayConfig(ConfigModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,48}$")
    hall: HallId = "daan"
    broker: BrokerUrl = "mqtt://127.0.0.1:1883"
    orientation: Literal["landscape", "portrait"] = "landscape"
    languages: list[Lang] = Field(default_factory=lambda: ["zh", "en"], min_length=1, max_length=2)
    # "both": the first language large, the second beneath it; "alternate": switch every alternate_seconds
    language_mode: Literal["both", "alternate"] = "both"
    alternate_seconds: int = Field(default=8, ge=2, le=120)
    zones: list[str] = Field(default_factory=list)   # empty: every zone of the catalog
    highlight_seconds: float = Field(default=6.0, ge=0.5, le=60)
    recent_calls: int = Field(default=8, ge=3, le=10)
    fullscreen: bool = True
    voice: VoiceConfig = Field(default_factory=VoiceConfig)

    @property
    def client_id(self) -> str:
        return f"display-{self.id}"


def load(path: str | Path) -> DisplayConfig:
    return load_toml(path, DisplayConfig)
