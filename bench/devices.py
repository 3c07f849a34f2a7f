"""Device budgets, printed as one JSON object: ticket bytes, wire time, ID-card read time, call → first audio.

Run: .venv/bin/python bench/devices.py [--rounds N]
A part that fails (no espeak-ng for the voice, a simulator that does not answer) is named under "failed" and the
bench exits 1: a figure that is missing is never a pass.
A pseudo-terminal ignores the baud rate, so "pty_s" is the real serial transport's own overhead at that
setting; "line_s" is the 8N1 figure (10 bits per byte) a real cable adds. The paced ID-card figure makes the
simulator hold each reply for its line time at 115200 baud, as a real reader would.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.idcard import IdCardReader  # noqa: E402
from devices.printer import render_ticket  # noqa: E402
from devices.printer.layout import sample_ticket  # noqa: E402
from devices.transport import open_transport  # noqa: E402
from hall_server.stats import percentile  # noqa: E402


def _ms(values: list[float]) -> dict:
    return {"median_ms": round(percentile(values, 50) * 1000, 3), "p90_ms": round(percentile(values, 90) * 1000, 3),
            "n": len(values)}


def ticket_sizes() -> dict:
    return {f"{lang}_{paper}mm": len(render_ticket(sample_ticket(lang), paper_mm=paper))
            for lang in ("zh", "en") for paper in (80, 58)}


def wire_time(rounds: int) -> dict:
    job = render_ticket(sample_ticket("zh"), paper_mm=80)
    out: dict = {"ticket_bytes": len(job)}
    for baud in (9600, 115200):
        transport = open_transport(f"sim://printer?baud={baud}")
        sim = transport.simulator
        samples = []
        try:
            for _ in range(rounds):
                target = len(sim.received) + len(job)
                t0 = time.perf_counter()
                transport.write(job)
                if not sim.wait_received(lambda got, n=target: len(got) >= n, timeout=10):
                    raise RuntimeError("printer simulator did not receive the ticket")
                samples.append(time.perf_counter() - t0)
        finally:
            transport.close()
        line = len(job) * 10 / baud
        out[str(baud)] = {"pty": _ms(samples), "line_s": round(line, 4),
                          "estimated_total_s": round(line + percentile(samples, 50), 4)}
    return out


def idcard_read(rounds: int) -> dict:
    out = {}
    for label, url in (("unpaced", "sim://idcard?baud=115200"), ("paced_115200", "sim://idcard?baud=115200&pace=1")):
        reader = IdCardReader(url)
        samples = []
        try:
            reader.read_once()  # open the port and warm up
            for _ in range(rounds):
                t0 = time.perf_counter()
                card = reader.read_once()
                samples.append(time.perf_counter() - t0)
                if card is None:
                    raise RuntimeError(f"{url}: the simulated reader returned no card")
        finally:
            reader.close()
        out[label] = _ms(samples)
    out["read_reply_line_s_115200"] = round(1295 * 10 / 115200, 4)
    out["note"] = "one find (20 01) + select (20 02) + read (30 01) exchange, decoded and validated"
    return out


def voice() -> dict:
    """Call → first audio (bench/_voice.py); raises when it cannot be measured, e.g. without espeak-ng."""
    path = ROOT / "bench" / "_voice.py"
    spec = importlib.util.spec_from_file_location("bench_voice", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"call_to_first_audio": module.measure()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"bench": "devices", "ticket_budget_bytes": 400}
    failed: dict[str, str] = {}
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("ticket_bytes", ticket_sizes),
        ("ticket_wire", lambda: wire_time(args.rounds)),
        ("idcard_read_115200", lambda: idcard_read(args.rounds)),
        ("voice", voice),
    ]
    for name, part in parts:
        try:
            result[name] = part()
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
    if failed:
        result["failed"] = failed
    print(json.dumps(result, ensure_ascii=False))
    if failed:
        print(f"bench/devices.py: {len(failed)} part(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
