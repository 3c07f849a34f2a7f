"""The hall's calling voice (叫号语音): compose the call, synthesize it with pyttsx3, play it through a serialised speaker queue.

Public API (everything else is private):
    Announcer(config, *, synthesizer=None, sink=None) .announce(event) .prewarm() .on_first_sample(cb) .close()
    VoiceConfig, FirstSample, Played, compose(), chinese_numeral(), Synthesizer, ClipPack,
    Speaker, DirSink, AplaySink, NullSink, open_sink(), sound_cards(), say_command(), VoiceError
"""
from __future__ import annotations

from .announcer import Announcer, FirstSample, Played, VoiceConfig
from .clips import ClipPack
from .compose import Announcement, Phrase, chinese_numeral, compose, spoken_ticket, spoken_window
from .diag import say_command
from .errors import VoiceError
from .player import AplaySink, DirSink, NullSink, PlayJob, Speaker, open_sink, sound_cards
from .synth import SynthResult, Synthesizer, VoiceInfo, default_cache_dir

__all__ = [
    "Announcement", "Announcer", "AplaySink", "ClipPack", "DirSink", "FirstSample", "NullSink", "Phrase",
    "PlayJob", "Played", "Speaker", "SynthResult", "Synthesizer", "VoiceConfig", "VoiceError", "VoiceInfo",
    "chinese_numeral", "compose", "default_cache_dir", "open_sink", "say_command", "sound_cards",
    "spoken_ticket", "spoken_window",
]
