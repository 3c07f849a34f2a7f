"""Pre-recorded clip packs (请.wav 号.wav 到.wav 窗口办理.wav 0-9.wav A-Z.wav 十.wav 百.wav …) spliced into calls."""
from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

from .audio import Pcm, concat, read_wav
from .errors import VoiceError

log = logging.getLogger("onewindow.devices.voice")

# a digit clip "3.wav" also says 三 in a numeral (十三) and in a ticket (A 零 二 三)
_DIGIT_ALIASES = {"零": "0", "〇": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4",
                  "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_SKIP = re.compile(r"[\s，,。.、：:；;!！]+")


class ClipPack:
    """A directory of WAV clips named by what they say; all clips must share one format.

    `render(text)` splices the clips that spell `text` (spaces and punctuation ignored, longest
    clip name first) or returns None when some part of the text has no clip — the caller then
    synthesizes the whole phrase, so a pack never produces a half-spoken call.
    """

    def __init__(self, directory: str | Path, gap_s: float = 0.04) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise VoiceError(f"clip pack {self.directory}: not a directory")
        self.gap_s = gap_s
        self.clips: dict[str, Pcm] = {}
        for f in sorted(self.directory.glob("*.wav")):
            key = unicodedata.normalize("NFC", f.stem)
            key = key.upper() if re.fullmatch(r"[A-Za-z]", key) else key
            self.clips[key] = read_wav(f)
        if not self.clips:
            raise VoiceError(f"clip pack {self.directory}: no .wav files")
        formats = {k: p.format for k, p in self.clips.items()}
        first = next(iter(formats.values()))
        odd = sorted(k for k, fmt in formats.items() if fmt != first)
        if odd:
            raise VoiceError(f"clip pack {self.directory}: clips {odd} differ in format from {first} "
                             "(channels, sample width, rate); record every clip the same way")
        self.format = first
        self._names = sorted(self.clips, key=len, reverse=True)
        log.info("clip pack %s: %d clips, format %s", self.directory, len(self.clips), first)

    def _clip_for(self, key: str) -> str | None:
        if key in self.clips:
            return key
        alias = _DIGIT_ALIASES.get(key)
        if alias is not None and alias in self.clips:
            return alias
        return None

    def tokens(self, text: str) -> list[str] | None:
        """Clip names that spell `text`, or None when the pack lacks one."""
        out: list[str] = []
        for chunk in _SKIP.split(unicodedata.normalize("NFC", text)):
            i = 0
            while i < len(chunk):
                for name in self._names:
                    if chunk.startswith(name, i):
                        out.append(name)
                        i += len(name)
                        break
                else:
                    ch = chunk[i].upper() if chunk[i].isascii() else chunk[i]
                    clip = self._clip_for(ch)
                    if clip is None:
                        return None
                    out.append(clip)
                    i += 1
        return out or None

    def covers(self, text: str) -> bool:
        return self.tokens(text) is not None

    def render(self, text: str) -> Pcm | None:
        names = self.tokens(text)
        if names is None:
            return None
        return concat([self.clips[n] for n in names], self.gap_s)
