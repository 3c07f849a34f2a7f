"""How honest are the waiting-time estimates? A simulated day at a small hall, in process with the real Engine: a
seeded random arrival process per service (busier in the morning), random service times per service whose real
means differ from the configured avg_service_s, one window serving two services. The hall issues from 08:00 (a crowd
at the door before the windows open at 08:30: booking check-ins, or a hall whose kiosks issue early, here
open_all_day) and keeps `[issuing] hours` 08:30-12:00, 13:30-17:00; every window opens at 08:30 and 13:30, calls
the next ticket as soon as it finishes, stops calling at 12:00 (the ticket under way is finished, then the window
closes for lunch) and after 17:00 serves whoever is still waiting. Each ticket's estimate at issue (est_wait_s of
the issue reply) is compared with the wait it actually had (called_at - issued_at), overall, for the tickets issued
before opening and for those issued in the last hour before lunch. Alongside, on the same day: the estimator of
before issue 12 (the plain mean of the last 20 service times divided by the open windows, one when none is open) and
issue 12's first formula ((ahead + half a service when every open window is busy) x the smoothed service time / the
open windows, else the scheduled ones; no opening hours).
Prints one JSON object. Usage: .venv/bin/python bench/estimates.py [--seed N] [--days N]"""
from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall_bus.contract import ErrorCode  # noqa: E402
from hall_server.config import HallConfig  # noqa: E402
from hall_server.engine import Engine, HallError  # noqa: E402
from hall_server.records import WindowStatus  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)      # a Friday, a working day
OPEN = time(8, 30)
HOURS = [("08:30", "12:00"), ("13:30", "17:00")]
EARLY = "08:00"               # the first numbers, before the windows open (open_all_day)
LATE_MORNING = time(11)       # issued from here until lunch: many wait through it

# service id -> (prefix, configured avg_service_s, real mean service time s, arrivals per hour)
SERVICES: dict[str, tuple[str, int, float, float]] = {
    "enroll": ("A", 300, 360.0, 24.0),     # slower than configured
    "retire": ("B", 600, 480.0, 13.0),     # quicker than configured
    "tax": ("C", 180, 240.0, 17.0),        # slower, and one of its windows also serves "enroll"
}
WINDOWS: dict[str, list[str]] = {"w1": ["enroll"], "w2": ["enroll"], "w3": ["enroll", "tax"], "w4": ["tax"],
                                 "w5": ["retire"], "w6": ["retire"]}


def hall_config() -> HallConfig:
    def service(sid: str) -> dict[str, Any]:
        prefix, avg, _real, _rate = SERVICES[sid]
        return {"id": sid, "zone": "z1", "prefix": prefix, "name": f"业务{sid}", "name_en": f"Service {sid}",
                "legal_days": 20, "promised_days": 5, "daily_quota": 999, "avg_service_s": avg,
                "materials": [{"name": "居民身份证", "name_en": "Resident ID card"}],
                "steps": ["取号等候"], "steps_en": ["Take a number"]}
    return HallConfig.model_validate({
        "hall": {"id": "bench", "name": "测试政务服务中心", "name_en": "Bench Hall", "timezone": "Asia/Shanghai"},
        "issuing": {"hours": [list(h) for h in HOURS]},
        "zones": [{"id": "z1", "name": "综合服务区", "name_en": "General"}],
        "services": [service(s) for s in SERVICES],
        "windows": [{"id": w, "name": f"{w[1:]}号窗口", "name_en": f"Window {w[1:]}", "zone": "z1", "services": s}
                    for w, s in WINDOWS.items()],
    })


def at(clock: str, day: date = DAY) -> datetime:
    hh, mm = clock.split(":")
    return datetime(day.year, day.month, day.day, int(hh), int(mm), tzinfo=TZ)


def arrivals(rng: random.Random, day: date) -> list[tuple[datetime, str]]:
    """Poisson arrivals per service: half the rate from EARLY until the windows open, 1.3x until 10:30, 0.8x in the
    afternoon."""
    out = []
    for sid, (_p, _avg, _real, rate) in SERVICES.items():
        for a, b in [(EARLY, HOURS[0][0]), *HOURS]:
            t, end = at(a, day), at(b, day)
            while True:
                factor = 0.5 if t.time() < OPEN else 1.3 if t.time() < time(10, 30) else 0.8 if t.time() >= time(13) else 1.0
                t += timedelta(seconds=rng.expovariate(rate * factor / 3600))
                if t >= end:
                    break
                out.append((t, sid))
    return sorted(out)


def service_time(rng: random.Random, sid: str) -> float:
    """Lognormal around the service's real mean (sigma 0.5), at least a minute."""
    mean = SERVICES[sid][2]
    sigma = 0.5
    return max(60.0, rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma))


def previous_estimate(e: Engine, sid: str, ahead: int) -> int:
    """The estimator before issue 12: mean of the last 20 service times (else the configured average) over the
    open windows (one when none is open)."""
    samples = e.service_times[sid]
    avg = sum(samples) / len(samples) if samples else float(e.config.services_by_id[sid].avg_service_s)
    return int(round(avg * ahead / max(1, e.open_windows_for(sid))))


def formula_estimate(e: Engine, sid: str, ahead: int) -> int:
    """Issue 12's first estimator: (ahead + half a service when every open window serving the service is busy) x its
    smoothed service time / its open windows (before any opens: its scheduled ones); no opening hours."""
    windows = [w for w in e.service_windows[sid] if e.windows[w].status is WindowStatus.OPEN]
    under_way = 0.5 if windows and all(e.windows[w].current for w in windows) else 0.0
    return int(round(e.avg_service_s(sid) * (ahead + under_way) / max(1, len(windows) or len(e.service_windows[sid]))))


def simulate(seed: int = 1, days: int = 1) -> list[dict[str, Any]]:
    """One record per ticket issued: service, issued (clock), ahead, est (now), previous (old estimator), formula
    (issue 12's first one), actual."""
    rng = random.Random(seed)
    cfg = hall_config()
    e = Engine(cfg, rng=random.Random(seed))
    records: list[dict[str, Any]] = []
    for d in range(days):
        day = DAY + timedelta(days=7 * d)          # Fridays: working days
        events: list[tuple[datetime, int, str, str]] = []   # (when, order, kind, window or service)
        for n, (t, sid) in enumerate(arrivals(rng, day)):
            heapq.heappush(events, (t, 1, "arrive", sid))
        for w in WINDOWS:
            for i, (a, b) in enumerate(HOURS):
                heapq.heappush(events, (at(a, day), 0, "open", w))
                if i < len(HOURS) - 1:
                    heapq.heappush(events, (at(b, day), 0, "break", w))
        idle: set[str] = set()
        breaking: set[str] = set()                # windows finishing their ticket under way before a break
        mine: dict[str, dict[str, Any]] = {}      # ticket id -> its record
        while events:
            now, _o, kind, what = heapq.heappop(events)
            if kind == "open":
                e.set_window(now, what, "open")
                heapq.heappush(events, (now, 2, "free", what))     # calls whoever waits already
                continue
            if kind == "break":
                if what in idle:
                    idle.discard(what)
                    e.set_window(now, what, "close")
                else:
                    breaking.add(what)
                continue
            if kind == "arrive":
                try:
                    data = e.issue(now, what, "walk_in", open_all_day=now.time() < OPEN).data
                except HallError as exc:         # not expected in this hall (quotas 999)
                    assert exc.code == ErrorCode.QUOTA_EXHAUSTED, exc
                    continue
                prev = previous_estimate(e, what, data["ahead"])
                mine[data["id"]] = rec = {"service": what, "issued": now.strftime("%H:%M:%S"),
                                          "ahead": data["ahead"], "est": data["est_wait_s"], "previous": prev,
                                          "formula": formula_estimate(e, what, data["ahead"]), "actual": None,
                                          "_at": now}
                records.append(rec)
                for w in sorted(idle):
                    if what in WINDOWS[w]:
                        idle.discard(w)
                        heapq.heappush(events, (now, 2, "free", w))
                        break
                continue
            # a window is free (its current ticket, if any, finishes now) and calls the next one, or goes to lunch
            if what in breaking:
                breaking.discard(what)
                if e.windows[what].current:
                    e.finish(now, what)
                e.set_window(now, what, "close")
                continue
            try:
                t = e.call_next(now, what).data
            except HallError as exc:
                assert exc.code == ErrorCode.NO_TICKET, exc
                if e.windows[what].current:
                    e.finish(now, what)
                idle.add(what)
                continue
            rec = mine[t["id"]]
            rec["actual"] = int((now - rec.pop("_at")).total_seconds())
            heapq.heappush(events, (now + timedelta(seconds=service_time(rng, t["service"])), 2, "free", what))
        for w in WINDOWS:
            if e.windows[w].current:
                e.finish(datetime.combine(day, time(23), TZ), w)
    return records


def figures(pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """Median and p90 absolute error (s), and the median error as a share of the actual wait."""
    if not pairs:
        return {}
    errors = sorted(abs(est - actual) for est, actual in pairs)
    actual = [a for _e, a in pairs]
    rel = sorted(abs(est - a) / a for est, a in pairs if a >= 60)     # waits of a minute or more
    return {"tickets": len(pairs), "median_abs_error_s": statistics.median(errors),
            "p90_abs_error_s": errors[min(len(errors) - 1, int(0.9 * len(errors)))],
            "median_actual_wait_s": statistics.median(actual),
            "median_abs_error_share": round(statistics.median(errors) / max(1, statistics.median(actual)), 3),
            "median_relative_error": round(statistics.median(rel), 3) if rel else None,
            "mean_signed_error_s": round(statistics.mean(est - a for est, a in pairs), 1)}


ESTIMATORS = {"estimate": "est", "previous_estimator": "previous", "formula_estimator": "formula"}


def compared(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {name: figures([(r[key], r["actual"]) for r in rows]) for name, key in ESTIMATORS.items()}


def report(records: list[dict[str, Any]], seed: int, days: int) -> dict[str, Any]:
    done = [r for r in records if r["actual"] is not None]
    opening, late = OPEN.strftime("%H:%M:%S"), LATE_MORNING.strftime("%H:%M:%S")
    lunch = HOURS[0][1] + ":00"
    return {
        "bench": "estimates", "seed": seed, "days": days, "tickets": len(records), "called": len(done),
        "windows": len(WINDOWS), "first_issue": EARLY, "hours": [list(h) for h in HOURS],
        "services": {s: {"configured_avg_s": v[1], "real_mean_s": v[2], "arrivals_per_h": v[3]}
                     for s, v in SERVICES.items()},
        **compared(done),
        "before_opening": compared([r for r in done if r["issued"] < opening]),
        "late_morning": compared([r for r in done if late <= r["issued"] < lunch]),
        "per_service": {s: compared([r for r in done if r["service"] == s]) for s in SERVICES},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=1, help="simulated Fridays in a row (the smoothed times carry over)")
    args = ap.parse_args(argv)
    print(json.dumps(report(simulate(args.seed, args.days), args.seed, args.days), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
