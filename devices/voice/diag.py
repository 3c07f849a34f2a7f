"""`onewindow device say TEXT [--out file.wav]`: synthesize one phrase and report what came out."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from .audio import read_wav, rms
from .errors import VoiceError
from .player import PlayJob, open_sink
from .synth import Synthesizer

_HANZI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def say_command(text: str, out: str | None = None, *, rate: int = 180, device: str = "default",
                cache_dir: str | Path | None = None, voice: str | None = None) -> dict[str, Any]:
    """Synthesize `text` (Mandarin voice if it has hanzi, else English); write it to `out` or play it.

    Returns {"ok", "file", "duration_s", "rms", "voice", "engine", "played"} or {"ok": false, "error"}.
    """
    lang = "zh" if _HANZI.search(text) else "en"
    synth = Synthesizer(cache_dir)
    try:
        chosen = voice or synth.resolve_voice(lang)
        res = synth.synthesize(text, chosen, rate)
        pcm = read_wav(res.path)
        file = res.path
        played = False
        warning = None
        if out:
            file = Path(out)
            file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(res.path, file)
        else:
            sink, warning = open_sink(device)
            sink.play(PlayJob(label="say", pcm=pcm))
            played = sink.name != "null"
        result: dict[str, Any] = {"ok": True, "file": str(file), "duration_s": round(pcm.duration_s, 3),
                                  "rms": round(rms(pcm), 4), "voice": res.voice, "engine": res.engine,
                                  "lang": lang, "played": played}
        if warning:
            result["warning"] = warning
        return result
    except VoiceError as exc:
        return {"ok": False, "error": str(exc)}
    finally:
        synth.close()
