"""The test and bench helper that starts a hall server: a server that hangs or dies is reported within the
deadline with its log, never waited for forever."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.support import hall


@pytest.mark.parametrize("script, words", [
    ("import sys, time; print('starting', flush=True); sys.stderr.write('stuck opening the store\\n'); "
     "sys.stderr.flush(); time.sleep(60)", "no ready line within 1.5 s"),
    ("import sys; sys.stderr.write('cannot bind 1883\\n'); sys.exit(3)", "exited with code 3"),
])
def test_a_server_that_hangs_or_dies_fails_within_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                script: str, words: str) -> None:
    monkeypatch.setattr(hall, "ONEWINDOW", [sys.executable, "-c", script])
    t0 = time.monotonic()
    with pytest.raises(RuntimeError) as err:
        hall.start_server(tmp_path / "data", broker_port=1, timeout=1.5)
    assert time.monotonic() - t0 < 10
    assert words in str(err.value)
    assert ("stuck opening the store" if "no ready" in words else "cannot bind 1883") in str(err.value)


def test_the_ready_line_is_read_past_other_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = ("import json, time; print('warming up', flush=True); "
              "print(json.dumps({'event': 'ready', 'hall': 'daan', 'broker': 'mqtt://127.0.0.1:1'}), flush=True); "
              "time.sleep(30)")
    monkeypatch.setattr(hall, "ONEWINDOW", [sys.executable, "-c", script])
    proc, ready, _log = hall.start_server(tmp_path / "data", broker_port=1, timeout=10)
    try:
        assert ready == {"event": "ready", "hall": "daan", "broker": "mqtt://127.0.0.1:1"}
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
