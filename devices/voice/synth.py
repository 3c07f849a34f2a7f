"""Text → cached WAV through pyttsx3 in a watched child process (espeak-ng on Linux, SAPI5 on Windows)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import VoiceError

log = logging.getLogger("onewindow.devices.voice")

CACHE_VERSION = 1
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])

# espeak-ng: `cmn` reads hanzi as English-spelled pinyin; `cmn-latn-pinyin` speaks Mandarin (espeak-ng #1236, #1028)
ESPEAK_FALLBACK_NAMES = {"zh": "cmn-latn-pinyin", "en": "en-us"}


def default_cache_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "onewindow" / "voice"


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class SynthResult:
    path: Path
    voice: str
    engine: str  # "pyttsx3", "espeak-ng" (fallback) or "cache"
    cached: bool


@dataclass
class SynthStats:
    synthesized: int = 0  # phrases produced by pyttsx3
    fallback: int = 0  # phrases produced by the espeak-ng binary
    cache_hits: int = 0
    restarts: int = 0  # workers killed by the watchdog (or found dead) and restarted
    worker_pids: list[int] = field(default_factory=list)


def cache_key(voice: str, rate: int, volume: float, text: str) -> str:
    raw = json.dumps([CACHE_VERSION, voice, int(rate), round(float(volume), 3), text], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


class _Worker:
    """One pyttsx3 child process speaking JSON lines; replies are read by a thread into a queue."""

    def __init__(self, argv: list[str], start_timeout_s: float) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = _PROJECT_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONIOENCODING"] = "utf-8"
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=_PROJECT_ROOT,
            text=True, encoding="utf-8", bufsize=1,
        )
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"voice-worker-{self.proc.pid}", daemon=True)
        self._reader.start()
        hello = self._get(start_timeout_s)
        if hello is None or not hello.get("ready"):
            self.kill()
            reason = "no answer" if hello is None else hello.get("error")
            raise VoiceError(f"pyttsx3 worker did not start: {reason}")
        self.driver: str = hello["driver"]
        self.voices = [VoiceInfo(v["id"], v["name"], tuple(v["languages"])) for v in hello["voices"]]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.replies.put(json.loads(line))
            except ValueError:
                log.warning("voice worker %s: stray output %r", self.proc.pid, line[:200])
        self.replies.put(None)  # EOF: the worker died

    def _get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one phrase; raise TimeoutError if no reply in time, VoiceError if the worker died."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(req, ensure_ascii=False) + "\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise VoiceError(f"pyttsx3 worker {self.pid} is gone: {exc}") from None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"pyttsx3 worker {self.pid}: no reply in {timeout:.1f} s for {req['text']!r}")
            msg = self._get(left)
            if msg is None:
                if self.proc.poll() is not None:
                    raise VoiceError(f"pyttsx3 worker {self.pid} exited with {self.proc.returncode}")
                continue
            if msg.get("id") == req["id"]:
                return msg

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._reader.join(timeout=2)

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()  # EOF ends the request loop
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


class Synthesizer:
    """Thread-safe: `synthesize()` returns a cached WAV path for (voice, rate, volume, text).

    The watchdog: a phrase that gets no reply within `timeout_s` gets the worker killed and a new one
    started; the phrase is retried once there and, if that fails too, made by the espeak-ng binary
    (a logged fallback; never the normal path).
    """

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None, *, timeout_s: float = 5.0,
                 start_timeout_s: float = 20.0, worker_argv: list[str] | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self.worker_argv = worker_argv or [sys.executable, "-u", "-m", "devices.voice._worker"]
        self.stats = SynthStats()
        self._lock = threading.RLock()
        self._worker: _Worker | None = None
        self._worker_failed: str | None = None  # why pyttsx3 cannot start here (then: binary fallback)
        self._next_id = 0
        self._hang_next = False
        self._closed = False

    # -- worker lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker now (it takes ~0.3 s) instead of at the first phrase."""
        with self._lock:
            self._ensure_worker()

    def _ensure_worker(self) -> _Worker | None:
        if self._closed:
            raise VoiceError("synthesizer is closed")
        if self._worker is not None and self._worker.alive():
            return self._worker
        if self._worker is not None:  # died on its own
            log.warning("pyttsx3 worker %s died (exit %s); restarting", self._worker.pid,
                        self._worker.proc.returncode)
            self._worker.kill()
            self._worker = None
            self.stats.restarts += 1
        if self._worker_failed is not None:
            return None
        try:
            self._worker = _Worker(self.worker_argv, self.start_timeout_s)
        except (VoiceError, OSError) as exc:
            self._worker_failed = str(exc)
            log.warning("pyttsx3 unavailable (%s); phrases will be made by the espeak-ng binary", exc)
            return None
        self.stats.worker_pids.append(self._worker.pid)
        log.info("voice worker %s started (pyttsx3 driver %s, %d voices)", self._worker.pid,
                 self._worker.driver, len(self._worker.voices))
        return self._worker

    @property
    def worker_pid(self) -> int | None:
        with self._lock:
            return self._worker.pid if self._worker is not None and self._worker.alive() else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._worker is not None:
                self._worker.close()
                self._worker = None

    def inject_hang_for_test(self) -> None:
        """Make the worker hang on the next phrase it gets (exercises the watchdog)."""
        self._hang_next = True

    # -- voices -----------------------------------------------------------------------------------
    def voices(self) -> list[VoiceInfo]:
        with self._lock:
            w = self._ensure_worker()
            return list(w.voices) if w is not None else []

    def resolve_voice(self, lang: str, preferred: str | None = None) -> str:
        """The voice id for `lang`: `preferred` if given, else found in pyttsx3's voice list, else espeak-ng's name."""
        if preferred:
            return preferred
        voices = self.voices()
        if lang == "zh":
            wanted = [lambda v: v.id.lower().endswith("cmn-latn-pinyin"),
                      lambda v: "cmn-latn-pinyin" in [x.lower() for x in v.languages],
                      # SAPI5 (Windows): e.g. "Microsoft Huihui Desktop - Chinese (Simplified)"
                      lambda v: "chinese" in v.name.lower() or "zh-cn" in v.id.lower() or "huihui" in v.name.lower()]
        else:
            wanted = [lambda v: v.id.lower().endswith("/en-us") or v.id.lower() == "en-us",
                      lambda v: "en-us" in [x.lower() for x in v.languages],
                      lambda v: "english" in v.name.lower() or "en-us" in v.id.lower()]
        for test in wanted:
            for v in voices:
                if test(v):
                    return v.id
        name = ESPEAK_FALLBACK_NAMES.get(lang, lang)
        log.warning("no %s voice in pyttsx3's list; using espeak-ng's name %r", lang, name)
        return name

    # -- synthesis --------------------------------------------------------------------------------
    def cache_path(self, text: str, voice: str, rate: int = 180, volume: float = 1.0) -> Path:
        return self.cache_dir / f"{cache_key(voice, rate, volume, text)}.wav"

    def synthesize(self, text: str, voice: str, rate: int = 180, volume: float = 1.0) -> SynthResult:
        text = text.strip()
        if not text:
            raise VoiceError("synthesize: empty text")
        path = self.cache_path(text, voice, rate, volume)
        if path.is_file() and path.stat().st_size > 44:
            with self._lock:
                self.stats.cache_hits += 1
            return SynthResult(path, voice, "cache", cached=True)
        with self._lock:
            if path.is_file() and path.stat().st_size > 44:  # made by another thread meanwhile
                self.stats.cache_hits += 1
                return SynthResult(path, voice, "cache", cached=True)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            for attempt in (1, 2):
                worker = self._ensure_worker()
                if worker is None:
                    break
                self._next_id += 1
                req = {"id": self._next_id, "text": text, "voice": voice, "rate": int(rate),
                       "volume": float(volume), "path": str(path)}
                if self._hang_next:
                    req["debug"], self._hang_next = "hang", False
                try:
                    reply = worker.request(req, self.timeout_s)
                except TimeoutError as exc:
                    log.warning("watchdog: %s; killing worker %s and starting a new one (attempt %d)",
                                exc, worker.pid, attempt)
                    worker.kill()
                    self._worker = None
                    self.stats.restarts += 1
                    continue
                except VoiceError as exc:
                    log.warning("%s; restarting", exc)
                    continue
                if reply.get("ok"):
                    self.stats.synthesized += 1
                    return SynthResult(path, str(reply.get("voice") or voice), "pyttsx3", cached=False)
                # a refused phrase or voice is a config problem: the binary would only hide it
                raise VoiceError(f"pyttsx3 could not say {text!r} with voice {voice!r}: {reply.get('error')}")
            return self._espeak_binary(text, voice, rate, volume, path)

    def _espeak_binary(self, text: str, voice: str, rate: int, volume: float, path: Path) -> SynthResult:
        """Documented fallback only: pyttsx3 could not make this phrase, so run espeak-ng directly."""
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise VoiceError(f"cannot synthesize {text!r}: pyttsx3 failed and no espeak-ng binary on PATH")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        cmd = [exe, "-v", voice, "-s", str(int(rate)), "-a", str(int(round(volume * 100))), "-w", str(tmp), text]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=max(self.timeout_s, 10))
        except subprocess.TimeoutExpired:
            raise VoiceError(f"espeak-ng timed out on {text!r}") from None
        if done.returncode != 0 or not tmp.is_file():
            raise VoiceError(f"espeak-ng -v {voice} failed ({done.returncode}): {done.stderr.strip()}")
        os.replace(tmp, path)
        self.stats.fallback += 1
        log.warning("fallback: phrase %r made by the espeak-ng binary (voice %s), not pyttsx3", text, voice)
        return SynthResult(path, voice, "espeak-ng", cached=False)
