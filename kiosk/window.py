"""The kiosk's main window: header, one stacked screen, footer. It changes the journey (kiosk.journey) in answer
to screen intents and bridge signals, turns intents into bridge calls and shows the screen the journey is on.
Idle return, elderly mode, language, the keyboard-wedge scanner."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from kiosk import theme
from kiosk.bridge import KioskBridge, emit_log
from kiosk.config import KioskConfig
from kiosk.i18n import error_text, printer_problem, t
from kiosk.journey import Journey
from kiosk.model import (
    CaseQuery, Catalog, CodeQuery, Connectivity, DeviceHealth, Holder, IssueOutcome, ZoneLoad, case_query,
    classify_code, split_case_number,
)
from kiosk.screens import (
    AppointmentScreen, ConfirmScreen, FaultScreen, GuideScreen, HomeScreen, MessageScreen, PrintingScreen,
    Screen, SearchScreen, StatusScreen, TicketScreen, ZoneScreen,
)
from kiosk.widgets import Footer, Header, clear_layout


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
        self.journey = Journey(config.language, config.idle_timeout_s, config.elderly_timeout_s,
                               catalog=bridge.catalog, loads=dict(bridge.zone_loads), conn=bridge.connectivity,
                               case_prefix_default=config.case_prefix)
        self._scan_buf = ""
        self._scan_last = 0.0
        self._home_ready_logged = False
        self._unanswered: IssueOutcome | None = None   # the "unreachable" outcome a citizen is looking at

        self.header = Header()
        self.footer = Footer()
        self.footer.intent.connect(self.on_intent)
        if not portrait:   # landscape: every vertical pixel goes to the zone tiles
            self.header.layout().setContentsMargins(28, 10, 28, 10)
            self.header.emblem.setFixedSize(76, 76)
        self.stack = QStackedWidget()
        self.screens: dict[str, Screen] = {}
        for cls in (HomeScreen, ZoneScreen, ConfirmScreen, PrintingScreen, TicketScreen, GuideScreen,
                    AppointmentScreen, StatusScreen, FaultScreen, MessageScreen, SearchScreen):
            screen = cls(self.journey, portrait=portrait)
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
        bridge.lateTicket.connect(self.on_late_ticket)
        bridge.lookupFinished.connect(self.on_lookup)
        bridge.caseFinished.connect(self.on_case)
        bridge.evaluationFinished.connect(self.on_evaluation)
        bridge.checklistFinished.connect(self.on_checklist)
        self.apply_style()
        self.go_home(reset=False)

    # ------------------------------------------------------------ navigation
    def show_screen(self, name: str, *, push: bool = True) -> None:
        j = self.journey
        previous = self.screens.get(j.current)
        j.enter(name, push=push)
        screen = self.screens[name]
        screen.render()
        self.stack.setCurrentWidget(screen)
        if previous is not None and previous is not screen:
            clear_layout(previous.body)   # a hidden page must not hold the window's minimum size up
        self.render_chrome()
        self.restart_idle()
        emit_log("screen", name=name, lang=j.lang)
        if name == "home" and not self._home_ready_logged:
            self._home_ready_logged = True
            emit_log("ready", screen="home", startup_s=round(time.monotonic() - j.started, 3))
        self.screenChanged.emit(name)

    def go_home(self, *, reset: bool = True) -> None:
        self._unanswered = None          # whoever was told "unreachable" has gone (or pressed home)
        if self.journey.restart(reset=reset):
            self.apply_style()          # elderly mode is over
        self.show_screen("fault" if self.journey.fault_kind() else "home", push=False)

    def back(self) -> None:
        history = self.journey.history
        name = history.pop() if history else "home"
        if name == "home":
            self.go_home(reset=False)
        else:
            self.show_screen(name, push=False)

    def render_chrome(self) -> None:
        j = self.journey
        cat, lang = j.catalog, j.lang
        name = cat.hall_title(lang) if cat else ("一窗 OneWindow" if lang == "zh" else "OneWindow 一窗")
        other = (cat.hall_name if lang == "en" else cat.hall_name_en) if cat else ""
        self.header.set_hall(name, other)
        self.header.tick(lang)
        screen = self.screens.get(j.current)
        note = ""
        if cat and j.current == "home" and not self.portrait:
            note = cat.notice_en if lang == "en" else cat.notice
        self.footer.render(lang, j.elderly, nav=bool(screen and screen.nav), note=note,
                           search=j.current == "home" and j.catalog is not None)

    def refresh(self) -> None:
        if self.journey.current:
            self.screens[self.journey.current].render()
            self.render_chrome()

    def schedule_refresh(self) -> None:
        if not self._rerender.isActive():
            self._rerender.start()

    def apply_style(self) -> None:
        # On the window, not the application: restyling touches only this widget tree.
        self.setStyleSheet(theme.stylesheet(self.journey.scale, self.family))

    # ------------------------------------------------------------ idle
    def restart_idle(self) -> None:
        j = self.journey
        if j.at_rest:
            self.idle.stop()
            j.idle_deadline = None
            return
        self.idle.start(int(j.idle_timeout_s * 1000))
        j.idle_deadline = j.clock() + j.idle_timeout_s

    def on_idle(self) -> None:
        j = self.journey
        j.idle_deadline = None
        if j.current == "printing":
            self.restart_idle()
            return
        emit_log("idle_return", screen=j.current)
        self.go_home(reset=True)

    def on_clock(self) -> None:
        j = self.journey
        self.header.tick(j.lang)
        if j.current == "done":
            self.screens["done"].tick()  # type: ignore[attr-defined]
        if j.current == "fault" and j.fault_kind() != "connecting" and j.conn.server is None:
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
        j = self.journey
        emit_log("scan", length=len(code))
        if j.current == "printing":
            return
        self.restart_idle()
        if j.current == "status" and j.status_mode == "case":
            parts = split_case_number(code)
            if parts is not None:
                j.fill_case_number(*parts)
                self.refresh()
                return
        q = classify_code(code, for_status=j.current == "status")
        if q.kind in ("token", "verify", "number"):
            self.start_lookup(q)
        elif q.kind == "appointment":
            self.start_checkin(q.value)
        else:
            j.code_error = t("invalid_code", j.lang)
            if j.current not in ("appointment", "status"):
                self.show_screen("appointment")
            else:
                self.refresh()

    # ------------------------------------------------------------ intents
    def on_intent(self, what: str, arg: Any) -> None:
        self.restart_idle()
        handler = getattr(self, f"do_{what}", None)
        if handler is None:
            raise ValueError(f"unknown intent {what!r}")
        handler(arg)

    def do_activity(self, _arg: Any) -> None:
        """A touch that is no button (a swipe through a long guide): only keeps the kiosk from going home."""

    def do_back(self, _arg: Any) -> None:
        self.back()

    def do_home(self, _arg: Any) -> None:
        self.go_home(reset=self.journey.current in ("done", "message"))

    def do_language(self, _arg: Any) -> None:
        j = self.journey
        j.lang = "en" if j.lang == "zh" else "zh"
        j.code_error = ""
        self.refresh()
        self.restart_idle()

    def do_elderly(self, _arg: Any) -> None:
        self.journey.elderly = not self.journey.elderly
        self.apply_style()
        self.refresh()
        self.restart_idle()

    def do_zone(self, zone_id: str) -> None:
        self.journey.zone_id = zone_id
        self.journey.page = 0
        self.journey.note_use()
        self.show_screen("zone")

    def do_search(self, _arg: Any) -> None:
        """Find a service by its pinyin initials or a keyword, across the hall."""
        j = self.journey
        j.clear_search()
        j.note_use()
        if j.current == "search":
            self.refresh()
        else:
            self.show_screen("search")

    def do_search_key(self, key: str) -> None:
        self.journey.type_search_key(key)
        self.refresh()

    def do_search_word(self, word: str) -> None:
        self.journey.choose_search_word(word)
        self.refresh()

    def do_page(self, page: int) -> None:
        self.journey.page = max(0, page)
        self.refresh()

    def do_service(self, service_id: str) -> None:
        j = self.journey
        j.service_id = service_id
        svc = j.catalog.service(service_id) if j.catalog else None
        if svc is not None:
            j.zone_id = svc.zone
        self.show_screen("confirm")

    def do_guide(self, service_id: str) -> None:
        self.journey.guide_service = service_id
        self.journey.checklist_msg = None
        self.show_screen("guide")

    def do_checklist(self, service_id: str) -> None:
        j = self.journey
        svc = j.catalog.service(service_id) if j.catalog else None
        if svc is not None:
            self.bridge.print_checklist(svc, j.lang)

    def do_confirm(self, service_id: str) -> None:
        j = self.journey
        if j.current == "printing":
            return
        j.begin_issue("id_card" if j.holder else "walk_in")
        self.show_screen("printing")
        self.bridge.issue(service_id, j.holder, j.lang)

    def do_forget_holder(self, _arg: Any) -> None:
        self.journey.holder = None
        self.refresh()
        self.restart_idle()

    def do_appointment(self, _arg: Any) -> None:
        self.journey.clear_code()
        self.show_screen("appointment")

    def do_status(self, mode: Any) -> None:
        """The status screen; `mode` "case" opens (or stays on) the case tab, None starts on the ticket tab."""
        j = self.journey
        j.clear_code()
        j.status_mode = "case" if mode == "case" else "ticket"
        if j.current == "status":
            self.refresh()
        else:
            self.show_screen("status")

    def do_status_mode(self, mode: str) -> None:
        j = self.journey
        if mode in ("ticket", "case") and mode != j.status_mode:
            j.clear_code()
            j.status_mode = mode
            self.refresh()

    def do_case_field(self, name: str) -> None:
        self.journey.choose_case_field(name)
        self.refresh()

    def do_case_key(self, key: str) -> None:
        if self.journey.type_case_key(key):
            self.submit_case()
        else:
            self.refresh()

    def submit_case(self) -> None:
        """Check the typed parts here; only a well-formed number with a 6-digit code goes to the server."""
        j = self.journey
        if j.case_busy:
            return
        q = case_query(j.case_prefix, j.case_day, j.case_seq, j.case_code)
        if not isinstance(q, CaseQuery):
            field, key = q
            j.case_field, j.case_fresh = field, False
            j.case_error, j.case_error_text = key, ""
            self.refresh()
            return
        j.case_busy, j.case_error, j.case_error_text = True, "", ""
        j.case_found = None
        self.refresh()
        self.bridge.case_lookup(q)

    def do_key(self, key: str) -> None:
        if self.journey.type_key(key):
            self.submit_code()
        else:
            self.refresh()

    def submit_code(self) -> None:
        j = self.journey
        text = j.code_text.strip()
        if not text:
            return
        if j.current == "status":
            q = classify_code(text, for_status=True)
            if q.kind == "invalid":
                j.code_error = t("invalid_code", j.lang)
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
                j.code_error = t("invalid_code", j.lang)
                self.refresh()

    def start_lookup(self, q: CodeQuery) -> None:
        self.journey.begin_lookup(q.value)
        if self.journey.current != "status":
            self.show_screen("status")
        else:
            self.refresh()
        self.bridge.lookup(q)

    def start_checkin(self, code: str) -> None:
        j = self.journey
        j.begin_issue("appointment")
        j.code_text = code
        if j.current != "appointment":
            self.show_screen("appointment")
        self.show_screen("printing")
        self.bridge.checkin(code, j.lang)

    # ------------------------------------------------------------ bridge signals
    def on_catalog(self, catalog: Catalog) -> None:
        self.journey.catalog = catalog
        if self.journey.current in ("home", "fault"):
            self.go_home(reset=False)
        else:
            self.schedule_refresh()

    def on_zone_load(self, zone: str, load: ZoneLoad) -> None:
        self.journey.loads[zone] = load
        if self.journey.current in ("home", "zone", "confirm"):
            self.schedule_refresh()

    def on_connectivity(self, conn: Connectivity) -> None:
        self.journey.conn = conn
        if conn.reachable:
            self.journey.forced_unreachable = False
        self._reconsider_fault()

    def on_device(self, health: DeviceHealth) -> None:
        self.journey.health[health.kind] = health
        if health.kind in ("idcard", "printer") and self.journey.current == "home":
            self.schedule_refresh()
        self._reconsider_fault()

    def _reconsider_fault(self) -> None:
        j = self.journey
        fault = j.fault_kind()
        if j.current == "home" and fault:
            self.show_screen("fault", push=False)
        elif j.current == "fault":
            if fault:
                self.refresh()
            else:
                self.go_home(reset=False)

    def on_holder(self, holder: Holder) -> None:
        j = self.journey
        j.holder = holder
        j.id_error = False
        self.bridge.say(t("holder_choose", j.lang), j.lang)
        if j.current in ("zone", "confirm", "guide", "fault", "printing"):
            self.schedule_refresh()
            self.restart_idle()
        else:
            j.history.clear()
            self.show_screen("fault" if j.fault_kind() else "home", push=False)

    def on_id_failed(self, _reason: str) -> None:
        """A card was read but rejected (e.g. its number fails the check digit): one plain message, whatever
        the reason; the reason word goes to the log only."""
        self.journey.id_error = True
        if self.journey.current in ("home", "confirm"):
            self.schedule_refresh()
            self.restart_idle()

    def on_progress(self, stage: str, frac: float) -> None:
        j = self.journey
        old = j.progress[0]
        j.progress = (stage, frac)
        if j.current == "printing":
            if old == stage:
                self.screens["printing"].set_progress(stage, frac)  # type: ignore[attr-defined]
            else:
                self.refresh()

    def on_issue_finished(self, outcome: IssueOutcome) -> None:
        j = self.journey
        j.outcome = outcome
        j.code_busy = False
        if outcome.kind in ("printed", "unprinted"):
            if outcome.ticket is not None:
                j.note_issue(outcome.ticket.service)
            j.holder = None           # one card, one ticket
            j.history.clear()
            self.show_screen("done", push=False)
            self.bridge.say(t("take_ticket" if outcome.kind == "printed" else "unprinted_title", j.lang), j.lang)
        elif outcome.kind == "printer_blocked":
            j.history.clear()
            self.show_screen("fault", push=False)
        elif outcome.kind == "unreachable":
            j.forced_unreachable = True
            j.history.clear()
            self.show_screen("fault", push=False)
            self._unanswered = outcome   # the bridge keeps asking; see on_late_ticket
            self.bridge.say(t("unreachable_title", j.lang) + "，" + t("ask_staff", j.lang), j.lang)
        elif j.issue_origin == "appointment":
            j.code_error = self._refusal_text(outcome)
            self.show_screen("appointment", push=False)
        else:
            self.show_screen("message", push=False)

    def on_late_ticket(self, shown: IssueOutcome, ticket: Any, lang: str) -> None:
        """The server issued the ticket after all. The citizen still on the screen that told them so gets it
        printed; otherwise nobody holds it: cancel it (reason unclaimed) so that no window calls it."""
        j = self.journey
        if self._unanswered is shown and j.current == "fault":
            self._unanswered = None
            j.forced_unreachable = False
            j.begin_issue(j.issue_origin)
            self.show_screen("printing", push=False)
            self.bridge.print_late(ticket, lang)
        else:
            self.bridge.cancel_unclaimed(ticket)

    def _refusal_text(self, o: IssueOutcome) -> str:
        return error_text(o.code, o.message, o.message_zh, self.journey.lang)

    def on_lookup(self, outcome: IssueOutcome) -> None:
        j = self.journey
        j.code_busy = False
        if outcome.kind == "found":
            j.lookup = outcome
            j.code_error = ""
        elif outcome.kind == "unreachable":
            j.forced_unreachable = True
            j.history.clear()
            self.show_screen("fault", push=False)
            return
        else:
            j.lookup = None
            j.code_error = self._refusal_text(outcome)
        if j.current == "status":
            self.refresh()

    def on_case(self, outcome: IssueOutcome) -> None:
        j = self.journey
        if not j.case_busy:          # the citizen left (home, idle, another tab) before the answer came
            return
        j.case_busy = False
        if outcome.kind == "found" and outcome.case is not None:
            j.case_found = outcome
            j.case_code = ""         # the code is not kept on screen once it has done its job
        elif outcome.kind == "unreachable":
            j.forced_unreachable = True
            j.history.clear()
            self.show_screen("fault", push=False)
            return
        elif outcome.code == "unknown_case":
            j.case_error = "case_not_found"      # one message: never which of number and code was wrong
        else:
            j.case_error, j.case_error_text = "", self._refusal_text(outcome)
        if j.current == "status":
            self.refresh()

    def do_evaluate(self, grade: int) -> None:
        """A grade for the finished ticket on the status screen (好差评 for halls or citizens without an evaluator)."""
        j = self.journey
        tk = j.lookup.ticket if j.lookup else None
        if tk is None or tk.state != "done" or tk.grade is not None or j.eval_busy:
            return
        j.eval_busy, j.eval_error = True, ""
        self.refresh()
        self.bridge.evaluate(tk.id, grade)

    def on_evaluation(self, outcome: IssueOutcome) -> None:
        j = self.journey
        j.eval_busy = False
        tk = j.lookup.ticket if j.lookup else None
        if outcome.kind == "evaluated" and tk is not None:
            j.lookup = IssueOutcome("found", ticket=tk.model_copy(update={"grade": int(outcome.detail)}))
        elif outcome.kind == "unreachable":
            j.eval_error = t("eval_unreachable", j.lang)
        else:                                   # e.g. rated already at the window's evaluator
            j.eval_error = self._refusal_text(outcome)
        if j.current == "status":
            self.refresh()

    def on_checklist(self, ok: bool, why: str) -> None:
        j = self.journey
        j.checklist_msg = (ok, t("checklist_printed", j.lang) if ok
                           else t("checklist_failed", j.lang, why=printer_problem(why, j.lang)))
        if j.current == "guide":
            self.refresh()
