"""Broker URLs as every role gives them (mqtt://user:password@host:port, mqtts://)."""
from __future__ import annotations

import pytest

from hall_bus import parse_broker_url


def test_broker_urls() -> None:
    a = parse_broker_url("mqtt://user:p%40ss@hall.local:1884")
    assert (a.host, a.port, a.username, a.password, a.tls) == ("hall.local", 1884, "user", "p@ss", False)
    assert parse_broker_url("mqtts://h").port == 8883
    with pytest.raises(ValueError, match="scheme"):
        parse_broker_url("http://h")


def test_a_password_may_come_from_the_environment_never_the_command_line(monkeypatch) -> None:
    monkeypatch.setenv("PANEL_W15_PASSWORD", "s3cret")
    assert parse_broker_url("mqtt://panel-w15:env:PANEL_W15_PASSWORD@hall:1883").password == "s3cret"
    monkeypatch.delenv("PANEL_W15_PASSWORD")
    with pytest.raises(ValueError, match="PANEL_W15_PASSWORD is not set"):
        parse_broker_url("mqtt://panel-w15:env:PANEL_W15_PASSWORD@hall")
