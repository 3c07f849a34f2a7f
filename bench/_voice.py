"""Calling-voice latency: call event → first audio bytes handed to the sink, idle speaker, cache cold and warm."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]  # bench/devices.py is not the package
sys.path.insert(0, str(_BENCH.parent))

from devices.voice import Announcer, AplaySink, DirSink, FirstSample, VoiceConfig, sound_cards  # noqa: E402
from devices.voice.audio import read_wav, rms  # noqa: E402
from devices.voice.synth import Synthesizer  # noqa: E402
from hall_server.stats import percentile  # noqa: E402

N = 20
TARGET_MS = 150.0


def _event(seq: int, window: int) -> dict[str, Any]:
    return {"v": 1, "seq": seq, "number": f"A{seq % 1000:03d}", "window": f"w{window}",
            "window_name": f"{window}号窗口", "zone": "z1", "recall": False}


def _run(announcer: Announcer, events: list[dict[str, Any]]) -> list[float]:
    got: list[FirstSample] = []
    arrived = threading.Event()

    def on_first(s: FirstSample) -> None:
        got.append(s)
        arrived.set()

    announcer.on_first_sample(on_first)
    for ev in events:
        arrived.clear()
        announcer.announce(ev)
        if not arrived.wait(30):
            raise RuntimeError(f"no audio for {ev['number']} within 30 s")
        announcer.drain(60)  # the next call finds the speaker idle
    return [round(s.latency_ms, 2) for s in got]


def _stats(ms: list[float]) -> dict[str, Any]:
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "max_ms": round(max(ms), 2),
            "ok": max(ms) <= TARGET_MS}


def measure() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="onewindow-voice-bench-"))
    out: dict[str, Any] = {"target_ms": TARGET_MS, "calls_per_case": N, "sound_cards": sound_cards(), "cases": {}}
    synth = Synthesizer(tmp / "cache")
    try:
        t = time.perf_counter()
        synth.start()
        out["worker_start_ms"] = round((time.perf_counter() - t) * 1000, 1)
        sinks: list[tuple[str, Any]] = [("dir", lambda: DirSink(tmp / "out"))]
        if shutil.which("aplay"):
            sinks.append(("aplay-null", lambda: AplaySink("null")))  # the real aplay pipe, ALSA's null device
        seq = 0
        for sink_name, make_sink in sinks:
            for langs in ("zh", "both"):
                cfg = VoiceConfig(languages=langs, repeat=2, chime=True, cache_dir=tmp / "cache")
                a = Announcer(cfg, synthesizer=synth, sink=make_sink())
                try:
                    a.prewarm()
                    events = []
                    for i in range(N):
                        seq += 1
                        events.append(_event(seq, 1 + (i * 7) % 102))
                    out["cases"][f"{sink_name}/{langs}/cold"] = _stats(_run(a, events))
                    out["cases"][f"{sink_name}/{langs}/warm"] = _stats(_run(a, events))
                finally:
                    a.close()
        zh = read_wav(synth.synthesize("请 A 零 二 三 号 到 十五 号窗口办理", synth.resolve_voice("zh"), 180).path)
        en = read_wav(synth.synthesize("Ticket A 0 2 3, please go to window 15", synth.resolve_voice("en"), 180).path)
        out["wav"] = {"zh_call_s": round(zh.duration_s, 3), "zh_rms": round(rms(zh), 4),
                      "en_call_s": round(en.duration_s, 3), "en_rms": round(rms(en), 4), "rate": 180,
                      "voice_zh": synth.resolve_voice("zh"), "voice_en": synth.resolve_voice("en")}
        out["synth"] = {"synthesized": synth.stats.synthesized, "cache_hits": synth.stats.cache_hits,
                        "fallback": synth.stats.fallback, "restarts": synth.stats.restarts}
        out["ok"] = all(c["ok"] for c in out["cases"].values())
        return out
    finally:
        synth.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(measure()))
