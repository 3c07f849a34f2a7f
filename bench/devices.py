"""Device budgets, printed as one JSON object: ticket bytes, wire time, ID-card read time, call → first audio.

Run: .venv/bin/python bench/devices.py [--rounds N]
A pseudo-terminal ignores the baud rate, so "pty_s" is the real serial transport's own overhead at that
setting; "line_s" is the 8N1 figure (10 bits per byte) a real cable adds. The paced ID-card figure makes the
simulator hold each reply for its line time at 115200 baud, as a real reader would.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.idcard import IdCardReader  # noqa: E402
from devices.printer import render_ticket  # noqa: E402
from devices.printer.protocol import sample_ticket  # noqa: E402
from devices.transport import open_transport  # noqa: E402


def _ms(values: list[float]) -> dict:
    values = sorted(values)
    return {"median_ms": round(statistics.median(values) * 1000, 3),
            "p90_ms": round(values[int(0.9 * (len(values) - 1))] * 1000, 3), "n": len(values)}


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
                          "estimated_total_s": round(line + statistics.median(samples), 4)}
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
                assert card is not None
        finally:
            reader.close()
        out[label] = _ms(samples)
    out["read_reply_line_s_115200"] = round(1295 * 10 / 115200, 4)
    out["note"] = "one find (20 01) + select (20 02) + read (30 01) exchange, decoded and validated"
    return out


def voice() -> dict:
    path = ROOT / "bench" / "_voice.py"
    if not path.exists():
        return {"omitted": "bench/_voice.py is not there (written by the voice work); no call→first-audio figure"}
    spec = importlib.util.spec_from_file_location("bench_voice", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return {"call_to_first_audio": module.measure()}
    except Exception as exc:  # the voice bench is another helper's; report, do not crash this one
        return {"omitted": f"bench/_voice.py measure() failed: {type(exc).__name__}: {exc}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    result = {
        "bench": "devices",
        "ticket_bytes": ticket_sizes(),
        "ticket_budget_bytes": 400,
        "ticket_wire": wire_time(args.rounds),
        "idcard_read_115200": idcard_read(args.rounds),
        "voice": voice(),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
