"""The window panel: a compact always-on-top caller for the window PC."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)


from window_panel.bridge import PanelBridge
from window_panel.case_dialogs import CardSource, CaseDialogs
from window_panel.dialogs import PanelDialogs
from window_panel.i18n import Tr
from window_panel.model import (
    CASE_DETAIL_KEY, OPS, SHORTCUTS, Action, PanelState, days_left_level, elapsed, open_cases,
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
                 card_source: CardSource | None = None) -> None:
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
        if bridge is not None:
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
        self.footer = QLabel(footer or f"panel-{self.window_id}", objectName="footer")
        root.addWidget(self.footer)
        self.setMinimumWidth(480)

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

    # ---------------------------------------------------------------- intents
    def trigger(self, action: Action) -> bool:
        """Send the request for a button / key; returns False when the action is not possible now."""
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
