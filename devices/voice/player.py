"""Serialised playback per speaker: one queue and one thread per output, sinks for aplay, winsound and a directory."""
from __future__ import annotations

import logging
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from .audio import Pcm, wav_bytes, write_wav
from .errors import VoiceError

log = logging.getLogger("onewindow.devices.voice")

_CHUNK = 16384


@dataclass
class PlayJob:
    """One announcement ready to play: chime + call (× repeat) as a single clip."""
    label: str  # e.g. "000023-A023"
    pcm: Pcm
    seq: int | None = None
    number: str = ""
    t_event: float = field(default_factory=time.perf_counter)  # perf_counter() when the call event came in
    on_first_bytes: Callable[["PlayJob", float], None] | None = None
    on_done: Callable[["PlayJob", float, float], None] | None = None

    def first_bytes(self) -> None:
        if self.on_first_bytes is not None:
            self.on_first_bytes(self, time.perf_counter())


class Sink(Protocol):
    name: str

    def play(self, job: PlayJob) -> None:
        """Play (or store) the clip; block until done; call job.first_bytes() as the first bytes leave."""


@dataclass(frozen=True)
class PlayRecord:
    label: str
    path: Path
    start: float
    end: float


class DirSink:
    """`--voice-out DIR`: each announcement becomes DIR/{seq:06d}-{number}.wav (chime + call as heard)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = f"dir:{self.directory}"
        self.played: list[PlayRecord] = []

    def play(self, job: PlayJob) -> None:
        start = time.perf_counter()
        path = self.directory / f"{job.label}.wav"
        n = 1
        while path.exists():
            n += 1
            path = self.directory / f"{job.label}-{n}.wav"
        job.first_bytes()
        write_wav(path, job.pcm)
        self.played.append(PlayRecord(job.label, path, start, time.perf_counter()))


class NullSink:
    """No speaker: calls are dropped (the warning was given once when the sink was chosen)."""

    def __init__(self, reason: str = "") -> None:
        self.name = "null"
        self.reason = reason

    def play(self, job: PlayJob) -> None:
        return None


class AplaySink:
    """`aplay -q -D device -` fed the WAV on stdin; one process per announcement, which ends when the clip ends."""

    def __init__(self, device: str = "default", aplay: str = "aplay") -> None:
        self.device = device
        self.aplay = aplay
        self.name = f"aplay:{device}"

    def play(self, job: PlayJob) -> None:
        data = wav_bytes(job.pcm)
        proc = subprocess.Popen([self.aplay, "-q", "-D", self.device, "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stdin is not None and proc.stderr is not None
        try:
            for i in range(0, len(data), _CHUNK):
                proc.stdin.write(data[i:i + _CHUNK])
                if i == 0:
                    proc.stdin.flush()
                    job.first_bytes()
        except BrokenPipeError:
            pass  # aplay quit early; its stderr says why
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        proc.stderr.close()
        rc = proc.wait()
        if rc != 0:
            raise VoiceError(f"aplay -D {self.device} failed ({rc}) on {job.label}: {err}")


class WinsoundSink:
    """Windows: winsound.PlaySound from memory (blocks until the clip ends)."""

    def __init__(self) -> None:
        self.name = "winsound"

    def play(self, job: PlayJob) -> None:
        import winsound  # Windows only

        data = wav_bytes(job.pcm)
        job.first_bytes()
        winsound.PlaySound(data, winsound.SND_MEMORY)


def sound_cards() -> list[str] | None:
    """Card lines from `aplay -l` ("card 0: PCH [HDA Intel PCH] ..."); [] when none, None when aplay is missing."""
    exe = shutil.which("aplay")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return []
    # aplay -l exits 0 and only prints "no soundcards found..." on stderr when there are none
    return [line for line in done.stdout.splitlines() if re.match(r"card \d+:", line)]


def open_sink(output: str = "default", voice_out: str | Path | None = None) -> tuple[Sink, str | None]:
    """Choose the sink for an output spec; returns (sink, warning or None).

    output: an ALSA device ("default", "plughw:1,0", "null"), "dir:PATH", or "none".
    voice_out: a directory to write calls to when there is no sound card (`--voice-out DIR`).
    """
    if output.startswith("dir:"):
        return DirSink(output[4:]), None
    if output in ("none", "off"):
        return NullSink("voice output is off"), None
    if sys.platform == "win32":
        return WinsoundSink(), None
    cards = sound_cards()
    if cards is None:
        problem = "no `aplay` on PATH (install alsa-utils)"
    elif not cards and not output.startswith("null"):  # ALSA's null device works without cards
        problem = "no sound card: `aplay -l` lists none"
    else:
        return AplaySink(output), None
    if voice_out is not None:
        warning = f"{problem}; calls are written as WAV files to {voice_out} instead of {output!r}"
        log.warning(warning)
        return DirSink(voice_out), warning
    warning = f"{problem}; calls will not be heard (give --voice-out DIR to keep them as WAV files)"
    log.warning(warning)
    return NullSink(warning), warning


class Speaker:
    """One physical output: jobs play one after another, never overlapping, in the order enqueued."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._jobs: queue.Queue[PlayJob | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"speaker-{sink.name}", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs enqueued and not yet finished (including the one playing)."""
        with self._idle:
            return self._pending

    def enqueue(self, job: PlayJob) -> None:
        with self._idle:
            if self._closed:
                raise VoiceError(f"speaker {self.sink.name} is closed")
            self._pending += 1
        self._jobs.put(job)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything enqueued has played; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            start = time.perf_counter()
            try:
                self.sink.play(job)
            except Exception:  # noqa: BLE001 - one failed clip must not silence the hall
                log.exception("speaker %s: playing %s failed", self.sink.name, job.label)
            end = time.perf_counter()
            if job.on_done is not None:
                try:
                    job.on_done(job, start, end)
                except Exception:  # noqa: BLE001
                    log.exception("speaker %s: on_done listener failed", self.sink.name)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued (up to `timeout`), then stop the thread."""
        with self._idle:
            if self._closed:
                return
            self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout)


class _SpeakerRegistry:
    """Announcers that name the same output share one Speaker, so two zones on one amplifier never overlap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._speakers: dict[str, tuple[Speaker, int, str | None]] = {}

    def acquire(self, output: str, voice_out: str | Path | None) -> tuple[Speaker, str | None]:
        key = f"{output}|{voice_out}"
        with self._lock:
            if key in self._speakers:
                spk, refs, warning = self._speakers[key]
                self._speakers[key] = (spk, refs + 1, warning)
                return spk, warning
            sink, warning = open_sink(output, voice_out)
            spk = Speaker(sink)
            self._speakers[key] = (spk, 1, warning)
            return spk, warning

    def release(self, speaker: Speaker) -> None:
        with self._lock:
            for key, (spk, refs, warning) in list(self._speakers.items()):
                if spk is speaker:
                    if refs > 1:
                        self._speakers[key] = (spk, refs - 1, warning)
                        return
                    del self._speakers[key]
                    break
        speaker.close()


speakers = _SpeakerRegistry()
