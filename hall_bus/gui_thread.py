"""Two rules for a process with a Qt GUI thread (kiosk, panel, display), here without importing Qt (hall_bus is
shared with the headless roles):

1. Only the GUI thread calls into Qt. Bus and device callbacks arrive on paho's and the drivers' threads; they
   `Mailbox.post` the call, which appends to a deque and writes one byte to a socket pair; the GUI thread
   watches `fileno()` (a QSocketNotifier in each app's bridge) and runs `drain()`, in order. No polling: an idle
   screen sleeps in its event loop. (Emitting a Qt signal from a Python thread is allowed by Qt but PySide6
   has had crashes there, PYSIDE-3124 and relatives.)

2. Only the GUI thread finalises Qt objects. Python's cyclic garbage collector runs on whichever thread happens
   to allocate; when it frees a widget, timer or socket notifier on paho's thread, Qt cannot unregister it from
   the GUI thread's event dispatcher ("Timers cannot be stopped from another thread") and the dispatcher later
   touches freed memory. Our test suite hit exactly this: a SIGSEGV in QSocketNotifier::type() under
   g_main_context_check (seen in gdb), and in CI a segfault in the kiosk tests while a reader thread allocated.
   `GuiThreadCollector` switches automatic collection off and collects from a timer on the GUI thread, at the
   same generation thresholds Python would have used.
"""
from __future__ import annotations

import collections
import gc
import logging
import signal
import socket
import threading
from typing import Any, Callable

log = logging.getLogger("onewindow.gui_thread")


class Mailbox:
    """post(fn, *args) from any thread; drain() on the consumer thread runs the calls in posting order.
    At most one wake-up byte is in flight, so a burst of 10,000 posts costs one wake-up."""

    def __init__(self) -> None:
        self._recv, self._send = socket.socketpair()
        self._recv.setblocking(False)
        self._send.setblocking(False)
        self._calls: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._lock = threading.Lock()
        self._armed = False        # a wake-up byte is on its way to the consumer
        self._closed = False
        self._draining = False     # only ever touched on the owner thread
        self._notifier: Any = None
        self.owner = threading.get_ident()

    def fileno(self) -> int:
        return self._recv.fileno()

    def watch(self, make_notifier: Callable[[int], Any]) -> "Mailbox":
        """Let the GUI drain this mailbox whenever it is woken: `make_notifier(fd)` returns a read notifier for the
        descriptor (a QSocketNotifier); it is disabled again by close()."""
        self._notifier = make_notifier(self.fileno())
        self._notifier.activated.connect(self.drain)
        return self

    @property
    def closed(self) -> bool:
        return self._closed

    def on_owner_thread(self) -> bool:
        return threading.get_ident() == self.owner

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue fn(*args) for the consumer thread. After close() posts are dropped (the screen is gone)."""
        with self._lock:
            if self._closed:
                return
            self._calls.append((fn, args))
            if self._armed:
                return
            self._armed = True
        try:
            self._send.send(b"\x01")
        except OSError:  # closed meanwhile: nothing left to wake
            pass

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """fn(*args) now when on the consumer thread (after anything queued before it, to keep order), else
        post it. From inside a call that drain() is running it is queued behind the rest of that batch."""
        if self.on_owner_thread() and not self._draining:
            if self._calls:
                self.drain()
            fn(*args)
        else:
            self.post(fn, *args)

    def drain(self, *_ignored: Any) -> int:
        """Run everything queued so far; returns how many calls ran. Extra arguments are ignored so that
        it can be connected to QSocketNotifier.activated directly."""
        try:
            self._recv.recv(64)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return 0
        with self._lock:
            self._armed = False
            calls = list(self._calls)
            self._calls.clear()
        self._draining = True
        try:
            for fn, args in calls:
                try:
                    fn(*args)
                except Exception:  # one failing slot must not starve the rest of the queue
                    log.exception("a queued call to %r failed", fn)
        finally:
            self._draining = False
        return len(calls)

    def pending(self) -> int:
        return len(self._calls)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._calls.clear()
        if self._notifier is not None:
            try:
                self._notifier.setEnabled(False)    # before its descriptor closes
            except RuntimeError:                    # the Qt object is already gone with its parent
                pass
            self._notifier = None
        for sock in (self._send, self._recv):
            try:
                sock.close()
            except OSError:
                pass

    def __del__(self) -> None:  # a screen dropped without stop() must not leak its two descriptors
        if hasattr(self, "_recv"):
            self.close()


class GuiThreadCollector:
    """Cyclic garbage collection on the GUI thread only: `start()` turns Python's automatic collection off;
    the GUI calls `tick()` from a timer (every 0.2 to 1 s) and it collects the generation whose threshold was
    passed, like the interpreter would. `stop()` restores automatic collection."""

    def __init__(self) -> None:
        self.thresholds = gc.get_threshold()
        self.collected = 0
        self._was_enabled = gc.isenabled()

    def start(self) -> "GuiThreadCollector":
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    def tick(self, *_ignored: Any) -> int:
        """Collect if a threshold was passed; returns the number of unreachable objects found."""
        counts = gc.get_count()
        generation = -1
        for gen in range(3):
            if self.thresholds[gen] and counts[gen] > self.thresholds[gen]:
                generation = gen
        if generation < 0:
            return 0
        found = gc.collect(generation)
        self.collected += found
        return found

    def stop(self) -> None:
        if self._was_enabled:
            gc.enable()


def run_gui(app: Any, timer: Any, *cleanup: Callable[[], None]) -> int:
    """The end of every Qt app's main: `app.exec()` with the housekeeping tick on `timer` (a fresh QTimer), then
    the cleanups (bridge.stop sends the offline presence) however the loop ended."""
    timer.setInterval(250)
    timer.timeout.connect(gui_housekeeping(app.quit))
    timer.start()
    try:
        return int(app.exec())
    finally:
        for fn in cleanup:
            fn()


_QUIT = threading.Event()                       # SIGTERM or Ctrl+C came: the app is to quit as soon as it can
_quit_app: list[Callable[[], None]] = []        # the running app's quit, once its loop is set up


def _on_quit_signal(*_ignored: Any) -> None:
    _QUIT.set()
    for fn in _quit_app:
        fn()


def quit_on_signals() -> None:
    """SIGTERM and Ctrl+C quit the app cleanly (the offline presence is sent). Called first thing in each app's
    run(), before its bus comes online: a signal during start-up is kept and acted on once the loop runs (by the
    housekeeping tick), never the default death without an offline presence, nor a quit() that Qt ignores because
    it came before app.exec()."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_quit_signal)


def gui_housekeeping(quit_app: Callable[[], None]) -> Callable[..., Any]:
    """What every Qt app's main sets up before `app.exec()`: SIGTERM and Ctrl+C quit the app cleanly (so the
    offline presence is sent), and garbage is collected on the GUI thread only. Returns the function to call
    from a QTimer every 250 ms: Python runs its signal handlers only between Qt events, and the same tick
    collects and quits when a signal came before the loop ran."""
    quit_on_signals()
    _quit_app[:] = [quit_app]
    collector = GuiThreadCollector().start()

    def tick(*_ignored: Any) -> int:
        if _QUIT.is_set():
            quit_app()
        return collector.tick()
    return tick
