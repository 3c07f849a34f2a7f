"""The window panel: a compact always-on-top caller for the window PC."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QRegularExpressionValidator, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSizePolicy,
    QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)


from window_panel.bridge import PanelBridge
from window_panel.case_dialogs import CardSource, CaseDialogs
from window_panel.dialogs import PanelDialogs
from window_panel.i18n import Tr
from window_panel.model import (
    CASE_DETAIL_KEY, OPS, PIN_DIGITS, SHORTCUTS, SIGN_KEY, STAFF_DIGITS, Action, PanelState, bad_login_wait_s,
    days_left_level, elapsed, open_cases, sign_in_problem,
)
from window_panel.notices import Notice, NoticePrinter, build_notice, case_web_url
from hall_bus.contract import Op

STYLE = """
QWidget#panel { background: #eef2f8; }
QWidget { font-family: "Noto Sans CJK SC"; color: #14213d; }
QLabel#banner { background: #b3261e; color: white; font-size: 15px; font-weight: bold; padding: 8px 12px;
                border-radius: 6px; }
QLabel#banner[kind="warn"] { background: #8a5300; }
QLabel#winname { font-size: 20px; font-weight: bold; }
QLabel#pill { border-radius: 11px; padding: 2px 12px; font-size: 14px; font-weight: bold; color: white;
              background: #5f6b7d; }
QLabel#pill[status="open"] { background: #1e7d32; }
QLabel#pill[status="paused"] { background: #b26a00; }
QLabel#queue { font-size: 18px; font-weight: bold; color: #0b57d0; }
QFrame#card { background: white; border: 1px solid #c9d3e3; border-radius: 10px; }
QFrame#card[status="paused"], QFrame#card[status="closed"] { background: #fff4e0; border: 1px solid #e0b15c; }
QFrame#card[stale="true"] { background: #e8ecf2; border: 1px dashed #9aa6b8; }
QLabel#number[stale="true"] { color: #7d8aa0; }
QLabel#number { font-size: 60px; font-weight: 900; color: #0b57d0; }
QLabel#number[empty="true"] { font-size: 22px; font-weight: bold; color: #5f6b7d; }
QLabel#service { font-size: 18px; font-weight: bold; }
QLabel#meta { font-size: 15px; color: #3b4a63; }
QLabel#chip { font-size: 13px; font-weight: bold; color: white; background: #c62828; border-radius: 9px;
              padding: 1px 10px; }
QLabel#chip[kind="channel"] { background: #44546f; }
QLabel#chip[kind="recall"] { background: #6a3fb5; }
QLabel#message { font-size: 15px; padding: 8px 12px; border-radius: 6px; }
QLabel#message[kind="error"] { background: #fde7e6; color: #8c1d18; border: 1px solid #e8a19c; }
QLabel#message[kind="info"] { background: #e3f1e5; color: #1b5e20; border: 1px solid #a5d0aa; }
QLabel#message[kind="none"] { background: transparent; color: transparent; border: 1px solid transparent; }
QPushButton { font-size: 16px; font-weight: bold; background: white; border: 1px solid #9fb0c9; border-radius: 8px;
              padding: 6px 4px; min-height: 52px; }
QPushButton:hover { background: #e6eefb; }
QPushButton:pressed { background: #cddcf5; }
QPushButton:disabled { color: #a5afbe; background: #f4f6fa; border-color: #d6dce6; }
QPushButton#primary { background: #0b57d0; color: white; border: none; }
QPushButton#primary:disabled { background: #9db6df; color: #eef2f8; }
QPushButton#finish { background: #1e7d32; color: white; border: none; }
QPushButton#finish:disabled { background: #a9cdb0; color: #eef2f8; }
QPushButton#case { background: #eaf1fd; border-color: #7d9bd1; }
QLabel#footer { font-size: 12px; color: #6b778a; }
QLabel#staff { font-size: 14px; font-weight: bold; color: #14213d; padding: 0 4px; }
QLabel#staff[signed="false"] { color: #8a5300; }
QPushButton#sign { font-size: 13px; min-height: 26px; padding: 2px 10px; border-radius: 6px; }
QFrame#signin { background: white; border: 1px solid #c9d3e3; border-radius: 10px; }
QLabel#signtitle { font-size: 24px; font-weight: bold; color: #0b57d0; }
QLabel#signwin { font-size: 16px; font-weight: bold; color: #3b4a63; }
QLabel#signhint { font-size: 14px; color: #3b4a63; }
QLabel#fieldname { font-size: 16px; font-weight: bold; }
QLineEdit#staffno, QLineEdit#pin { font-size: 26px; padding: 6px 10px; border: 1px solid #9fb0c9; border-radius: 8px;
                                   min-height: 40px; }
QLineEdit#staffno:focus, QLineEdit#pin:focus { border: 2px solid #0b57d0; }
QPushButton#skip { font-size: 14px; font-weight: normal; min-height: 36px; background: transparent; border: none;
                   color: #0b57d0; text-decoration: underline; }
QLabel#casehead { font-size: 15px; font-weight: bold; color: #14213d; }
QLabel#casenone { font-size: 14px; color: #5f6b7d; padding: 6px 2px; }
QTableWidget#cases { font-size: 14px; background: white; border: 1px solid #c9d3e3; border-radius: 6px;
                     gridline-color: #e3e8f0; selection-background-color: #cddcf5; selection-color: #14213d; }
QHeaderView::section { font-size: 13px; font-weight: bold; background: #f4f6fa; color: #3b4a63; border: none;
                       border-bottom: 1px solid #c9d3e3; padding: 3px 6px; }
"""

# days-left colours of the case list: (background, text)
DAYS_COLOURS = {"overdue": ("#fde7e6", "#b3261e"), "soon": ("#fff4d6", "#8a5300")}
CASE_REFRESH_MS = 5 * 60 * 1000    # days left change with the calendar: the list is asked again every 5 minutes

DONE = {Action.CALL_NEXT: "done_call", Action.CALL_NUMBER: "done_call", Action.CALL_BACK: "done_call",
        Action.RECALL: "done_recall", Action.FINISH: "done_finish", Action.NO_SHOW: "done_no_show",
        Action.HOLD: "done_hold", Action.TRANSFER: "done_transfer", Action.PAUSE: "done_window"}
CALLS = (Action.CALL_NEXT, Action.CALL_NUMBER, Action.CALL_BACK, Action.RECALL)
SIGN_IN_TIMEOUT_S = 40.0   # the server may hold a bad login's reply up to 30 s (it slows the window down)


def _restyle(w: QWidget, **props: str) -> None:
    for k, v in props.items():
        w.setProperty(k, v)
    w.style().unpolish(w)
    w.style().polish(w)


class PanelWindow(QWidget):
    """Widgets emit intents (trigger); state arrives through the bridge; nothing here blocks on the bus."""
    changed = Signal()      # the panel re-rendered (tests wait on it)

    def __init__(self, window: str, bridge: PanelBridge | None, *, lang: str = "zh",
                 clock: Callable[[], datetime] = datetime.now, dialogs: PanelDialogs | None = None,
                 footer: str = "", case_dialogs: CaseDialogs | None = None, printer: NoticePrinter | None = None,
                 card_source: CardSource | None = None, sign_in_first: bool = False) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("panel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.window_id = window
        self.bridge = bridge
        self.tr_ = Tr(lang)
        self.clock = clock
        self.dialogs = dialogs or PanelDialogs(self.tr_, self)
        self.case_dialogs = case_dialogs or CaseDialogs(self.tr_, self)
        self.printer = printer                 # None: notices show on screen
        self.card_source = card_source         # None: the window has no ID-card reader; names are typed
        self.cases: list[dict[str, Any]] | None = None     # the window's cases from case.list (None: not yet)
        self.guides: dict[str, dict[str, Any]] = {}
        self.notices: list[Notice] = []        # every notice handed out this session (tests, screenshots)
        self.state = PanelState(window)
        self.catalog: dict[str, Any] = {}
        self.ever_connected = False
        self.message: tuple[str, str] | None = None   # (kind, text)
        self.sign_message: tuple[str, str] | None = None   # (kind, text) on the sign-in page
        self.wait_until: datetime | None = None            # the sign-in button waits after repeated bad logins
        self.on_sign_in_page = False
        self.setStyleSheet(STYLE)
        self._build(footer)
        self._clear_msg = QTimer(self, singleShot=True)
        self._clear_msg.timeout.connect(self._expire_message)
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self._render_times)
        self._tick.start()
        self._case_refresh = QTimer(self, interval=CASE_REFRESH_MS)
        self._case_refresh.timeout.connect(self.refresh_cases)
        self._case_refresh.start()
        if sign_in_first:                      # skippable: calling is blocked only once the server asks for it
            self.show_sign_in()
        if bridge is not None:
            bridge.staff.connect(self.on_staff_state)
            bridge.guide.connect(self.on_guide)
            bridge.window_state.connect(self.on_window_state)
            bridge.catalog.connect(self.on_catalog)
            bridge.server.connect(self.on_server)
            bridge.ticket_event.connect(self.on_ticket_event)
            bridge.connection.connect(self.on_connection)
            bridge.reply.connect(self.on_reply)
        self.render()

    # ---------------------------------------------------------------- layout
    def _build(self, footer: str) -> None:
        t = self.tr_
        self.setWindowTitle(t("title", w=self.window_id))
        root = QVBoxLayout(self)
        root.setContentsMargins(14, 12, 14, 10)
        root.setSpacing(10)
        self.banner = QLabel(objectName="banner", wordWrap=True)
        root.addWidget(self.banner)
        head = QHBoxLayout()
        self.win_name = QLabel(objectName="winname")
        self.pill = QLabel(objectName="pill")
        self.queue = QLabel(objectName="queue")
        head.addWidget(self.win_name)
        head.addWidget(self.pill)
        head.addStretch(1)
        head.addWidget(self.queue)
        root.addLayout(head)
        who = QHBoxLayout()
        self.staff_label = QLabel(objectName="staff")
        self.sign_button = QPushButton(objectName="sign")
        self.sign_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sign_button.clicked.connect(self.toggle_sign)
        QShortcut(QKeySequence(SIGN_KEY), self, self.toggle_sign)
        who.addWidget(self.staff_label)
        who.addStretch(1)
        who.addWidget(self.sign_button)
        root.addLayout(who)

        self.pages = QStackedWidget()
        calling = QWidget()
        page = QVBoxLayout(calling)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(10)
        self.pages.addWidget(calling)
        self.pages.addWidget(self._build_sign_in())
        root.addWidget(self.pages, 1)
        self._build_calling(page)
        self.footer = QLabel(footer or f"panel-{self.window_id}", objectName="footer")
        root.addWidget(self.footer)
        self.setMinimumWidth(480)

    def _build_sign_in(self) -> QWidget:
        t = self.tr_
        outer = QWidget()
        lay = QVBoxLayout(outer)
        lay.setContentsMargins(0, 0, 0, 0)
        box = QFrame(objectName="signin")
        form = QVBoxLayout(box)
        form.setContentsMargins(22, 18, 22, 18)
        form.setSpacing(8)
        self.sign_title = QLabel(t("sign_in_title"), objectName="signtitle")
        self.sign_window = QLabel(objectName="signwin")
        form.addWidget(self.sign_title)
        form.addWidget(self.sign_window)
        form.addWidget(QLabel(t("sign_in_hint"), objectName="signhint", wordWrap=True))
        form.addSpacing(6)
        digits = QRegularExpressionValidator(QRegularExpression(rf"[0-9]{{0,{max(STAFF_DIGITS, PIN_DIGITS[1])}}}"))
        form.addWidget(QLabel(t("staff_number"), objectName="fieldname"))
        self.staff_edit = QLineEdit(objectName="staffno", placeholderText=t("staff_number_hint"))
        self.staff_edit.setMaxLength(STAFF_DIGITS)
        self.staff_edit.setValidator(digits)
        self.staff_edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        self.staff_edit.returnPressed.connect(self.pin_edit_focus)
        form.addWidget(self.staff_edit)
        form.addWidget(QLabel(t("pin"), objectName="fieldname"))
        self.pin_edit = QLineEdit(objectName="pin", placeholderText=t("pin_hint"))
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)      # masked; never logged, cleared once sent
        self.pin_edit.setMaxLength(PIN_DIGITS[1])
        self.pin_edit.setValidator(digits)
        self.pin_edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly | Qt.InputMethodHint.ImhSensitiveData
                                          | Qt.InputMethodHint.ImhNoPredictiveText)
        self.pin_edit.returnPressed.connect(self.submit_sign_in)
        form.addWidget(self.pin_edit)
        self.sign_msg = QLabel(objectName="message", wordWrap=True)
        self.sign_msg.setMinimumHeight(44)
        form.addWidget(self.sign_msg)
        self.sign_in_button = QPushButton(objectName="primary")
        self.sign_in_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sign_in_button.clicked.connect(self.submit_sign_in)
        form.addWidget(self.sign_in_button)
        self.skip_button = QPushButton(t("skip_sign_in"), objectName="skip")
        self.skip_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.skip_button.clicked.connect(self.show_calling)
        form.addWidget(self.skip_button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(box)
        lay.addStretch(1)
        self._wait_tick = QTimer(self, interval=500)
        self._wait_tick.timeout.connect(self._render_sign_in)
        return outer

    def pin_edit_focus(self) -> None:
        self.pin_edit.setFocus()

    def _build_calling(self, root: QVBoxLayout) -> None:
        t = self.tr_
        self.card = QFrame(objectName="card")
        card = QVBoxLayout(self.card)
        card.setContentsMargins(16, 10, 16, 12)
        card.setSpacing(4)
        top = QHBoxLayout()
        self.number = QLabel(objectName="number")
        self.number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        chips = QVBoxLayout()
        chips.setSpacing(4)
        self.chip_priority = QLabel(t("priority"), objectName="chip")
        self.chip_recall = QLabel(t("recall_tag"), objectName="chip")
        _restyle(self.chip_recall, kind="recall")
        self.chip_channel = QLabel(objectName="chip")
        _restyle(self.chip_channel, kind="channel")
        for chip in (self.chip_priority, self.chip_recall, self.chip_channel):
            chips.addWidget(chip, 0, Qt.AlignmentFlag.AlignRight)
        chips.addStretch(1)
        top.addWidget(self.number, 1)
        top.addLayout(chips)
        card.addLayout(top)
        self.service = QLabel(objectName="service", wordWrap=True)
        self.meta = QLabel(objectName="meta", wordWrap=True)
        card.addWidget(self.service)
        card.addWidget(self.meta)
        self.card.setMinimumHeight(178)
        root.addWidget(self.card)

        self.msg = QLabel(objectName="message", wordWrap=True)
        self.msg.setMinimumHeight(44)
        root.addWidget(self.msg)

        grid = QGridLayout()
        grid.setSpacing(8)
        self.buttons: dict[Action, QPushButton] = {}
        for i, action in enumerate(SHORTCUTS):
            b = QPushButton()
            # a QShortcut acts at once (a button's own shortcut waits for animateClick's 100 ms)
            QShortcut(QKeySequence(SHORTCUTS[action]), self, lambda a=action: self.trigger(a))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # keys go to shortcuts, never to a focused button
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            if action is Action.CALL_NEXT:
                b.setObjectName("primary")
            elif action is Action.FINISH:
                b.setObjectName("finish")
            elif action in (Action.ACCEPT, Action.REFUSE):
                b.setObjectName("case")
            b.clicked.connect(lambda _=False, a=action: self.trigger(a))
            self.buttons[action] = b
            grid.addWidget(b, i // 3, i % 3)
        root.addLayout(grid)
        QShortcut(QKeySequence(CASE_DETAIL_KEY), self, self.open_selected_case)

        self.case_head = QLabel(objectName="casehead")
        root.addWidget(self.case_head)
        self.case_table = QTableWidget(0, 4, objectName="cases")
        self.case_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.case_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.case_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.case_table.verticalHeader().hide()
        self.case_table.setShowGrid(False)
        self.case_table.setWordWrap(False)
        head = self.case_table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.case_table.setMinimumHeight(184)
        self.case_table.cellDoubleClicked.connect(lambda row, _col: self.open_case(row))
        root.addWidget(self.case_table, 1)
        self.case_none = QLabel(objectName="casenone", wordWrap=True)
        root.addWidget(self.case_none)

    # ---------------------------------------------------------------- bus → state
    def on_window_state(self, st: dict) -> None:
        self.state.apply_window_state(st)
        self.render()

    def on_catalog(self, cat: dict) -> None:
        self.catalog = cat
        self.render()

    def on_server(self, st: dict) -> None:
        back = st.get("state") == "online" and self.state.server_online is False
        self.state.server_online = st.get("state") == "online"
        if back:
            self.refresh_cases()
        self.render()

    def on_connection(self, up: bool) -> None:
        self.state.connected = up
        self.ever_connected = self.ever_connected or up
        if up:
            self.refresh_cases()
        self.render()

    def on_guide(self, guide: dict) -> None:
        if isinstance(guide.get("service"), str):
            self.guides[guide["service"]] = guide

    def on_ticket_event(self, ticket: dict) -> None:
        self.state.note_ticket(ticket)

    def on_reply(self, tag: str, env: dict) -> None:
        if tag.startswith("staff:"):
            self.on_staff_reply(tag, env)
            return
        if not env.get("ok") and (env.get("error") or {}).get("code") == "not_signed_in":
            self._not_signed_in(tag)
            return
        if tag.startswith("case:"):
            self.on_case_reply(tag, env)
            return
        if tag.startswith("lookup:"):
            if env.get("ok") and isinstance(env.get("data"), dict):
                self.state.note_ticket(env["data"])
            return
        try:
            action = Action(tag)
        except ValueError:
            return
        if self.state.busy is action:
            self.state.busy = None
        if env.get("ok"):
            data = env.get("data") if isinstance(env.get("data"), dict) else {}
            if "status" in data:                         # pause / resume / open reply: a window state
                self.state.apply_window_state({**self._raw_state(), **data})
            elif data.get("number"):
                self.state.note_ticket(data)
                if action in CALLS:
                    self.state.current = data            # the retained state/window follows
                    self.state.set_aside.pop(data["number"], None)
                elif self.state.current and self.state.current.get("number") == data["number"]:
                    self.state.current = None
            self.show_message("info", self.tr_(DONE[action], n=data.get("number", "")))
        else:
            err = env.get("error") if isinstance(env.get("error"), dict) else {}
            self.show_message("error", self.tr_("error", m=self.tr_.error(err)))
        self.render()

    def _raw_state(self) -> dict[str, Any]:
        s = self.state
        return {"status": s.status, "reason": s.reason, "current": s.current, "waiting": s.waiting}

    # ---------------------------------------------------------------- staff sign-in (签到)
    def on_staff_state(self, st: dict) -> None:
        """state/staff/{window}: someone signed in (here, at the keypad or before a restart) opens the calling page;
        a sign-out elsewhere brings the sign-in page back."""
        before = self.state.staff
        self.state.apply_staff_state(st)
        now = self.state.staff
        if now is not None and (before is None or before.get("staff") != now.get("staff")):
            if self.on_sign_in_page and self.state.signing is None:
                self.show_calling()
        elif now is None and before is not None:
            self.show_sign_in()
        self.render()

    def _not_signed_in(self, tag: str) -> None:
        """The server refused a window or case op: this hall needs a signed-in staff member to call."""
        try:
            if self.state.busy is Action(tag):
                self.state.busy = None
        except ValueError:
            pass
        if tag.startswith("case:") and tag != "case:list":
            self.state.case_busy = None
        self.state.sign_in_required = True
        self.state.staff = None
        self._clear_msg.stop()
        self.message = None
        self.show_sign_in("error", self.tr_("not_signed_in"))

    def show_sign_in(self, kind: str | None = None, text: str | None = None) -> None:
        self.on_sign_in_page = True
        if text is not None and kind is not None:
            self.sign_message = (kind, text)
        self.pages.setCurrentIndex(1)
        (self.pin_edit if self.staff_edit.text() else self.staff_edit).setFocus()
        self.render()

    def show_calling(self) -> None:
        if self.state.blocked:
            return
        self.on_sign_in_page = False
        self.pin_edit.clear()
        self.pages.setCurrentIndex(0)
        self.setFocus()
        self.render()

    def toggle_sign(self) -> None:
        """The header button and Shift+F12: sign out when someone is signed in, else the sign-in page."""
        if self.state.staff is not None:
            self.sign_out()
        elif self.on_sign_in_page:
            self.show_calling()
        else:
            self.show_sign_in()

    def submit_sign_in(self) -> bool:
        t, s = self.tr_, self.state
        if self.bridge is None or s.signing is not None or not s.reachable or self._wait_left() > 0:
            return False
        staff, pin = self.staff_edit.text().strip(), self.pin_edit.text().strip()
        problem = sign_in_problem(staff, pin)
        if problem is not None:
            self.sign_message = ("error", t(problem))
            (self.staff_edit if problem == "bad_staff" else self.pin_edit).setFocus()
            self.render()
            return False
        self.pin_edit.clear()                   # the PIN lives in the request only
        s.signing = "sign_in"
        self.sign_message = ("info", t("signing_in"))
        self.bridge.request("staff:sign_in", Op.STAFF_SIGN_IN, {"window": self.window_id, "staff": staff,
                                                                "pin": pin}, timeout=SIGN_IN_TIMEOUT_S)
        self.render()
        return True

    def sign_out(self) -> bool:
        s = self.state
        if self.bridge is None or s.signing is not None or not s.reachable:
            return False
        s.signing = "sign_out"
        self.show_message("info", self.tr_("signing_out"), timeout_ms=0)
        self.bridge.request("staff:sign_out", Op.STAFF_SIGN_OUT, {"window": self.window_id})
        self.render()
        return True

    def on_staff_reply(self, tag: str, env: dict) -> None:
        t, s = self.tr_, self.state
        s.signing = None
        data = env.get("data") if isinstance(env.get("data"), dict) else {}
        err = env.get("error") if isinstance(env.get("error"), dict) else {}
        if tag == "staff:sign_in":
            if env.get("ok"):
                s.bad_logins = 0
                self.wait_until = None
                s.staff = {"staff": str(data.get("staff") or self.staff_edit.text()), "name": data.get("name")}
                self.staff_edit.clear()
                self.sign_message = None
                self.show_calling()
                self.show_message("info", t("signed_in", n=self._staff_text()))
                self.refresh_cases()                                # refused before, perhaps
                return
            if err.get("code") == "bad_login":
                s.bad_logins += 1
                wait = bad_login_wait_s(s.bad_logins)
                self.wait_until = None if not wait else self._now() + timedelta(seconds=wait)
                self.sign_message = ("error", t("bad_login_wait", s=wait) if wait else t("bad_login"))
                if wait:
                    self._wait_tick.start()
            else:
                self.sign_message = ("error", t("error", m=t.error(err)))
            self.render()                           # (enables the fields again first)
            self.pin_edit.setFocus()
            return
        if env.get("ok"):                                           # staff:sign_out
            s.staff = None
            self._clear_msg.stop()
            self.message = None
            self.show_sign_in("info", t("signed_out"))
        else:
            self.show_message("error", t("error", m=t.error(err)))

    def _now(self) -> datetime:
        return datetime.now()

    def _wait_left(self) -> int:
        if self.wait_until is None:
            return 0
        left = (self.wait_until - self._now()).total_seconds()
        return max(0, int(left + 0.999))

    def _staff_text(self) -> str:
        st = self.state.staff or {}
        name, number = str(st.get("name") or ""), str(st.get("staff") or "")
        return self.tr_("staff_head", n=name, s=number) if name else number

    def _render_sign_in(self) -> None:
        t, s = self.tr_, self.state
        self.sign_window.setText(self.win_name.text())
        left = self._wait_left()
        if not left:
            self._wait_tick.stop()
        if s.signing == "sign_in":
            label = t("signing_in")
        elif left:
            label = t("wait_s", s=left)
        else:
            label = f"{t('sign_in')}  (Enter)"
        self.sign_in_button.setText(label)
        self.sign_in_button.setEnabled(s.signing is None and s.reachable and bool(self.bridge) and not left)
        self.staff_edit.setEnabled(s.signing is None)
        self.pin_edit.setEnabled(s.signing is None)
        self.skip_button.setVisible(not s.blocked)
        if self.sign_message:
            kind, text = self.sign_message
            self.sign_msg.setText(text)
            _restyle(self.sign_msg, kind=kind)
        else:
            self.sign_msg.setText("")
            _restyle(self.sign_msg, kind="none")

    # ---------------------------------------------------------------- intents
    def trigger(self, action: Action) -> bool:
        """Send the request for a button / key; returns False when the action is not possible now."""
        if self.state.blocked:
            self.show_sign_in("error", self.tr_("not_signed_in"))
            return False
        if not self.state.enabled(action) or self.bridge is None:
            return False
        if action in (Action.ACCEPT, Action.REFUSE):
            return self._case_intake(action)
        args: dict[str, Any] = {"window": self.window_id}
        op = OPS.get(action)
        if action is Action.CALL_NUMBER:
            number = self.dialogs.ask_number()
            if not number:
                return False
            args["number"] = number
        elif action is Action.CALL_BACK:
            for number in list(self.state.set_aside):          # refresh the list for next time
                self.bridge.request(f"lookup:{number}", Op.TICKET_GET, {"number": number})
            number = self.dialogs.ask_call_back(self.state.set_aside)
            if not number:
                return False
            args["number"] = number
        elif action is Action.TRANSFER:
            target = self.dialogs.ask_transfer(self.catalog, self.state.current or {}, self.window_id)
            if not target:
                return False
            args.update(target)
        elif action is Action.PAUSE:
            op = self.state.pause_op()
            if op == Op.WINDOW_PAUSE:
                reason = self.dialogs.ask_pause_reason()
                if reason is None:
                    return False
                if reason:
                    args["reason"] = reason
        assert op is not None
        self.state.busy = action
        self.show_message("info", self.tr_("sending"), timeout_ms=0)
        self.bridge.request(action.value, op, args)
        self.render()
        return True

    # ---------------------------------------------------------------- cases (办件)
    def refresh_cases(self) -> None:
        if self.bridge is not None and self.state.connected:
            self.bridge.request("case:list", Op.CASE_LIST, {"window": self.window_id})

    def _window_services(self) -> list[dict[str, Any]]:
        """The services this window handles (the ticket's first), for the dialogs' service choice."""
        ids = list(self._catalog_window().get("services") or ())
        current = (self.state.current or {}).get("service")
        if current and current not in ids:
            ids.insert(0, current)
        out = []
        for sid in ids:
            svc = self._service(sid)
            if not svc and sid == current:
                cur = self.state.current or {}
                svc = {"id": sid, "name": cur.get("service_name") or sid, "name_en": cur.get("service_name_en", "")}
            if svc:
                out.append(svc)
        return out

    def _case_intake(self, action: Action) -> bool:
        ticket = dict(self.state.current or {})
        ask = self.case_dialogs.ask_accept if action is Action.ACCEPT else self.case_dialogs.ask_refuse
        args = ask(ticket, self._window_services(), self.guides, self.card_source)
        if not args or self.bridge is None:
            return False
        self.state.case_busy = action.value
        self.show_message("info", self.tr_("sending"), timeout_ms=0)
        op = Op.CASE_ACCEPT if action is Action.ACCEPT else Op.CASE_REFUSE
        self.bridge.request(f"case:{action.value}", op, {"window": self.window_id, **args})
        self.render()
        return True

    def open_selected_case(self) -> None:
        rows = self.case_table.selectionModel().selectedRows()
        self.open_case(rows[0].row() if rows else 0)

    def open_case(self, row: int) -> bool:
        """The details and changes dialog of the case in that row; sends case.update when a change is chosen."""
        shown = open_cases(self.cases or [])
        if not 0 <= row < len(shown) or self.bridge is None:
            return False
        case = shown[row]
        args = self.case_dialogs.ask_change(case, self.guides.get(str(case.get("service"))))
        if not args or not self.state.reachable or self.state.case_busy:
            return False
        self.state.case_busy = "update"
        self.show_message("info", self.tr_("sending"), timeout_ms=0)
        self.bridge.request("case:update", Op.CASE_UPDATE, args)
        self.render()
        return True

    def on_case_reply(self, tag: str, env: dict) -> None:
        t = self.tr_
        data = env.get("data") if isinstance(env.get("data"), dict) else {}
        if tag == "case:list":
            if env.get("ok"):
                self.cases = [c for c in data.get("cases") or [] if isinstance(c, dict)]
                self.render()
            return
        self.state.case_busy = None
        if not env.get("ok"):
            err = env.get("error") if isinstance(env.get("error"), dict) else {}
            self.show_message("error", t("error", m=t.error(err)))
            self.render()
            return
        number = data.get("number", "")
        if tag == "case:update":
            self.show_message("info", t("done_update", n=number, s=t.case_status(data.get("status"))))
        else:
            status = data.get("status")
            key = {"incomplete": "done_refuse_incomplete", "refused": "done_refuse_refused"}.get(str(status),
                                                                                                 "done_accept")
            self.show_message("info", t(key, n=number))
            self.hand_out(data)
        self.refresh_cases()
        self.render()

    def hand_out(self, case: dict[str, Any]) -> Notice:
        """The case's notice: printed on the window's printer when it has one, else (or when printing fails) on
        screen."""
        hall = self.catalog.get("hall") if isinstance(self.catalog.get("hall"), dict) else {}
        notice = build_notice(case, lang=self.tr_.lang, hall=self.tr_.name(hall),
                              window_name=self.tr_.name(self._catalog_window()) or self.window_id,
                              hall_phone=str(hall.get("phone") or ""),
                              web_url=case_web_url(str(self.catalog.get("status_url") or "")), now=self.clock())
        self.notices.append(notice)
        if self.printer is None or self.bridge is None:
            self.case_dialogs.show_notice(notice)
            return notice
        self.show_message("info", self.tr_("printing", t=notice.title), timeout_ms=0)
        bridge = self.bridge
        self.printer.print_async(notice, lambda error: bridge.post(self._printed, notice, error))
        return notice

    def _printed(self, notice: Notice, error: str | None) -> None:
        if error is None:
            self.show_message("info", self.tr_("printed", t=notice.title))
        else:
            self.show_message("error", self.tr_("print_failed", m=error[:80]))
            self.case_dialogs.show_notice(notice)

    def _render_cases(self) -> None:
        t = self.tr_
        self.case_head.setText(t("cases_title"))
        shown = open_cases(self.cases or [])
        table = self.case_table
        table.setHorizontalHeaderLabels([t("col_number"), t("col_service"), t("col_status"), t("col_days")])
        selected = table.currentRow()
        table.setRowCount(len(shown))
        for row, case in enumerate(shown):
            service = (case.get("service_name_en") if t.lang == "en" else None) or case.get("service_name") \
                or t.name(self._service(case.get("service"))) or str(case.get("service", ""))
            cells = [str(case.get("number", "")), service, t.case_status(case.get("status")), t.days(case)]
            colours = DAYS_COLOURS.get(days_left_level(case))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    if colours:
                        item.setBackground(QBrush(QColor(colours[0])))
                        item.setForeground(QBrush(QColor(colours[1])))
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)
                table.setItem(row, col, item)
        if 0 <= selected < len(shown):
            table.selectRow(selected)
        table.setVisible(bool(shown))
        self.case_none.setVisible(not shown)
        self.case_none.setText(t("cases_loading") if self.cases is None else t("cases_none"))

    # ---------------------------------------------------------------- rendering
    def show_message(self, kind: str, text: str, timeout_ms: int | None = None) -> None:
        self.message = (kind, text)
        if timeout_ms is None:
            timeout_ms = 12000 if kind == "error" else 4000
        if timeout_ms:
            self._clear_msg.start(timeout_ms)
        else:
            self._clear_msg.stop()
        self.render()

    def _expire_message(self) -> None:
        self.message = None
        self.render()

    def _catalog_window(self) -> dict[str, Any]:
        for w in self.catalog.get("windows", []):
            if isinstance(w, dict) and w.get("id") == self.window_id:
                return w
        return {}

    def _service(self, sid: Any) -> dict[str, Any]:
        for s in self.catalog.get("services", []):
            if isinstance(s, dict) and s.get("id") == sid:
                return s
        return {}

    def render(self) -> None:
        t, s = self.tr_, self.state
        # banner: the bus first, then the server
        if not s.connected:
            self.banner.setText(t("disconnected" if self.ever_connected else "connecting"))
            _restyle(self.banner, kind="error" if self.ever_connected else "warn")
            self.banner.show()
        elif s.server_online is False:
            self.banner.setText(t("server_offline"))
            _restyle(self.banner, kind="error")
            self.banner.show()
        else:
            self.banner.hide()
        cw = self._catalog_window()
        name = t.name(cw) or s.window_name or self.window_id
        if t.lang == "en" and not cw.get("name_en"):
            digits = "".join(ch for ch in self.window_id if ch.isdigit())
            name = f"Window {digits}" if digits else name
        self.win_name.setText(name)
        self.setWindowTitle(t("title", w=name))
        self.pill.setText(t(f"status_{s.status}") if s.status else t("status_unknown"))
        _restyle(self.pill, status=s.status or "unknown")
        self.queue.setText(t("queue", n=s.waiting) if s.waiting is not None else t("queue_unknown"))
        self.staff_label.setText(self._staff_text() if s.staff else t("nobody"))
        _restyle(self.staff_label, signed="true" if s.staff else "false")
        self.sign_button.setText(f"{t('sign_out') if s.staff else t('sign_in')}  {SIGN_KEY}")
        self.sign_button.setEnabled(s.signing is None and (s.staff is None or s.reachable))
        self.sign_button.setVisible(s.staff is not None or not self.on_sign_in_page)   # (the page is the sign-in)
        self._render_sign_in()

        _restyle(self.card, status=s.status or "unknown", stale="false" if s.reachable else "true")
        cur = s.current
        if cur:
            self.number.setText(str(cur.get("number")))
            _restyle(self.number, empty="false", stale="false" if s.reachable else "true")
            svc = self._service(cur.get("service"))
            sname = (cur.get("service_name_en") if t.lang == "en" else None) or cur.get("service_name") \
                or t.name(svc) or str(cur.get("service") or "")
            if t.lang == "en" and cur.get("service_name_en"):
                sname = cur["service_name_en"]
            self.service.setText(sname)
            self.service.show()
            channel = cur.get("channel")
            self.chip_channel.setText(t(f"channel_{channel}") if channel in
                                      ("walk_in", "id_card", "appointment", "staff") else str(channel or ""))
            self.chip_channel.setVisible(bool(channel))
            self.chip_priority.setVisible(bool(cur.get("priority")))
            self.chip_recall.setVisible(bool(cur.get("recall")))
        else:
            self.number.setText(t("no_ticket"))
            _restyle(self.number, empty="true")
            self.service.hide()
            for chip in (self.chip_priority, self.chip_recall, self.chip_channel):
                chip.hide()
        self._render_times()

        for action, button in self.buttons.items():
            if action is Action.PAUSE:
                label = {"open": t("pause"), "paused": t("resume")}.get(s.status or "", t("open"))
            else:
                label = t(action)
            button.setText(f"{label}\n{SHORTCUTS[action]}")
            button.setEnabled(s.enabled(action))
        self._render_cases()

        if self.message:
            kind, text = self.message
            self.msg.setText(text)
            _restyle(self.msg, kind=kind)
        else:
            self.msg.setText("")
            _restyle(self.msg, kind="none")
        self.changed.emit()

    def _render_times(self) -> None:
        t, s, cur = self.tr_, self.state, self.state.current
        now = self.clock()
        if cur:
            parts = []
            called = cur.get("called_at")
            waited = elapsed(cur.get("issued_at"), now if not called else _at(called) or now)
            if waited:
                parts.append(t("waited", t=waited))
            serving = elapsed(called, now) if called else None
            if serving:
                parts.append(t("serving_for", t=serving))
            self.meta.setText("   ·   ".join(parts))
            self.meta.show()
        else:
            if s.status == "paused":
                self.meta.setText(t("paused_hint", r=s.reason) if s.reason else t("paused_hint_none"))
            elif s.status == "closed":
                self.meta.setText(t("closed_hint"))
            else:
                self.meta.setText(t("no_ticket_hint"))
            self.meta.show()


def _at(value: Any) -> datetime | None:
    from window_panel.model import parse_time
    return parse_time(value)
