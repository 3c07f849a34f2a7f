"""Adapters from the device drivers (devices.printer, devices.idcard, devices.transport) to the narrow ports the
bridge uses. The URL picks simulator or hardware; nothing here knows which."""
from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Sequence
from typing import Any, Callable

from kiosk.config import KioskConfig
from kiosk.i18n import no_show_text
from kiosk.model import Catalog, DeviceHealth, Health, Holder, PrintFailed, Service, Ticket

log = logging.getLogger("onewindow.kiosk.hw")

# printer fault word (devices.printer PrinterStatus.faults / PrinterError.faults) -> the kiosk's code
_PRINTER_CODES = {"paper_end": "paper_out", "cover_open": "cover_open", "cutter_error": "cutter_error",
                  "offline": "offline", "error": "error", "paper_near_end": "near_end",
                  "no_reply": "no_reply", "bad_reply": "bad_reply", "disconnected": "disconnected"}


def printer_code(faults: Sequence[str], default: str = "error") -> str:
    """The kiosk's code for the worst of the driver's fault words (the driver lists them worst first)."""
    return _PRINTER_CODES.get(faults[0], faults[0]) if faults else default


def printer_health(status: Any, url: str) -> DeviceHealth:
    """devices.printer.PrinterStatus -> DeviceHealth. No answer is never 'fine' (DEVICES.md), except on
    write-only links (file://) that cannot answer at all."""
    from devices.printer import PrinterState
    faults = tuple(status.faults)
    detail = {"faults": list(faults)}
    if status.state is PrinterState.OK:
        return DeviceHealth("printer", Health.OK, "", detail)
    if status.state is PrinterState.WARNING:
        return DeviceHealth("printer", Health.WARNING, printer_code(faults, "warning"), detail)
    if status.state is PrinterState.ERROR:
        return DeviceHealth("printer", Health.ERROR, printer_code(faults), detail)
    if url.startswith("file:"):
        return DeviceHealth("printer", Health.OK, "no_status", detail)
    return DeviceHealth("printer", Health.OFFLINE, status.detail or "no_reply", detail)


PRINT_CONFIRM_DELAY_S = 0.3   # one ticket's printing time before the driver confirms it with a status query


class PrinterAdapter:
    """TicketPrinter behind the bridge's PrinterPort."""

    def __init__(self, config: KioskConfig, catalog: Callable[[], Catalog | None]) -> None:
        from devices.printer import TicketPrinter
        self.config = config
        self.url = config.printer.url
        self._catalog = catalog
        # require_status: a printer that answered nothing prints nothing; confirm_delay: the print is confirmed
        # by the printer's status after the job (paper sensor, cover, power), once it has had time to print it
        self.driver = TicketPrinter(self.url, encoding=config.printer.encoding, paper_mm=config.printer.paper_mm,
                                    require_status=not self.url.startswith("file:"),
                                    confirm_delay=PRINT_CONFIRM_DELAY_S)

    def open(self) -> None:
        self.driver.open()

    def close(self) -> None:
        self.driver.close()

    def health(self) -> DeviceHealth:
        return printer_health(self.driver.status(), self.url)

    def ticket_data(self, ticket: Ticket, lang: str) -> Any:
        from devices.printer import TicketData
        cat = self._catalog()
        zone = cat.zone(ticket.zone) if cat else None
        svc = cat.service(ticket.service) if cat else None
        hall = cat.hall_title(lang) if cat else ""
        zone_name = zone.title(lang) if zone else (ticket.zone_name_en if lang == "en" else ticket.zone_name)
        if zone and zone.floor:
            zone_name = f"{zone_name} {zone.floor}"
        service_name = ticket.service_title(lang) or (svc.title(lang) if svc else ticket.service)
        try:
            issued = _dt.datetime.fromisoformat(ticket.issued_at) if ticket.issued_at else _dt.datetime.now()
        except ValueError:
            issued = _dt.datetime.now()
        return TicketData(
            hall_name=hall, zone_name=zone_name, service_name=service_name, number=ticket.number,
            ahead=ticket.ahead or 0, est_wait_s=ticket.est_wait_s, issued_at=issued, verify=ticket.verify,
            status_url=cat.ticket_url(ticket) if cat else "",     # hall.toml's status_url with the ticket's token
            lang=lang, priority=ticket.priority,
            no_show=no_show_text(cat.no_show_rule, lang) if cat else "")   # the 过号 rule in force

    def print_ticket(self, ticket: Ticket, lang: str, progress: Callable[[float], None]) -> None:
        """Raises PrintFailed (with the kiosk's code) when the printer refused or lost the job."""
        data = self.ticket_data(ticket, lang)
        progress(0.1)
        self._print(lambda: self.driver.print_ticket(data))
        progress(1.0)

    def print_checklist(self, service: Service, lang: str) -> None:
        cat = self._catalog()
        items = [{"name": m.name, "name_en": m.name_en, "copies": m.copies, "original": m.original}
                 for m in service.materials]
        steps = service.steps_en if lang == "en" and service.steps_en else service.steps
        self._print(lambda: self.driver.print_checklist(service.title(lang), items, lang=lang,
                                                        hall_name=cat.hall_title(lang) if cat else "", steps=steps))

    def _print(self, job: Callable[[], Any]) -> None:
        from devices.errors import DeviceError, PrinterError
        try:
            job()
        except PrinterError as exc:
            raise PrintFailed(printer_code(exc.faults, "print_failed"), exc.message) from exc
        except DeviceError as exc:   # e.g. the port cannot be reopened
            raise PrintFailed("disconnected", exc.message) from exc


def reader_health(state: Any, detail: str = "") -> DeviceHealth:
    """devices.idcard.ReaderState -> DeviceHealth. CARD means a valid card lies on the reader, so the reader is
    fine; STARTING is not an error (the first status reply follows within a poll)."""
    from devices.idcard import ReaderState
    extra = {"message": detail[:200]} if detail else {}
    health = {
        ReaderState.STARTING: Health.OK,
        ReaderState.READY: Health.OK,
        ReaderState.CARD: Health.OK,
        ReaderState.FAULT: Health.ERROR,       # answers, but its SAM module cannot read cards
        ReaderState.UNPLUGGED: Health.OFFLINE,  # port error or silence; the driver keeps retrying
        ReaderState.CLOSED: Health.OFFLINE,     # the kiosk is shutting down
    }[ReaderState(state)]
    return DeviceHealth("idcard", health, ReaderState(state).value, extra if health is not Health.OK else {})


class IdCardAdapter:
    """IdCardReader behind the bridge's IdCardPort: a card becomes a Holder (HMAC ref, birth date, masked
    name); the raw number and name never leave devices.idcard. A rejected card (failed check digit,
    inconsistent fields) is on_failure(reason), never a Holder; it says nothing about the reader's health."""

    def __init__(self, url: str, key: bytes, poll_s: float = 0.5) -> None:
        self.url = url
        self._key = key
        self.poll_s = poll_s
        self.reader: Any = None

    def open(self, on_card: Callable[[Holder], None], on_health: Callable[[DeviceHealth], None],
             on_failure: Callable[[str], None]) -> None:
        from devices.idcard import IdCardReader
        adapter = self

        class Listener:   # devices.idcard.IdCardListener; called on the reader's thread
            def card_inserted(self, card: Any) -> None:
                on_card(adapter.holder_of(card))

            def card_removed(self) -> None:
                pass      # the holder stays chosen until the ticket is issued, forgotten or the kiosk idles

            def card_rejected(self, error: Any) -> None:   # devices.errors.IdCardError
                on_failure(error.reason)

            def state_changed(self, state: Any, detail: str) -> None:
                on_health(reader_health(state, detail))

        self._listener = Listener()
        self.reader = IdCardReader(self.url, poll_interval=self.poll_s)
        self.reader.add_listener(self._listener)
        self.reader.open()

    def holder_of(self, card: Any) -> Holder:
        return Holder(ref=card.ref(self._key), birth_date=card.birth_date.isoformat(), display_name=card.masked_name)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


class SerialScanner:
    """A QR scanner on a serial port / transport URL: one code per line (CR or LF)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport: Any = None

    def open(self, on_code: Callable[[str], None], on_health: Callable[[DeviceHealth], None]) -> None:
        from devices.transport import open_transport
        self._transport = open_transport(self.url)
        on_health(DeviceHealth("scanner", Health.OK))

        def run() -> None:
            buf = b""
            while not self._stop.is_set():
                try:
                    data = self._transport.read(256, 0.2)
                except Exception as exc:
                    on_health(DeviceHealth("scanner", Health.OFFLINE, "disconnected", {"message": str(exc)[:120]}))
                    if self._stop.wait(2):
                        return
                    try:
                        self._transport.reopen()
                        on_health(DeviceHealth("scanner", Health.OK))
                    except Exception:
                        pass
                    continue
                buf += data
                while b"\r" in buf or b"\n" in buf:
                    cut = min(i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0)
                    line, buf = buf[:cut], buf[cut + 1:]
                    code = line.decode("utf-8", "replace").strip()
                    if code:
                        on_code(code)
                if len(buf) > 4096:
                    buf = b""

        self._thread = threading.Thread(target=run, name="kiosk-scanner", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._transport is not None:
            self._transport.close()


class PromptVoice:
    """Spoken prompts (请取走号票 ...) through the voice package's synthesizer and sink, on one worker thread.
    Stale prompts are dropped: a citizen who moved on does not want to hear the last screen."""

    def __init__(self, output: str = "default", rate: int = 170) -> None:
        import queue
        self.output = output
        self.rate = rate
        self._q: "queue.Queue[tuple[str, str] | None]" = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="kiosk-voice", daemon=True)
        self._thread.start()

    def say(self, text: str, lang: str) -> None:
        while self._q.qsize() > 1:
            try:
                self._q.get_nowait()
            except Exception:
                break
        self._q.put((text, lang))

    def _run(self) -> None:
        from devices.voice.audio import read_wav
        from devices.voice.player import PlayJob, open_sink
        from devices.voice.synth import Synthesizer
        synth = Synthesizer()
        sink, warning = open_sink(self.output)
        if warning:
            log.warning("kiosk voice: %s", warning)
        try:
            while True:
                item = self._q.get()
                if item is None:
                    return
                text, lang = item
                try:
                    res = synth.synthesize(text, synth.resolve_voice(lang), self.rate)
                    sink.play(PlayJob(label="kiosk-prompt", pcm=read_wav(res.path)))
                except Exception as exc:   # a voice problem must never disturb issuing
                    log.warning("kiosk voice: %s", exc)
        finally:
            synth.close()

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=5)


def open_devices(config: KioskConfig, key: bytes | None, catalog: Callable[[], Catalog | None]) -> dict[str, Any]:
    """The ports for the URLs the config names (empty URL: no such device)."""
    ports: dict[str, Any] = {}
    if config.printer.url:
        ports["printer"] = PrinterAdapter(config, catalog)
    if config.idcard.url and key:
        ports["idcard"] = IdCardAdapter(config.idcard.url, key, config.idcard.poll_s)
    if config.scanner.url:
        ports["scanner"] = SerialScanner(config.scanner.url)
    if config.announcer.enabled:
        ports["voice"] = PromptVoice(config.announcer.output, config.announcer.rate)
    return ports
