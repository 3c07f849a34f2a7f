"""Issue 9, finding 13: the server's broker beyond loopback needs logins (or allow_anonymous, warned about); the
server's password never has to be on a command line (hall.toml [broker] password, or env:NAME)."""
from __future__ import annotations

from pathlib import Path

import pytest

from hall_server.config import Broker, load_hall_config
from hall_server.main import broker_refusal, server_broker_url
from tests.support.hall import HALL_CONFIG

CFG = load_hall_config(HALL_CONFIG)


def with_broker(**kw):  # noqa: ANN003, ANN201
    return CFG.model_copy(update={"broker": Broker(**kw)})


def test_loopback_without_logins_is_fine() -> None:
    assert broker_refusal(with_broker(), HALL_CONFIG) is None


def test_lan_without_a_password_file_is_refused_with_the_way_out() -> None:
    why = broker_refusal(with_broker(host="0.0.0.0"), Path("/etc/onewindow/hall.toml"))
    assert why and "onewindow passwd" in why and "allow_anonymous" in why


def test_allow_anonymous_is_accepted_but_warned_about() -> None:
    cfg = with_broker(host="0.0.0.0", allow_anonymous=True)
    assert broker_refusal(cfg, HALL_CONFIG) is None
    assert cfg.broker.warnings() and "allow_anonymous" in cfg.broker.warnings()[0]
    assert with_broker(host="127.0.0.1", allow_anonymous=True).broker.warnings() == []


def test_lan_with_a_password_file_starts() -> None:
    cfg = with_broker(host="0.0.0.0", username="onewindow-server", password="x", password_file="broker-passwd")
    assert broker_refusal(cfg, HALL_CONFIG) is None


def test_the_servers_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = with_broker(username="onewindow-server", password="env:OW_TEST_BROKER_PW")
    monkeypatch.delenv("OW_TEST_BROKER_PW", raising=False)
    assert "OW_TEST_BROKER_PW" in (broker_refusal(cfg, HALL_CONFIG) or "")
    monkeypatch.setenv("OW_TEST_BROKER_PW", "pa ss")
    assert cfg.broker.server_password() == "pa ss"
    url, why = server_broker_url("mqtt://onewindow-server@broker.hall:1883", cfg)
    assert why is None and url == "mqtt://onewindow-server:pa%20ss@broker.hall:1883"


def test_an_external_broker_url_takes_the_password_from_the_config_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = with_broker(username="onewindow-server", password="from-toml")
    assert server_broker_url("mqtt://onewindow-server@h:1883", cfg) == ("mqtt://onewindow-server:from-toml@h:1883",
                                                                        None)
    monkeypatch.setenv("OW_PW2", "from-env")
    assert server_broker_url("mqtt://onewindow-server:env:OW_PW2@h:1883", with_broker())[0] == \
        "mqtt://onewindow-server:from-env@h:1883"
    assert server_broker_url("mqtt://h:1883", cfg) == ("mqtt://h:1883", None)       # no user: anonymous
    monkeypatch.delenv("OW_PW3", raising=False)
    assert server_broker_url("mqtt://onewindow-server:env:OW_PW3@h:1883", cfg)[1]
