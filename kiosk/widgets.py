"""Small building blocks of the kiosk screens: labels and buttons by style class, header, footer, keypad."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QHBoxLayout, QLabel, QLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)

from kiosk import theme
from kiosk.i18n import t


class WrapLabel(QLabel):
    """A word-wrapping label that asks its layout for the height its text needs at its real width
    (box layouts inside buttons and grids otherwise clip the second line)."""

    def minimumSizeHint(self):  # noqa: N802 (Qt) - wrapping text can always get narrower
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), 160))
        return hint

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(ev)
        need = self.heightForWidth(self.width())
        if need > 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)


def text_height(text: str, px: int, width: int, *, bold: bool = False, family: str = theme.FAMILY) -> int:
    """Height of word-wrapped text at a pixel size and width (what a layout cannot always work out in time)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFont, QFontMetrics
    f = QFont(family)
    f.setPixelSize(px)
    f.setBold(bold)
    r = QFontMetrics(f).boundingRect(QRect(0, 0, max(width, 10), 100000), int(Qt.TextFlag.TextWordWrap), text)
    return r.height()


def label(text: str, cls: str = "body", *, wrap: bool = True, align: Qt.AlignmentFlag | None = None,
          name: str | None = None) -> QLabel:
    w = WrapLabel(text) if wrap else QLabel(text)
    w.setProperty("cls", cls)
    w.setWordWrap(wrap)
    w.setTextFormat(Qt.TextFormat.PlainText)
    w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    if align is not None:
        w.setAlignment(align)
    if name:
        w.setObjectName(name)
    return w


def button(text: str, cls: str | None = None, on_click: Callable[[], None] | None = None, *,
           name: str | None = None) -> QPushButton:
    b = QPushButton(text)
    if cls:
        b.setProperty("cls", cls)
    if name:
        b.setObjectName(name)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # touch screen: no focus rings, keys belong to the scanner
    b.setCursor(Qt.CursorShape.BlankCursor)
    if on_click is not None:
        b.clicked.connect(on_click)
    return b


def frame(cls: str, layout: QLayout | None = None) -> QFrame:
    f = QFrame()
    f.setProperty("cls", cls)
    if layout is not None:
        f.setLayout(layout)
    return f


def vbox(*items: QWidget | QLayout | int | None, spacing: int = 16, margins: tuple[int, int, int, int] = (0, 0, 0, 0)) -> QVBoxLayout:
    lay = QVBoxLayout()
    _fill(lay, items, spacing, margins)
    return lay


def hbox(*items: QWidget | QLayout | int | None, spacing: int = 16, margins: tuple[int, int, int, int] = (0, 0, 0, 0)) -> QHBoxLayout:
    lay = QHBoxLayout()
    _fill(lay, items, spacing, margins)
    return lay


def _fill(lay: QVBoxLayout | QHBoxLayout, items: tuple, spacing: int, margins: tuple[int, int, int, int]) -> None:
    lay.setSpacing(spacing)
    lay.setContentsMargins(*margins)
    for item in items:
        if item is None:
            continue
        if isinstance(item, int):
            if item == 0:
                lay.addStretch(1)
            else:
                lay.addSpacing(item)
        elif isinstance(item, QLayout):
            lay.addLayout(item)
        else:
            lay.addWidget(item)


def clear_layout(layout: QLayout) -> None:
    """Remove everything at once (setParent(None) detaches immediately, so findChild sees only the new tree)."""
    while layout.count():
        item = layout.takeAt(0)
        w = item.widget()
        if w is not None:
            w.setParent(None)
            w.deleteLater()
        elif item.layout() is not None:
            clear_layout(item.layout())
            item.layout().deleteLater()


def sep() -> QFrame:
    return frame("sep")


class Badge(QLabel):
    """A coloured square with the zone's number prefix (A, B, ...)."""

    def __init__(self, text: str, colour: str, size: int) -> None:
        super().__init__(text)
        self.setProperty("cls", "badge")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFixedSize(size, size)
        self.setStyleSheet(f"background: {colour};")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)


class ZoneTile(QPushButton):
    """A big touch tile with a coloured accent bar down its left edge (painted: a stylesheet border would
    follow the rounded corner and look like a bracket)."""

    def __init__(self, accent: str, radius: int, bar: int) -> None:
        super().__init__()
        self.accent = QColor(accent)
        self.radius = radius
        self.bar = bar
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # A QPushButton sizes itself from its own text; this one holds a layout of labels.
    def minimumSizeHint(self):  # noqa: N802 (Qt)
        return self.layout().minimumSize() if self.layout() else super().minimumSizeHint()

    def paintEvent(self, _ev) -> None:  # noqa: N802
        from PySide6.QtGui import QPainterPath
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.rect().adjusted(1, 1, -1, -1)
        path = QPainterPath()
        path.addRoundedRect(r, self.radius, self.radius)
        p.fillPath(path, QColor("#E3ECF7") if self.isDown() else QColor(theme.CARD))
        p.save()
        p.setClipPath(path)
        p.fillRect(r.x(), r.y(), self.bar, r.height(), self.accent)
        p.restore()
        p.setPen(QPen(QColor(theme.LINE), 2))
        p.drawPath(path)


class Emblem(QWidget):
    """The service-hall mark in the header: a white disc with a blue ring and 政."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.setFixedSize(size, size)

    def paintEvent(self, _ev) -> None:  # noqa: N802 (Qt)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.rect().adjusted(3, 3, -3, -3)
        p.setBrush(QColor("white"))
        p.setPen(QPen(QColor(theme.ACCENT), 5))
        p.drawEllipse(r)
        f = self.font()
        f.setPixelSize(int(self.height() * 0.5))
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor(theme.PRIMARY))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, "政")


class StatusIcon(QWidget):
    """A large round sign for fault and result screens: '!' (danger/warn) or a tick (ok)."""

    def __init__(self, kind: str, size: int) -> None:
        super().__init__()
        self.kind = kind
        self.setFixedSize(size, size)

    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = {"danger": theme.DANGER, "warn": theme.ACCENT, "ok": theme.OK, "info": theme.PRIMARY}[self.kind]
        r = self.rect().adjusted(4, 4, -4, -4)
        p.setBrush(QColor(colour))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(r)
        pen = QPen(QColor("white"), max(6, self.width() // 12))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        w, h = r.width(), r.height()
        x0, y0 = r.x(), r.y()
        if self.kind == "ok":
            p.drawLine(int(x0 + w * 0.28), int(y0 + h * 0.52), int(x0 + w * 0.44), int(y0 + h * 0.68))
            p.drawLine(int(x0 + w * 0.44), int(y0 + h * 0.68), int(x0 + w * 0.73), int(y0 + h * 0.36))
        elif self.kind == "info":
            p.drawPoint(int(x0 + w / 2), int(y0 + h * 0.3))
            p.drawLine(int(x0 + w / 2), int(y0 + h * 0.45), int(x0 + w / 2), int(y0 + h * 0.72))
        else:
            p.drawLine(int(x0 + w / 2), int(y0 + h * 0.25), int(x0 + w / 2), int(y0 + h * 0.58))
            p.drawPoint(int(x0 + w / 2), int(y0 + h * 0.74))


class TicketOut(QWidget):
    """An arrow pointing down at the ticket slot."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.setFixedSize(size, size)

    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(theme.PRIMARY), max(8, self.width() // 10))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        w, h = self.width(), self.height()
        p.drawLine(w // 2, int(h * 0.12), w // 2, int(h * 0.8))
        p.drawLine(int(w * 0.22), int(h * 0.52), w // 2, int(h * 0.82))
        p.drawLine(int(w * 0.78), int(h * 0.52), w // 2, int(h * 0.82))


class Header(QWidget):
    """Hall name and clock; the same on every screen."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.emblem = Emblem(96)
        self.hall = label("", name="hallName")          # a long hall name wraps, it never widens the window
        self.hall_en = label("", name="hallNameEn")
        self.clock = label("", name="clock", wrap=False, align=Qt.AlignmentFlag.AlignRight)
        self.date = label("", name="date", wrap=False, align=Qt.AlignmentFlag.AlignRight)
        names = vbox(self.hall, self.hall_en, spacing=2)
        times = vbox(self.clock, self.date, spacing=2)
        lay = hbox(self.emblem, spacing=24, margins=(36, 20, 36, 20))
        lay.addLayout(names, 1)
        lay.addLayout(times)
        self.setLayout(lay)
        self._now: QDateTime | None = None

    def set_hall(self, name: str, secondary: str) -> None:
        self.hall.setText(name)
        self.hall_en.setText(secondary)
        self.hall_en.setVisible(bool(secondary))

    def tick(self, lang: str, now: QDateTime | None = None) -> None:
        now = now or QDateTime.currentDateTime()
        self.clock.setText(now.toString("HH:mm"))
        d = now.date()
        weekday_zh = "一二三四五六日"[d.dayOfWeek() - 1]
        if lang == "en":
            self.date.setText(now.toString("ddd d MMM yyyy"))
        else:
            self.date.setText(f"{d.year()}年{d.month()}月{d.day()}日 星期{weekday_zh}")


class Footer(QWidget):
    """Back / home on the left, elderly mode and language on the right; visible on every screen."""
    intent = Signal(str, object)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("footer")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.back = button("", "nav", lambda: self.intent.emit("back", None), name="back")
        self.home = button("", "nav", lambda: self.intent.emit("home", None), name="home")
        # Finding a service by initials or keyword, where back / home are not (the home screen): no height is
        # taken from the zone tiles.
        self.search = button("", "primary", lambda: self.intent.emit("search", None), name="home-search")
        self.note = label("", "muted", wrap=True)
        self.elderly = button("", "nav", lambda: self.intent.emit("elderly", None), name="elderly")
        self.lang = button("", "nav", lambda: self.intent.emit("language", None), name="language")
        self.setLayout(hbox(self.back, self.home, self.search, self.note, 0, self.elderly, self.lang, spacing=20,
                            margins=(32, 18, 32, 18)))

    def render(self, lang: str, elderly: bool, nav: bool, note: str = "", search: bool = False) -> None:
        self.back.setText("‹  " + t("back", lang))
        self.home.setText(t("home", lang))
        self.back.setVisible(nav)
        self.home.setVisible(nav)
        self.search.setText(t("search", lang))
        self.search.setStyleSheet(f"font-size: {theme.px(32, 1.25 if elderly else 1.0)}px; "
                                  f"min-height: {theme.px(72, 1.25 if elderly else 1.0)}px; padding: 8px 28px;")
        self.search.setVisible(search)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.elderly.setText(t("elderly_off" if elderly else "elderly_on", lang))
        self.lang.setText(t("other_lang", lang))


KEY_ROWS = ["1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"]


class Keypad(QWidget):
    """On-screen keyboard for codes (kiosks have no keyboard; a wedge scanner types without one)."""
    key = Signal(str)        # a character, or "DEL" / "CLR" / "OK"

    def __init__(self, lang: str, key_px: int) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setSpacing(10)
        grid.setContentsMargins(0, 0, 0, 0)
        for r, row in enumerate(KEY_ROWS):
            offset = 0 if len(row) == 10 else (1 if len(row) == 9 else 3)
            for c, ch in enumerate(row):
                b = button(ch, "key", name=f"key-{ch}")
                b.setMinimumHeight(key_px)
                b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                b.clicked.connect(lambda _=False, ch=ch: self.key.emit(ch))
                grid.addWidget(b, r, c * 2 + offset, 1, 2)
        specials = [("DEL", t("delete", lang), 0, 4), ("CLR", t("clear", lang), 4, 4), ("OK", t("submit", lang), 8, 12)]
        for code, text, col, span in specials:
            b = button(text, "primary" if code == "OK" else "key", name=f"key-{code}")
            b.setMinimumHeight(key_px)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.clicked.connect(lambda _=False, code=code: self.key.emit(code))
            grid.addWidget(b, len(KEY_ROWS), col, 1, span)
        # Row 3 holds 7 letters starting at column 3; make the (dash) key fill the gap for appointment codes.
        dash = button("-", "key", name="key--")
        dash.setMinimumHeight(key_px)
        dash.clicked.connect(lambda: self.key.emit("-"))
        grid.addWidget(dash, 3, 17, 1, 2)


class CasePad(QWidget):
    """A large keypad for the case query: digits (3 across, like a phone) or letters (A–Z in order, 7 across),
    with delete, clear and OK. Fewer, bigger keys than the full keyboard: easier to hit on a touch screen."""
    key = Signal(str)        # a character, or "DEL" / "CLR" / "OK"

    def __init__(self, kind: str, lang: str, key_px: int, *, ok: bool = True, name: str = "") -> None:
        super().__init__()
        self.setObjectName(name or f"case-pad-{kind}")
        grid = QGridLayout(self)
        grid.setSpacing(10)
        grid.setContentsMargins(0, 0, 0, 0)
        if kind == "letters":
            cols, chars = 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        else:
            cols, chars = 3, "123456789"
        for i, ch in enumerate(chars):
            grid.addWidget(self._key(ch, ch, key_px), i // cols, i % cols)
        row = (len(chars) + cols - 1) // cols
        if kind == "letters":      # V..Z leave two places on the last row: delete and clear
            for col, code in ((5, "DEL"), (6, "CLR")):      # one narrow place each: smaller words
                b = self._key(code, t("delete" if code == "DEL" else "clear", lang), key_px)
                b.setStyleSheet(f"min-width: 0px; min-height: {key_px}px; font-size: {max(20, key_px * 3 // 10)}px;")
                grid.addWidget(b, row - 1, col)
            if ok:             # the search pad has none: what it finds shows as it is typed
                grid.addWidget(self._key("OK", t("submit", lang), key_px, "primary"), row, 0, 1, cols)
        else:
            grid.addWidget(self._key("DEL", t("delete", lang), key_px), row, 0)
            grid.addWidget(self._key("0", "0", key_px), row, 1)
            grid.addWidget(self._key("CLR", t("clear", lang), key_px), row, 2)
            grid.addWidget(self._key("OK", t("submit", lang), key_px, "primary"), row + 1, 0, 1, cols)

    def _key(self, code: str, text: str, key_px: int, cls: str = "key") -> QPushButton:
        b = button(text, cls, name=f"key-{code}")
        b.setMinimumHeight(key_px)
        # the pad's size decides, not the full keyboard's key size (nor the primary button's height)
        b.setStyleSheet(f"min-width: 0px; min-height: {key_px}px;")
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        b.clicked.connect(lambda _=False, code=code: self.key.emit(code))
        return b
