"""The ID-card reader driver: a polling state machine over a transport (status, then find → select → read)."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from devices.errors import DeviceError, IdCardError, TransportError
from devices.idcard.card import IdCard, card_from_text
from devices.idcard.protocol import (
    FIND_CARD, READ_TEXT_PHOTO, SELECT_CARD, STATUS, SW_CARD_FOUND, SW_CHECKSUM_ERROR, SW_LENGTH_ERROR,
    SW_OK, SW_SAM_NOT_AUTHORISED, SW_SAM_SELF_TEST_FAILED, SW_UNAUTHORISED, BadFrame, Frame, FrameParser,
    build_command, decode_read_reply, status_word_text,
)
from devices.listeners import Listeners
from devices.transport import DriverPort, Transport

log = logging.getLogger(__name__)

_FAULT_WORDS = (SW_SAM_SELF_TEST_FAILED, SW_SAM_NOT_AUTHORISED, SW_UNAUTHORISED)


class ReaderState(Enum):
    CLOSED = "closed"
    STARTING = "starting"
    READY = "ready"  # answering, no card on it
    CARD = "card"  # a valid card lies on the reader (card_inserted was sent)
    FAULT = "fault"  # answering, but the SAM module reports an error: cannot read cards
    UNPLUGGED = "unplugged"  # port error or no reply; retried every reconnect_interval


class IdCardListener:
    """Optional base; any object with some of these methods will do. Called on the reader's thread;
    exceptions are logged, never raised into the driver."""

    def card_inserted(self, card: IdCard) -> None: ...
    def card_removed(self) -> None: ...
    def card_rejected(self, error: IdCardError) -> None: ...
    def state_changed(self, state: ReaderState, detail: str) -> None: ...


class _NoReply(Exception):
    """The reader said nothing usable after all retries (silence or only bad frames)."""


@dataclass(frozen=True)
class _Rejected:
    key: str  # same message = same rejected card still lying there: report it once
    error: IdCardError = field(compare=False)

    @classmethod
    def of(cls, error: IdCardError) -> _Rejected:
        return cls(error.message, error)


class IdCardReader:
    """`IdCardReader("serial:///dev/ttyUSB1?baud=115200").open()`; listeners hear card_inserted(IdCard) etc."""

    def __init__(self, url: str, poll_interval: float = 1.0, reply_timeout: float = 0.5, retries: int = 2,
                 reconnect_interval: float = 2.0, removal_polls: int = 2) -> None:
        self.url = url
        self.poll_interval = poll_interval
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.reconnect_interval = reconnect_interval
        # "no card" polls in a row before card_removed (one lost find reply must not look like a removal)
        self.removal_polls = max(1, removal_polls)
        self._port = DriverPort(url)
        self._parser = FrameParser()
        self._io = threading.RLock()
        self._listeners = Listeners(log, f"idcard {url}")
        self._state = ReaderState.CLOSED
        self._detail = ""
        self._present: IdCard | _Rejected | None = None
        self._absent_polls = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- public surface -----------------------------------------------------------------------------------------
    @property
    def state(self) -> ReaderState:
        return self._state

    @property
    def detail(self) -> str:
        return self._detail

    @property
    def current_card(self) -> IdCard | None:
        present = self._present
        return present if isinstance(present, IdCard) else None

    @property
    def transport(self) -> Transport | None:
        return self._port.transport

    def add_listener(self, listener: Any) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Any) -> None:
        self._listeners.remove(listener)

    def open(self) -> IdCardReader:
        """Start polling in a daemon thread. Never raises for an absent reader: that is state UNPLUGGED."""
        if self._thread is not None:
            return self
        self._stop.clear()
        self._set_state(ReaderState.STARTING, "")
        self._thread = threading.Thread(target=self._run, name=f"idcard {self.url}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None
        with self._io:
            self._port.close()
        self._present = None
        self._set_state(ReaderState.CLOSED, "")

    def __enter__(self) -> IdCardReader:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for_card(self, timeout: float) -> IdCard:
        """Block until a valid card is read (one already present counts). Raises IdCardError when a card is
        rejected and TimeoutError when none comes. Opens the reader if needed."""
        done = threading.Event()
        outcome: list[IdCard | IdCardError] = []

        class _Waiter:
            def card_inserted(self, card: IdCard) -> None:
                outcome.append(card)
                done.set()

            def card_rejected(self, error: IdCardError) -> None:
                outcome.append(error)
                done.set()

        waiter = _Waiter()
        self.add_listener(waiter)
        try:
            present = self._present
            if isinstance(present, IdCard):
                return present
            self.open()
            if not done.wait(timeout):
                raise TimeoutError(f"{self.url}: no card within {timeout:g}s (reader {self._state.value}"
                                   f"{': ' + self._detail if self._detail else ''})")
            result = outcome[0]
            if isinstance(result, IdCardError):
                raise result
            return result
        finally:
            self.remove_listener(waiter)

    def read_once(self) -> IdCard | None:
        """One synchronous find → select → read (for diagnostics and benches, with the polling thread stopped).
        None when no card; IdCardError when a card is rejected or the reader fails."""
        if self._thread is not None:
            raise DeviceError(self.url, "read_once() while the polling thread runs; use listeners instead")
        with self._io:
            try:
                self._port.get()
                result = self._read_card()
            except _NoReply as exc:
                raise IdCardError(self.url, f"reader does not answer ({exc})", "no_reply") from None
        if isinstance(result, _Rejected):
            raise result.error
        return result

    # --- the wire ------------------------------------------------------------------------------------------------
    def _transact(self, command: tuple[int, int]) -> Frame:
        """Send a command and return its reply; a bad checksum (ours or theirs) or silence is retried."""
        transport = self._port.get()
        problem = "no reply"
        for _attempt in range(1 + self.retries):
            for _ in range(64):  # stale bytes from an earlier, abandoned exchange
                if not transport.read(4096, 0):
                    break
            self._parser.reset()
            transport.write(build_command(command))
            reply = self._await_reply(transport)
            if reply is None:
                problem = f"no reply to {command[0]:02X} {command[1]:02X} within {self.reply_timeout:g}s"
            elif isinstance(reply, BadFrame):
                problem = "reply failed its checksum"
                log.info("idcard %s: bad checksum in reply to %02X %02X; retrying", self.url, *command)
            elif reply.sw3 in (SW_CHECKSUM_ERROR, SW_LENGTH_ERROR):
                problem = f"reader reports {status_word_text(reply.sw3)} on our command"
            else:
                return reply
        raise _NoReply(problem)

    def _await_reply(self, transport: Transport) -> Frame | BadFrame | None:
        deadline = time.monotonic() + self.reply_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            chunk = transport.read(4096, remaining)
            if not chunk:
                return None
            for item in self._parser.feed(chunk):
                if isinstance(item, Frame) and len(item.payload) >= 3:
                    return item
                if isinstance(item, BadFrame) and item.reason == "checksum":
                    return item

    def _read_card(self) -> IdCard | _Rejected | None:
        """One find → select → read. None when no card (or it went away mid-read)."""
        found = self._transact(FIND_CARD)
        if found.sw3 in _FAULT_WORDS:
            raise _SamFault(status_word_text(found.sw3))
        if found.sw3 != SW_CARD_FOUND:
            return None
        selected = self._transact(SELECT_CARD)
        if selected.sw3 != SW_OK:
            return None
        reply = self._transact(READ_TEXT_PHOTO)
        if reply.sw3 != SW_OK:
            return None
        try:
            text = decode_read_reply(reply)
        except ValueError as exc:
            return _Rejected.of(IdCardError(self.url, f"card rejected: unreadable text block ({exc})", "bad_field"))
        try:
            return card_from_text(text, self.url)
        except IdCardError as exc:
            return _Rejected.of(exc)

    # --- the polling state machine -------------------------------------------------------------------------------
    def _run(self) -> None:
        initialised = False
        while not self._stop.is_set():
            wait = self.poll_interval
            try:
                with self._io:
                    if not initialised:
                        self._check_status()
                        initialised = True
                    self._poll()
            except TransportError as exc:
                self._port.mark_broken()
                initialised = False
                self._lost(f"port error: {exc.message}")
                wait = self.reconnect_interval
            except _NoReply as exc:
                initialised = False
                self._lost(str(exc))
                wait = self.reconnect_interval
            except DeviceError as exc:  # e.g. a malformed URL: keep reporting it, do not die
                initialised = False
                self._lost(str(exc), ReaderState.FAULT)
                wait = self.reconnect_interval
            except _SamFault as exc:
                initialised = False
                self._lost(str(exc), ReaderState.FAULT)
                wait = self.reconnect_interval
            except Exception:  # a bug here must not silently kill card reading
                log.exception("idcard %s: poll failed", self.url)
                wait = self.reconnect_interval
            self._stop.wait(wait)
        with self._io:
            self._port.close()

    def _check_status(self) -> None:
        reply = self._transact(STATUS)
        if reply.sw3 != SW_OK:
            raise _SamFault(status_word_text(reply.sw3))
        if self._state not in (ReaderState.READY, ReaderState.CARD):
            self._set_state(ReaderState.READY, "")

    def _poll(self) -> None:
        result = self._read_card()
        if result is None:
            self._absent_polls += 1
            if self._present is not None and self._absent_polls >= self.removal_polls:
                self._card_gone()
            return
        self._absent_polls = 0
        if result == self._present:
            return
        if self._present is not None:
            self._card_gone()
        self._present = result
        if isinstance(result, _Rejected):
            log.warning("%s", result.error)
            self._listeners.notify("card_rejected", result.error)
        else:
            self._set_state(ReaderState.CARD, "")
            self._listeners.notify("card_inserted", result)

    def _card_gone(self) -> None:
        was_card = isinstance(self._present, IdCard)
        self._present = None
        if was_card:
            self._listeners.notify("card_removed")
        if self._state is ReaderState.CARD:
            self._set_state(ReaderState.READY, "")

    def _lost(self, detail: str, state: ReaderState = ReaderState.UNPLUGGED) -> None:
        if self._present is not None:
            self._card_gone()
        self._absent_polls = 0
        self._set_state(state, detail)

    def _set_state(self, state: ReaderState, detail: str) -> None:
        if (state, detail) == (self._state, self._detail):
            return
        self._state, self._detail = state, detail
        if state in (ReaderState.UNPLUGGED, ReaderState.FAULT):
            log.warning("idcard %s: %s (%s)", self.url, state.value, detail)
        self._listeners.notify("state_changed", state, detail)


class _SamFault(Exception):
    """The reader answers but its SAM module reports an error."""
