"""The window panel: a compact always-on-top caller for the window PC."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)


from window_panel.bridge import PanelBridge
from window_panel.dialogs import PanelDialogs
from window_panel.i18n import Tr
from window_panel.model import OPS, SHORTCUTS, Action, PanelState, elapsed
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
QLabel#footer { font-size: 12px; color: #6b778a; }
"""

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
                 footer: str = "") -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("panel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.window_id = window
        self.bridge = bridge
        self.tr_ = Tr(lang)
        self.clock = clock
        self.dialogs = dialogs or PanelDialogs(self.tr_, self)
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
        if bridge is not None:
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
            b.clicked.connect(lambda _=False, a=action: self.trigger(a))
            self.buttons[action] = b
            grid.addWidget(b, i // 3, i % 3)
        root.addLayout(grid)
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
        self.state.server_online = st.get("state") == "online"
        self.render()

    def on_connection(self, up: bool) -> None:
        self.state.connected = up
        self.ever_connected = self.ever_connected or up
        self.render()

    def on_ticket_event(self, ticket: dict) -> None:
        self.state.note_ticket(ticket)

    def on_reply(self, tag: str, env: dict) -> None:
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
