"""The window's ID-card reader (devices.idcard on the panel config's [idcard] url): a card on the reader fills in the
applicant's name and ID number in the open 受理 dialog. The fields go from the reader's thread to the GUI thread
and into the form, never to a log."""
from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("onewindow.panel.idcard")


class PanelCardReader:
    """`post(fn, *args)` runs fn on the GUI thread (PanelBridge.post); `on_card({"name", "id_number"})` is called
    there for each valid card put on the reader."""

    def __init__(self, url: str, poll_s: float, post: Callable[..., None],
                 on_card: Callable[[dict[str, str]], None]) -> None:
        self.url = url
        self.poll_s = poll_s
        self._post = post
        self._on_card = on_card
        self.reader: Any = None

    def open(self) -> None:
        from devices.idcard import IdCardReader
        from devices.idcard.card import reveal
        outer = self

        class Listener:   # devices.idcard.IdCardListener; called on the reader's thread
            def card_inserted(self, card: Any) -> None:
                raw = reveal(card)    # the applicant's own card at the window: the record needs name and number
                outer._post(outer._on_card, {"name": raw["name"], "id_number": raw["number"]})

            def card_removed(self) -> None:
                pass

            def card_rejected(self, error: Any) -> None:
                log.warning("ID card rejected by the reader: %s", error.reason)

            def state_changed(self, state: Any, detail: str) -> None:
                log.info("ID-card reader %s: %s %s", outer.url, getattr(state, "value", state), detail[:80])

        self.reader = IdCardReader(self.url, poll_interval=self.poll_s)
        self.reader.add_listener(Listener())
        self.reader.open()

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
