"""The headless hall device controller (`onewindow devices --config config/devices.toml`): RS-485 keypads and
evaluators in, LED window/strip screens and speakers out, bridged to the hall bus as `devices-{name}`."""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from hall_bus import BusClient, RequestError
from hall_bus.configfile import ConfigError
from hall_bus.payloads import DeviceStatus
from devices.config import DevicesConfig, KeypadConfig, SpeakerConfig, load_config
from devices.errors import DeviceError
from devices.evaluator import GRADES, Evaluator
from devices.frame7e.bus import Bus7E, DeviceState
from devices.keypad.bus import KeypadBus
from devices.keypad.driver7e import Keypad7E
from devices.keypad.protocol import Action, Command, KeyEntry
from devices.led import LedScreen, ScreenContent, strip_content, window_content
from devices.transport import open_transport
from hall_bus.contract import Op
from hall_bus.hall import window_number

log = logging.getLogger("onewindow.devices.controller")

NOTE_S = 6.0               # a sign-in result stays this long on the window's LED screen
SIGN_IN_TIMEOUT_S = 40.0   # the server slows a window's repeated bad logins down (up to 30 s): wait for its answer,
                           # sent once (a re-send would be checked as one more attempt)
# What the window's LED screen says after a keypad's staff op (line 1, for NOTE_S seconds).
NOTES = {"signed_in": "签到成功 {name}", "signed_out": "已签退", "bad_login": "工号或密码错误",
         "not_signed_in": "请先签到", "failed": "签到失败 请重试"}


def _log_failure(fut: Future, what: str, level: int = logging.ERROR) -> None:
    if fut.cancelled():
        return
    exc = fut.exception()
    if exc is not None:
        log.log(level, "%s: %s", what, exc, exc_info=level >= logging.ERROR and not isinstance(exc, DeviceError))


# ---------------------------------------------------------------- the controller
class _Keypad:
    """One configured keypad, on either bus kind."""

    def __init__(self, cfg: KeypadConfig, show: Callable[[str | None], Future], beep: Callable[[int], Future]) -> None:
        self.cfg = cfg
        self.entry = KeyEntry(prefix=cfg.prefix)
        self.show = show
        self.beep = beep


class DeviceController:
    """Runs every bus of the config and bridges it to the hall bus. start() returns at once."""

    def __init__(self, config: DevicesConfig, *, broker: str | None = None, voice_out: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.client_id = f"devices-{config.name}"
        self.broker = broker or config.broker
        self.voice_out = voice_out
        self._clock = clock
        self.bus = BusClient(self.broker, config.hall, self.client_id,
                             presence={"windows": sorted(config.windows)})
        self.topics = self.bus.topics
        self._lock = threading.RLock()
        self._buses: dict[str, Bus7E | KeypadBus] = {}
        self._bus_problems: dict[str, str] = {}
        self._keypads: dict[str, _Keypad] = {}                 # device id ->
        self._keypads_by_window: dict[str, list[_Keypad]] = {}
        self._screens: dict[str, list[LedScreen]] = {}          # window ->
        self._strips: dict[str, list[LedScreen]] = {}           # zone ->
        self._evaluators: dict[str, list[Evaluator]] = {}       # window ->
        self._announcers: list[tuple[SpeakerConfig, Any]] = []
        self._window_state: dict[str, dict[str, Any]] = {}
        self._zone_state: dict[str, dict[str, Any]] = {}
        self._last_call: dict[str, dict[str, Any]] = {}
        self._catalog: dict[str, Any] = {}
        self._finished: dict[str, tuple[str, float]] = {}       # window -> (ticket id, when) awaiting a grade
        self._rated: deque[str] = deque(maxlen=500)
        self._early_grade: dict[str, tuple[str, int]] = {}      # window -> (serving ticket id, grade)
        self._seen_calls: deque[tuple[Any, Any]] = deque(maxlen=200)
        self._status: dict[str, dict[str, Any]] = {}
        self._workers: dict[str, ThreadPoolExecutor] = {}
        self._notes: dict[str, tuple[str, float]] = {}          # window -> (LED line 1 text, until)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "DeviceController":
        for bus_id in self.config.buses:
            self._open_bus(bus_id)
        self._start_speakers()
        t = self.topics
        for window in sorted(self.config.windows):
            self.bus.subscribe(t.state_window(window), self._on_window_state)
        for zone in {s.zone for s in self.config.strips}:
            self.bus.subscribe(t.state_zone(zone), self._on_zone_state)
        self.bus.subscribe(t.state_catalog, self._on_catalog)
        self.bus.subscribe(t.state_calls, self._on_calls)
        self.bus.subscribe(t.event_call, self._on_call)
        self.bus.subscribe(t.event_ticket, self._on_ticket_event)
        self.bus.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="devices-ticker", daemon=True)
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for device_id, status in list(self._status.items()):
            self._publish_status(device_id, status["kind"], DeviceState.OFFLINE, {"reason": "controller stopped"})
        for worker in self._workers.values():
            worker.shutdown(wait=False, cancel_futures=True)
        for _cfg, announcer in reversed(self._announcers):   # the owner of the shared worker last
            try:
                announcer.close(timeout=2)
            except Exception:
                log.exception("closing a speaker failed")
        for bus in self._buses.values():
            bus.close()
        self.bus.stop()
        if self._ticker is not None:
            self._ticker.join(2)

    # ------------------------------------------------------------ buses and devices
    def _devices_on(self, bus_id: str) -> list[tuple[str, str, int]]:
        """(device id, kind, addr) of every device on a bus."""
        c = self.config
        out = [(d.id, "keypad", d.addr) for d in c.keypads if d.bus == bus_id]
        out += [(d.id, "led", d.addr) for d in c.screens if d.bus == bus_id]
        out += [(d.id, "led_strip", d.addr) for d in c.strips if d.bus == bus_id]
        out += [(d.id, "evaluator", d.addr) for d in c.evaluators if d.bus == bus_id]
        return out

    def _open_bus(self, bus_id: str) -> bool:
        cfg = self.config.buses[bus_id]
        devices = self._devices_on(bus_id)
        try:
            transport = open_transport(cfg.url)
        except DeviceError as exc:
            problem = str(exc)
            if self._bus_problems.get(bus_id) != problem:
                log.error("bus %s: %s", bus_id, problem)
                for device_id, kind, addr in devices:
                    self._publish_status(device_id, kind, DeviceState.ERROR, {"bus": cfg.url, "addr": addr,
                                                                                "problem": problem})
            self._bus_problems[bus_id] = problem
            return False
        self._bus_problems.pop(bus_id, None)
        by_addr = {addr: (device_id, kind) for device_id, kind, addr in devices}

        def on_state(addr: int, state: DeviceState, detail: dict[str, Any]) -> None:
            if addr in by_addr:
                device_id, kind = by_addr[addr]
                self._publish_status(device_id, kind, state, detail)

        if cfg.kind == "keypad":
            kbus = KeypadBus(transport, url=cfg.url, expect_echo=cfg.expect_echo, echo_timeout=cfg.reply_timeout_s,
                             retries=cfg.retries, idle_read=cfg.poll_interval_s,
                             repeat_window=cfg.repeat_window_s)
            kbus.on_state(on_state)
            for kp in (k for k in self.config.keypads if k.bus == bus_id):
                kbus.add_keypad(kp.addr)
                self._add_keypad(kp, lambda n, a=kp.addr: kbus.show_number(a, n),
                                 lambda times, a=kp.addr: kbus.beep(a, times))
            addr_to_id = {k.addr: k.id for k in self.config.keypads if k.bus == bus_id}
            kbus.on_key(lambda addr, key, digits: self._on_key(addr_to_id.get(addr), key, digits))
            self._buses[bus_id] = kbus.start()
            for kp in (k for k in self.config.keypads if k.bus == bus_id):
                self._refresh_keypad(self._keypads[kp.id])
            return True

        bus = Bus7E(transport, url=cfg.url, reply_timeout=cfg.reply_timeout_s, retries=cfg.retries,
                    poll_interval=cfg.poll_interval_s, offline_retry_s=cfg.offline_retry_s)
        bus.on_state(on_state)
        for kp in (k for k in self.config.keypads if k.bus == bus_id):
            pad = Keypad7E(bus, kp.addr)
            self._add_keypad(kp, pad.show_number, pad.beep)
            pad.on_key(lambda key, digits, i=kp.id: self._on_key(i, key, digits))
        for sc in (s for s in self.config.screens if s.bus == bus_id):
            screen = LedScreen(bus, sc.addr, brightness=sc.brightness, refresh_s=self.config.refresh_s)
            self._screens.setdefault(sc.window, []).append(screen)
            screen.show(self._window_content(sc.window))
        for st in (s for s in self.config.strips if s.bus == bus_id):
            strip = LedScreen(bus, st.addr, brightness=st.brightness, refresh_s=self.config.refresh_s)
            self._strips.setdefault(st.zone, []).append(strip)
            self._update_strips(st.zone)
        for ev in (e for e in self.config.evaluators if e.bus == bus_id):
            evaluator = Evaluator(bus, ev.addr)
            self._evaluators.setdefault(ev.window, []).append(evaluator)
            evaluator.on_grade(lambda grade, w=ev.window: self._work(w, self._grade, w, grade))
        self._buses[bus_id] = bus.start()
        return True

    def _add_keypad(self, cfg: KeypadConfig, show: Callable[[str | None], Future],
                    beep: Callable[[int], Future]) -> None:
        pad = _Keypad(cfg, show, beep)
        self._keypads[cfg.id] = pad
        self._keypads_by_window.setdefault(cfg.window, []).append(pad)

    def _start_speakers(self) -> None:
        if not self.config.speakers:
            return
        try:
            from devices.voice import Announcer, VoiceConfig
        except ImportError as exc:
            for spk in self.config.speakers:
                log.warning("speaker %s: calling voice unavailable (%s); carrying on without it", spk.id, exc)
                self._publish_status(spk.id, "speaker", DeviceState.ERROR, {"problem": f"voice package: {exc}"})
            return
        for spk in self.config.speakers:
            options = dict(spk.voice)
            if self.voice_out and "voice_out" not in options:
                options["voice_out"] = self.voice_out
            try:
                vcfg = VoiceConfig.model_validate(options)
                if not vcfg.clip_pack and sys.platform.startswith("linux") and not shutil.which("espeak-ng"):
                    raise RuntimeError("espeak-ng is not installed (apt install espeak-ng)")
                # One synthesis worker serves every speaker of this controller (the first one owns it).
                shared = self._announcers[0][1].synth if self._announcers else None
                announcer = Announcer(vcfg, synthesizer=shared)
            except Exception as exc:  # voice is optional: a hall without it still calls
                log.warning("speaker %s: no calling voice: %s", spk.id, exc)
                self._publish_status(spk.id, "speaker", DeviceState.ERROR, {"problem": str(exc)})
                continue
            self._announcers.append((spk, announcer))
            warning = getattr(announcer, "warning", None)
            self._publish_status(spk.id, "speaker", DeviceState.WARNING if warning else DeviceState.OK,
                                 {"sink": getattr(announcer, "sink_name", ""), **({"warning": warning} if warning else {})})

    # ------------------------------------------------------------ health
    def _publish_status(self, device_id: str, kind: str, state: DeviceState, detail: dict[str, Any]) -> None:
        payload = DeviceStatus(kind=kind, state=str(state), detail=detail).wire()
        with self._lock:
            self._status[device_id] = payload
        self.bus.publish(self.topics.device_status(self.client_id, device_id), payload, retain=True)

    def status(self, device_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._status.get(device_id)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.config.refresh_s):
            for bus_id in self.config.buses:
                if bus_id not in self._buses:
                    self._open_bus(bus_id)          # a port that was missing at start (USB adapter plugged later)
            for pad in list(self._keypads.values()):
                self._refresh_keypad(pad)

    # ------------------------------------------------------------ keys -> requests
    def _work(self, window: str, fn: Callable[..., None], *args: Any) -> None:
        """Run fn on the window's own worker: requests of one window stay in order, never on a bus or paho thread."""
        with self._lock:
            worker = self._workers.get(window)
            if worker is None:
                worker = self._workers[window] = ThreadPoolExecutor(1, thread_name_prefix=f"window-{window}")
        if self._stop.is_set():
            return
        fut = worker.submit(fn, *args)
        fut.add_done_callback(lambda f: _log_failure(f, f"window {window}"))

    def _on_key(self, device_id: str | None, key: int | None, digits: tuple[int, ...]) -> None:
        pad = self._keypads.get(device_id or "")
        if pad is None:
            return
        command = pad.entry.press(key, digits, self._clock())   # (the PIN step of a sign-in is timed)
        if command is not None:
            self._work(pad.cfg.window, self._run_command, pad, command)

    def _run_command(self, pad: _Keypad, command: Command) -> None:
        window = pad.cfg.window
        action = command.action
        if "sign-in" in (command.reason or ""):     # abandoned, interrupted, late or a PIN of the wrong length:
            self._refresh_keypad(pad)                   # a keypad that shows typed digits itself forgets them
        if action is Action.CANCELLED:
            return
        if action is Action.INVALID:
            log.info("keypad %s: %s", pad.cfg.id, command.reason)      # reasons never name typed digits
            pad.beep(2)
            return
        if action is Action.PIN_WANTED:
            pad.beep(1)                                 # staff number taken: now the PIN and confirm
            return
        if action in (Action.SIGN_IN, Action.SIGN_OUT):
            self._staff_command(pad, command)
            return
        args: dict[str, Any] = {"window": window}
        if action is Action.CALL_BACK:
            op, args["number"] = Op.WINDOW_CALL, command.number
        elif action is Action.PAUSE_TOGGLE:
            paused = (self._window_state.get(window) or {}).get("status") == "paused"
            op = Op.WINDOW_RESUME if paused else Op.WINDOW_PAUSE
        elif action is Action.TRANSFER:
            target = (self.config.transfer_window_format.format(n=int(command.target))
                      if command.target else pad.cfg.transfer_to)
            if not target:
                log.info("keypad %s: transfer without a target window", pad.cfg.id)
                pad.beep(2)
                return
            op, args["to_window"] = Op.WINDOW_TRANSFER, target
        else:
            op = {Action.CALL_NEXT: Op.WINDOW_CALL_NEXT, Action.RECALL: Op.WINDOW_RECALL,
                  Action.EVALUATE: Op.WINDOW_FINISH, Action.NO_SHOW: Op.WINDOW_NO_SHOW,
                  Action.HOLD: Op.WINDOW_HOLD}[action]
        before = (self._window_state.get(window) or {}).get("current")
        try:
            data = self.bus.request(op, args)
        except RequestError as exc:
            log.info("keypad %s: %s refused: %s", pad.cfg.id, op, exc)
            pad.beep(3 if exc.code == "timeout" else 2)
            if exc.code == "not_signed_in":
                self._note(window, NOTES["not_signed_in"])
            return
        if op in (Op.WINDOW_CALL_NEXT, Op.WINDOW_CALL, Op.WINDOW_RECALL):
            for p in self._keypads_by_window.get(window, []):
                p.show(data.get("number"))
            if op == Op.WINDOW_CALL_NEXT and isinstance(before, dict) and before.get("id") \
                    and before.get("id") != data.get("id"):
                self._ticket_finished(window, str(before["id"]))   # call_next finishes the current one
        elif op == Op.WINDOW_FINISH:
            for p in self._keypads_by_window.get(window, []):
                p.show(None)
            if data.get("id"):
                self._ticket_finished(window, str(data["id"]))
        elif op in (Op.WINDOW_NO_SHOW, Op.WINDOW_HOLD, Op.WINDOW_TRANSFER):
            for p in self._keypads_by_window.get(window, []):
                p.show(None)

    def _staff_command(self, pad: _Keypad, command: Command) -> None:
        """staff.sign_in / staff.sign_out for the keypad's window. The PIN goes into the request and nowhere else:
        not into a log line, not onto a display (the keypad shows its ticket number again, which also wipes
        digits a keypad may have shown itself)."""
        window = pad.cfg.window
        signing_in = command.action is Action.SIGN_IN
        try:
            if signing_in:
                data = self.bus.request(Op.STAFF_SIGN_IN, {"window": window, "staff": command.staff,
                                                           "pin": command.pin},
                                        timeout=SIGN_IN_TIMEOUT_S, attempt=SIGN_IN_TIMEOUT_S)
            else:
                data = self.bus.request(Op.STAFF_SIGN_OUT, {"window": window})
        except RequestError as exc:
            what = "sign-in" if signing_in else "sign-out"
            log.info("keypad %s: %s at window %s refused: %s", pad.cfg.id, what, window, exc.code)
            pad.beep(3 if exc.code == "timeout" else 2)
            self._note(window, NOTES["bad_login" if exc.code == "bad_login" else "failed"] if signing_in
                       else exc.message_zh or exc.message or NOTES["failed"])
            return
        finally:
            self._refresh_keypad(pad)
        pad.beep(1)
        if signing_in:
            name = str(data.get("name") or "")           # masked by the server (王*)
            log.info("keypad %s: staff %s signed in at window %s", pad.cfg.id, data.get("staff"), window)
            self._note(window, NOTES["signed_in"].format(name=name).strip())
        else:
            log.info("keypad %s: window %s signed out", pad.cfg.id, window)
            self._note(window, NOTES["signed_out"])

    def _note(self, window: str, text: str) -> None:
        """Show text on line 1 of the window's LED screens for NOTE_S seconds, then the window's own content."""
        if not self._screens.get(window):
            return
        until = self._clock() + NOTE_S
        with self._lock:
            self._notes[window] = (text[:32], until)
        self._show_window(window)
        timer = threading.Timer(NOTE_S + 0.05, self._show_window, (window,))
        timer.daemon = True
        timer.start()

    def _window_content(self, window: str) -> ScreenContent:
        content = window_content(self._window_name(window), self._window_state.get(window))
        with self._lock:
            note = self._notes.get(window)
            if note is not None and self._clock() >= note[1]:
                del self._notes[window]
                note = None
        if note is None:
            return content
        lines = list(content.lines) + [""] * max(0, 2 - len(content.lines))
        lines[1] = note[0]
        return ScreenContent(tuple(lines), content.number, content.scroll)

    def _show_window(self, window: str) -> None:
        if self._stop.is_set():
            return
        content = self._window_content(window)
        for screen in self._screens.get(window, []):
            screen.show(content)

    def _refresh_keypad(self, pad: _Keypad) -> None:
        current = (self._window_state.get(pad.cfg.window) or {}).get("current")
        number = current.get("number") if isinstance(current, dict) else None
        # a keypad that does not answer is reported through its device status, not here
        pad.show(number).add_done_callback(lambda f: _log_failure(f, f"keypad {pad.cfg.id}", logging.DEBUG))

    # ------------------------------------------------------------ evaluation
    def _ticket_finished(self, window: str, ticket_id: str) -> None:
        with self._lock:
            if ticket_id in self._rated or self._finished.get(window, ("",))[0] == ticket_id:
                return
            self._finished[window] = (ticket_id, self._clock())
            early = self._early_grade.pop(window, None)
        if early and early[0] == ticket_id:
            self._work(window, self._submit_grade, window, ticket_id, early[1])
            return
        for evaluator in self._evaluators.get(window, []):
            evaluator.invite()

    def _grade(self, window: str, grade: int) -> None:
        with self._lock:
            finished = self._finished.get(window)
            if finished and self._clock() - finished[1] <= self.config.evaluation_window_s \
                    and finished[0] not in self._rated:
                ticket_id = finished[0]
            else:
                ticket_id = None
                current = (self._window_state.get(window) or {}).get("current")
                if isinstance(current, dict) and current.get("id"):
                    # graded while still being served: keep it for when that ticket is finished
                    self._early_grade[window] = (str(current["id"]), grade)
                    log.info("window %s: grade %d held for serving ticket %s", window, grade, current["id"])
                    return
        if ticket_id is None:
            log.info("window %s: grade %d (%s) with no ticket to bind it to; dropped", window, grade, GRADES[grade])
            return
        self._submit_grade(window, ticket_id, grade)

    def _submit_grade(self, window: str, ticket_id: str, grade: int) -> None:
        try:
            self.bus.request(Op.EVALUATION_SUBMIT, {"ticket_id": ticket_id, "grade": grade})
        except RequestError as exc:
            log.warning("window %s: evaluation of %s refused: %s", window, ticket_id, exc)
            if exc.code == "timeout":
                return                          # the ticket stays bound; a second press retries
        with self._lock:
            self._rated.append(ticket_id)
            if self._finished.get(window, ("",))[0] == ticket_id:
                del self._finished[window]
        for evaluator in self._evaluators.get(window, []):
            evaluator.thank()

    # ------------------------------------------------------------ bus subscriptions (paho thread: never block)
    def _on_window_state(self, topic: str, state: dict[str, Any]) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None or len(parsed.parts) != 2:
            return
        window = parsed.parts[1]
        with self._lock:
            self._window_state[window] = state
        self._show_window(window)
        for pad in self._keypads_by_window.get(window, []):
            self._refresh_keypad(pad)

    def _on_zone_state(self, topic: str, state: dict[str, Any]) -> None:
        parsed = self.topics.parse(topic)
        if parsed is None or len(parsed.parts) != 2:
            return
        zone = parsed.parts[1]
        with self._lock:
            self._zone_state[zone] = state
        self._update_strips(zone)

    def _on_catalog(self, _topic: str, catalog: dict[str, Any]) -> None:
        with self._lock:
            self._catalog = catalog
        for window in list(self._screens):
            self._show_window(window)
        for zone in self._strips:
            self._update_strips(zone)

    def _on_calls(self, _topic: str, payload: dict[str, Any]) -> None:
        calls = payload.get("calls")
        if not isinstance(calls, list):
            return
        for call in reversed(calls):            # newest first on the wire
            if isinstance(call, dict) and isinstance(call.get("zone"), str):
                with self._lock:
                    self._last_call.setdefault(call["zone"], call)
        for zone in self._strips:
            self._update_strips(zone)

    def _on_call(self, _topic: str, event: dict[str, Any]) -> None:
        key = (event.get("seq"), event.get("ticket_id"))
        with self._lock:
            if key in self._seen_calls and key != (None, None):
                return                          # a QoS 1 redelivery
            self._seen_calls.append(key)
        zone = event.get("zone")
        if isinstance(zone, str):
            with self._lock:
                self._last_call[zone] = event
            self._update_strips(zone)
        for spk, announcer in self._announcers:
            if not spk.zones or zone in spk.zones or "*" in spk.zones:
                try:
                    announcer.announce(event)
                except Exception as exc:
                    log.warning("speaker %s: %s", spk.id, exc)

    def _on_ticket_event(self, _topic: str, event: dict[str, Any]) -> None:
        ticket = event.get("ticket") if isinstance(event.get("ticket"), dict) else event
        window = ticket.get("window") or event.get("window")
        if ticket.get("state") == "done" and isinstance(window, str) and window in self.config.windows \
                and isinstance(ticket.get("id"), str):
            self._ticket_finished(window, ticket["id"])

    # ------------------------------------------------------------ rendering helpers
    def _window_name(self, window: str) -> str:
        state = self._window_state.get(window) or {}
        if state.get("name"):
            return str(state["name"])
        for w in self._catalog.get("windows", []) or []:
            if isinstance(w, dict) and w.get("id") == window and w.get("name"):
                return str(w["name"])
        n = window_number(None, window)
        return f"{n}号窗口" if n is not None else window

    def _zone_name(self, zone: str) -> str:
        for st in self.config.strips:
            if st.zone == zone and st.zone_name:
                return st.zone_name
        for z in self._catalog.get("zones", []) or []:
            if isinstance(z, dict) and z.get("id") == zone and z.get("name"):
                return str(z["name"])
        return zone

    def _update_strips(self, zone: str) -> None:
        content = strip_content(self._zone_name(zone), self._zone_state.get(zone), self._last_call.get(zone))
        for strip in self._strips.get(zone, []):
            strip.show(content)


# ---------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onewindow devices", description="the headless hall device controller")
    parser.add_argument("--config", required=True, help="devices.toml")
    parser.add_argument("--broker", help="broker URL (overrides the config's broker)")
    parser.add_argument("--voice-out", help="write calls as WAV files here when there is no sound card")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        controller = DeviceController(config, broker=args.broker, voice_out=args.voice_out)
        controller.start()
    except ValueError as exc:                      # a bad --broker URL or TLS file
        print(f"onewindow devices: {exc}", file=sys.stderr)
        return 2
    try:
        deadline = time.monotonic() + 30
        connected = False
        while not stop.is_set() and not connected and time.monotonic() < deadline:   # SIGTERM ends the wait
            connected = controller.bus.wait_connected(0.25)
        if not stop.is_set():
            print(json.dumps({"event": "ready" if connected else "waiting_for_broker",
                              "client_id": controller.client_id, "broker": controller.broker}), flush=True)
        stop.wait()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
