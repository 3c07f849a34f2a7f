"""`onewindow report --pdf`: Chromium prints the report's page (A4, the print stylesheet) to a PDF of several pages
(e2e tier: a browser subprocess opens sockets of its own)."""
from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

from hall_server import report
from hall_server.config import load_hall_config
from tests.hall_server.test_report_range import CONFIG_PATH, play
from tests.support.tools import require_tool


def pdf_pages(raw: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", raw))


def test_week_report_prints_to_a_pdf_of_several_pages(tmp_path: Path) -> None:
    require_tool("chromium", package="chromium")
    cfg = load_hall_config(CONFIG_PATH)
    hall = play(cfg, tmp_path / "data")
    hall.store.close()
    out = tmp_path / "out"
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = report.run(["--week", "2026-W48", "--pdf", "--out", str(out), "--data", str(tmp_path / "data"),
                         "--config", str(CONFIG_PATH)])
    assert rc == 0
    info = json.loads(buf.getvalue().strip().splitlines()[-1])
    pdf = Path(info["pdf"])
    assert pdf == out / "report-2026-W48.pdf"
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF")
    assert pdf_pages(raw) >= 2          # the sections start on pages of their own
    assert (out / "report-2026-W48.html").is_file()
