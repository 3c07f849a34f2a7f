"""PCM clips for the calling voice: read/write WAV, concatenate, silence, RMS and the generated chime (wave module only)."""
from __future__ import annotations

import io
import math
import os
import sys
import threading
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

from .errors import VoiceError


@dataclass(frozen=True)
class Pcm:
    """Linear PCM: `frames` interleaved little-endian samples in the format (channels, sample width, rate)."""
    channels: int
    sampwidth: int
    rate: int
    frames: bytes

    @property
    def format(self) -> tuple[int, int, int]:
        return (self.channels, self.sampwidth, self.rate)

    @property
    def duration_s(self) -> float:
        return len(self.frames) / (self.channels * self.sampwidth * self.rate)


def read_wav(path: str | os.PathLike[str]) -> Pcm:
    try:
        with wave.open(str(path), "rb") as w:
            return Pcm(w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(w.getnframes()))
    except (OSError, wave.Error, EOFError) as exc:
        raise VoiceError(f"cannot read WAV {path}: {exc}") from None


def wav_bytes(pcm: Pcm) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(pcm.channels)
        w.setsampwidth(pcm.sampwidth)
        w.setframerate(pcm.rate)
        w.writeframes(pcm.frames)
    return buf.getvalue()


def write_wav(path: str | os.PathLike[str], pcm: Pcm) -> Path:
    """Write atomically (tmp + rename) so a reader never sees half a file."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")   # unique per writer thread
    tmp.write_bytes(wav_bytes(pcm))
    os.replace(tmp, p)
    return p


def silence(fmt: tuple[int, int, int], seconds: float) -> Pcm:
    channels, width, rate = fmt
    return Pcm(channels, width, rate, bytes(int(rate * seconds) * channels * width))


def concat(parts: list[Pcm], gap_s: float = 0.0) -> Pcm:
    """Join clips of one format with `gap_s` of silence between them; a format mismatch is an error."""
    if not parts:
        raise VoiceError("concat: no clips")
    fmt = parts[0].format
    for p in parts:
        if p.format != fmt:
            raise VoiceError(f"concat: clip format {p.format} differs from {fmt} (channels, width, rate)")
    gap = silence(fmt, gap_s).frames if gap_s > 0 else b""
    return Pcm(*fmt, gap.join(p.frames for p in parts))


def _samples(pcm: Pcm) -> array:
    if pcm.sampwidth != 2:
        raise VoiceError(f"only 16-bit PCM is supported, got {pcm.sampwidth * 8}-bit")
    a = array("h")
    a.frombytes(pcm.frames)
    if sys.byteorder == "big":
        a.byteswap()
    return a


def rms(pcm: Pcm) -> float:
    """Root mean square of the samples, 0..1 of full scale (16-bit)."""
    a = _samples(pcm)
    if not a:
        return 0.0
    return math.sqrt(math.fsum(x * x for x in a) / len(a)) / 32768.0


def make_chime(rate: int = 22050, channels: int = 1) -> Pcm:
    """A soft two-tone 'ding-dong' (E6 then C6, bell-like decay with a quiet octave partial), ~1.1 s."""
    out = array("h")
    notes = ((1318.5, 0.0), (1046.5, 0.42))  # (Hz, start s)
    length = int(rate * 1.15)
    buf = [0.0] * length
    for freq, start in notes:
        s0 = int(start * rate)
        for i in range(length - s0):
            t = i / rate
            attack = min(1.0, t / 0.008)  # 8 ms attack avoids a click
            env = attack * math.exp(-t * 4.2)
            v = math.sin(2 * math.pi * freq * t) + 0.25 * math.sin(4 * math.pi * freq * t) * math.exp(-t * 6)
            buf[s0 + i] += 0.32 * env * v
    fade = int(0.05 * rate)
    for i in range(fade):
        buf[length - 1 - i] *= i / fade
    for v in buf:
        s = int(max(-1.0, min(1.0, v)) * 32767)
        out.extend([s] * channels)
    if sys.byteorder == "big":
        out.byteswap()
    return Pcm(channels, 2, rate, out.tobytes())


def chime(cache_dir: str | os.PathLike[str], fmt: tuple[int, int, int]) -> Pcm:
    """The chime in `fmt`, generated on first use and cached as chime-{rate}-{channels}ch.wav."""
    channels, width, rate = fmt
    if width != 2:
        raise VoiceError(f"chime: only 16-bit output is supported, got {width * 8}-bit clips")
    path = Path(cache_dir) / f"chime-{rate}-{channels}ch.wav"
    if path.is_file():
        pcm = read_wav(path)
        if pcm.format == fmt:
            return pcm
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = make_chime(rate, channels)
    write_wav(path, pcm)
    return pcm


def convert(pcm: Pcm, fmt: tuple[int, int, int]) -> Pcm:
    """16-bit PCM to another channel count / rate (linear interpolation); used only when clip formats differ."""
    channels, width, rate = fmt
    if pcm.format == fmt:
        return pcm
    if width != 2:
        raise VoiceError(f"convert: only 16-bit output is supported, got {width * 8}-bit")
    a = _samples(pcm)
    if pcm.channels > 1:  # mix down to mono
        n = pcm.channels
        a = array("h", (int(sum(a[i:i + n]) / n) for i in range(0, len(a), n)))
    if pcm.rate != rate and len(a) > 1:
        count = int(len(a) * rate / pcm.rate)
        step = pcm.rate / rate
        out = array("h")
        last = len(a) - 1
        for i in range(count):
            x = i * step
            j = int(x)
            f = x - j
            out.append(int(a[j] * (1 - f) + a[min(j + 1, last)] * f))
        a = out
    if channels > 1:
        a = array("h", (s for s in a for _ in range(channels)))
    if sys.byteorder == "big":
        a.byteswap()
    return Pcm(channels, 2, rate, a.tobytes())
