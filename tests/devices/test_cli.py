"""`onewindow device ...` run as the installer runs it: a subprocess printing one JSON object."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devices import cli
from devices.printer import printed_text, render_ticket, sample_ticket

ONEWINDOW = Path(sys.executable).parent / "onewindow"


def device(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([str(ONEWINDOW), "device", *args], capture_output=True, text=True, timeout=60)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, f"stdout must be one JSON line, got {proc.stdout!r} (stderr {proc.stderr!r})"
    return proc.returncode, json.loads(lines[0])


def test_print_test_on_the_simulated_printer():
    rc, out = device("print-test", "--printer", "sim://printer")
    assert rc == 0 and out["ok"] is True
    assert out["bytes"] == len(render_ticket(sample_ticket())) <= 400
    assert out["status"]["state"] == "ok"
    assert out["wire_s"] == {"9600": round(out["bytes"] * 10 / 9600, 4), "115200": round(out["bytes"] * 10 / 115200, 4)}


def test_print_test_refuses_when_paper_is_out():
    rc, out = device("print-test", "--printer", "sim://printer?paper=out", "--paper", "58")
    assert rc == 1 and out["ok"] is False
    assert out["faults"][0] == "paper_end" and "paper_end" in out["error"]


def test_print_test_to_a_file_writes_the_kiosk_ticket(tmp_path):
    path = tmp_path / "lp0"
    rc, out = device("print-test", "--printer", f"file://{path}", "--paper", "58")
    assert rc == 0 and out["status"]["faults"] == ["write_only"] and "warning" in out
    assert printed_text(path.read_bytes()).startswith("大安区政务服务中心\n社会保障服务区\nA023\n")


def test_status_reports_faults_with_exit_code():
    rc, out = device("status", "--printer", "sim://printer?cover=open")
    assert rc == 1 and out["status"]["state"] == "error" and "cover_open" in out["status"]["faults"]


def test_read_id_masks_unless_show():
    rc, out = device("read-id", "--port", "sim://idcard", "--timeout", "10")
    assert rc == 0 and out["card"]["name"] == "张*" and out["card"]["number"] == "5103**********1239"
    assert "510304198506121239" not in json.dumps(out)
    rc, out = device("read-id", "--port", "sim://idcard?card=elder", "--show")
    assert rc == 0 and out["shown"] is True
    assert out["card"]["number"] == "11010519460304002X" and out["card"]["name"] == "李秀英"
    assert out["card"]["valid_until"] == "长期"


def test_read_id_reports_a_rejected_card():
    rc, out = device("read-id", "--port", "sim://idcard?card=bad_number")
    assert rc == 1 and out["reason"] == "invalid_number"


def test_missing_delegate_prints_a_clear_error(capsys):
    rc = cli._delegate("led", "devices.no_such_module", "led_command", lambda fn: fn())
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["ok"] is False and "devices.no_such_module:led_command is not available" in out["error"]


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as info:
        cli.run_diagnostic(["print-test", "--paper", "57", "--printer", "sim://printer"])
    assert info.value.code == 2
