"""Report generation for a month of a busy hall: 30 business days x 6,000 tickets (target: the month's report, HTML
and CSVs, in at most 10 s). The month is written straight into a Store in a temp dir in the stored form (ticket
records as Ticket.to_record() writes them, the engine's ticket, call and alert events, with staff sign-ins, pauses
and acknowledged 差评), then `onewindow report --month` runs on it: the build (reading the store), the HTML and the
CSVs are timed apart, then the whole command; the PDF (Chromium's print-to-PDF) is timed separately when Chromium
is installed. Prints one JSON object.
Usage: .venv/bin/python bench/report.py [--days 30] [--tickets 6000] [--no-pdf] [--keep]"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall_server import report, report_range  # noqa: E402
from hall_server.config import HallConfig, load_hall_config  # noqa: E402
from hall_server.records import Ticket, TicketState  # noqa: E402
from hall_server.store import Store  # noqa: E402

CONFIG = ROOT / "config" / "hall.toml"
TARGET_S = 10.0


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def generate(cfg: HallConfig, db_path: Path, first: date, days: int, per_day: int, seed: int = 7) -> dict[str, int]:
    """`days` business days of `per_day` tickets each, bulk-inserted in the stored form."""
    Store(db_path).close()                       # the schema, as the server makes it
    rng = random.Random(seed)
    tz = ZoneInfo(cfg.hall.timezone)
    services = cfg.services
    windows_of = {s.id: [w for w in cfg.windows if s.id in w.services] for s in services}
    staff_of = {w.id: f"S{i + 1:03d}" for i, w in enumerate(cfg.windows)}
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    counts = {"tickets": 0, "events": 0}
    for k in range(days):
        day = first + timedelta(days=k)
        d = day.isoformat()
        signed_in = k >= days // 2               # staff sign-in from the middle of the month on
        open_at = datetime(day.year, day.month, day.day, 8, 30, tzinfo=tz)
        tickets: list[tuple[str, str, str, str, str, str]] = []
        events: list[tuple[str, str, str]] = []
        seqs: dict[str, int] = {}
        call_seq = 0
        issue_gap = 8 * 3600 / per_day
        for i in range(per_day):
            svc = services[rng.randrange(len(services))]
            seq = seqs[svc.prefix] = seqs.get(svc.prefix, 0) + 1
            number = f"{svc.prefix}{seq:03d}"
            issued = open_at + timedelta(seconds=i * issue_gap + rng.random() * issue_gap)
            t = Ticket(id=f"{d.replace('-', '')}{number}{rng.getrandbits(24):06x}", day=day, number=number,
                       prefix=svc.prefix, seq=seq, service=svc.id, zone=svc.zone, channel="walk_in", priority=False,
                       issued_at=issued, verify=f"{rng.getrandbits(20):05X}", issued_for=svc.id,
                       token=f"{rng.getrandbits(128):032x}")
            summary = {"id": t.id, "number": number, "service": svc.id, "zone": svc.zone, "state": "waiting",
                       "channel": "walk_in", "priority": False, "issued_at": issued.isoformat(), "called_at": None,
                       "service_name": svc.name, "service_name_en": svc.name_en}
            events.append((d, "ticket", _dumps({"v": 1, "action": "issue", "ticket": summary, "window": None,
                                                "ts": issued.isoformat()})))
            r = rng.random()
            if r < 0.03:
                t.state = TicketState.EXPIRED
            else:
                w = windows_of[svc.id][rng.randrange(len(windows_of[svc.id]))]
                wait = min(3 * 3600.0, rng.expovariate(1 / 600) + 20)
                called = issued + timedelta(seconds=wait)
                t.called_at, t.window, t.calls = called, w.id, 1
                call_seq += 1
                events.append((d, "call", _dumps({
                    "v": 1, "seq": call_seq, "ticket_id": t.id, "number": number, "window": w.id,
                    "window_name": w.name, "window_name_en": w.name_en, "zone": svc.zone, "service": svc.id,
                    "recall": False, "text_zh": f"请{number}号到{w.name}办理", "text_en": f"Ticket {number}",
                    "ts": called.isoformat()})))
                events.append((d, "ticket", _dumps({"v": 1, "action": "call", "ticket": {
                    **summary, "state": "serving", "called_at": called.isoformat()}, "window": w.id,
                    "ts": called.isoformat()})))
                if wait >= cfg.supervision.long_wait_s:
                    events.append((d, "alert", _dumps({
                        "v": 1, "id": f"long_wait-{number}-{called:%Y%m%d%H%M%S}", "level": "yellow",
                        "kind": "long_wait", "target": number, "text_zh": f"{number}号已等候{int(wait // 60)}分钟",
                        "text_en": "", "ts": called.isoformat(), "ticket": number, "zone": svc.zone,
                        "service": svc.id, "waited_s": int(wait)})))
                if r < 0.09:
                    t.state = TicketState.NO_SHOW
                    t.finished_at = called + timedelta(seconds=120)
                else:
                    t.state = TicketState.DONE
                    finished = called + timedelta(seconds=rng.uniform(90, 900))
                    t.finished_at = finished
                    events.append((d, "ticket", _dumps({"v": 1, "action": "finish", "ticket": {
                        **summary, "state": "done", "called_at": called.isoformat()}, "window": w.id,
                        "ts": finished.isoformat()})))
                    if rng.random() < 0.6:
                        t.grade = rng.choice((1, 2, 3, 4, 4, 5, 5, 5, 5, 5))
                        rated = finished + timedelta(seconds=30)
                        events.append((d, "ticket", _dumps({"v": 1, "action": "evaluate", "ticket": {
                            **summary, "state": "done"}, "window": w.id, "grade": t.grade,
                            "ts": rated.isoformat()})))
                        if t.grade <= cfg.supervision.bad_grade:
                            alert = {"v": 1, "id": f"bad_evaluation-{w.id}-{rated:%Y%m%d%H%M%S}{i}",
                                     "level": "red", "kind": "bad_evaluation", "target": w.id,
                                     "text_zh": f"{number}号（{w.name}）收到差评：{t.grade}分", "text_en": "",
                                     "ts": rated.isoformat(), "acked_by": None, "acked_at": None, "ticket": number,
                                     "window": w.id, "grade": t.grade, "comment": ""}
                            events.append((d, "alert", _dumps(alert)))
                            if rng.random() < 0.7:
                                acked = rated + timedelta(seconds=rng.uniform(60, 4 * 3600))
                                events.append((d, "alert", _dumps({**alert, "acked_by": "supervisor",
                                                                   "acked_at": acked.isoformat()})))
            rec = t.to_record()
            if signed_in and t.window:
                rec["staff"] = staff_of[t.window]
            tickets.append((t.id, d, number, t.service, t.state.value, _dumps(rec)))
        for n, w in enumerate(cfg.windows):            # one pause a window a day
            start = open_at + timedelta(hours=3, minutes=n % 60)
            end = start + timedelta(minutes=5 + n % 25)
            for action, ts in (("window_pause", start), ("window_resume", end)):
                events.append((d, "ticket", _dumps({"v": 1, "action": action, "ticket": None, "window": w.id,
                                                    "reason": "break" if action == "window_pause" else None,
                                                    "ts": ts.isoformat()})))
        db.execute("BEGIN")
        db.executemany("INSERT INTO tickets (id, day, number, service, state, record) VALUES (?,?,?,?,?,?)", tickets)
        db.executemany("INSERT INTO events (day, kind, record) VALUES (?,?,?)", events)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('business_day', ?)", (d,))
        db.execute("COMMIT")
        counts["tickets"] += len(tickets)
        counts["events"] += len(events)
    db.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--tickets", type=int, default=6000, help="tickets a day")
    ap.add_argument("--no-pdf", action="store_true", help="skip the PDF even when Chromium is installed")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (store and report) and print its path")
    args = ap.parse_args(argv)
    cfg = load_hall_config(CONFIG)
    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-report-"))
    try:
        data, out = work / "data", work / "out"
        data.mkdir()
        out.mkdir()
        first = date(2026, 11, 1)
        t0 = time.perf_counter()
        counts = generate(cfg, data / f"{cfg.hall.id}.sqlite3", first, args.days, args.tickets)
        gen_s = time.perf_counter() - t0
        period = report_range.range_period(first, first + timedelta(days=args.days - 1))
        db_mb = (data / f"{cfg.hall.id}.sqlite3").stat().st_size / 2**20

        store = Store(data / f"{cfg.hall.id}.sqlite3")
        cpu0 = time.process_time()
        try:
            t = time.perf_counter()
            rep = report.build(store, cfg, period)
            build_s = time.perf_counter() - t
        finally:
            store.close()
        t = time.perf_counter()
        html = report.render_html(rep)
        (out / "report.html").write_text(html, encoding="utf-8")
        html_s = time.perf_counter() - t
        t = time.perf_counter()
        csvs = report.write_csvs(rep, out)
        csv_s = time.perf_counter() - t
        cpu_s = time.process_time() - cpu0      # this process's CPU: the wall time less what a busy machine adds
        totals = report_range.totals(rep)
        del rep

        # the whole command, as a manager runs it (a month: --from/--to covers --days that are not a month)
        cli_out = work / "cli"
        argv_cli = ["--config", str(CONFIG), "--data", str(data), "--out", str(cli_out)]
        argv_cli += (["--month", f"{first:%Y-%m}"] if args.days == 30 and first.day == 1
                     else ["--from", period.start.isoformat(), "--to", period.end.isoformat()])
        buf = io.StringIO()
        t = time.perf_counter()
        with contextlib.redirect_stdout(buf):
            rc = report.run(argv_cli)
        cli_s = time.perf_counter() - t

        pdf: dict[str, Any] = {"skipped": "--no-pdf" if args.no_pdf else "chromium not installed"}
        exe = report.find_chromium()
        if exe and not args.no_pdf:
            t = time.perf_counter()
            try:
                path = report.render_pdf(out / "report.html", out / "report.pdf", chromium=exe)
                raw = path.read_bytes()
                pdf = {"seconds": round(time.perf_counter() - t, 2), "kb": round(len(raw) / 1024),
                       "pages": raw.count(b"/Type /Page") - raw.count(b"/Type /Pages")}
            except report.ReportError as err:
                pdf = {"error": str(err)}
        result = {
            "bench": "report", "days": args.days, "tickets_per_day": args.tickets,
            "stored": {**counts, "sqlite_mb": round(db_mb, 1), "generate_s": round(gen_s, 1)},
            "seconds": {"build": round(build_s, 2), "html": round(html_s, 2), "csv": round(csv_s, 2),
                        "report": round(build_s + html_s + csv_s, 2), "report_cpu": round(cpu_s, 2),
                        "command": round(cli_s, 2)},
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "target_s": TARGET_S, "within_target": cli_s <= TARGET_S and build_s + html_s + csv_s <= TARGET_S,
            "command_rc": rc,
            "html_kb": round(len(html.encode()) / 1024), "csv_kb": {k: round(p.stat().st_size / 1024)
                                                                   for k, p in csvs.items()},
            "pdf": pdf,
            "totals": totals,
        }
        if args.keep:
            result["work"] = str(work)
        print(json.dumps(result, ensure_ascii=False))
        return 0 if rc == 0 and result["within_target"] else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
