"""Synthesis worker child process: pyttsx3 turns one phrase into one WAV per request (JSON lines on stdin/stdout).

Run as `python -m devices.voice._worker`. The parent (synth.Synthesizer) owns the watchdog.
Why a child: pyttsx3 2.99 can deadlock on repeated use (#402, #419, #440) and espeak-ng
initialises once per process, so a hung engine is only recoverable by killing the process.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any


def _protocol_stream():
    """Keep a private copy of stdout for replies and point fd 1 and sys.stdout at /dev/null.

    pyttsx3's espeak driver print()s "Audio saved to ..." from inside the espeak callback; on a
    protocol pipe that would corrupt the replies, and if printing ever raised (closed pipe) the
    exception is swallowed by ctypes, the end-of-message event is lost and runAndWait never returns.
    """
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return proto


def _driver_name() -> str | None:
    if sys.platform.startswith("linux"):
        return "espeak"
    if sys.platform == "win32":
        return "sapi5"
    return None  # pyttsx3's own default (nsss on macOS)


def _settle() -> None:
    """Wait until espeak-ng's command thread is idle.

    pyttsx3 2.99 runs the queued endLoop at the start of every runAndWait, and endLoop calls
    driver.stop(), which sets a stop flag and Cancel()s if espeak reports IsPlaying(). In
    AUDIO_OUTPUT_RETRIEVAL mode IsPlaying() is also true while espeak's thread applies a voice,
    rate or volume change and for a moment after the end-of-message callback; the stale flag then
    cancels the phrase just started (seen here for 49 of 60 alternating zh/en phrases). So a phrase
    is only started once espeak is idle.
    """
    if _driver_name() != "espeak":
        return
    from pyttsx3.drivers import _espeak

    deadline = time.monotonic() + 5.0
    while _espeak.IsPlaying() and time.monotonic() < deadline:
        time.sleep(0.001)


def main() -> int:
    proto = _protocol_stream()

    def send(msg: dict[str, Any]) -> None:
        proto.write(json.dumps(msg, ensure_ascii=False) + "\n")
        proto.flush()

    try:
        import pyttsx3

        engine = pyttsx3.init(_driver_name())
        errors: list[BaseException] = []
        engine.connect("error", lambda name=None, exception=None, **_: errors.append(exception))
        finished = threading.Event()
        outcome: list[bool] = []

        def on_finished(name: object = None, completed: bool = False, **_: object) -> None:
            outcome.append(bool(completed))
            finished.set()

        engine.connect("finished-utterance", on_finished)
        voices = [{"id": v.id, "name": v.name, "languages": [str(x) for x in (v.languages or [])]}
                  for v in engine.getProperty("voices")]
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which falls back
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    # The proxy starts "busy", so before the first runAndWait every setProperty is queued and runs
    # in the same pump as the stop() of endLoop (see _settle). One empty loop puts it in the idle
    # state where setProperty applies at once.
    engine.runAndWait()
    _settle()
    send({"ready": True, "driver": _driver_name() or "default", "pid": os.getpid(), "voices": voices})

    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        rid = req.get("id")
        if req.get("debug") == "hang":  # in-band fault injection for the watchdog test
            while True:
                time.sleep(3600)
        path, tmp = req["path"], req["path"] + f".{os.getpid()}.part.wav"
        errors.clear()
        outcome.clear()
        finished.clear()
        try:
            # one save_to_file + one runAndWait per phrase: pyttsx3 2.99 queues only the last utterance
            engine.setProperty("voice", req["voice"])
            engine.setProperty("rate", int(req["rate"]))
            engine.setProperty("volume", float(req["volume"]))
            _settle()  # voice/rate/volume changes run on espeak's thread and count as "playing"
            engine.save_to_file(req["text"], tmp)
            engine.runAndWait()
            if errors:
                raise RuntimeError(f"pyttsx3 reported: {errors[0]!r}")
            # runAndWait() is not a completion signal: when the engine was idle (the first phrase of a
            # process) its queued endLoop runs before synthesis starts and it returns after ~10 ms while
            # espeak-ng (AUDIO_OUTPUT_RETRIEVAL, its own thread) is still producing samples; the next
            # runAndWait would then Cancel() that synthesis. Wait for the driver's own end-of-message.
            # (If it never comes, the parent's watchdog kills this process.)
            if _driver_name() == "espeak":
                finished.wait()
                _settle()
                if True not in outcome:
                    raise RuntimeError(f"pyttsx3 cancelled the utterance {req['text']!r}")
            actual = engine.getProperty("voice")
            if not os.path.isfile(tmp) or os.path.getsize(tmp) <= 44:
                raise RuntimeError(f"pyttsx3 wrote no audio for {req['text']!r}")
            os.replace(tmp, path)
            send({"id": rid, "ok": True, "path": path, "voice": actual})
        except Exception as exc:  # noqa: BLE001 - one bad phrase must not kill the worker
            try:
                os.remove(tmp)
            except OSError:
                pass
            send({"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
