"""The broker password file (Mosquitto format): hashing, checking, reading with per-line problems, editing."""
from __future__ import annotations

import pytest

from hall_server.config import Broker
from hall_server.passwords import check_hash, hash_password, read_password_file, set_password, verify

# made by mosquitto_passwd 2.0.11: kiosk-k1 / s3cret ($7$, PBKDF2-SHA512) and kiosk-k2 / other (-H sha512, $6$)
MOSQUITTO_7 = ("$7$101$pdPgCI/zVuabjXHl$B09lMRGowaxcs3aGLI54br10QZm8ynYteK4vwD3mh4RDqmWK8I9pgvUdQjmiK9r4nEaz"
               "ctrhCO86p01cK7D/nQ==")
MOSQUITTO_6 = "$6$ijLaKaYmOiKekFfx$OIlMTr3vXc4MaX0J/PYEQWJEUqs/ChBvpAtHSuPeh6V66kFBEiCQe4JRvfptBn/rXJyjEpeeMoHaRk9v927z9g=="


def test_mosquitto_hashes_verify_and_ours_round_trip() -> None:
    assert verify(MOSQUITTO_7, "s3cret") and not verify(MOSQUITTO_7, "s3cret ")
    assert verify(MOSQUITTO_6, "other") and not verify(MOSQUITTO_6, "Other")
    ours = hash_password("好长的口令 with spaces")
    assert ours.startswith("$7$") and check_hash(ours) is None
    assert verify(ours, "好长的口令 with spaces") and not verify(ours, "好长的口令")
    assert hash_password("x") != hash_password("x")          # salted


def test_reading_lists_bad_lines_and_keeps_the_good(tmp_path) -> None:
    f = tmp_path / "broker-passwd"
    f.write_text(f"# hall logins\nkiosk-k1:{MOSQUITTO_7}\n\nkiosk-k2:{MOSQUITTO_6}\nkiosk k3:{MOSQUITTO_6}\n"
                 f"kiosk-k1:{MOSQUITTO_6}\npanel-w1:$5$abc$def\n")
    pf = read_password_file(f)
    assert pf.hashes == {"kiosk-k1": MOSQUITTO_7, "kiosk-k2": MOSQUITTO_6}
    assert [p.split(": ", 1)[1] for p in pf.problems] == [
        "line 5: client id 'kiosk k3' is not a client id", "line 6: kiosk-k1 appears twice",
        "line 7: unknown hash format (expected $7$… from mosquitto_passwd or onewindow passwd)"]


def test_setting_a_password_replaces_only_that_client(tmp_path) -> None:
    f = tmp_path / "broker-passwd"
    f.write_text(f"# keep me\nkiosk-k1:{MOSQUITTO_7}\nkiosk-k2:{MOSQUITTO_6}\n")
    set_password(f, "kiosk-k1", "new-password")
    text = f.read_text()
    assert "# keep me" in text and MOSQUITTO_6 in text and MOSQUITTO_7 not in text
    assert verify(read_password_file(f).hashes["kiosk-k1"], "new-password")
    assert oct(f.stat().st_mode & 0o777) == "0o640"
    with pytest.raises(ValueError, match="not a client id"):
        set_password(f, "kiosk k9", "whatever")


def test_broker_section_rules() -> None:
    Broker(username="onewindow-server", password="p", password_file="broker-passwd")
    with pytest.raises(ValueError, match="needs username and password"):
        Broker(password_file="broker-passwd")
    with pytest.raises(ValueError, match="go together"):
        Broker(username="onewindow-server")
    with pytest.raises(ValueError, match="must be the server's client id"):
        Broker(username="admin", password="p")
