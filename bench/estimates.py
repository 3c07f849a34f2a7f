"""How honest are the waiting-time estimates? A simulated day at a small hall, in process with the real Engine: a
seeded random arrival process per service (busier in the morning), random service times per service whose real
means differ from the configured avg_service_s, every window opening at 08:30 and calling the next ticket as soon
as it finishes. Each ticket's estimate at issue (est_wait_s of the issue reply) is compared with the wait it actually
had (called_at - issued_at). The estimator of before issue 12 (the plain mean of the last 20 service times divided by
the open windows, one when none is open) is computed alongside on the same day, for comparison.
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

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)      # a Friday, a working day
OPEN = time(8, 30)
HOURS = [("08:30", "12:00"), ("13:30", "17:00")]

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
    """Poisson arrivals per service in the issuing hours: 1.3x the rate until 10:30, 0.8x in the afternoon."""
    out = []
    for sid, (_p, _avg, _real, rate) in SERVICES.items():
        for a, b in HOURS:
            t, end = at(a, day), at(b, day)
            while True:
                factor = 1.3 if t.time() < time(10, 30) else 0.8 if t.time() >= time(13) else 1.0
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


def simulate(seed: int = 1, days: int = 1) -> list[dict[str, Any]]:
    """One record per ticket issued: service, issued (clock), ahead, est (now), previous (old estimator), actual."""
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
            heapq.heappush(events, (datetime.combine(day, OPEN, TZ), 0, "open", w))
        idle: set[str] = set()
        mine: dict[str, dict[str, Any]] = {}      # ticket id -> its record
        while events:
            now, _o, kind, what = heapq.heappop(events)
            if kind == "open":
                e.set_window(now, what, "open")
                idle.add(what)
                continue
            if kind == "arrive":
                try:
                    data = e.issue(now, what, "walk_in").data
                except HallError as exc:         # not expected in this hall (quotas 999)
                    assert exc.code == ErrorCode.QUOTA_EXHAUSTED, exc
                    continue
                prev = previous_estimate(e, what, data["ahead"])
                mine[data["id"]] = rec = {"service": what, "issued": now.strftime("%H:%M:%S"),
                                          "ahead": data["ahead"], "est": data["est_wait_s"], "previous": prev,
                                          "actual": None, "_at": now}
                records.append(rec)
                for w in sorted(idle):
                    if what in WINDOWS[w]:
                        idle.discard(w)
                        heapq.heappush(events, (now, 2, "free", w))
                        break
                continue
            # a window is free (its current ticket, if any, finishes now) and calls the next one
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


def report(records: list[dict[str, Any]], seed: int, days: int) -> dict[str, Any]:
    done = [r for r in records if r["actual"] is not None]
    return {
        "bench": "estimates", "seed": seed, "days": days, "tickets": len(records), "called": len(done),
        "windows": len(WINDOWS), "opening": OPEN.strftime("%H:%M"),
        "services": {s: {"configured_avg_s": v[1], "real_mean_s": v[2], "arrivals_per_h": v[3]}
                     for s, v in SERVICES.items()},
        "estimate": figures([(r["est"], r["actual"]) for r in done]),
        "previous_estimator": figures([(r["previous"], r["actual"]) for r in done]),
        "per_service": {s: {"estimate": figures([(r["est"], r["actual"]) for r in done if r["service"] == s]),
                            "previous_estimator": figures([(r["previous"], r["actual"]) for r in done
                                                           if r["service"] == s])}
                        for s in SERVICES},
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
