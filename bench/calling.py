"""Calling chain latency against a real hall server: window.call_next → event/call at a subscriber, → the hall
display repainted with the call, → first audio sample of the call handed to the speaker. Prints one JSON object.

    .venv/bin/python bench/calling.py [--broker mosquitto|embedded] [--calls 200] [--voice-calls 30]
        [--voice-output dir:PATH|null|default]

Targets (ARCHITECTURE.md): event p99 ≤ 20 ms; first audio sample ≤ 150 ms when the speaker is idle.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from display_board.app import DisplayController, make_app  # noqa: E402
from display_board.bridge import DisplayBridge  # noqa: E402
from display_board.config import DisplayConfig, VoiceConfig  # noqa: E402
from hall_bus import BusClient  # noqa: E402
from hall_bus.contract import Op  # noqa: E402
from hall_bus.gui_thread import GuiThreadCollector  # noqa: E402
from hall_server.stats import summary  # noqa: E402
from bench.ticket_roundtrip import bench_config  # noqa: E402
from tests.support.hall import start_hall  # noqa: E402


class Marks:
    """perf_counter() stamps per call, written from paho / Qt / speaker threads."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.event: dict[str, float] = {}     # number -> event/call at the bench subscriber
        self.seq_of: dict[str, int] = {}
        self.paint: dict[int, float] = {}     # seq -> hero repainted with it
        self.audio: dict[int, float] = {}     # seq -> first bytes at the sink

    def put(self, table: dict, key: Any, t: float) -> None:
        with self.cond:
            table.setdefault(key, t)
            self.cond.notify_all()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", choices=("mosquitto", "embedded"), default="mosquitto")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--voice-calls", type=int, default=30, help="calls that also wait for their audio")
    ap.add_argument("--voice-output", default=None, help="speaker: dir:PATH (default: a temp dir), null, default")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-calling-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")          # nothing pre-synthesized
    app = make_app()
    collect = GuiThreadCollector().start().tick      # garbage freed on this (the GUI) thread only, as in the app
    # walk-ins welcome at every service; call_next back to back is a new call each time (no repeat-press rule)
    hall = start_hall(work, args.broker, config=bench_config(work, repeat_window_s=0))
    marks = Marks()
    clients: list[BusClient] = []
    voice = None
    try:
        sub = hall.client("display-bench-sub")
        clients.append(sub)
        sub.subscribe(hall.topics.event_call, lambda _t, p: (marks.seq_of.setdefault(p["number"], p["seq"]),
                                                              marks.put(marks.event, p["number"], time.perf_counter())))
        catalog: list[dict] = []
        sub.subscribe(hall.topics.state_catalog, lambda _t, p: catalog.append(p))
        deadline = time.monotonic() + 10
        while not catalog:
            if time.monotonic() > deadline:
                raise TimeoutError("no state/catalog from the server within 10 s")
            app.processEvents()
            time.sleep(0.01)
        window = "w15"
        services = next(w for w in catalog[0]["windows"] if w["id"] == window)["services"]

        from display_board.voice import CallVoice
        out = args.voice_output or f"dir:{work / 'voice'}"
        cfg = DisplayConfig(id="bench", hall=hall.hall, broker=hall.url,
                            voice=VoiceConfig(enabled=True, output=out, repeat=2))
        voice = CallVoice(cfg.voice)
        # warm up as a display does at start-up (worker, voices, chime), so "idle speaker" means idle
        voice.announce({"v": 1, "seq": 0, "ticket_id": "warm", "number": "Z000", "window": window,
                        "window_name": "0号窗口", "zone": "z1", "recall": False})
        voice.drain(60)
        voice.on_first_sample(lambda fs: marks.put(marks.audio, fs.seq, time.perf_counter()))
        voice_on = threading.Event()
        real_announce = voice.announce
        voice.announce = lambda ev: real_announce(ev) if voice_on.is_set() else None  # type: ignore[method-assign]
        dbus = BusClient(hall.url, hall.hall, cfg.client_id)
        clients.append(dbus)
        display = DisplayController(cfg, DisplayBridge(dbus), voice=voice, animate=False)
        display.view.show()
        display.view.hero.painted.connect(lambda seq: seq > 0 and marks.put(marks.paint, seq, time.perf_counter()))
        dbus.start()

        kiosk = hall.client("kiosk-bench")
        panel = hall.client(f"panel-{window}")
        clients += [kiosk, panel]
        total = args.calls + args.voice_calls
        for i in range(total):
            kiosk.request(Op.TICKET_ISSUE, {"service": services[i % len(services)], "channel": "walk_in"})
        panel.request(Op.WINDOW_OPEN, {"window": window})
        if not dbus.wait_connected(10):
            raise TimeoutError("the display's bus client could not connect within 10 s")

        def wait(cond, timeout: float = 10.0) -> bool:
            # The marks are stamped where they happen (signal handlers); this loop only keeps Qt running.
            deadline = time.monotonic() + timeout
            while not cond():
                if time.monotonic() > deadline:
                    return False
                app.processEvents()
                collect()
                time.sleep(0.0005)
            return True

        reply_ms, event_ms, paint_ms, audio_ms = [], [], [], []
        for i in range(total):
            with_voice = i >= args.calls
            if with_voice:
                voice_on.set()
            t0 = time.perf_counter()
            ticket = panel.request(Op.WINDOW_CALL_NEXT, {"window": window})
            t_reply = time.perf_counter()
            number = ticket["number"]
            if not wait(lambda: number in marks.event and marks.seq_of.get(number) in marks.paint):
                raise RuntimeError(f"call {number} never reached the display")
            seq = marks.seq_of[number]
            reply_ms.append((t_reply - t0) * 1000)
            event_ms.append((marks.event[number] - t0) * 1000)
            paint_ms.append((marks.paint[seq] - t0) * 1000)
            if with_voice:
                if not wait(lambda: seq in marks.audio, 30):
                    raise RuntimeError(f"call {number} was never heard")
                audio_ms.append((marks.audio[seq] - t0) * 1000)
                voice.drain(60)                                   # the next call finds the speaker idle
        result = {
            "bench": "calling", "broker": args.broker, "calls": total, "voice_calls": args.voice_calls,
            "voice_sink": voice.main.sink_name,
            "call_to_reply_ms": summary(reply_ms),
            "call_to_event_at_subscriber_ms": summary(event_ms),
            "call_to_display_repaint_ms": summary(paint_ms),
            "call_to_first_audio_sample_ms": {**summary(audio_ms),
                                              "first_call": round(audio_ms[0], 2) if audio_ms else None},
            "targets": {"event_p99_ms": 20, "first_audio_ms": 150},
        }
        ev, au = result["call_to_event_at_subscriber_ms"], result["call_to_first_audio_sample_ms"]
        result["within_target"] = {"event_p99": ev.get("p99", 1e9) <= 20,
                                   "first_audio_p99": au.get("p99", 1e9) <= 150}
        print(json.dumps(result, ensure_ascii=False))
        return 0
    finally:
        for c in clients:
            c.stop()
        if voice is not None:
            voice.close()
        hall.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
