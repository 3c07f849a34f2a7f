"""devices/voice/player.py + clip packs + Announcer queueing, with generated WAVs (no sound card, no TTS)."""
from __future__ import annotations

import math
import stat
import sys
import threading
from array import array
from pathlib import Path

import pytest

from devices.voice import Announcer, ClipPack, DirSink, FirstSample, Played, VoiceConfig, VoiceError
from devices.voice import player as player_mod
from devices.voice.audio import Pcm, chime, concat, read_wav, rms, silence, write_wav
from devices.voice.player import AplaySink, NullSink, PlayJob, Speaker, open_sink
from devices.voice.synth import SynthResult, SynthStats
from tests.support.tools import require_tool

FMT = (1, 2, 16000)
EVENT = {"v": 1, "seq": 23, "number": "A023", "window": "w15", "window_name": "15号窗口", "recall": False}
PACK_NAMES = ["请", "号", "到", "窗口办理", "十", "百", "重呼", *"0123456789", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ"]


def tone(i: int, seconds: float = 0.05, fmt: tuple[int, int, int] = FMT) -> Pcm:
    """A distinct short tone per clip so a wrong order changes the bytes."""
    ch, w, rate = fmt
    freq = 200 + 37 * i
    a = array("h", (int(8000 * math.sin(2 * math.pi * freq * n / rate)) for n in range(int(rate * seconds))
                    for _ in range(ch)))
    return Pcm(ch, w, rate, a.tobytes())


def make_pack(d: Path, names: list[str] = PACK_NAMES) -> dict[str, Pcm]:
    d.mkdir(parents=True, exist_ok=True)
    clips = {}
    for i, name in enumerate(names):
        clips[name] = tone(i)
        write_wav(d / f"{name}.wav", clips[name])
    return clips


class FakeSynth:
    """Stands in for Synthesizer: records texts and returns a 0.3 s tone WAV."""

    def __init__(self, d: Path) -> None:
        self.d = d
        self.texts: list[str] = []
        self.stats = SynthStats()

    def resolve_voice(self, lang: str, preferred: str | None = None) -> str:
        return preferred or f"fake-{lang}"

    def synthesize(self, text: str, voice: str, rate: int = 180, volume: float = 1.0) -> SynthResult:
        self.texts.append(text)
        path = self.d / f"fake-{len(self.texts)}.wav"
        write_wav(path, tone(len(self.texts), 0.3, (1, 2, 22050)))
        return SynthResult(path, voice, "fake", cached=False)

    def close(self) -> None:
        pass


class GatedSink:
    """Records start/end of each play; the first play blocks until the test opens the gate."""

    name = "gated"

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.gate = threading.Event()
        self.started = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def play(self, job: PlayJob) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.log.append(("start", job.label))
        job.first_bytes()
        self.started.set()
        assert self.gate.wait(10)
        with self._lock:
            self.log.append(("end", job.label))
            self.active -= 1


def config(tmp_path: Path, **kw) -> VoiceConfig:
    base = dict(languages="zh", repeat=1, chime=False, cache_dir=tmp_path / "cache", voice_zh="fake-zh")
    return VoiceConfig(**{**base, **kw})


def announce_all(a: Announcer, *events: dict) -> None:
    """Announce the events, wait until every clip has played, close the announcer."""
    try:
        for ev in events:
            a.announce(ev)
        assert a.drain(10)
    finally:
        a.close()


# -- clip packs ---------------------------------------------------------------------------------------

def test_clip_pack_takes_precedence_and_spells_the_call(tmp_path: Path) -> None:
    clips = make_pack(tmp_path / "pack")
    fake = FakeSynth(tmp_path)
    sink = DirSink(tmp_path / "out")
    played: list[Played] = []
    a = Announcer(config(tmp_path, clip_pack=tmp_path / "pack"), synthesizer=fake, sink=sink)  # type: ignore[arg-type]
    a.on_played(played.append)
    announce_all(a, EVENT)
    assert fake.texts == []  # nothing synthesized
    assert played[0].sources == ("clips",)
    order = ["请", "A", "0", "2", "3", "号", "到", "十", "5", "号", "窗口办理"]
    expected = concat([concat([clips[n] for n in order], 0.04), silence(FMT, 0.3)])
    assert read_wav(sink.played[0].path) == expected
    assert sink.played[0].path.name == "000023-A023.wav"


def test_incomplete_pack_falls_back_to_synthesis_for_the_whole_phrase(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack", [n for n in PACK_NAMES if n != "百"])  # window 102 needs 百
    fake = FakeSynth(tmp_path)
    sink = DirSink(tmp_path / "out")
    played: list[Played] = []
    a = Announcer(config(tmp_path, clip_pack=tmp_path / "pack"), synthesizer=fake, sink=sink)  # type: ignore[arg-type]
    a.on_played(played.append)
    announce_all(a, {**EVENT, "window": "w102", "window_name": "102号窗口"},
                 {**EVENT, "seq": 24, "recall": True})
    assert fake.texts == ["请 A 零 二 三 号到 一百零二 号窗口办理"]
    assert [p.sources for p in played] == [("fake",), ("clips",)]  # 重呼.wav is in the pack


def test_clip_pack_tokens_and_aliases(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    pack = ClipPack(tmp_path / "pack")
    assert pack.tokens("请 A 零 二 三 号 到 一百零二 号窗口办理") == \
        ["请", "A", "0", "2", "3", "号", "到", "1", "百", "0", "2", "号", "窗口办理"]
    assert pack.tokens("重呼，请 b 九 号") == ["重呼", "请", "B", "9", "号"]
    assert pack.tokens("请 A 零 号 到 服务台") is None
    assert pack.render("千") is None


def test_clip_pack_with_mixed_formats_is_refused(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    write_wav(tmp_path / "pack" / "到.wav", tone(1, fmt=(1, 2, 44100)))
    with pytest.raises(VoiceError, match="到"):
        ClipPack(tmp_path / "pack")


def test_both_languages_with_pack_and_synth_formats_mixed(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")  # 16 kHz clips; the fake English voice is 22.05 kHz
    fake = FakeSynth(tmp_path)
    sink = DirSink(tmp_path / "out")
    a = Announcer(config(tmp_path, languages="both", clip_pack=tmp_path / "pack", chime=True, repeat=2),
                  synthesizer=fake, sink=sink)  # type: ignore[arg-type]
    announce_all(a, EVENT)
    pcm = read_wav(sink.played[0].path)
    assert pcm.format == FMT
    assert fake.texts == ["Ticket A 0 2 3, please go to window 15"]
    zh = 11 * 0.05 + 10 * 0.04
    expected = 1.15 + 0.15 + 2 * (zh + 0.4 + 0.3) + 0.8 + 0.3
    assert abs(pcm.duration_s - expected) < 0.01


# -- serialised playback ----------------------------------------------------------------------------

def test_two_simultaneous_announcements_never_overlap(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    sink = GatedSink()
    a = Announcer(config(tmp_path, clip_pack=tmp_path / "pack"), synthesizer=FakeSynth(tmp_path), sink=sink)  # type: ignore[arg-type]
    firsts: list[FirstSample] = []
    a.on_first_sample(firsts.append)
    try:
        barrier = threading.Barrier(2)

        def call(ev: dict) -> None:
            barrier.wait()
            a.announce(ev)

        threads = [threading.Thread(target=call, args=({**EVENT, "seq": s, "number": f"A{s:03d}"},))
                   for s in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sink.started.wait(10)
        assert a._speaker.pending >= 1 and sink.active == 1  # the first one is "playing"
        assert [e for e, _ in sink.log] == ["start"]
        sink.gate.set()
        assert a.drain(10)
    finally:
        a.close()
    assert [e for e, _ in sink.log] == ["start", "end", "start", "end"]
    assert sink.log[0][1] == sink.log[1][1] != sink.log[2][1] == sink.log[3][1]
    assert sink.max_active == 1
    assert sorted(f.seq for f in firsts) == [1, 2] and all(f.latency_ms >= 0 for f in firsts)


def test_zones_on_one_output_share_one_queue(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    out = f"dir:{tmp_path / 'out'}"
    z1 = Announcer(config(tmp_path, clip_pack=tmp_path / "pack", output=out), synthesizer=FakeSynth(tmp_path))  # type: ignore[arg-type]
    z2 = Announcer(config(tmp_path, clip_pack=tmp_path / "pack", output=out), synthesizer=FakeSynth(tmp_path))  # type: ignore[arg-type]
    try:
        assert z1._speaker is z2._speaker
        for s in range(1, 6):
            z1.announce({**EVENT, "seq": s, "number": f"A{s:03d}"})
            z2.announce({**EVENT, "seq": 100 + s, "number": f"B{s:03d}", "window": "w40", "window_name": "40号窗口"})
        assert z1.drain(10) and z2.drain(10)
        sink = z1._speaker.sink
        assert isinstance(sink, DirSink) and len(sink.played) == 10
        spans = sorted((r.start, r.end) for r in sink.played)
        assert all(prev_end <= start for (_, prev_end), (start, _) in zip(spans, spans[1:]))
        assert len({r.path for r in sink.played}) == 10
    finally:
        z1.close()
        z2.close()
    assert player_mod.speakers._speakers == {}


def test_chime_is_generated_once_and_leads_the_call(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    sink = DirSink(tmp_path / "out")
    a = Announcer(config(tmp_path, clip_pack=tmp_path / "pack", chime=True), synthesizer=FakeSynth(tmp_path), sink=sink)  # type: ignore[arg-type]
    announce_all(a, EVENT)
    cached = tmp_path / "cache" / "chime-16000-1ch.wav"
    assert cached.is_file()
    ding = read_wav(cached)
    assert 0.8 < ding.duration_s < 1.5 and rms(ding) > 0.05
    assert read_wav(sink.played[0].path).frames.startswith(ding.frames)
    assert chime(tmp_path / "cache", FMT) == ding  # read back, not regenerated


def test_bad_event_is_dropped_and_the_next_still_plays(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_pack(tmp_path / "pack")
    sink = DirSink(tmp_path / "out")
    a = Announcer(config(tmp_path, clip_pack=tmp_path / "pack"), synthesizer=FakeSynth(tmp_path), sink=sink)  # type: ignore[arg-type]
    announce_all(a, {"seq": 1, "number": None}, EVENT)
    assert [r.label for r in sink.played] == ["000023-A023"]
    assert "call event dropped" in caplog.text


# -- sinks ---------------------------------------------------------------------------------------------

def test_no_sound_card_is_said_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(player_mod, "sound_cards", lambda: [])
    sink, warning = open_sink("default")
    assert isinstance(sink, NullSink) and warning and "no sound card" in warning
    sink, warning = open_sink("default", tmp_path / "calls")
    assert isinstance(sink, DirSink) and warning and str(tmp_path / "calls") in warning
    monkeypatch.setattr(player_mod, "sound_cards", lambda: None)
    assert "aplay" in (open_sink("default")[1] or "")
    monkeypatch.setattr(player_mod, "sound_cards", lambda: ["card 0: PCH [HDA Intel PCH], device 0: ALC"])
    sink, warning = open_sink("plughw:0,0")
    assert isinstance(sink, AplaySink) and sink.device == "plughw:0,0" and warning is None
    assert isinstance(open_sink(f"dir:{tmp_path}")[0], DirSink)


def test_announcer_status_reports_missing_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(player_mod, "sound_cards", lambda: [])
    a = Announcer(config(tmp_path, output="default-test-nocard"), synthesizer=FakeSynth(tmp_path))  # type: ignore[arg-type]
    try:
        st = a.status()
        assert st["state"] == "warning" and st["sink"] == "null" and "no sound card" in st["detail"]["warning"]
    finally:
        a.close()


def test_aplay_sink_gets_the_whole_wav_on_stdin(tmp_path: Path) -> None:
    fake = tmp_path / "aplay"
    fake.write_text(f"#!{sys.executable}\nimport sys, pathlib\n"
                    f"pathlib.Path({str(tmp_path / 'got.wav')!r}).write_bytes(sys.stdin.buffer.read())\n"
                    f"pathlib.Path({str(tmp_path / 'argv')!r}).write_text(' '.join(sys.argv[1:]))\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    pcm = tone(3, 2.0)
    got_first: list[float] = []
    AplaySink("plughw:1,0", aplay=str(fake)).play(PlayJob("x", pcm, on_first_bytes=lambda j, t: got_first.append(t)))
    assert read_wav(tmp_path / "got.wav") == pcm
    assert (tmp_path / "argv").read_text() == "-q -D plughw:1,0 -"
    assert len(got_first) == 1


def test_aplay_sink_failure_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake = tmp_path / "aplay"
    fake.write_text("#!/bin/sh\necho 'aplay: main:831: audio open error: No such file or directory' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(VoiceError, match="audio open error"):
        AplaySink("hw:9", aplay=str(fake)).play(PlayJob("x", tone(1, 0.1)))
    spk = Speaker(AplaySink("hw:9", aplay=str(fake)))  # the queue survives a failing clip
    spk.enqueue(PlayJob("a", tone(1, 0.1)))
    spk.enqueue(PlayJob("b", tone(1, 0.1)))
    assert spk.drain(10)
    spk.close()
    assert caplog.text.count("audio open error") == 2


def test_real_aplay_to_alsa_null_device() -> None:
    require_tool("aplay", package="alsa-utils")
    AplaySink("null").play(PlayJob("x", tone(2, 0.2)))


def test_recall_is_respelled_for_the_synthesizer(tmp_path: Path) -> None:
    fake = FakeSynth(tmp_path)
    a = Announcer(config(tmp_path, prewarm=False), synthesizer=fake, sink=DirSink(tmp_path / "out"))  # type: ignore[arg-type]
    announce_all(a, {**EVENT, "recall": True})
    # espeak-ng reads 重 in 重呼 as zhòng; 虫 is unambiguously chóng
    assert fake.texts == ["虫呼，请 A 零 二 三 号到 十五 号窗口办理"]
