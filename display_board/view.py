"""The 综合屏 itself: painted regions sized for a 1920×1080 TV read from 10 m, landscape or portrait."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from PySide6.QtCore import QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget


from display_board.model import BoardModel
from hall_bus.payloads import NoShowRule
from hall_bus.hall import call_text

FONT = "Noto Sans CJK SC"

# Dark theme: deep navy ground, amber numbers, white windows; contrast ≥ 7:1 for everything that matters.
BG = QColor("#070d1a")
PANEL = QColor("#111c33")
PANEL_EDGE = QColor("#22345a")
HERO = QColor("#0f2350")
AMBER = QColor("#ffc83d")
FLASH = QColor("#ffc83d")
INK_ON_FLASH = QColor("#1a1200")
WHITE = QColor("#f4f7ff")
MUTED = QColor("#9fb1d6")
GREEN = QColor("#5be49b")
RED = QColor("#ff5b5b")

TEXT = {
    "now_calling": ("正在呼叫", "Now calling"),
    "recent": ("最近呼叫", "Recent calls"),
    "no_calls": ("暂无呼叫", "No calls yet"),
    "waiting_n": ("等候 {n} 人", "{n} waiting"),
    "est": ("约 {m} 分钟", "≈ {m} min"),
    "est_none": ("无需等候", "No wait"),
    "offline": ("连接中断，正在恢复", "Reconnecting…"),
    "server_offline": ("服务器暂停服务", "Server offline"),
    "recall": ("重呼", "Recall"),
    "weekdays": ("一二三四五六日", None),
}


def tr(key: str, lang: str, **kw: Any) -> str:
    zh, en = TEXT[key]
    text = en if lang == "en" and en is not None else zh
    return text.format(**kw) if kw else text


def no_show_text(rule: NoShowRule | None, lang: str) -> str:
    return rule.text(lang) if rule is not None else ""


def font(px: float, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    f = QFont(FONT)
    f.setPixelSize(max(8, int(px)))
    f.setWeight(weight)
    f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return f


def fit(text: str, max_px: float, width: float, height: float | None = None,
        weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    """The largest font ≤ max_px whose text fits width (and height)."""
    px = max_px
    while px > 10:
        f = font(px, weight)
        fm = QFontMetrics(f)
        if fm.horizontalAdvance(text) <= width and (height is None or fm.height() <= height):
            return f
        px *= 0.94
    return font(10, weight)


def fit_wrapped(text: str, max_px: float, width: float, height: float,
                weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    """The largest font ≤ max_px at which text, word-wrapped to width, fits height."""
    px = max_px
    flags = int(Qt.TextFlag.TextWordWrap)
    while px > 10:
        f = font(px, weight)
        r = QFontMetrics(f).boundingRect(QRect(0, 0, int(width), 10_000), flags, text)
        if r.width() <= width and r.height() <= height:
            return f
        px *= 0.94
    return font(10, weight)


def draw(p: QPainter, rect: QRectF | QRect, text: str, max_px: float, color: QColor,
         weight: QFont.Weight = QFont.Weight.Normal,
         align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
         min_ratio: float = 0.55) -> None:
    """Shrink to fit, but never below min_ratio × max_px: past that, elide (a tiny label is unreadable)."""
    r = QRectF(rect)
    f = fit(text, max_px, r.width(), r.height() * 1.25, weight)
    if f.pixelSize() < max_px * min_ratio:
        f = font(max_px * min_ratio, weight)
        text = QFontMetrics(f).elidedText(text, Qt.TextElideMode.ElideRight, int(r.width()))
    p.setFont(f)
    p.setPen(color)
    p.drawText(r, int(align), text)


def rounded(p: QPainter, rect: QRectF, fill: QColor, edge: QColor | None = None, radius: float = 18) -> None:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    p.fillPath(path, fill)
    if edge is not None:
        p.setPen(QPen(edge, 2))
        p.drawPath(path)


class Languages:
    """Which language leads now (alternate mode flips it) and which one, if any, is shown beneath."""

    def __init__(self, languages: list[str], mode: str) -> None:
        self.languages = languages or ["zh"]
        self.mode = mode
        self.index = 0

    @property
    def primary(self) -> str:
        return self.languages[self.index % len(self.languages)]

    @property
    def secondary(self) -> str | None:
        if self.mode == "both" and len(self.languages) > 1:
            return self.languages[1]
        return None

    def flip(self) -> None:
        self.index = (self.index + 1) % len(self.languages)


class Region(QWidget):
    """A painted area of the board that reads the shared model."""

    def __init__(self, model: BoardModel, langs: Languages, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.langs = langs
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def begin(self) -> QPainter:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.fillRect(self.rect(), BG)
        return p


class Header(Region):
    def __init__(self, model: BoardModel, langs: Languages, clock: Callable[[], datetime]) -> None:
        super().__init__(model, langs)
        self.clock = clock
        self.online = True

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = self.begin()
        w, h = self.width(), self.height()
        pad = h * 0.16
        lang, sec = self.langs.primary, self.langs.secondary
        now = self.clock()
        portrait = w < 1300
        time_w = w * (0.42 if portrait else 0.30)
        name = self.model.hall_name_en if lang == "en" else self.model.hall_name
        name = name or self.model.hall_name or "政务服务中心"
        name_w = w - time_w - 3 * pad
        sub = (self.model.hall_name_en if sec == "en" else self.model.hall_name) if sec else ""
        if sub:
            draw(p, QRectF(pad, pad * 0.5, name_w, h * 0.52), name, h * 0.44, WHITE, QFont.Weight.Bold)
            draw(p, QRectF(pad, h * 0.56, name_w, h * 0.32), sub, h * 0.24, MUTED)
        else:
            draw(p, QRectF(pad, 0, name_w, h), name, h * 0.5, WHITE, QFont.Weight.Bold)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        x = w - pad - time_w
        draw(p, QRectF(x, pad * 0.4, time_w, h * 0.55), now.strftime("%H:%M:%S"), h * 0.48, AMBER,
             QFont.Weight.Bold, right)
        if lang == "en":
            date = now.strftime("%a %d %b %Y")
        else:
            date = f"{now.year}年{now.month}月{now.day}日 星期{TEXT['weekdays'][0][now.weekday()]}"
        draw(p, QRectF(x, h * 0.58, time_w, h * 0.32), date, h * 0.24, MUTED, QFont.Weight.Normal, right)
        if not self.online or self.model.server_online is False:
            key = "offline" if not self.online else "server_offline"
            text = tr(key, lang)
            f = font(h * 0.2, QFont.Weight.Bold)
            tw = QFontMetrics(f).horizontalAdvance(text) + h * 0.3
            badge = QRectF(x - tw - pad, h * 0.3, tw, h * 0.4)
            rounded(p, badge, RED, None, h * 0.08)
            p.setFont(f)
            p.setPen(WHITE)
            p.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), text)
        p.fillRect(QRectF(0, h - 3, w, 3), PANEL_EDGE)
        p.end()


class HeroCall(Region):
    """The latest call, very large; flashes for highlight_seconds after a fresh event/call."""
    painted = Signal(int)   # seq of the call just painted (bench: call → repaint)

    def __init__(self, model: BoardModel, langs: Languages, highlight_s: float) -> None:
        super().__init__(model, langs)
        self.highlight_s = highlight_s
        self.flash_on = False
        self.highlighted_seq: int | None = None
        self._blink = QTimer(self, interval=500)
        self._blink.timeout.connect(self._toggle)
        self._stop = QTimer(self, singleShot=True)
        self._stop.timeout.connect(self.end_highlight)

    def highlight(self, seq: int) -> None:
        self.highlighted_seq = seq
        self.flash_on = True
        self._blink.start()
        self._stop.start(int(self.highlight_s * 1000))
        self.update()

    def end_highlight(self) -> None:
        self._blink.stop()
        self.flash_on = False
        self.highlighted_seq = None
        self.update()

    @property
    def highlighting(self) -> bool:
        return self.highlighted_seq is not None

    def _toggle(self) -> None:
        self.flash_on = not self.flash_on
        self.update()

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = self.begin()
        w, h = self.width(), self.height()
        m = min(w, h) * 0.03
        card = QRectF(m, m, w - 2 * m, h - 2 * m)
        call = self.model.latest
        flash = self.flash_on and call is not None and self.highlighted_seq == call.get("seq")
        rounded(p, card, FLASH if flash else HERO, None if flash else PANEL_EDGE, 28)
        lang, sec = self.langs.primary, self.langs.secondary
        ink = INK_ON_FLASH if flash else WHITE
        num_ink = INK_ON_FLASH if flash else AMBER
        sub_ink = QColor("#4a3800") if flash else MUTED
        pad = card.width() * 0.05
        inner = card.adjusted(pad, pad * 0.6, -pad, -pad * 0.6)
        title = tr("now_calling", lang) + (f"  {tr('now_calling', sec)}" if sec else "")
        if call is not None and call.get("recall"):
            title += f"  ·  {tr('recall', lang)}"
        th = inner.height() * 0.12
        draw(p, QRectF(inner.left(), inner.top(), inner.width(), th), title, th * 0.8, sub_ink, QFont.Weight.Bold)
        if call is None:
            draw(p, inner.adjusted(0, th, 0, 0), tr("no_calls", lang), inner.height() * 0.16, MUTED,
                 QFont.Weight.Bold, Qt.AlignmentFlag.AlignCenter)
            p.end()
            self.painted.emit(-1)
            return
        body = inner.adjusted(0, th, 0, 0)
        nh = body.height() * 0.55
        draw(p, QRectF(body.left(), body.top(), body.width(), nh), str(call["number"]), nh * 0.95, num_ink,
             QFont.Weight.Black, Qt.AlignmentFlag.AlignCenter)
        wh = body.height() * 0.26
        win = self.model.window_label(call, lang)
        arrow = "→  " + win
        draw(p, QRectF(body.left(), body.top() + nh, body.width(), wh), arrow, wh * 0.85, ink,
             QFont.Weight.Bold, Qt.AlignmentFlag.AlignCenter)
        sh = body.height() - nh - wh
        # the hall's own call wording (hall_bus.hall), as on the LED screens and in the voice
        line_lang = sec or lang
        line = call_text(str(call["number"]), self.model.window_label(call, line_lang), line_lang)
        draw(p, QRectF(body.left(), body.top() + nh + wh, body.width(), sh), line, sh * 0.6, sub_ink,
             QFont.Weight.Normal, Qt.AlignmentFlag.AlignCenter)
        p.end()
        self.painted.emit(int(call["seq"]))


class RecentCalls(Region):
    def __init__(self, model: BoardModel, langs: Languages, rows: int, columns: int = 1) -> None:
        super().__init__(model, langs)
        self.rows = rows
        self.columns = columns

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = self.begin()
        w, h = self.width(), self.height()
        m = min(w, h) * 0.03
        card = QRectF(m, m, w - 2 * m, h - 2 * m)
        rounded(p, card, PANEL, PANEL_EDGE, 24)
        lang, sec = self.langs.primary, self.langs.secondary
        pad = card.width() * 0.06
        inner = card.adjusted(pad, pad * 0.5, -pad, -pad * 0.5)
        th = min(inner.height() * 0.1, 70)
        title = tr("recent", lang) + (f"  {tr('recent', sec)}" if sec else "")
        draw(p, QRectF(inner.left(), inner.top(), inner.width(), th), title, th * 0.72, MUTED, QFont.Weight.Bold)
        rows = self.model.recent(self.rows)
        per_col = -(-self.rows // self.columns)
        gap = pad * 1.2 if self.columns > 1 else 0
        cw = (inner.width() - gap * (self.columns - 1)) / self.columns
        rh = (inner.height() - th) / per_col
        num_w = cw * 0.44
        for i, call in enumerate(rows):
            col, row = divmod(i, per_col)
            r = QRectF(inner.left() + col * (cw + gap), inner.top() + th + row * rh, cw, rh)
            if row % 2 == 0:
                rounded(p, r.adjusted(-pad * 0.3, 3, pad * 0.3, -3), QColor("#18284f"), None, 12)
            draw(p, QRectF(r.left(), r.top(), num_w, rh), str(call["number"]), rh * 0.7, AMBER, QFont.Weight.Bold)
            draw(p, QRectF(r.left() + num_w, r.top(), r.width() - num_w, rh),
                 self.model.window_label(call, lang), rh * 0.6, WHITE, QFont.Weight.Bold,
                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, min_ratio=0.4)
        p.end()


class ZoneTiles(Region):
    def __init__(self, model: BoardModel, langs: Languages, columns: int) -> None:
        super().__init__(model, langs)
        self.columns = columns

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = self.begin()
        zones = self.model.shown_zones()
        if not zones:
            p.end()
            return
        cols = min(self.columns, len(zones))
        rows = (len(zones) + cols - 1) // cols
        w, h = self.width(), self.height()
        m = min(w, h) * 0.025
        tw = (w - m) / cols
        th = (h - m) / rows
        lang, sec = self.langs.primary, self.langs.secondary
        uniform: float | None = None      # one name size for every tile
        wrapped, name_h_all = False, 0.0
        for i, z in enumerate(zones):
            r = QRectF(m + (i % cols) * tw, m + (i // cols) * th, tw - m, th - m)
            rounded(p, r, PANEL, PANEL_EDGE, 18)
            wide = r.width() > 2.2 * r.height()        # portrait: 2 columns of wide tiles
            pad = r.height() * 0.3 if wide else r.width() * 0.07
            inner = r.adjusted(pad, r.height() * 0.08, -pad, -r.height() * 0.08)
            ih = inner.height()
            name = z.name_en if lang == "en" else z.name
            floor = f"{z.floor} " if z.floor else ""
            count = "—" if z.waiting is None else str(z.waiting)
            est = None
            if z.est_wait_s is not None:
                est = (tr("est_none", lang) if z.est_wait_s < 60 or not z.waiting
                       else tr("est", lang, m=round(z.est_wait_s / 60)))
            est_color = GREEN if (z.est_wait_s or 0) < 600 or not z.waiting else WHITE
            if wide:   # one row: name (and its translation) left; count and estimate right
                left = inner.width() * 0.52
                name_h = ih * (0.58 if sec else 1.0)
                draw(p, QRectF(inner.left(), inner.top(), left, name_h), floor + name, min(name_h * 0.8, ih * 0.5),
                     WHITE, QFont.Weight.Bold, min_ratio=0.6)
                if sec:
                    draw(p, QRectF(inner.left(), inner.top() + name_h, left, ih - name_h),
                         z.name_en if sec == "en" else z.name, (ih - name_h) * 0.72, MUTED, min_ratio=0.7)
                x = inner.left() + left
                rest_w = inner.width() - left
                right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                draw(p, QRectF(x, inner.top(), rest_w * 0.58, ih), tr("waiting_n", lang, n=count),
                     ih * 0.62, AMBER, QFont.Weight.Bold, right)
                if est:
                    draw(p, QRectF(x + rest_w * 0.6, inner.top(), rest_w * 0.4, ih), est, ih * 0.36,
                         est_color, QFont.Weight.Normal, right)
                continue
            name_h = ih * (0.24 if sec else 0.3)
            if uniform is None:   # long (English) names may take two lines, at one size for every tile
                names = [f"{v.floor} {v.name_en if lang == 'en' else v.name}".strip() for v in zones]
                one = min(fit(n, name_h * 0.85, inner.width(), None, QFont.Weight.Bold).pixelSize() for n in names)
                wrapped = False
                if one < name_h * 0.85 * 0.8:
                    two_h = ih * (0.36 if sec else 0.42)
                    two = min(fit_wrapped(n, name_h * 0.85, inner.width(), two_h, QFont.Weight.Bold).pixelSize()
                              for n in names)
                    if two > one:
                        one, wrapped, name_h_all = two, True, two_h
                uniform = one
            if wrapped:
                name_h = name_h_all
                p.setFont(font(uniform, QFont.Weight.Bold))
                p.setPen(WHITE)
                p.drawText(QRectF(inner.left(), inner.top(), inner.width(), name_h),
                           int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap),
                           floor + name)
            else:
                draw(p, QRectF(inner.left(), inner.top(), inner.width(), name_h), floor + name, uniform,
                     WHITE, QFont.Weight.Bold, min_ratio=0.6)
            y = inner.top() + name_h
            if sec:
                sub_h = ih * 0.16
                draw(p, QRectF(inner.left(), y, inner.width(), sub_h), z.name_en if sec == "en" else z.name,
                     sub_h * 0.85, MUTED)
                y += sub_h
            rest = inner.bottom() - y
            big_h = rest * 0.58
            draw(p, QRectF(inner.left(), y, inner.width(), big_h), tr("waiting_n", lang, n=count), big_h * 0.8,
                 AMBER, QFont.Weight.Bold)
            if est:
                draw(p, QRectF(inner.left(), y + big_h, inner.width(), rest - big_h), est, (rest - big_h) * 0.75,
                     est_color)
        p.end()


class Ticker(Region):
    """The footer: the missed-number rule in force held still on the left (in the leading language, and the one
    beneath in "both" mode), the hall notice scrolling right to left beside it (animation only; nothing is polled)."""

    def __init__(self, model: BoardModel, langs: Languages, animate: bool = True) -> None:
        super().__init__(model, langs)
        self.offset = 0.0
        self._timer = QTimer(self, interval=33)
        self._timer.timeout.connect(self._step)
        if animate:
            self._timer.start()

    def text(self) -> str:
        parts = [t for t in (self.model.notice, self.model.notice_en) if t]
        if self.langs.primary == "en":
            parts.reverse()
        return "      ·      ".join(parts)

    def rule_lines(self) -> list[str]:
        """The missed-number rule as shown: one line per language on screen."""
        langs = [self.langs.primary] + ([self.langs.secondary] if self.langs.secondary else [])
        return [t for t in (no_show_text(self.model.no_show_rule, lang) for lang in langs) if t]

    def _step(self) -> None:
        self.offset += max(2.0, self.height() * 0.035)
        self.update()

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = self.begin()
        w, h = self.width(), self.height()
        p.fillRect(QRectF(0, 0, w, h), QColor("#0c1630"))
        left = 0.0
        rule = self.rule_lines()
        if rule:
            pad = h * 0.3
            max_w = w * 0.6
            if len(rule) == 1 and QFontMetrics(font(h * 0.46)).horizontalAdvance(rule[0]) > max_w - 2 * pad:
                rule = _halves(rule[0])         # a narrow (portrait) screen: two lines rather than small type
            line_h = h * (0.46 if len(rule) == 1 else 0.36)
            widest = max(QFontMetrics(font(line_h)).horizontalAdvance(t) for t in rule)
            box_w = min(widest + 2 * pad, max_w)
            p.fillRect(QRectF(0, 0, box_w, h), PANEL)
            p.fillRect(QRectF(box_w - 4, 0, 4, h), AMBER)
            top = (h - line_h * 1.25 * len(rule)) / 2
            for i, line in enumerate(rule):
                f = fit(line, line_h, box_w - 2 * pad)
                p.setFont(f)
                p.setPen(AMBER if i == 0 else WHITE)
                p.drawText(QRectF(pad, top + i * line_h * 1.25, box_w - 2 * pad, line_h * 1.25),
                           int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), line)
            left = box_w
        p.fillRect(QRectF(0, 0, w, 3), PANEL_EDGE)
        text = self.text()
        if text:
            room = w - left
            p.setClipRect(QRectF(left, 0, room, h))
            f = font(h * 0.5)
            p.setFont(f)
            p.setPen(WHITE)
            span = QFontMetrics(f).horizontalAdvance(text) + room * 0.3
            x = left + room - (self.offset % (span + room)) if self.offset else left + h * 0.4
            p.drawText(QRectF(x, 0, span, h), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        p.end()


def _halves(text: str) -> list[str]:
    """Split a sentence at the clause break nearest its middle (after ，or ", "), for two lines."""
    breaks = [i + 1 for i, ch in enumerate(text) if ch in "，：" or (ch in ",:" and text[i + 1:i + 2] == " ")]
    if not breaks:
        return [text]
    cut = min(breaks, key=lambda i: abs(i - len(text) / 2))
    return [text[:cut].strip(), text[cut:].strip()]


class BoardView(QWidget):
    """The whole screen: header, hero call, recent calls, zone tiles, notice ticker."""

    def __init__(self, model: BoardModel, *, orientation: str = "landscape", languages: list[str] | None = None,
                 language_mode: str = "both", alternate_seconds: int = 8, highlight_seconds: float = 6,
                 recent_rows: int = 8, animate: bool = True,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        super().__init__()
        self.model = model
        self.orientation = orientation
        self.langs = Languages(languages or ["zh", "en"], language_mode)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), BG)
        self.setPalette(pal)
        self.header = Header(model, self.langs, clock)
        self.hero = HeroCall(model, self.langs, highlight_seconds)
        self.recent = RecentCalls(model, self.langs, recent_rows)
        self.ticker = Ticker(model, self.langs, animate)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        if orientation == "portrait":
            self.zones = ZoneTiles(model, self.langs, columns=1)
            self.recent.columns = 2
            self.resize(1080, 1920)
            outer.addWidget(self.header, 150)
            outer.addWidget(self.hero, 660)
            outer.addWidget(self.recent, 460)
            outer.addWidget(self.zones, 570)
            outer.addWidget(self.ticker, 80)
        else:
            self.zones = ZoneTiles(model, self.langs, columns=6)
            self.resize(1920, 1080)
            outer.addWidget(self.header, 120)
            mid = QHBoxLayout()
            mid.setContentsMargins(0, 0, 0, 0)
            mid.setSpacing(0)
            mid.addWidget(self.hero, 61)
            mid.addWidget(self.recent, 39)
            outer.addLayout(mid, 660)
            outer.addWidget(self.zones, 220)
            outer.addWidget(self.ticker, 80)
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self.header.update)
        self._alt = QTimer(self, interval=alternate_seconds * 1000)
        self._alt.timeout.connect(self.flip_language)
        if animate:
            self._tick.start()
            if language_mode == "alternate" and len(self.langs.languages) > 1:
                self._alt.start()

    def flip_language(self) -> None:
        self.langs.flip()
        self.refresh()

    def set_primary(self, lang: str) -> None:
        if lang in self.langs.languages:
            self.langs.index = self.langs.languages.index(lang)
        self.refresh()

    def set_online(self, online: bool) -> None:
        self.header.online = online
        self.header.update()

    def refresh(self) -> None:
        for region in (self.header, self.hero, self.recent, self.zones, self.ticker):
            region.update()
