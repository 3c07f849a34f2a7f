"""The display's calling voice: each event/call goes to devices.voice.Announcer of its zone's speaker.

Announcers sharing an output share one playback queue (devices.voice), so calls never talk over each other;
zones with their own speakers play independently. No Qt here: announce() only queues."""
from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from display_board.config import VoiceConfig

log = logging.getLogger("onewindow.display.voice")


class CallVoice:
    def __init__(self, cfg: VoiceConfig, *, prewarm: bool = True) -> None:
        from devices.voice import Announcer, VoiceConfig as AnnouncerConfig
        self.cfg = cfg

        def announcer_config(output: str, warm: bool) -> Any:
            return AnnouncerConfig(languages=list(cfg.languages), repeat=cfg.repeat, chime=cfg.chime, output=output,
                                   prewarm=warm)

        # The main Announcer starts the synthesis worker and makes the chime on its own thread at start-up;
        # the zone speakers share that worker (and would only race it for the chime file).
        self.main = Announcer(announcer_config(cfg.output, prewarm))
        if self.main.warning:
            log.warning("voice: %s", self.main.warning)
        self.zones: dict[str, Any] = {
            zone: Announcer(announcer_config(out, False), synthesizer=self.main.synth)
            for zone, out in cfg.speakers.items()}

    def announcer_for(self, zone: Any) -> Any:
        return self.zones.get(zone, self.main) if isinstance(zone, str) else self.main

    def announce(self, event: Mapping[str, Any]) -> None:
        try:
            self.announcer_for(event.get("zone")).announce(event)
        except Exception:  # noqa: BLE001
            log.exception("voice: call %s not announced", event.get("number"))

    def on_first_sample(self, callback: Callable[[Any], None]) -> None:
        for ann in (self.main, *self.zones.values()):
            ann.on_first_sample(callback)

    def drain(self, timeout: float | None = None) -> bool:
        return all(ann.drain(timeout) for ann in (*self.zones.values(), self.main))

    def close(self) -> None:
        for ann in self.zones.values():
            ann.close()
        self.main.close()
