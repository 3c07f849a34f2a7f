"""devices/voice/synth.py against the real pyttsx3 + espeak-ng of this machine (no mocks)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from devices.voice import Announcer, DirSink, VoiceConfig, VoiceError, say_command
from devices.voice.audio import read_wav, rms
from devices.voice.synth import Synthesizer
from tests.support.tools import require_tool

CALL_ZH = "请 A 零 二 三 号 到 十五 号窗口办理"
CALL_EN = "Ticket A 0 2 3, please go to window 15"


@pytest.fixture(scope="module", autouse=True)
def _espeak_ng() -> None:     # before the module's synthesizer starts
    require_tool("espeak-ng", package="espeak-ng")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):
    s = Synthesizer(tmp_path_factory.mktemp("voice-cache"), timeout_s=5.0)
    yield s
    s.close()


def test_mandarin_voice_is_found_through_pyttsx3(synth: Synthesizer) -> None:
    zh = synth.resolve_voice("zh")
    assert zh.endswith("cmn-latn-pinyin")  # plain `cmn` reads hanzi as English-spelled pinyin
    assert zh in {v.id for v in synth.voices()}
    assert "en-us" in synth.resolve_voice("en")


def test_chinese_call_is_audible_and_plausibly_long(synth: Synthesizer) -> None:
    res = synth.synthesize(CALL_ZH, synth.resolve_voice("zh"), rate=180)
    pcm = read_wav(res.path)
    assert res.engine == "pyttsx3" and not res.cached
    assert res.voice.endswith("cmn-latn-pinyin")
    assert 1.5 <= pcm.duration_s <= 8.0, pcm.duration_s  # ~3.9 s at rate 180
    assert rms(pcm) > 0.02, "silent WAV"


def test_english_call(synth: Synthesizer) -> None:
    res = synth.synthesize(CALL_EN, synth.resolve_voice("en"), rate=170)
    pcm = read_wav(res.path)
    assert res.voice.endswith("en-us")
    assert 1.5 <= pcm.duration_s <= 8.0 and rms(pcm) > 0.02


def test_cache_hit_returns_same_file_without_synthesis(synth: Synthesizer) -> None:
    voice = synth.resolve_voice("zh")
    first = synth.synthesize("请 C 九 九 九 号 到 一百零二 号窗口办理", voice, rate=190)
    mtime = first.path.stat().st_mtime_ns
    made = synth.stats.synthesized
    again = synth.synthesize("请 C 九 九 九 号 到 一百零二 号窗口办理", voice, rate=190)
    assert again.path == first.path and again.cached and again.engine == "cache"
    assert synth.stats.synthesized == made
    assert again.path.stat().st_mtime_ns == mtime
    other_rate = synth.synthesize("请 C 九 九 九 号 到 一百零二 号窗口办理", voice, rate=150)
    assert other_rate.path != first.path and not other_rate.cached
    assert read_wav(other_rate.path).duration_s > read_wav(first.path).duration_s  # slower is longer


def test_unknown_voice_is_an_error_not_a_wrong_language(synth: Synthesizer) -> None:
    # pyttsx3 swallows SetVoiceByName errors and keeps the previous voice; we must not cache that
    with pytest.raises(VoiceError, match="no-such-voice"):
        synth.synthesize("你好", "no-such-voice")
    assert not synth.cache_path("你好", "no-such-voice").exists()


def test_watchdog_kills_and_restarts_a_hung_worker(tmp_path: Path) -> None:
    s = Synthesizer(tmp_path, timeout_s=1.0)
    try:
        voice = s.resolve_voice("zh")
        old_pid = s.worker_pid
        assert old_pid is not None
        s.inject_hang_for_test()
        res = s.synthesize("请 B 零 零 一 号 到 二十 号窗口办理", voice)
        assert res.engine == "pyttsx3"  # retried in the fresh worker, not the espeak-ng fallback
        assert s.stats.restarts == 1 and s.stats.fallback == 0
        assert s.worker_pid not in (None, old_pid)
        with pytest.raises(ProcessLookupError):
            os.kill(old_pid, 0)
        assert rms(read_wav(s.synthesize("请 B 零 零 二 号", voice).path)) > 0.02
    finally:
        s.close()


def test_worker_that_died_is_restarted(tmp_path: Path) -> None:
    s = Synthesizer(tmp_path, timeout_s=5.0)
    try:
        voice = s.resolve_voice("en")
        assert s._worker is not None
        s._worker.proc.kill()
        s._worker.proc.wait()
        assert s.synthesize("window seven", voice).engine == "pyttsx3"
        assert s.stats.restarts == 1
    finally:
        s.close()


def test_announcer_end_to_end_writes_chime_and_call(tmp_path: Path) -> None:
    sink = DirSink(tmp_path / "out")
    a = Announcer(VoiceConfig(languages="zh", repeat=1, cache_dir=tmp_path / "cache"), sink=sink)
    try:
        a.announce({"seq": 1, "number": "A023", "window": "w15", "window_name": "15号窗口", "recall": False})
        a.announce({"seq": 2, "number": "A023", "window": "w15", "window_name": "15号窗口", "recall": True})
        assert a.drain(30)
    finally:
        a.close()
    first, recall = (read_wav(r.path) for r in sink.played)
    assert [r.path.name for r in sink.played] == ["000001-A023.wav", "000002-A023.wav"]
    assert 1.15 + 1.5 < first.duration_s < 1.15 + 8.0 and rms(first) > 0.02
    assert recall.duration_s > first.duration_s  # 重呼 is spoken in front


def test_say_command_writes_file(tmp_path: Path) -> None:
    out = tmp_path / "say.wav"
    r = say_command("请 A 零 二 三 号 到 十五 号窗口办理", str(out), cache_dir=tmp_path / "c")
    assert r["ok"] and r["file"] == str(out) and out.is_file()
    assert r["voice"].endswith("cmn-latn-pinyin") and 1.5 < r["duration_s"] < 8 and r["rms"] > 0.02
    r_en = say_command("Window fifteen", str(tmp_path / "en.wav"), cache_dir=tmp_path / "c")
    assert r_en["ok"] and r_en["voice"].endswith("en-us")


def test_espeak_binary_fallback_when_pyttsx3_cannot_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    require_tool("espeak-ng", package="espeak-ng")
    broken = [sys.executable, "-c", "print('{\"ready\": false, \"error\": \"ImportError: no pyttsx3\"}')"]
    s = Synthesizer(tmp_path, worker_argv=broken)
    try:
        res = s.synthesize(CALL_ZH, "cmn-latn-pinyin")
        assert res.engine == "espeak-ng" and s.stats.fallback == 1
        assert 1.5 < read_wav(res.path).duration_s < 8
        assert "fallback" in caplog.text and "ImportError: no pyttsx3" in caplog.text
    finally:
        s.close()
