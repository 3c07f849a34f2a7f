"""Issue 12 item 3, honest estimates: est_wait_s uses the windows hall.toml schedules for a service before any of them
opens, a smoothed service time per service (one quick finish moves it a little), and half a service time when every
open window is busy; a simulated day (bench/estimates.py) compares the estimates with the waits it produced."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bench import estimates as bench
from hall_server.config import HallConfig
from hall_server.engine import SERVICE_TIME_ALPHA, Engine
from tests.hall_server.test_engine import FRIDAY, at, small_config_dict


def engine(avg_c: int = 2400) -> Engine:
    data = small_config_dict()
    for s in data["services"]:
        if s["id"] == "s_c":
            s["avg_service_s"] = avg_c           # 40 minutes
    return Engine(HallConfig.model_validate(data), rng=random.Random(5))


def serve(e: Engine, window: str, start: tuple[int, int], seconds: float) -> None:
    """Call the next ticket at `start` and finish it `seconds` later."""
    now = at(*start)
    e.call_next(now, window)
    e.finish(now + timedelta(seconds=seconds), window)


class TestSmoothedServiceTime:
    def test_one_quick_finish_is_no_jump(self) -> None:
        e = engine()
        for i in range(5):
            e.issue(at(9, i), "s_c", "walk_in")
        before = e.issue(at(9, 5), "s_c", "walk_in").data
        serve(e, "w3", (9, 10), 60)                   # one citizen done in a minute
        assert e.avg_service_s("s_c") >= 0.8 * 2400   # not 60: 2400 + 0.2 x (800 - 2400) = 2080
        assert e.avg_service_s("s_c") == pytest.approx(2400 + SERVICE_TIME_ALPHA * (2400 / 3 - 2400))
        after = e.get(at(9, 12), ticket_id=before["id"]).data
        assert after["ahead"] == before["ahead"] - 1
        assert after["est_wait_s"] >= 0.6 * before["est_wait_s"]   # one fewer ahead, the time about the same

    def test_one_very_slow_finish_is_clamped_too(self) -> None:
        e = engine(300)
        e.issue(at(9), "s_c", "walk_in")
        serve(e, "w3", (9, 1), 5 * 3600)
        assert e.avg_service_s("s_c") == pytest.approx(300 + SERVICE_TIME_ALPHA * (900 - 300))

    def test_it_follows_a_steady_change(self) -> None:
        e = engine(300)
        for i in range(25):
            e.issue(at(9, i), "s_c", "walk_in")
        for i in range(25):
            serve(e, "w3", (9, 30 + i), 600)          # really takes 10 minutes, not 5
        assert e.avg_service_s("s_c") == pytest.approx(600, rel=0.01)

    def test_a_restart_replays_the_finishes_in_order(self) -> None:
        e = engine(300)
        ids = [e.issue(at(9, i), "s_c", "walk_in").data["id"] for i in range(3)]
        serve(e, "w3", (9, 10), 100)
        serve(e, "w3", (9, 20), 900)
        serve(e, "w3", (9, 40), 300)
        again = Engine(e.config, rng=random.Random(6))
        again.restore(FRIDAY, [e.tickets[t] for t in ids], list(e.windows.values()), [], now=at(10))
        assert again.avg_service_s("s_c") == pytest.approx(e.avg_service_s("s_c"))


class TestWindows:
    def test_before_opening_the_scheduled_windows_count(self) -> None:
        e = engine()
        for i in range(4):
            e.issue(at(8, 30, i), "s_b", "walk_in")
        t = e.issue(at(8, 31), "s_b", "walk_in").data
        # nobody open yet: s_b is scheduled at w1 and w4 — 4 ahead x 240 s / 2, not zero, not / 1
        assert t["ahead"] == 4 and t["est_wait_s"] == 4 * 240 // 2
        assert e.zone_view("z1", at(8, 31))["services"]["s_b"]["est_wait_s"] == 5 * 240 // 2
        assert e.zone_view("z1", at(8, 31))["est_wait_s"] > 0

    def test_once_open_the_open_windows_count(self) -> None:
        e = engine()
        for i in range(4):
            e.issue(at(9, i), "s_b", "walk_in")
        e.set_window(at(9, 5), "w4", "open")          # one of its two windows opens
        t = e.issue(at(9, 6), "s_b", "walk_in").data
        assert t["est_wait_s"] == 4 * 240

    def test_a_busy_window_adds_half_a_service(self) -> None:
        e = engine(600)
        first = e.issue(at(9), "s_c", "walk_in").data
        assert first["est_wait_s"] == 0
        e.call_next(at(9, 1), "w3")                   # w3, s_c's only window, is now busy
        nxt = e.issue(at(9, 2), "s_c", "walk_in").data
        assert nxt["ahead"] == 0 and nxt["est_wait_s"] == 300
        e.hold(at(9, 3), "w3")                        # free again: nothing under way
        assert e.get(at(9, 4), ticket_id=nxt["id"]).data["est_wait_s"] == 0

    def test_the_kept_queue_view_follows_the_windows(self) -> None:
        e = engine(600)
        ids = [e.issue(at(9, i), "s_c", "walk_in").data["id"] for i in range(3)]
        for op in (lambda: e.call_next(at(9, 10), "w3"), lambda: e.hold(at(9, 12), "w3"),
                   lambda: e.call_next(at(9, 14), "w3"), lambda: e.cancel(at(9, 15), "test", ticket_id=ids[1]),
                   lambda: e.call_next(at(9, 20), "w3")):
            e.queue_view("z2")                        # kept from here on
            op()
            kept = e.queue_view("z2")["tickets"]
            for tid, (ahead, est) in kept.items():
                view = e.get(at(9, 30), ticket_id=tid).data
                assert (ahead, est) == (view["ahead"], view["est_wait_s"])


class TestSimulatedDay:
    def test_the_estimates_meet_the_waits_of_a_simulated_day(self) -> None:
        records = bench.simulate(seed=1, days=3)
        report = bench.report(records, 1, 3)
        now, before = report["estimate"], report["previous_estimator"]
        assert report["called"] == report["tickets"] > 900
        assert now["median_abs_error_s"] < before["median_abs_error_s"]
        assert now["median_abs_error_share"] < 0.3
        assert abs(now["mean_signed_error_s"]) < abs(before["mean_signed_error_s"])
