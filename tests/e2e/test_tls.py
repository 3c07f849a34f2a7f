"""The hall bus over TLS (mqtts://) with the hall's own CA, as a hall whose LAN is shared would run it: a Mosquitto
listening for TLS only, the server and clients trusting the hall CA named in the broker URL, and nothing that
skips the certificate check."""
from __future__ import annotations

import pytest

from hall_bus import BusClient, RequestError, parse_broker_url
from tests.support.hall import Mosquitto, RunningHall, make_test_ca, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls_hall(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("tls")
    mosq = Mosquitto(tmp, tls=make_test_ca(tmp)).start()
    proc, ready, log_path = start_server(tmp / "data", broker_url=mosq.url)
    hall = RunningHall(mosq.url, ready["hall"], tmp / "data", proc, mosq, ready, log_path)
    yield hall
    hall.stop()


def test_server_and_clients_talk_over_tls_with_the_hall_ca(tls_hall: RunningHall) -> None:
    assert tls_hall.ready["broker"] == f"mqtts://127.0.0.1:{tls_hall.mosquitto.port}"   # no file paths in public
    kiosk = tls_hall.client("kiosk-tls")
    panel = tls_hall.client("panel-w1")
    try:
        t = kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})
        served = panel.request("window.call_next", {"window": "w1"})
        assert served["number"] == t["number"] and served["state"] == "serving"
    finally:
        kiosk.stop()
        panel.stop()


def test_a_broker_the_client_cannot_verify_is_never_used(tls_hall: RunningHall) -> None:
    port = tls_hall.mosquitto.port
    # the system's CAs do not know the hall CA: the TLS handshake fails, nothing falls back to plain text
    stranger = BusClient(f"mqtts://127.0.0.1:{port}", tls_hall.hall, "kiosk-stranger").start()
    plain = BusClient(f"mqtt://127.0.0.1:{port}", tls_hall.hall, "kiosk-plain").start()
    try:
        assert not stranger.wait_connected(3) and not plain.wait_connected(0.5)
        with pytest.raises(RequestError) as err:
            stranger.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"}, timeout=1)
        assert err.value.code == "timeout"
    finally:
        stranger.stop()
        plain.stop()


def test_tls_options_in_the_broker_url_are_checked(tmp_path) -> None:
    ca = make_test_ca(tmp_path)["ca"]
    a = parse_broker_url(f"mqtts://hall-server:8883?ca={ca}")
    assert (a.tls, a.port, a.ca, a.url) == (True, 8883, str(ca), "mqtts://hall-server:8883")
    with pytest.raises(ValueError, match="needs mqtts://"):
        parse_broker_url(f"mqtt://hall-server?ca={ca}")
    with pytest.raises(ValueError, match="does not exist"):
        parse_broker_url("mqtts://hall-server?ca=/nonexistent/ca.pem")
    with pytest.raises(ValueError, match="unknown option insecure"):
        parse_broker_url("mqtts://hall-server?insecure=1")
    with pytest.raises(ValueError, match="go together"):
        parse_broker_url(f"mqtts://hall-server?cert={ca}")
    garbage = tmp_path / "not-a-ca.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ValueError, match="cannot load the TLS files"):
        parse_broker_url(f"mqtts://hall-server?ca={garbage}")


def test_a_config_file_names_the_broker_key_with_a_bad_ca(tmp_path) -> None:
    from hall_bus.configfile import ConfigError
    from kiosk.config import load
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('id = "k1"\nbroker = "mqtts://hall-server:8883?ca=/etc/onewindow/missing-ca.pem"\n'
                   'hmac_key = "k"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert "broker" in str(err.value) and "missing-ca.pem" in str(err.value)


def test_the_server_refuses_a_broker_url_it_cannot_use(tmp_path) -> None:
    import subprocess
    from tests.support.hall import HALL_CONFIG, ONEWINDOW, ROOT
    garbage = tmp_path / "not-a-ca.pem"
    garbage.write_text("not a certificate\n")
    proc = subprocess.run(ONEWINDOW + ["server", "--config", str(HALL_CONFIG), "--data", str(tmp_path / "d"),
                                       "--broker", f"mqtts://127.0.0.1:8883?ca={garbage}"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert "cannot load the TLS files" in proc.stderr and "Traceback" not in proc.stderr
