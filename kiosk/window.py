"""The kiosk's main window: header, one stacked screen, footer; holds the journey's state, turns screen
intents into bridge calls and bridge signals into screens. Idle return, elderly mode, language, scanner."""
from __future__ import annotations

import dataclasses

import datetime as _dt
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from kiosk import theme
from kiosk.bridge import KioskBridge, emit_log
from kiosk.config import KioskConfig
from kiosk.i18n import error_text, printer_problem, t
from kiosk.model import (
    Catalog, CodeQuery, Connectivity, DeviceHealth, Health, Holder, IssueOutcome, ZoneLoad, classify_code,
)
from kiosk.screens import (
    AppointmentScreen, ConfirmScreen, FaultScreen, GuideScreen, HomeScreen, MessageScreen, PrintingScreen,
    Screen, StatusScreen, TicketScreen, ZoneScreen, age_on,
)
from kiosk.widgets import Footer, Header, clear_layout

ELDERLY_SCALE = 1.25
CONNECT_GRACE_S = 6.0
DONE_TIMEOUT_S = 20.0      # "connecting" rather than "unreachable" just after start


class KioskWindow(QWidget):
    screenChanged = Signal(str)

    def __init__(self, config: KioskConfig, bridge: KioskBridge, *, portrait: bool = True,
                 family: str = theme.FAMILY) -> None:
        super().__init__()
        self.config = config
        self.bridge = bridge
        self.family = family
        self.portrait = portrait
        self.setObjectName("root")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setWindowTitle("OneWindow 一窗 kiosk")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # journey state
        self.lang = config.language
        self.elderly = False
        self.catalog: Catalog | None = bridge.catalog
        self.loads: dict[str, ZoneLoad] = dict(bridge.zone_loads)
        self.holder: Holder | None = None
        self.id_error = False
        self.zone_id: str | None = None
        self.service_id: str | None = None
        self.guide_service: str | None = None
        self.page = 0
        self.progress: tuple[str, float] = ("request", 0.05)
        self.outcome: IssueOutcome | None = None
        self.lookup: IssueOutcome | None = None
        self.eval_busy = False                 # a grade for the looked-up ticket is on its way
        self.eval_error = ""
        self.code_text = ""
        self.code_busy = False
        self.code_error = ""
        self.checklist_msg: tuple[bool, str] | None = None
        self.conn: Connectivity = bridge.connectivity
        self.health: dict[str, DeviceHealth] = {}
        self.forced_unreachable = False
        self.issue_origin = "walk_in"
        self.started = time.monotonic()
        self.current = ""
        self.history: list[str] = []
        self._scan_buf = ""
        self._scan_last = 0.0
        self._idle_deadline = 0.0
        self._home_ready_logged = False

        self.header = Header()
        self.footer = Footer()
        self.footer.intent.connect(self.on_intent)
        if not portrait:   # landscape: every vertical pixel goes to the zone tiles
            self.header.layout().setContentsMargins(28, 10, 28, 10)
            self.header.emblem.setFixedSize(76, 76)
        self.stack = QStackedWidget()
        self.screens: dict[str, Screen] = {}
        for cls in (HomeScreen, ZoneScreen, ConfirmScreen, PrintingScreen, TicketScreen, GuideScreen,
                    AppointmentScreen, StatusScreen, FaultScreen, MessageScreen):
            screen = cls(self)
            screen.intent.connect(self.on_intent)
            self.screens[screen.name] = screen
            self.stack.addWidget(screen)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.footer)

        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.timeout.connect(self.on_idle)
        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self.on_clock)
        self.clock.start()
        self._rerender = QTimer(self)       # coalesce bursts of state/zone updates
        self._rerender.setSingleShot(True)
        self._rerender.setInterval(150)
        self._rerender.timeout.connect(self.refresh)

        bridge.catalogChanged.connect(self.on_catalog)
        bridge.zoneLoadChanged.connect(self.on_zone_load)
        bridge.connectivityChanged.connect(self.on_connectivity)
        bridge.deviceChanged.connect(self.on_device)
        bridge.holderRead.connect(self.on_holder)
        bridge.idcardFailed.connect(self.on_id_failed)
        bridge.scanned.connect(self.on_scanned)
        bridge.issueProgress.connect(self.on_progress)
        bridge.issueFinished.connect(self.on_issue_finished)
        bridge.lookupFinished.connect(self.on_lookup)
        bridge.evaluationFinished.connect(self.on_evaluation)
        bridge.checklistFinished.connect(self.on_checklist)
        self.apply_style()
        self.go_home(reset=False)

    # ------------------------------------------------------------ derived state
    @property
    def scale(self) -> float:
        return ELDERLY_SCALE if self.elderly else 1.0

    @property
    def idle_timeout_s(self) -> float:
        base = self.config.elderly_timeout_s if self.elderly else self.config.idle_timeout_s
        if self.current == "done":   # the ticket is in hand: free the kiosk for the next person sooner
            return min(base, DONE_TIMEOUT_S * (2 if self.elderly else 1))
        return base

    def idle_remaining_s(self) -> int:
        if not self.idle.isActive():
            return int(self.idle_timeout_s)
        return max(0, int(round(self.idle.remainingTime() / 1000)))

    @property
    def idcard_fault(self) -> bool:
        h = self.health.get("idcard")
        return h is not None and h.state in (Health.ERROR, Health.OFFLINE)

    def holder_is_senior(self) -> bool:
        age_limit = self.catalog.priority_age if self.catalog else None
        if self.holder is None or not age_limit:
            return False
        age = age_on(self.holder.birth_date, _dt.date.today())
        return age is not None and age >= age_limit

    def device_warning_text(self) -> str:
        p = self.health.get("printer")
        if p is not None and p.state is Health.WARNING:
            return t("paper_low", self.lang)
        return ""

    def fault_kind(self) -> str | None:
        if self.forced_unreachable or not self.conn.reachable:
            if not self.forced_unreachable and time.monotonic() - self.started < CONNECT_GRACE_S \
                    and self.conn.server is None:
                return "connecting"
            return "unreachable"
        if self.catalog is None:
            return "connecting"
        p = self.health.get("printer")
        if p is not None and p.blocks_issuing:
            return p.code if p.code in ("paper_out", "cover_open") else "printer_offline"
        return None

    # ------------------------------------------------------------ navigation
    def show_screen(self, name: str, *, push: bool = True) -> None:
        if push and self.current and self.current != name and self.current not in ("printing", "fault", "message"):
            self.history.append(self.current)
        previous = self.screens.get(self.current)
        self.current = name
        screen = self.screens[name]
        screen.render()
        self.stack.setCurrentWidget(screen)
        if previous is not None and previous is not screen:
            clear_layout(previous.body)   # a hidden page must not hold the window's minimum size up
        self.render_chrome()
        self.restart_idle()
        emit_log("screen", name=name, lang=self.lang)
        if name == "home" and not self._home_ready_logged:
            self._home_ready_logged = True
            emit_log("ready", screen="home", startup_s=round(time.monotonic() - self.started, 3))
        self.screenChanged.emit(name)

    def go_home(self, *, reset: bool = True) -> None:
        if reset:
            self.holder = None
            self.lang = self.config.language
            if self.elderly:
                self.elderly = False
                self.apply_style()
        self.forced_unreachable = False if reset else self.forced_unreachable
        self.history.clear()
        self.zone_id = self.service_id = self.guide_service = None
        self.page = 0
        self.code_text, self.code_error, self.code_busy = "", "", False
        self.lookup = None
        self.eval_busy, self.eval_error = False, ""
        self.checklist_msg = None
        self.id_error = False
        self.show_screen("fault" if self.fault_kind() else "home", push=False)

    def back(self) -> None:
        if not self.history:
            self.go_home(reset=False)
            return
        name = self.history.pop()
        if name == "home":
            self.go_home(reset=False)
        else:
            self.show_screen(name, push=False)

    def render_chrome(self) -> None:
        cat = self.catalog
        name = cat.hall_title(self.lang) if cat else ("一窗 OneWindow" if self.lang == "zh" else "OneWindow 一窗")
        other = (cat.hall_name if self.lang == "en" else cat.hall_name_en) if cat else ""
        self.header.set_hall(name, other)
        self.header.tick(self.lang)
        screen = self.screens.get(self.current)
        note = ""
        if cat and self.current == "home" and not self.portrait:
            note = cat.notice_en if self.lang == "en" else cat.notice
        self.footer.render(self.lang, self.elderly, nav=bool(screen and screen.nav), note=note)

    def refresh(self) -> None:
        if self.current:
            self.screens[self.current].render()
            self.render_chrome()

    def schedule_refresh(self) -> None:
        if not self._rerender.isActive():
            self._rerender.start()

    def apply_style(self) -> None:
        # On the window, not the application: restyling touches only this widget tree.
        self.setStyleSheet(theme.stylesheet(self.scale, self.family))

    # ------------------------------------------------------------ idle
    def restart_idle(self) -> None:
        if self.current in ("home", "fault") and self.holder is None and not self.elderly \
                and self.lang == self.config.language and not self.id_error:
            self.idle.stop()
            return
        self.idle.start(int(self.idle_timeout_s * 1000))

    def on_idle(self) -> None:
        if self.current == "printing":
            self.restart_idle()
            return
        emit_log("idle_return", screen=self.current)
        self.go_home(reset=True)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 (Qt)
        """Installed on scrollable areas only: a swipe there counts as activity (buttons emit intents)."""
        if ev.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.Wheel) \
                and self.idle.isActive():
            self.idle.start(int(self.idle_timeout_s * 1000))
        return False

    def on_clock(self) -> None:
        self.header.tick(self.lang)
        if self.current == "done":
            self.screens["done"].tick()  # type: ignore[attr-defined]
        if self.current == "fault" and self.fault_kind() != "connecting" and self.conn.server is None:
            self.refresh()   # connecting -> unreachable after the grace period

    # ------------------------------------------------------------ keyboard-wedge scanner
    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802 (Qt)
        now = time.monotonic()
        if now - self._scan_last > 0.5:
            self._scan_buf = ""
        self._scan_last = now
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            code, self._scan_buf = self._scan_buf, ""
            if len(code) >= 3:
                self.on_scanned(code)
            return
        text = ev.text()
        if text and text.isprintable() and len(self._scan_buf) < 200:
            self._scan_buf += text

    def on_scanned(self, code: str) -> None:
        emit_log("scan", length=len(code))
        if self.current == "printing":
            return
        self.restart_idle()
        q = classify_code(code, for_status=self.current == "status")
        if q.kind in ("verify", "number"):
            self.start_lookup(q)
        elif q.kind == "appointment":
            self.start_checkin(q.value)
        else:
            self.code_error = t("invalid_code", self.lang)
            if self.current not in ("appointment", "status"):
                self.show_screen("status" if self.current == "status" else "appointment")
            else:
                self.refresh()

    # ------------------------------------------------------------ intents
    def on_intent(self, what: str, arg: Any) -> None:
        self.restart_idle()
        handler = getattr(self, f"do_{what}", None)
        if handler is None:
            raise ValueError(f"unknown intent {what!r}")
        handler(arg)

    def do_back(self, _arg: Any) -> None:
        self.back()

    def do_home(self, _arg: Any) -> None:
        self.go_home(reset=self.current in ("done", "message"))

    def do_language(self, _arg: Any) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"
        self.code_error = ""
        self.refresh()
        self.restart_idle()

    def do_elderly(self, _arg: Any) -> None:
        self.elderly = not self.elderly
        self.apply_style()
        self.refresh()
        self.restart_idle()

    def do_zone(self, zone_id: str) -> None:
        self.zone_id = zone_id
        self.page = 0
        self.show_screen("zone")

    def do_page(self, delta: int) -> None:
        self.page = max(0, self.page + delta)
        self.refresh()

    def do_service(self, service_id: str) -> None:
        self.service_id = service_id
        svc = self.catalog.service(service_id) if self.catalog else None
        if svc is not None:
            self.zone_id = svc.zone
        self.show_screen("confirm")

    def do_guide(self, service_id: str) -> None:
        self.guide_service = service_id
        self.checklist_msg = None
        self.show_screen("guide")

    def do_checklist(self, service_id: str) -> None:
        svc = self.catalog.service(service_id) if self.catalog else None
        if svc is not None:
            self.bridge.print_checklist(svc, self.lang)

    def do_confirm(self, service_id: str) -> None:
        if self.current == "printing":
            return
        self.issue_origin = "id_card" if self.holder else "walk_in"
        self.progress = ("request", 0.05)
        self.show_screen("printing")
        self.bridge.issue(service_id, self.holder, self.lang)

    def do_forget_holder(self, _arg: Any) -> None:
        self.holder = None
        self.refresh()
        self.restart_idle()

    def do_appointment(self, _arg: Any) -> None:
        self.code_text, self.code_error, self.code_busy = "", "", False
        self.show_screen("appointment")

    def do_status(self, _arg: Any) -> None:
        self.code_text, self.code_error, self.code_busy = "", "", False
        self.lookup = None
        self.eval_busy, self.eval_error = False, ""
        if self.current == "status":
            self.refresh()
        else:
            self.show_screen("status")

    def do_key(self, key: str) -> None:
        if key == "DEL":
            self.code_text = self.code_text[:-1]
        elif key == "CLR":
            self.code_text = ""
        elif key == "OK":
            self.submit_code()
            return
        elif len(self.code_text) < 32:
            self.code_text += key
        self.code_error = ""
        self.refresh()

    def submit_code(self) -> None:
        text = self.code_text.strip()
        if not text:
            return
        if self.current == "status":
            q = classify_code(text, for_status=True)
            if q.kind == "invalid":
                self.code_error = t("invalid_code", self.lang)
                self.refresh()
                return
            self.start_lookup(q)
        else:
            q = classify_code(text)
            if q.kind == "appointment":
                self.start_checkin(q.value)
            elif q.kind == "number":
                self.start_lookup(q)
            else:
                self.code_error = t("invalid_code", self.lang)
                self.refresh()

    def start_lookup(self, q: CodeQuery) -> None:
        self.code_text = q.value
        self.code_busy = True
        self.code_error = ""
        self.lookup = None
        self.eval_busy, self.eval_error = False, ""
        if self.current != "status":
            self.show_screen("status")
        else:
            self.refresh()
        self.bridge.lookup(q)

    def start_checkin(self, code: str) -> None:
        self.issue_origin = "appointment"
        self.code_text = code
        self.progress = ("request", 0.05)
        if self.current != "appointment":
            self.show_screen("appointment")
        self.show_screen("printing")
        self.bridge.checkin(code, self.lang)

    # ------------------------------------------------------------ bridge signals
    def on_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        if self.current in ("home", "fault"):
            self.go_home(reset=False)
        else:
            self.schedule_refresh()

    def on_zone_load(self, zone: str, load: ZoneLoad) -> None:
        self.loads[zone] = load
        if self.current in ("home", "zone", "confirm"):
            self.schedule_refresh()

    def on_connectivity(self, conn: Connectivity) -> None:
        self.conn = conn
        if conn.reachable:
            self.forced_unreachable = False
        self._reconsider_fault()

    def on_device(self, health: DeviceHealth) -> None:
        self.health[health.kind] = health
        if health.kind == "idcard" and self.current == "home":
            self.schedule_refresh()
        if health.kind == "printer" and self.current == "home":
            self.schedule_refresh()
        self._reconsider_fault()

    def _reconsider_fault(self) -> None:
        fault = self.fault_kind()
        if self.current == "home" and fault:
            self.show_screen("fault", push=False)
        elif self.current == "fault":
            if fault:
                self.refresh()
            else:
                self.go_home(reset=False)

    def on_holder(self, holder: Holder) -> None:
        self.holder = holder
        self.id_error = False
        self.bridge.say(t("holder_choose", self.lang), self.lang)
        if self.current in ("zone", "confirm", "guide", "fault", "printing"):
            self.schedule_refresh()
            self.restart_idle()
        else:
            self.history.clear()
            self.show_screen("fault" if self.fault_kind() else "home", push=False)

    def on_id_failed(self, _reason: str) -> None:
        """A card was read but rejected (e.g. its number fails the check digit): one plain message, whatever
        the reason; the reason word goes to the log only."""
        self.id_error = True
        if self.current in ("home", "confirm"):
            self.schedule_refresh()
            self.restart_idle()

    def on_progress(self, stage: str, frac: float) -> None:
        old = self.progress[0]
        self.progress = (stage, frac)
        if self.current == "printing":
            if old == stage:
                self.screens["printing"].set_progress(stage, frac)  # type: ignore[attr-defined]
            else:
                self.refresh()

    def on_issue_finished(self, outcome: IssueOutcome) -> None:
        self.outcome = outcome
        self.code_busy = False
        if outcome.kind in ("printed", "unprinted"):
            self.holder = None           # one card, one ticket
            self.history.clear()
            self.show_screen("done", push=False)
            self.bridge.say(t("take_ticket" if outcome.kind == "printed" else "unprinted_title", self.lang), self.lang)
        elif outcome.kind == "printer_blocked":
            self.history.clear()
            self.show_screen("fault", push=False)
        elif outcome.kind == "unreachable":
            self.forced_unreachable = True
            self.history.clear()
            self.show_screen("fault", push=False)
            self.bridge.say(t("unreachable_title", self.lang) + "，" + t("ask_staff", self.lang), self.lang)
        elif self.issue_origin == "appointment":
            self.code_error = self._refusal_text(outcome)
            self.show_screen("appointment", push=False)
        else:
            self.show_screen("message", push=False)

    def _refusal_text(self, o: IssueOutcome) -> str:
        return error_text(o.code, o.message, o.message_zh, self.lang)

    def on_lookup(self, outcome: IssueOutcome) -> None:
        self.code_busy = False
        if outcome.kind == "found":
            self.lookup = outcome
            self.code_error = ""
        elif outcome.kind == "unreachable":
            self.forced_unreachable = True
            self.history.clear()
            self.show_screen("fault", push=False)
            return
        else:
            self.lookup = None
            self.code_error = self._refusal_text(outcome)
        if self.current == "status":
            self.refresh()

    def do_evaluate(self, grade: int) -> None:
        """A grade for the finished ticket on the status screen (好差评 for halls or citizens without an evaluator)."""
        tk = self.lookup.ticket if self.lookup else None
        if tk is None or tk.state != "done" or tk.grade is not None or self.eval_busy:
            return
        self.eval_busy, self.eval_error = True, ""
        self.refresh()
        self.bridge.evaluate(tk.id, grade)

    def on_evaluation(self, outcome: IssueOutcome) -> None:
        self.eval_busy = False
        tk = self.lookup.ticket if self.lookup else None
        if outcome.kind == "evaluated" and tk is not None:
            self.lookup = IssueOutcome("found", ticket=dataclasses.replace(tk, grade=int(outcome.detail)))
        elif outcome.kind == "unreachable":
            self.eval_error = t("eval_unreachable", self.lang)
        else:                                   # e.g. rated already at the window's evaluator
            self.eval_error = self._refusal_text(outcome)
        if self.current == "status":
            self.refresh()

    def on_checklist(self, ok: bool, why: str) -> None:
        self.checklist_msg = (ok, t("checklist_printed", self.lang) if ok
                              else t("checklist_failed", self.lang, why=printer_problem(why, self.lang)))
        if self.current == "guide":
            self.refresh()
