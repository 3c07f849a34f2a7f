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
