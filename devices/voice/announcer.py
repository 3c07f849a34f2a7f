"""The hall's calling voice for one speaker: call event → chime + spoken call, queued without blocking the caller."""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from pydantic import Field, field_validator

from hall_bus.configfile import ConfigModel

from .audio import Pcm, chime, concat, convert, read_wav, silence
from .clips import ClipPack
from .compose import Announcement, compose, normalize_languages
from .errors import VoiceError
from .player import NullSink, PlayJob, Sink, Speaker, speakers
from .synth import Synthesizer, default_cache_dir

log = logging.getLogger("onewindow.devices.voice")


class VoiceConfig(ConfigModel):
    """[voice] / [zones.z1.voice] section of the devices config."""
    languages: Literal["zh", "en", "both"] | list[Literal["zh", "en"]] = "zh"
    rate: int = Field(180, ge=80, le=450, description="words per minute; a Chinese call is ~3.5-4 s at 180")
    volume: float = Field(1.0, ge=0.0, le=1.0)
    repeat: int = Field(2, ge=1, le=5, description="how many times the call is spoken after one chime")
    repeat_gap_s: float = Field(0.8, ge=0.0, le=5.0)
    language_gap_s: float = Field(0.4, ge=0.0, le=5.0)
    chime: bool = True
    voice_zh: str | None = Field(None, description="pyttsx3 voice id; default: espeak-ng cmn-latn-pinyin / SAPI5 Chinese")
    voice_en: str | None = None
    clip_pack: Path | None = Field(None, description="directory of pre-recorded clips; used when it covers a phrase")
    output: str = Field("default", description="ALSA device, 'dir:PATH' or 'none'")
    voice_out: Path | None = Field(None, description="write calls here as WAV when there is no sound card")
    cache_dir: Path | None = None
    templates: dict[Literal["zh", "en"], str] = Field(default_factory=dict)
    recall_prefix: dict[Literal["zh", "en"], str] = Field(default_factory=dict)
    respell: dict[str, str] = Field(default_factory=lambda: {"重呼": "虫呼"},
                                    description="text swaps before synthesis: espeak-ng reads 重呼 as zhòng hū")
    prewarm: bool = Field(True, description="start the synthesis worker and make the chime at start-up")
    synth_timeout_s: float = Field(5.0, gt=0.0, le=60.0)

    @field_validator("templates")
    @classmethod
    def _templates_have_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, tpl in value.items():
            if "{ticket}" not in tpl:
                raise ValueError(f"template for {lang} must contain {{ticket}}")
            try:
                tpl.format(ticket="", window="", number="", window_name="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"template for {lang}: bad placeholder {exc}") from None
        return value


@dataclass(frozen=True)
class FirstSample:
    """The first bytes of a call's clip reached the sink (aplay's stdin, the WAV file, winsound)."""
    seq: int | None
    number: str
    t_event: float  # time.perf_counter() when announce() was called
    t_first: float  # time.perf_counter() when the first bytes were handed over
    sink: str

    @property
    def latency_ms(self) -> float:
        return (self.t_first - self.t_event) * 1000.0


@dataclass(frozen=True)
class Played:
    seq: int | None
    number: str
    duration_s: float
    sink: str
    sources: tuple[str, ...]  # per phrase: "clips", "cache", "pyttsx3" or "espeak-ng"


class Announcer:
    """One speaker's calling voice. `announce()` returns at once; composing, synthesis and playback run on threads.

    Zones with their own speakers get one Announcer each (pass one shared Synthesizer to save processes);
    Announcers with the same `output` share one playback queue, so calls never talk over each other.
    """

    def __init__(self, config: VoiceConfig | None = None, *, synthesizer: Synthesizer | None = None,
                 sink: Sink | None = None) -> None:
        self.config = config or VoiceConfig()
        self.languages = normalize_languages(self.config.languages)
        cache = self.config.cache_dir or default_cache_dir()
        self.cache_dir = Path(cache)
        self._own_synth = synthesizer is None
        self.synth = synthesizer or Synthesizer(cache, timeout_s=self.config.synth_timeout_s)
        self.clip_pack = ClipPack(self.config.clip_pack) if self.config.clip_pack else None
        if sink is not None:
            self._speaker, self.warning, self._shared = Speaker(sink), None, False
        else:
            self._speaker, self.warning = speakers.acquire(self.config.output,
                                                           self.config.voice_out and str(self.config.voice_out))
            self._shared = True
        self._voices: dict[str, str] = {}
        self._first_listeners: list[Callable[[FirstSample], None]] = []
        self._played_listeners: list[Callable[[Played], None]] = []
        self._events: queue.Queue[tuple[dict[str, Any], float] | None] = queue.Queue()
        self._closed = False
        self._prep = threading.Thread(target=self._prepare_loop, name="announcer-prep", daemon=True)
        self._prep.start()

    # -- public API ---------------------------------------------------------------------------
    @property
    def sink_name(self) -> str:
        return self._speaker.sink.name

    def on_first_sample(self, callback: Callable[[FirstSample], None]) -> None:
        """callback(FirstSample) on the speaker thread when a call's first bytes reach the sink."""
        self._first_listeners.append(callback)

    def on_played(self, callback: Callable[[Played], None]) -> None:
        """callback(Played) on the speaker thread when a call has finished playing."""
        self._played_listeners.append(callback)

    def announce(self, call_event: Mapping[str, Any]) -> None:
        """Queue a call event (PROTOCOL.md "Call event"); never blocks. A bad event is logged and dropped."""
        t_event = time.perf_counter()
        if self._closed:
            raise VoiceError("announcer is closed")
        self._events.put((dict(call_event), t_event))

    def prewarm(self, events: list[Mapping[str, Any]] | tuple[Mapping[str, Any], ...] = ()) -> None:
        """Start the synthesis worker, pick voices, make the chime, and cache the phrases of `events` (blocking)."""
        for lang in self.languages:
            self._voice(lang)
        if self.config.chime:
            chime(self.cache_dir, (1, 2, 22050))
        for ev in events:
            for phrase in compose(ev, self.languages, self.config.templates, self.config.recall_prefix).phrases:
                self._phrase_pcm(phrase.lang, phrase.text)

    def render(self, call_event: Mapping[str, Any]) -> tuple[Pcm, tuple[str, ...]]:
        """The whole clip of one call (chime + phrases × repeat), synchronously; also used by diagnostics."""
        ann = compose(call_event, self.languages, self.config.templates, self.config.recall_prefix)
        return self._render(ann)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every announced call has been played (tests, shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._events.all_tasks_done:  # Queue.join() has no timeout
            if not self._events.all_tasks_done.wait_for(lambda: self._events.unfinished_tasks == 0, timeout):
                return False
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._speaker.drain(left)

    def status(self) -> dict[str, Any]:
        """For device/{speaker}/status: state ok/warning and what the sink is."""
        return {"state": "warning" if self.warning else "ok", "sink": self.sink_name,
                "detail": {"warning": self.warning, "languages": list(self.languages),
                           "synth": {"restarts": self.synth.stats.restarts, "fallback": self.synth.stats.fallback}}}

    def close(self, timeout: float = 30.0) -> None:
        """Play what is queued (up to `timeout`), then stop threads and the worker this Announcer owns."""
        if self._closed:
            return
        self._closed = True
        self._events.put(None)
        self._prep.join(timeout)
        if self._shared:
            speakers.release(self._speaker)
        else:
            self._speaker.close(timeout)
        if self._own_synth:
            self.synth.close()

    # -- internals ------------------------------------------------------------------------------
    def _voice(self, lang: str) -> str:
        if lang not in self._voices:
            preferred = self.config.voice_zh if lang == "zh" else self.config.voice_en
            self._voices[lang] = self.synth.resolve_voice(lang, preferred)
        return self._voices[lang]

    def _phrase_pcm(self, lang: str, text: str) -> tuple[Pcm, str]:
        if lang == "zh" and self.clip_pack is not None:
            pcm = self.clip_pack.render(text)
            if pcm is not None:
                return pcm, "clips"
        for wrong, right in self.config.respell.items():
            text = text.replace(wrong, right)
        res = self.synth.synthesize(text, self._voice(lang), self.config.rate, self.config.volume)
        return read_wav(res.path), res.engine

    def _render(self, ann: Announcement) -> tuple[Pcm, tuple[str, ...]]:
        parts = [self._phrase_pcm(p.lang, p.text) for p in ann.phrases]
        fmt = parts[0][0].format
        spoken = [convert(pcm, fmt) for pcm, _ in parts]
        once = concat(spoken, self.config.language_gap_s)
        body = concat([once] * self.config.repeat, self.config.repeat_gap_s)
        pieces = [body]
        if self.config.chime:
            pieces = [chime(self.cache_dir, fmt), silence(fmt, 0.15), body]
        pieces.append(silence(fmt, 0.3))  # the amplifier's tail; aplay cuts the last buffer otherwise
        return concat(pieces), tuple(src for _, src in parts)

    def _prepare_loop(self) -> None:
        if self.config.prewarm and not isinstance(self._speaker.sink, NullSink):
            try:  # the first call of the day must not wait ~0.5 s for the worker process
                self.prewarm()
            except Exception:  # noqa: BLE001 - reported again, per call, if it still fails then
                log.exception("voice prewarm failed")
        while True:
            item = self._events.get()
            try:
                if item is None:
                    return
                event, t_event = item
                try:
                    ann = compose(event, self.languages, self.config.templates, self.config.recall_prefix)
                    pcm, sources = self._render(ann)
                except (ValueError, VoiceError) as exc:
                    log.error("call event dropped (%s): %r", exc, event)
                    continue
                except Exception:  # noqa: BLE001 - the hall keeps calling
                    log.exception("call event dropped: %r", event)
                    continue
                label = f"{ann.seq:06d}-{ann.number}" if ann.seq is not None else f"call-{ann.number}"
                job = PlayJob(label=label, pcm=pcm, seq=ann.seq, number=ann.number, t_event=t_event,
                              on_first_bytes=self._first_bytes,
                              on_done=lambda j, s, e, src=sources: self._done(j, src))
                try:
                    self._speaker.enqueue(job)
                except VoiceError as exc:
                    log.error("%s; call %s dropped", exc, label)
            finally:
                self._events.task_done()

    def _first_bytes(self, job: PlayJob, t_first: float) -> None:
        sample = FirstSample(job.seq, job.number, job.t_event, t_first, self.sink_name)
        for cb in list(self._first_listeners):
            try:
                cb(sample)
            except Exception:  # noqa: BLE001
                log.exception("on_first_sample listener failed")

    def _done(self, job: PlayJob, sources: tuple[str, ...]) -> None:
        played = Played(job.seq, job.number, job.pcm.duration_s, self.sink_name, sources)
        for cb in list(self._played_listeners):
            try:
                cb(played)
            except Exception:  # noqa: BLE001
                log.exception("on_played listener failed")

