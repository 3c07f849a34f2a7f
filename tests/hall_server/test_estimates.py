"""Issue 12 item 3, honest estimates: est_wait_s replays the calls (each window calls the earliest ticket it may call
as soon as it is free, each ticket taking its service's smoothed time) with the windows hall.toml schedules for a
service before any of them opens, half a service time left when one window is busy, a window shared with other
services counted only for the time they leave it; the replay's calling time is laid over `[issuing] hours` (the time
to opening and a lunch break count); a simulated day (bench/estimates.py) compares the estimates with the waits it
produced."""
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
            e.issue(at(8, 30 + i), "s_c", "walk_in")
        before = e.issue(at(8, 35), "s_c", "walk_in").data   # 5 x 40 min: called before noon, no lunch in it
        assert before["est_wait_s"] == 5 * 2400
        serve(e, "w3", (8, 40), 60)                   # one citizen done in a minute
        assert e.avg_service_s("s_c") >= 0.8 * 2400   # not 60: 2400 + 0.2 x (800 - 2400) = 2080
        assert e.avg_service_s("s_c") == pytest.approx(2400 + SERVICE_TIME_ALPHA * (2400 / 3 - 2400))
        after = e.get(at(8, 42), ticket_id=before["id"]).data
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
        # a new one, 5 ahead: the two windows call two at a time, so it comes with the fifth, after 2 x 240 s
        assert e.zone_view("z1", at(8, 31))["services"]["s_b"]["est_wait_s"] == 2 * 240
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


class TestSharedWindows:
    def test_a_window_busy_with_another_service_first_is_not_counted_in_full(self) -> None:
        e = engine()
        e.set_window(at(9), "w1", "open")             # w1 calls s_a1 and s_b, w4 s_b alone
        e.set_window(at(9), "w4", "open")
        for i in range(4):
            e.issue(at(9, i), "s_a1", "walk_in")      # earlier: w1 calls these first
        e.issue(at(9, 4), "s_b", "walk_in")
        e.issue(at(9, 5), "s_b", "walk_in")
        t = e.issue(at(9, 6), "s_b", "walk_in").data
        # not 2 x 240 / 2 windows: w4 calls both earlier B tickets, then this one
        assert t["ahead"] == 2 and t["est_wait_s"] == 2 * 240
        assert e.zone_view("z1", at(9, 6))["services"]["s_b"]["est_wait_s"] == 3 * 240

    def test_the_shared_window_helps_once_the_other_queue_is_done(self) -> None:
        e = engine()
        e.set_window(at(9), "w1", "open")
        e.set_window(at(9), "w4", "open")
        e.issue(at(9), "s_a1", "walk_in")             # w1: 300 s of s_a1, then s_b
        for i in range(4):
            e.issue(at(9, 1 + i), "s_b", "walk_in")
        t = e.issue(at(9, 5), "s_b", "walk_in").data
        # w4: B001 at 0, B002 at 240, B004 at 480, this one at 720; w1: A001 at 0, B003 at 300, then free at 540
        assert t["ahead"] == 4 and t["est_wait_s"] == 540


class TestOpeningHours:
    """hall: [issuing] hours 08:30-12:00, 13:30-17:00 (small_config_dict)."""

    def test_before_opening_the_time_to_opening_counts(self) -> None:
        e = engine()
        e.issue(at(8, 0), "s_b", "walk_in", open_all_day=True)     # a crowd before the windows open
        e.issue(at(8, 5), "s_b", "walk_in", open_all_day=True)
        t = e.issue(at(8, 10), "s_b", "walk_in", open_all_day=True).data
        # 20 min to 08:30, then w1 and w4 call the two ahead of it and one of them this one 240 s later
        assert t["ahead"] == 2 and t["est_wait_s"] == 20 * 60 + 240
        later = e.get(at(8, 20), ticket_id=t["id"]).data
        assert later["est_wait_s"] == 10 * 60 + 240   # the time to opening counts down
        assert e.queue_view("z1")["tickets"][t["id"]] == [2, 10 * 60 + 240]
        zone = e.zone_view("z1", at(8, 20))
        assert zone["services"]["s_b"]["est_wait_s"] == 10 * 60 + 240      # a new one: with the third, by w1 or w4
        assert zone["est_wait_s"] >= 10 * 60

    def test_before_opening_each_supervision_tick_republishes_the_countdown(self) -> None:
        """Nothing happens before 08:30, yet the pages and the display count down: supervise() names the zones whose
        waiting tickets no open window serves, and only those."""
        e = engine()
        e.issue(at(8, 0), "s_b", "walk_in", open_all_day=True)
        assert "z1" in e.supervise(at(8, 10)).zones
        assert e.queue_view("z1")["tickets"] and list(e.queue_view("z1")["tickets"].values())[0][1] == 20 * 60
        e.set_window(at(8, 25), "w1", "open")
        assert "z1" not in e.supervise(at(8, 26)).zones      # served now: its state goes out when something changes
        assert not engine().supervise(at(8, 10)).zones        # nobody waiting, nothing to count down

    def test_a_window_open_before_the_hours_calls_now(self) -> None:
        e = engine()
        e.set_window(at(8, 5), "w4", "open")          # staff at work early: nothing waits for 08:30
        e.issue(at(8, 6), "s_b", "walk_in", open_all_day=True)
        e.issue(at(8, 7), "s_b", "walk_in", open_all_day=True)
        t = e.issue(at(8, 10), "s_b", "walk_in", open_all_day=True).data
        assert t["est_wait_s"] == 2 * 240             # w4 alone (the open ones count), from now

    def test_a_ticket_not_reached_before_noon_waits_through_lunch(self) -> None:
        e = engine(600)                               # s_c: 10 min, at w3 alone
        e.set_window(at(11), "w3", "open")
        assert e.issue(at(11, 40), "s_c", "walk_in").data["est_wait_s"] == 0
        assert e.issue(at(11, 45), "s_c", "walk_in").data["est_wait_s"] == 600     # called at 11:55, before noon
        t = e.issue(at(11, 55), "s_c", "walk_in").data
        # 20 min of calling: 5 before 12:00, the other 15 from 13:30
        assert t["ahead"] == 2 and t["est_wait_s"] == 5 * 60 + 90 * 60 + 15 * 60

    def test_issued_over_lunch_it_waits_for_the_afternoon(self) -> None:
        e = engine(600)
        t = e.issue(at(12, 30), "s_c", "walk_in", open_all_day=True).data    # e.g. a booking check-in
        assert t["ahead"] == 0 and t["est_wait_s"] == 60 * 60
        e.set_window(at(12, 40), "w3", "open")        # someone serves through lunch: no waiting for 13:30
        assert e.get(at(12, 41), ticket_id=t["id"]).data["est_wait_s"] == 0

    def test_after_the_last_period_the_windows_serve_on(self) -> None:
        e = engine(600)
        e.issue(at(17, 5), "s_c", "walk_in", open_all_day=True)
        t = e.issue(at(17, 6), "s_c", "walk_in", open_all_day=True).data
        assert t["est_wait_s"] == 600


class TestSimulatedDay:
    def test_the_estimates_meet_the_waits_of_a_simulated_day(self) -> None:
        """Issued from 08:00, windows open 08:30-12:00 and 13:30 until the queue is done, one window shared by two
        services. The estimators before (the plain mean over the open windows; issue 12's first formula, without
        the hours and counting the shared window in full for both) are well off before opening and low on average:
        the thresholds below fail for both."""
        records = bench.simulate(seed=1, days=3)
        report = bench.report(records, 1, 3)
        now, before, formula = report["estimate"], report["previous_estimator"], report["formula_estimator"]
        assert report["called"] == report["tickets"] > 900
        assert now["median_abs_error_s"] < min(before["median_abs_error_s"], formula["median_abs_error_s"])
        assert now["median_abs_error_share"] < 0.2
        assert abs(now["mean_signed_error_s"]) < 60 < min(abs(before["mean_signed_error_s"]),
                                                          abs(formula["mean_signed_error_s"]))
        early = report["before_opening"]
        assert early["estimate"]["tickets"] > 20
        assert early["estimate"]["median_abs_error_s"] < 120 < min(early["previous_estimator"]["median_abs_error_s"],
                                                                   early["formula_estimator"]["median_abs_error_s"])
        late = report["late_morning"]                 # issued 11:00-12:00: many wait through lunch
        assert late["estimate"]["median_abs_error_share"] < 0.2 < late["formula_estimator"]["median_abs_error_share"]


class TestOneBatch:
    def test_tickets_of_one_batch_are_ordered_as_taken_and_join_the_kept_replay(self, monkeypatch) -> None:
        """The server's requests of one batch share their `now`. Their tickets get issue times a microsecond apart
        in the order taken, so each sorts last and joins the kept replay in place, with the estimate the replay
        afresh gives (a tie fell back on the numbers, recomputing the whole replay at every issue)."""
        e = engine()
        e.issue(at(8, 0), "s_b", "walk_in", open_all_day=True)
        e.issue(at(8, 0), "s_b", "walk_in", open_all_day=True)
        assert e._replay() is not None
        afresh: list[int] = []
        real = e._replay_afresh
        monkeypatch.setattr(e, "_replay_afresh", lambda: afresh.append(1) or real())
        now = at(8, 1)
        tickets = [e.issue(now, s, "walk_in", open_all_day=True).data for s in ("s_a2", "s_b", "s_a1", "s_b")]
        assert afresh == []
        times = [e.tickets[t["id"]].issued_at for t in tickets]
        assert times == sorted(times) and len(set(times)) == 4 and times[-1] - times[0] < timedelta(milliseconds=1)
        kept = [t["est_wait_s"] for t in tickets]
        e._queues_moved()
        assert [e.est_wait_s(e.tickets[t["id"]], now) for t in tickets] == kept
