"""The display's voice: each call goes to its zone's speaker, calls on one speaker queue and never overlap."""
from __future__ import annotations


import pytest

from display_board.config import VoiceConfig
from tests.support.tools import require_tool


def call(seq: int, number: str, zone: str, **kw) -> dict:
    return {"v": 1, "seq": seq, "ticket_id": f"t{seq}", "number": number, "window": "w15",
            "window_name": "15号窗口", "zone": zone, "recall": False, **kw}


@pytest.fixture
def voice(tmp_path, monkeypatch):
    require_tool("espeak-ng", package="espeak-ng")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from display_board.voice import CallVoice
    v = CallVoice(VoiceConfig(enabled=True, output=f"dir:{tmp_path / 'hall'}", repeat=1,
                              speakers={"z4": f"dir:{tmp_path / 'z4'}"}), prewarm=False)
    yield v
    v.close()


def test_calls_go_to_their_zone_speaker_and_recall_is_spoken_again(voice, tmp_path) -> None:
    voice.announce(call(1, "A001", "z1"))
    voice.announce(call(2, "D007", "z4"))
    voice.announce(call(3, "A001", "z1", recall=True))
    assert voice.drain(60)
    assert sorted(p.name for p in (tmp_path / "hall").glob("*.wav")) == ["000001-A001.wav", "000003-A001.wav"]
    assert [p.name for p in (tmp_path / "z4").glob("*.wav")] == ["000002-D007.wav"]
    recall = (tmp_path / "hall" / "000003-A001.wav").stat().st_size
    assert recall > (tmp_path / "hall" / "000001-A001.wav").stat().st_size   # 重呼 is said first


def test_calls_on_one_speaker_play_one_after_another(voice, tmp_path) -> None:
    heard: list[tuple[int, float]] = []
    voice.on_first_sample(lambda fs: heard.append((fs.seq, fs.t_first)))
    for seq in range(1, 5):
        voice.announce(call(seq, f"A00{seq}", "z1"))
    assert voice.drain(60)
    assert [s for s, _t in heard] == [1, 2, 3, 4]
