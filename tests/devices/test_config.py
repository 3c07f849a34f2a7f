"""The device controller's config file: every problem listed with its key path; the reference file loads."""
from __future__ import annotations

from pathlib import Path

import pytest

from devices.config import DevicesConfig, load_config
from hall_bus.configfile import ConfigError, validate

ROOT = Path(__file__).resolve().parents[2]


def test_config_problems_are_listed_with_key_paths() -> None:
    base = {"name": "x", "hall": "daan", "buses": {"k": {"kind": "keypad", "url": "sim://keypads"}}}
    with pytest.raises(ConfigError) as exc:
        validate("devices.toml", {**base, "keypads": [{"id": "kp", "bus": "k", "addr": 300, "window": "w1"}],
                                  "screens": [{"id": "s", "bus": "k", "addr": 1, "window": "w/1"}]}, DevicesConfig)
    assert "keypads[kp].addr" in str(exc.value) and "screens[s].window" in str(exc.value)
    # cross references are checked once every field is valid, and all listed together
    with pytest.raises(ConfigError) as exc:
        validate("devices.toml", {**base, "screens": [{"id": "led-1", "bus": "k", "addr": 1, "window": "w1"},
                                                      {"id": "led-1", "bus": "nope", "addr": 1, "window": "w1"}]},
                 DevicesConfig)
    text = str(exc.value)
    # both screens claim the id led-1, so they are told apart by index
    assert "screens[0].bus" in text and "need a bus7e bus" in text
    assert "screens[1].id: 'led-1' is used twice" in text and "no bus 'nope'" in text


def test_reference_config_loads() -> None:
    cfg = load_config(ROOT / "config" / "devices.toml")
    assert cfg.windows == {"w1", "w2", "w3"} and cfg.hall == "daan"
