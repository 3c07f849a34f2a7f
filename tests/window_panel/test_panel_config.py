"""config/panel.toml: the shipped file passes, a broken one lists every problem with its key path, flags win."""
from __future__ import annotations

from pathlib import Path

import pytest

from window_panel.app import _parse
from window_panel.config import ConfigError, load

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_file_loads() -> None:
    cfg = load(ROOT / "config" / "panel.toml")
    assert (cfg.window, cfg.client_id, cfg.printer.url, cfg.idcard.url) == ("w15", "panel-w15", "", "")


def test_a_broken_file_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "panel.toml"
    path.write_text('window = "w 15"\nlanguage = "fr"\n[printer]\nurl = "lpt1"\npaper_mm = 57\n[idcard]\nurll = ""\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path)
    problems = "\n".join(err.value.problems)
    for key in ("window:", "language:", "printer.url:", "printer.paper_mm:", "idcard.urll:"):
        assert key in problems, problems


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "panel.toml"
    path.write_text('window = "w15"\nlanguage = "zh"\n[printer]\nurl = "sim://printer"\n', encoding="utf-8")
    _args, cfg = _parse(["--config", str(path), "--window", "w16", "--lang", "en"])
    assert (cfg.window, cfg.language, cfg.printer.url) == ("w16", "en", "sim://printer")


def test_without_a_file_the_window_flag_is_required(capsys) -> None:
    with pytest.raises(SystemExit):
        _parse(["--broker", "mqtt://127.0.0.1:1883"])
    assert "--window is required" in capsys.readouterr().err


def test_check_config_knows_the_panel(capsys) -> None:
    from onewindow.check_config import run
    assert run([str(ROOT / "config" / "panel.toml")]) == 0
    assert "OK (panel config)" in capsys.readouterr().out
