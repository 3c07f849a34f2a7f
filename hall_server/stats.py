"""Percentiles, one way for everyone: the daily report's P90 wait and every benchmark's p50/p99 (no Qt, no I/O).

Nearest rank: the p-th percentile is the smallest value that at least p % of the values do not exceed — always one
of the values measured ("90 % of the citizens waited at most this long"), never an interpolation between two.
"""
from __future__ import annotations

import math
from typing import Iterable


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0 < p <= 100) of values by nearest rank; p=50 is the (lower) median. Raises ValueError
    for no values, so an empty measurement is never reported as a number."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile p={p} is not in (0, 100]")
    s = sorted(values)
    if not s:
        raise ValueError("percentile of no values")
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(values: Iterable[float], digits: int = 2, points: tuple[float, ...] = (50, 90, 99)) -> dict[str, float]:
    """{"n", "p50", "p90", "p99", "max", "mean"} of a sample (e.g. latencies in ms), rounded to `digits`;
    {"n": 0} for an empty one."""
    s = sorted(values)
    if not s:
        return {"n": 0}
    out: dict[str, float] = {"n": len(s)}
    for p in points:
        out[f"p{p:g}"] = round(percentile(s, p), digits)
    out["max"] = round(s[-1], digits)
    out["mean"] = round(math.fsum(s) / len(s), digits)
    return out
