"""`onewindow kiosk --screenshots DIR` renders every screen in both languages and orientations, then exits."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ["home", "zone", "services", "confirm", "printing", "done", "unprinted", "guide", "appointment",
           "search", "search-initials", "search-keyword", "search-none", "elderly-search",
           "status-result", "status-evaluate", "id-greeting", "elderly-home", "server-unreachable", "paper-out"]


@pytest.mark.e2e
def test_screenshots_of_every_screen(tmp_path):
    out = tmp_path / "shots"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "onewindow", "kiosk", "--config", str(ROOT / "config" / "kiosk.toml"),
                           "--broker", "mqtt://127.0.0.1:9", "--screenshots", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["catalog"] == "sample"                    # no broker: the built-in sample, in this mode only
    assert summary["overflow"] == []                         # nothing clipped, no text drawn over other text
    names = {p.name for p in out.glob("*.png")}
    for orientation in ("portrait", "landscape"):
        for lang in ("zh", "en"):
            for screen in SCREENS:
                assert any(n.startswith(f"{orientation}-{lang}-") and n.endswith(f"-{screen}.png") for n in names), \
                    (orientation, lang, screen)
    assert all((out / n).stat().st_size > 20_000 for n in names)
