"""hall_bus.gui_thread: calls posted from any thread run on the consumer thread, in order, woken by one byte; cyclic
garbage is freed on the GUI thread only."""
from __future__ import annotations

import gc
import select
import threading

from hall_bus.gui_thread import GuiThreadCollector, Mailbox


def wait_readable(box: Mailbox, timeout: float = 2.0) -> bool:
    return bool(select.select([box.fileno()], [], [], timeout)[0])


def test_posts_from_many_threads_run_in_each_threads_order_on_the_consumer():
    box = Mailbox()
    seen: list[tuple[int, int, int]] = []

    def producer(p: int) -> None:
        for i in range(2000):
            box.post(lambda p=p, i=i: seen.append((p, i, threading.get_ident())))

    threads = [threading.Thread(target=producer, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = 0
    while box.pending():
        assert wait_readable(box)
        ran += box.drain()
    assert ran == 8000 and len(seen) == 8000
    assert {who for _p, _i, who in seen} == {threading.get_ident()}
    for p in range(4):
        assert [i for q, i, _ in seen if q == p] == list(range(2000))
    box.close()


def test_a_burst_wakes_the_consumer_once_and_an_idle_box_is_silent():
    box = Mailbox()
    assert not wait_readable(box, 0.05)
    for i in range(100):
        box.post(lambda: None)
    assert wait_readable(box, 1.0)
    assert box.drain() == 100
    assert not wait_readable(box, 0.05), "one byte per burst: nothing left to read after a drain"
    box.post(lambda: None)                     # the next post wakes it again
    assert wait_readable(box, 1.0)
    assert box.drain() == 1
    box.close()


def test_call_on_the_owner_thread_runs_now_after_what_was_queued_before_it():
    box = Mailbox()
    order: list[str] = []
    t = threading.Thread(target=box.post, args=(order.append, "from-thread"))
    t.start()
    t.join()
    box.call(order.append, "on-owner")
    assert order == ["from-thread", "on-owner"]
    assert box.pending() == 0
    box.close()


def test_a_failing_call_does_not_starve_the_rest_and_close_drops_later_posts(caplog):
    box = Mailbox()
    got: list[int] = []
    box.post(lambda: 1 / 0)
    box.post(got.append, 2)
    assert box.drain() == 2 and got == [2]
    assert "failed" in caplog.text and "ZeroDivisionError" in caplog.text
    box.close()
    box.post(got.append, 3)                   # the screen is gone: dropped, never raises
    assert box.drain() == 0 and got == [2] and box.closed


def test_cycles_dropped_on_a_worker_thread_are_freed_by_tick_on_the_gui_thread():
    collector = GuiThreadCollector().start()
    freed: list[int] = []

    class Node:                      # stands for a widget or timer kept alive only by a reference cycle
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            freed.append(threading.get_ident())

    def worker() -> None:   # 2,000 cycles: far past the threshold that would have run the collector right here
        for _ in range(2000):
            Node()

    try:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert freed == [], "collected on the worker thread"
        assert collector.tick() >= 2000
        assert len(freed) == 2000 and set(freed) == {threading.get_ident()}
        assert collector.tick() == 0, "nothing collected below the thresholds"
    finally:
        collector.stop()
        gc.collect()


def test_a_call_made_from_inside_a_drained_call_keeps_its_place_in_line():
    box = Mailbox()
    order: list[str] = []

    def first() -> None:
        order.append("first")
        box.call(order.append, "from-inside-first")     # re-entrant: queued behind "second"

    def producer() -> None:
        box.post(first)
        box.post(order.append, "second")

    t = threading.Thread(target=producer)
    t.start()
    t.join()
    assert box.drain() == 2 and order == ["first", "second"]
    assert wait_readable(box)
    assert box.drain() == 1 and order == ["first", "second", "from-inside-first"]
    box.close()


def test_a_quit_signal_before_the_loop_runs_is_acted_on_by_the_first_tick() -> None:
    """SIGTERM between the bus coming online and app.exec(): Qt ignores a quit() before exec, so the tick quits."""
    import os
    import signal

    from hall_bus import gui_thread
    quits: list[str] = []
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    gc_was_on = gc.isenabled()
    try:
        gui_thread.quit_on_signals()
        os.kill(os.getpid(), signal.SIGTERM)        # before any loop: kept, not the default death
        assert gui_thread._QUIT.is_set()
        tick = gui_thread.gui_housekeeping(lambda: quits.append("quit"))
        tick()
        assert quits == ["quit"]
    finally:
        gui_thread._QUIT.clear()
        gui_thread._quit_app.clear()
        if gc_was_on:
            gc.enable()
        for sig, handler in old.items():
            signal.signal(sig, handler)
