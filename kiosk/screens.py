"""The kiosk's screens. Each one renders the journey (kiosk.journey, read only) and emits intents; none of them
talks to the bus or a device, or reaches into the window."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout, QHBoxLayout, QLineEdit, QPushButton, QProgressBar, QScrollArea, QScroller, QSizePolicy, QVBoxLayout, QWidget,
)

from kiosk import theme
from kiosk.i18n import error_text, no_show_text, t
from kiosk.journey import Journey
from kiosk.model import CasePublic, Service, Ticket, ZoneLoad, keywords_for, minutes
from kiosk.widgets import (
    Badge, CasePad, Keypad, StatusIcon, ZoneTile, text_height, TicketOut, button, clear_layout, frame, hbox, label, sep, vbox,
)

AC = Qt.AlignmentFlag.AlignCenter


class Screen(QWidget):
    """Base: a screen rebuilds its content from the journey on render()."""
    intent = Signal(str, object)
    name = "screen"
    nav = True           # show back/home in the footer

    def __init__(self, journey: Journey, *, portrait: bool = True) -> None:
        super().__init__()
        self.journey = journey
        self.portrait = portrait
        self.setObjectName("screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.body = QVBoxLayout(self)
        self.setProperty("screen", self.name)

    def s(self, n: int) -> int:
        return theme.px(n, self.journey.scale)

    def scroll_area(self, content: QWidget, name: str | None = None) -> QScrollArea:
        """`content` in a vertical touch-scrolled area (drag with a finger; no horizontal bar), its taps watched by
        this screen like its own (eventFilter: any touch restarts the idle countdown)."""
        area = QScrollArea()
        if name:
            area.setObjectName(name)
        area.setWidgetResizable(True)
        area.setWidget(content)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        QScroller.grabGesture(area.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture)
        area.viewport().installEventFilter(self)
        return area

    def render(self) -> None:
        clear_layout(self.body)
        if self.portrait:
            self.body.setContentsMargins(self.s(40), self.s(32), self.s(40), self.s(28))
            self.body.setSpacing(self.s(24))
        else:   # landscape: height is the scarce dimension
            self.body.setContentsMargins(self.s(48), self.s(22), self.s(48), self.s(20))
            self.body.setSpacing(self.s(18))
        self.build()

    def build(self) -> None:
        raise NotImplementedError

    def go(self, what: str, arg: Any = None):  # noqa: ANN201 - a slot factory
        return lambda _=False: self.intent.emit(what, arg)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 (Qt)
        """Installed on scrollable areas: a swipe there is activity too (buttons emit their own intents)."""
        if ev.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.Wheel):
            self.intent.emit("activity", None)
        return False

    def screen_width(self, default: int) -> int:
        """The width this screen is laid out for: the kiosk window's (0 before it is shown)."""
        return self.window().width() or default

    @property
    def lang(self) -> str:
        return self.journey.lang

    def tr(self, key: str, **kw: Any) -> str:
        return t(key, self.journey.lang, **kw)

    def other(self, zh: str, en: str) -> str:
        """The name in the other language, shown small under the main one."""
        return zh if self.lang == "en" else en

    def wait_text(self, load: ZoneLoad | None) -> str:
        if load is None:
            return "—"
        parts = [self.tr("zone_waiting", n=load.waiting)]
        m = minutes(load.est_wait_s)
        parts.append(self.tr("zone_wait", m=m) if m else self.tr("zone_no_wait"))
        return "  ·  ".join(parts)


# ------------------------------------------------------------------ home
class HomeScreen(Screen):
    name = "home"
    nav = False

    def build(self) -> None:
        j = self.journey
        cat = j.catalog
        top = self._greeting() if j.holder is not None else self._id_hint()
        warn = self.tr(j.device_warning()) if j.device_warning() else ""
        warn_w = frame("warn", hbox(label(warn, "body"), margins=(24, 14, 24, 14))) if warn else None
        title = label(self.tr("holder_choose") if j.holder else self.tr("welcome"), "h2")
        grid = QGridLayout()
        grid.setSpacing(self.s(22))
        cols = self._zone_columns()
        zones = list(cat.zones) if cat else []
        for i, zone in enumerate(zones):
            grid.addWidget(self._zone_tile(i, zone), i // cols, i % cols)
        for r in range(max(1, (len(zones) + cols - 1) // cols)):
            grid.setRowStretch(r, 1)
        notice = (cat.notice_en if self.lang == "en" else cat.notice) if cat and self.portrait else ""
        notice_w = label(notice, "muted", align=AC) if notice else None   # landscape: in the footer
        appt = self._action("appointment", "appointment_sub", "appointment")
        status = self._action("status", "status_sub", "status")
        if j.elderly and not j.holder:
            title = None     # elderly mode: the zone tiles themselves say what to do, and get the room
        if self.portrait:
            self.body.addWidget(top)
            if warn_w:                # a device warning takes the place of the welcome line: no height to spare
                self.body.addWidget(warn_w)
            elif title:
                self.body.addWidget(title)
            self.body.addLayout(grid, 1)
            self.body.addLayout(hbox(appt, status, spacing=self.s(22)))
            if notice_w:
                self.body.addWidget(notice_w)
            return
        # Landscape has no height to spare: a device warning takes the place of the welcome line.
        if warn_w:
            self.body.addWidget(warn_w)
        elif title:
            self.body.addWidget(title)
        self.body.addLayout(grid, 1)
        row = hbox(spacing=self.s(22))
        row.addWidget(top, 2)
        row.addWidget(appt, 1)
        row.addWidget(status, 1)
        self.body.addLayout(row)
        if notice_w:
            self.body.addWidget(notice_w)

    def _id_hint(self) -> QWidget:
        j = self.journey
        if j.idcard_fault:
            return frame("warn", hbox(label(self.tr("id_fault"), "body"), margins=(28, 18, 28, 18)))
        card = frame("hint")
        lay = hbox(spacing=self.s(20), margins=(self.s(28), self.s(22), self.s(28), self.s(22)))
        lay.addWidget(Badge("ID", theme.PRIMARY, self.s(84)))
        hint = label(self.tr("id_hint"), "body") if not j.elderly else None
        lay.addLayout(vbox(label(self.tr("id_hint_title"), "h3"), hint, spacing=4), 1)
        if j.id_error:
            lay.addWidget(label(self.tr("id_read_failed"), "chipWarn"))
        card.setLayout(lay)
        return card

    def _greeting(self) -> QWidget:
        j = self.journey
        assert j.holder is not None
        lay = hbox(spacing=self.s(20), margins=(self.s(28), self.s(20), self.s(28), self.s(20)))
        lay.addWidget(StatusIcon("ok", self.s(84)))
        texts = vbox(label(self.tr("hello_holder", name=j.holder.display_name), "h2", name="greeting"), spacing=4)
        if j.holder_is_senior():
            texts.addWidget(label(self.tr("holder_priority"), "chipOk", wrap=False))
        lay.addLayout(texts, 1)
        lay.addWidget(button(self.tr("holder_forget"), None, self.go("forget_holder"), name="forget-holder"))
        return frame("greet", lay)

    def _zone_tile(self, index: int, zone) -> QWidget:
        j = self.journey
        colour = theme.zone_colour(index)
        services = j.catalog.services_of(zone.id) if j.catalog else []
        prefix = services[0].prefix if services else chr(ord("A") + index)
        tile = ZoneTile(colour, self.s(24), self.s(16))
        tile.setObjectName(f"zone-{zone.id}")
        tile.clicked.connect(self.go("zone", zone.id))
        tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        top = hbox(spacing=self.s(18))
        top.addWidget(Badge(prefix, colour, self.s(76)), 0, Qt.AlignmentFlag.AlignTop)
        title = label(zone.title(self.lang), "tileTitle" if self.portrait else "tileTitleL")
        # Long English zone names do not fit a half-width tile at elderly size: they keep the normal size.
        title_px = 40 if self.portrait else 36
        if not (j.elderly and self.lang == "en"):
            title_px = self.s(title_px)
        title.setStyleSheet(f"font-size: {title_px}px;")
        names = vbox(title, spacing=2)
        sub = self.other(zone.name, zone.name_en)
        if not j.elderly:   # elderly mode: fewer, larger words
            names.addWidget(label(sub + (f" · {zone.floor}" if zone.floor else ""), "tileSub"))
        top.addLayout(names, 1)
        load = j.loads.get(zone.id)
        stat = label(self.wait_text(load), "tileStat", name=f"zone-load-{zone.id}")
        stat.setStyleSheet(f"color: {colour};")
        count = label(self.tr("zone_services", n=len(services)), "tileSub") if self.portrait and not j.elderly else None
        cols = self._zone_columns()
        if cols == 1:    # elderly portrait: full-width rows, the name on top and the waiting count under it
            stat.setWordWrap(False)
            row = vbox(title, stat, spacing=0, margins=(self.s(36), self.s(8), self.s(24), self.s(8)))
            tile.setLayout(row)
            stat.ensurePolished()
            screen_w = self.screen_width(1080)
            title_w = screen_w - 2 * self.s(48) - self.s(36 + 24)
            title.ensurePolished()      # the label's own measure: CJK line spacing is taller than the glyphs
            title_h = max(title.heightForWidth(title_w), text_height(zone.title(self.lang), title_px, title_w,
                                                                     bold=True))
            tile.setMinimumHeight(self.s(8 + 8) + title_h + stat.sizeHint().height())
            return tile
        lay = vbox(top, 0, stat, count, spacing=self.s(8), margins=(self.s(36), self.s(20), self.s(20), self.s(18)))
        tile.setLayout(lay)
        # The tile's height from its text at the width it will get: a wrapped title or a wrapped count must never
        # overlap the other.
        screen_w = self.screen_width(1080 if self.portrait else 1920)
        tile_w = (screen_w - 2 * self.s(48) - (cols - 1) * self.s(22)) // cols
        text_w = tile_w - self.s(36 + 20 + 76 + 18)
        stat.ensurePolished()
        stat_h = text_height(self.wait_text(load), stat.font().pixelSize() or self.s(34), tile_w - self.s(36 + 20),
                             bold=True)
        need = self.s(20 + 18) + max(self.s(76), text_height(zone.title(self.lang), title_px, text_w, bold=True)
                                     + (self.s(44) if not j.elderly else 0)) + self.s(16) + stat_h
        if count is not None:
            need += self.s(44)
        tile.setMinimumHeight(need)
        return tile

    def _zone_columns(self) -> int:
        """Three across in landscape, two in portrait; elderly portrait gets full-width rows for its larger text."""
        if not self.portrait:
            return 3
        return 1 if self.journey.elderly else 2

    def _action(self, title: str, sub: str, intent: str) -> QWidget:
        tile = ZoneTile(theme.PRIMARY, self.s(24), self.s(10))
        tile.setObjectName(f"action-{intent}")
        tile.clicked.connect(self.go(intent))
        sub_w = label(self.tr(sub), "tileSub") if not (self.journey.elderly and not self.portrait) else None
        lay = vbox(label(self.tr(title), "h3"), sub_w,
                   spacing=4, margins=(self.s(28), self.s(18), self.s(28), self.s(18)))
        tile.setLayout(lay)
        tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        return tile


# ------------------------------------------------------------------ zone: its services
class ZoneScreen(Screen):
    name = "zone"

    def per_page(self) -> int:
        j = self.journey
        if self.portrait:
            return 3 if j.elderly else 6
        if j.elderly:
            return 2
        return 6 if self.lang == "zh" else 4    # English names wrap to two lines

    def build(self) -> None:
        j = self.journey
        zone = j.catalog.zone(j.zone_id) if j.catalog and j.zone_id else None
        if zone is None:
            return
        index = [z.id for z in j.catalog.zones].index(zone.id)
        colour = theme.zone_colour(index)
        services = j.zone_services(zone.id)          # most used first
        head = hbox(spacing=self.s(20))
        head.addWidget(Badge(services[0].prefix if services else "?", colour, self.s(92)))
        head.addLayout(vbox(label(zone.title(self.lang), "h1" if self.portrait else "h2"),
                            label(self.other(zone.name, zone.name_en) + (f" · {zone.floor}" if zone.floor else ""), "muted"),
                            spacing=2), 1)
        stat = label(self.wait_text(j.loads.get(zone.id)), "h3", wrap=False)
        stat.setStyleSheet(f"color: {colour};")
        find = button(self.tr("search"), None, self.go("search"), name="zone-search")
        if j.elderly and self.portrait:
            self.body.addLayout(head)
            self.body.addLayout(hbox(stat, 0, find, spacing=self.s(20)))
        elif self.portrait:
            head.addWidget(stat)
            self.body.addLayout(head)
        else:
            head.addWidget(stat)
            head.addWidget(find)
            self.body.addLayout(head)
        if self.portrait and not j.elderly:
            self.body.addLayout(hbox(label(self.tr("choose_service"), "h3"), 0, find, spacing=self.s(20)))
        per = self.per_page()
        pages = max(1, (len(services) + per - 1) // per)
        page = min(j.page, pages - 1)       # fewer pages than before (elderly mode): the last one
        shown = services[page * per:(page + 1) * per]
        cols = 1 if self.portrait or j.elderly else 2
        grid = QGridLayout()
        grid.setSpacing(self.s(14))
        for i, svc in enumerate(shown):
            grid.addWidget(self._row(svc), i // cols, i % cols)
        self.body.addLayout(grid)
        self.body.addStretch(1)
        if pages > 1:
            pager = hbox(spacing=self.s(20))
            prev = button("‹  " + self.tr("prev"), None, self.go("page", page - 1), name="page-prev")
            nxt = button(self.tr("next") + "  ›", None, self.go("page", page + 1), name="page-next")
            prev.setEnabled(page > 0)
            nxt.setEnabled(page < pages - 1)
            pager.addWidget(prev)
            pager.addWidget(label(self.tr("page", p=page + 1, n=pages), "body", align=AC), 1)
            pager.addWidget(nxt)
            self.body.addLayout(pager)

    def _row(self, svc: Service) -> QWidget:
        j = self.journey
        v = self.s(18 if self.portrait else 12)
        texts = vbox(label(svc.title(self.lang), "h3"), spacing=self.s(8))
        chips = hbox(spacing=self.s(10))
        chips.addWidget(label(self._promise(svc), "chip", wrap=False))
        if svc.id_required:
            chips.addWidget(label(self.tr("needs_id"), "chipWarn", wrap=False))
        chips.addStretch(1)
        texts.addLayout(chips)
        g = button(self.tr("view_guide"), None, self.go("guide", svc.id), name=f"guide-{svc.id}")
        take = button(self.tr("take_number"), "primary", self.go("service", svc.id), name=f"service-{svc.id}")
        take.setStyleSheet(f"font-size: {self.s(32)}px; min-height: {self.s(84)}px; "
                           f"padding: 0 {self.s(30 if self.portrait else 20)}px;")
        if j.elderly and self.portrait:   # big words need the row's full width: buttons go under the name
            lay = vbox(texts, hbox(0, g, take, spacing=self.s(18)), spacing=self.s(12),
                       margins=(self.s(26), v, self.s(20), v))
        else:
            lay = hbox(spacing=self.s(18), margins=(self.s(26), v, self.s(20), v))
            lay.addLayout(texts, 1)
            lay.addWidget(g)
            lay.addWidget(take)
        card = frame("card", lay)
        return card

    def _promise(self, svc: Service) -> str:
        if svc.promised_days == 0:
            return self.tr("promised_now")
        if svc.promised_days is None:
            return self.tr("no_steps")
        return self.tr("promised", d=svc.promised_days)


# ------------------------------------------------------------------ search: a service by initials or keyword
RESULTS_SHOWN = 30       # rows drawn at once; more letters narrow the list down


class SearchScreen(Screen):
    """Every service of the hall, found by the pinyin initials of its name on a letter pad (in English mode also
    by its English name) or by a keyword tapped (the kiosk has no Chinese input method); the list follows each key
    and puts the most used first. A row goes to the usual confirm screen."""
    name = "search"

    def build(self) -> None:
        j = self.journey
        if j.catalog is None:
            return
        found = j.search_results()
        words = self._words()
        field = button(j.search_letters or self.tr("search_placeholder"),
                       "fieldOn", self.go("activity"), name="search-field")
        field.setProperty("empty", "true" if not j.search_letters else "false")
        field.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        title = label(self.tr("search_title"), "h1" if not j.elderly else "h2", wrap=False, name="screen-title")
        head = hbox(title, field, spacing=self.s(24))
        hint = label(self.tr("search_hint"), "body") if not j.elderly else None
        if found:
            count = len(found)
            what = (self.tr("search_popular") if not j.searching
                    else self.tr("search_found_one") if count == 1 else self.tr("search_found", n=count))
            caption = label(what, "h3", name="search-count")
            results: QWidget = self._results(found[:RESULTS_SHOWN], more=count > RESULTS_SHOWN)
        else:
            caption = None
            results = self._nothing()
        pad = CasePad("letters", self.lang, self.s(92 if self.portrait else 80), ok=False, name="search-pad")
        pad.key.connect(lambda key: self.intent.emit("search_key", key))
        if self.portrait:
            self.body.addLayout(head)
            if hint:
                self.body.addWidget(hint)
            self.body.addLayout(words)
            if caption:
                self.body.addWidget(caption)
            self.body.addWidget(results, 1)
            self.body.addWidget(pad)
            return
        # Landscape: the list gets the left column's whole height; keywords and letters are on the right.
        left = vbox(head, hint, caption, spacing=self.s(14))
        left.addWidget(results, 1)
        row = hbox(spacing=self.s(36))
        row.addLayout(left, 3)
        row.addLayout(vbox(words, 0, pad, spacing=self.s(14)), 2)
        self.body.addLayout(row, 1)

    def _words(self) -> QGridLayout:
        """The keywords as large chips; the one chosen is filled (tap it again to drop it)."""
        j = self.journey
        words = keywords_for(j.catalog.services)
        en = self.lang == "en"
        if self.portrait:
            cols = (3 if en else 4) if j.elderly else (4 if en else 5)
        else:
            cols = (2 if en else 3) if j.elderly else (3 if en else 4)
        rows = 2 if j.elderly else 3
        shown = words[:cols * rows]
        chosen = j.search_keyword
        if chosen is not None and chosen not in shown:     # never hide what filters the list
            shown = shown[:-1] + [chosen]
        grid = QGridLayout()
        grid.setSpacing(self.s(12))
        for i, w in enumerate(shown):
            b = button(w.label(self.lang), "wordOn" if w == chosen else "word", self.go("search_word", w.zh),
                       name=f"word-{w.zh}")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            grid.addWidget(b, i // cols, i % cols)
        for c in range(cols):
            grid.setColumnStretch(c, 1)
        return grid

    def _results(self, services: list[Service], *, more: bool) -> QWidget:
        content = QWidget()
        lay = vbox(spacing=self.s(12), margins=(0, 0, self.s(16), 0))
        for svc in services:
            lay.addWidget(self._row(svc))
        if more:
            lay.addWidget(label(self.tr("search_more", n=RESULTS_SHOWN), "muted", align=AC, name="search-more"))
        lay.addStretch(1)
        content.setLayout(lay)
        return self.scroll_area(content, "search-results")

    def _row(self, svc: Service) -> QWidget:
        """One service as a large tile in its zone's colour: name, then zone and floor; the whole tile is the
        button."""
        j = self.journey
        zones = [z.id for z in j.catalog.zones]
        zone = j.catalog.zone(svc.zone)
        colour = theme.zone_colour(zones.index(svc.zone) if svc.zone in zones else 0)
        tile = ZoneTile(colour, self.s(20), self.s(12))
        tile.setObjectName(f"result-{svc.id}")
        tile.clicked.connect(self.go("service", svc.id))
        where = (zone.title(self.lang) if zone else svc.zone) + (f" · {zone.floor}" if zone and zone.floor else "")
        name = label(svc.title(self.lang), "h3", name=f"result-name-{svc.id}")
        sub = label(where, "tileSub")
        sub.setStyleSheet(f"color: {colour};")
        v = self.s(14 if self.portrait else 10)
        lay = hbox(spacing=self.s(18), margins=(self.s(30), v, self.s(22), v))
        lay.addWidget(Badge(svc.prefix, colour, self.s(64)), 0, Qt.AlignmentFlag.AlignVCenter)
        lay.addLayout(vbox(name, sub, spacing=self.s(2)), 1)
        go = label("›", "h2", wrap=False)
        go.setStyleSheet(f"color: {colour};")
        lay.addWidget(go, 0, Qt.AlignmentFlag.AlignVCenter)
        tile.setLayout(lay)
        tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # The tile's height from its text at the width it will get (a layout inside a button cannot say).
        screen_w = self.screen_width(1080 if self.portrait else 1920)
        width = (screen_w - 2 * self.s(48)) if self.portrait else (screen_w - 2 * self.s(48) - self.s(36)) * 3 // 5
        text_w = width - self.s(16 + 30 + 22 + 64 + 18 + 18 + 40)
        name.ensurePolished()
        sub.ensurePolished()
        need = (text_height(svc.title(self.lang), self.s(34), text_w, bold=True)
                + text_height(where, self.s(28), text_w) + self.s(2) + 2 * v)
        tile.setMinimumHeight(max(need, self.s(64) + 2 * v))
        return tile

    def _nothing(self) -> QWidget:
        """Nothing found: say so, and a way to start again (the footer goes back to the areas)."""
        box = vbox(label(self.tr("search_none"), "h2", name="search-none"), label(self.tr("search_none_body"), "body"),
                   spacing=self.s(12), margins=(self.s(28), self.s(22), self.s(28), self.s(22)))
        again = button(self.tr("search_again"), "primary", self.go("search"), name="search-again")
        again.setStyleSheet(f"min-height: {self.s(88)}px; font-size: {self.s(34)}px;")
        box.addWidget(again)
        w = QWidget()
        w.setLayout(vbox(frame("warn", box), 0))
        return w


# ------------------------------------------------------------------ confirm
class ConfirmScreen(Screen):
    name = "confirm"

    def build(self) -> None:
        j = self.journey
        svc = j.catalog.service(j.service_id) if j.catalog and j.service_id else None
        if svc is None:
            return
        zone = j.catalog.zone(svc.zone)
        self.body.addWidget(label(self.tr("confirm_title"), "h1"))
        rows = vbox(spacing=self.s(18), margins=(self.s(36), self.s(30), self.s(36), self.s(30)))

        def row(key: str, value: str, cls: str = "big", name: str | None = None) -> None:
            line = hbox(spacing=self.s(24))
            cap = label(self.tr(key), "muted", wrap=False)
            cap.setMinimumWidth(self.s(200 if self.lang == "zh" else 230))
            line.addWidget(cap, 0, Qt.AlignmentFlag.AlignTop)
            line.addWidget(label(value, cls, name=name), 1)
            rows.addLayout(line)

        row("confirm_service", svc.title(self.lang), name="confirm-service")
        if zone:
            row("confirm_zone", (f"{zone.floor} " if zone.floor else "") + zone.title(self.lang), "h3")
        load = j.loads.get(svc.zone)
        if load is not None:
            row("confirm_waiting", self.wait_text(load), "h3")
        if j.holder is not None:
            row("confirm_holder", j.holder.display_name, "h3")
        rows.addWidget(sep())
        rows.addWidget(label(self.tr("confirm_bring"), "h3"))
        mats = svc.materials[:5]
        for i, m in enumerate(mats, 1):
            rows.addWidget(label(f"{i}. {m.name_en if self.lang == 'en' else m.name}", "body"))
        if not mats:
            rows.addWidget(label(self.tr("no_materials"), "body"))
        card = frame("card", rows)
        blocked = svc.id_required and j.holder is None
        warn = frame("warn", vbox(label(self.tr("id_required_title"), "h3"), label(self.tr("id_required_body"), "body"),
                                  label(self.tr("id_read_failed"), "chipWarn") if j.id_error else None,
                                  spacing=6, margins=(28, 20, 28, 20))) if blocked else None
        confirm = button(self.tr("confirm_button"), "primary", self.go("confirm", svc.id), name="confirm")
        confirm.setMinimumHeight(self.s(150))
        confirm.setStyleSheet(f"font-size: {self.s(52)}px;")
        confirm.setEnabled(not blocked)
        if self.portrait:
            self.body.addWidget(card)
            if warn:
                self.body.addWidget(warn)
            self.body.addStretch(1)
            self.body.addWidget(confirm)
        else:
            row = hbox(spacing=self.s(32))
            row.addLayout(vbox(card, 0), 3)
            row.addLayout(vbox(warn, 0, confirm, spacing=self.s(24)), 2)
            self.body.addLayout(row, 1)


# ------------------------------------------------------------------ printing
class PrintingScreen(Screen):
    name = "printing"
    nav = False

    def build(self) -> None:
        j = self.journey
        stage, frac = j.progress
        self.body.addStretch(2)
        icon = StatusIcon("info", self.s(150))
        self.body.addWidget(icon, 0, AC)
        self.body.addWidget(label(self.tr("printing_title"), "h1", align=AC))
        steps = hbox(spacing=self.s(16))
        order = ["request", "print", "done"]
        current = order.index(stage) if stage in order else 0
        for i, key in enumerate(("step_request", "step_print", "step_done")):
            chip = label(f"{i + 1}  {self.tr(key)}", "chipOk" if i < current else ("chip" if i == current else "muted"),
                         wrap=False, align=AC)
            steps.addWidget(chip, 1)
        self.body.addLayout(steps)
        bar = QProgressBar()
        bar.setObjectName("progress")
        bar.setRange(0, 100)
        bar.setValue(int(frac * 100))
        self.body.addWidget(bar)
        self.body.addWidget(label(self.tr("printing_wait"), "body", align=AC))
        self.body.addStretch(3)

    def set_progress(self, stage: str, frac: float) -> None:
        bar = self.findChild(QProgressBar, "progress")
        if bar is not None and self.journey.progress[0] == stage:
            bar.setValue(int(frac * 100))
        else:
            self.render()


# ------------------------------------------------------------------ done / unprinted
class TicketScreen(Screen):
    """Done (printed) and unprinted-but-valid share the big number."""
    name = "done"
    nav = False

    def build(self) -> None:
        j = self.journey
        outcome = j.outcome
        if outcome is None or outcome.ticket is None:
            return
        tk = outcome.ticket
        unprinted = outcome.kind == "unprinted"
        banner = None
        if unprinted:
            m = self.s(20 if self.portrait else 12)
            banner = frame("danger", hbox(StatusIcon("danger", self.s(80 if self.portrait else 60)),
                                          label(self.tr("unprinted_title"), "h2"),
                                          spacing=self.s(20), margins=(self.s(26), m, self.s(26), m)))
        num = label(tk.number, "number", align=AC, wrap=False, name="ticket-number")
        style = "" if self.portrait else f"font-size: {self.s(160)}px;"
        num.setStyleSheet(style + (f"color: {theme.DANGER};" if unprinted else ""))
        number_col = vbox(label(self.tr("your_number"), "h2", align=AC), num, spacing=self.s(6))
        if tk.priority:
            number_col.addWidget(label(self.tr("priority_ticket"), "chipOk", align=AC, wrap=False), 0, AC)
        number_col.addWidget(label(tk.service_title(self.lang), "h3", align=AC))
        if unprinted and tk.verify:
            number_col.addWidget(label(f"{self.tr('verify_code')}  {tk.verify}", "big", align=AC, name="verify"))
        rule = self._no_show_rule()
        if rule is not None and not self.portrait:    # landscape: under the number, where the column has room
            number_col.addWidget(rule)
            rule = None
        info = frame("card", vbox(
            label(self.tr("ahead", n=tk.ahead) if tk.ahead else self.tr("ahead_none"), "big", align=AC, name="ahead"),
            label(self.tr("est_wait", m=minutes(tk.est_wait_s) or 1), "h3", align=AC) if tk.ahead else None,
            label(self._where(tk), "body", align=AC),
            rule,
            spacing=self.s(10), margins=(self.s(24), self.s(24), self.s(24), self.s(24))))
        if unprinted:
            after = label(self.tr("unprinted_body"), "body", align=AC)
        else:
            after = QWidget()
            after.setLayout(hbox(0, TicketOut(self.s(110)),
                                 label(self.tr("take_ticket"), "h1", wrap=not self.portrait), 0, spacing=self.s(20)))
        foot = hbox(label(self.tr("idle_return", s=j.idle_remaining_s()), "muted", name="countdown"), 0,
                    button(self.tr("finish"), "primary", self.go("home"), name="finish"), spacing=self.s(20))
        if banner is not None:
            self.body.addWidget(banner)
        if self.portrait:
            self.body.addStretch(1)
            self.body.addLayout(number_col)
            self.body.addWidget(info)
            self.body.addStretch(1)
            self.body.addWidget(after)
            self.body.addStretch(1)
        else:
            row = hbox(spacing=self.s(40))
            row.addLayout(vbox(0, number_col, 0), 1)
            row.addLayout(vbox(0, info, after, 0, spacing=self.s(30)), 1)
            self.body.addLayout(row, 1)
        self.body.addLayout(foot)

    def _no_show_rule(self) -> QWidget | None:
        """The missed-number rule in force (过号), as the printed ticket states it."""
        cat = self.journey.catalog
        text = no_show_text(cat.no_show_rule, self.lang) if cat else ""
        return label(text, "body", align=AC, name="no-show-rule") if text else None

    def _where(self, tk: Ticket) -> str:
        j = self.journey
        zone = j.catalog.zone(tk.zone) if j.catalog else None
        zname = zone.title(self.lang) if zone else (tk.zone_name_en if self.lang == "en" else tk.zone_name)
        floor = zone.floor if zone else ""
        return self.tr("go_to_zone", zone=zname, floor=floor)

    def tick(self) -> None:
        lab = self.findChild(QWidget, "countdown")
        if lab is not None:
            lab.setText(self.tr("idle_return", s=self.journey.idle_remaining_s()))  # type: ignore[attr-defined]


# ------------------------------------------------------------------ guide
class GuideScreen(Screen):
    name = "guide"

    def build(self) -> None:
        j = self.journey
        svc = j.catalog.service(j.guide_service) if j.catalog and j.guide_service else None
        if svc is None:
            return
        self.body.addWidget(label(self.tr("guide_title"), "muted"))
        self.body.addWidget(label(svc.title(self.lang), "h1", name="guide-title"))
        chips = hbox(spacing=self.s(12))
        if svc.legal_days is not None:
            chips.addWidget(label(self.tr("legal", d=svc.legal_days), "chip"))
        if svc.promised_days is not None:
            chips.addWidget(label(self.tr("promised", d=svc.promised_days) if svc.promised_days else self.tr("promised_now"),
                                  "chipOk"))
        if svc.appointment:
            chips.addWidget(label(self.tr("appointment_ok"), "chip"))
        chips.addStretch(1)
        self.body.addLayout(chips)

        content = QWidget()
        lay = vbox(spacing=self.s(14), margins=(0, 0, self.s(20), 0))
        lay.addWidget(label(self.tr("guide_materials"), "h2"))
        mats = frame("card")
        mlay = vbox(spacing=self.s(12), margins=(self.s(28), self.s(22), self.s(28), self.s(22)))
        for i, m in enumerate(svc.materials, 1):
            line = hbox(spacing=self.s(16))
            line.addWidget(label(f"{i}.", "h3", wrap=False), 0, Qt.AlignmentFlag.AlignTop)
            line.addWidget(label(m.name_en if self.lang == "en" else m.name, "body"), 1)
            kind = self.tr("original") if m.original else self.tr("photocopy")
            copies = self.tr("copy_one") if m.copies == 1 else self.tr("copies", n=m.copies)
            line.addWidget(label(f"{kind} · {copies}", "chip", wrap=False), 0, Qt.AlignmentFlag.AlignTop)
            mlay.addLayout(line)
        if not svc.materials:
            mlay.addWidget(label(self.tr("no_materials"), "body"))
        mats.setLayout(mlay)
        lay.addWidget(mats)
        lay.addWidget(label(self.tr("guide_steps"), "h2"))
        steps = svc.steps_en if self.lang == "en" and svc.steps_en else svc.steps
        slay = vbox(spacing=self.s(12), margins=(self.s(28), self.s(22), self.s(28), self.s(22)))
        for i, step in enumerate(steps, 1):
            line = hbox(spacing=self.s(16))
            line.addWidget(Badge(str(i), theme.PRIMARY, self.s(52)), 0, Qt.AlignmentFlag.AlignTop)
            line.addWidget(label(step, "body"), 1)
            slay.addLayout(line)
        if not steps:
            slay.addWidget(label(self.tr("no_steps"), "body"))
        lay.addWidget(frame("card", slay))
        lay.addStretch(1)
        content.setLayout(lay)
        self.body.addWidget(self.scroll_area(content), 1)
        if j.checklist_msg:
            ok, text = j.checklist_msg
            self.body.addWidget(label(text, "chipOk" if ok else "chipWarn", name="checklist-msg"))
        actions = hbox(spacing=self.s(20))
        actions.addWidget(button(self.tr("print_checklist"), None, self.go("checklist", svc.id), name="print-checklist"), 1)
        actions.addWidget(button(self.tr("take_number"), "primary", self.go("service", svc.id), name="guide-take"), 1)
        self.body.addLayout(actions)


# ------------------------------------------------------------------ code entry (appointment, status)
class CodeScreen(Screen):
    """Appointment check-in or ticket status: a code typed on the keypad or scanned."""
    name = "code"
    mode = "appointment"

    def build(self) -> None:
        j = self.journey
        appt = self.mode == "appointment"
        self.body.addLayout(self._title_row(self.tr("appt_title" if appt else "status_title")))
        if not appt and j.lookup is not None and j.lookup.kind == "found":
            self._result()
            return
        self.body.addWidget(label(self.tr("appt_body" if appt else "status_body"), "body"))
        edit = QLineEdit(j.code_text)
        edit.setObjectName("code-input")
        edit.setReadOnly(True)
        edit.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        edit.setPlaceholderText(self.tr("appt_placeholder" if appt else "status_placeholder"))
        edit.setAlignment(AC)
        msg = None
        if j.code_busy:
            msg = label(self.tr("appt_checking" if appt else "status_checking"), "chip", name="code-busy")
        elif j.code_error:
            msg = frame("warn", hbox(label(j.code_error, "body", name="code-error"), margins=(24, 14, 24, 14)))
        pad = Keypad(self.lang, self.s(100 if self.portrait else 78))
        pad.key.connect(lambda key: self.intent.emit("key", key))
        if self.portrait:
            self.body.addWidget(edit)
            if msg:
                self.body.addWidget(msg)
            self.body.addStretch(1)
            self.body.addWidget(pad)
        else:
            row = hbox(spacing=self.s(32))
            row.addLayout(vbox(edit, msg, 0, spacing=self.s(20)), 2)
            row.addLayout(vbox(0, pad), 3)
            self.body.addLayout(row, 1)

    def _result(self) -> None:
        j = self.journey
        tk = j.lookup.ticket if j.lookup else None
        if tk is None:
            return
        tight = tk.state == "done"          # room for the five grades, even with elderly sizes in landscape
        pad = self.s(18 if tight else 30)
        card = vbox(spacing=self.s(10 if tight else 14), margins=(self.s(36), pad, self.s(36), pad))
        card.addWidget(label(tk.number, "number_small", align=AC, wrap=False, name="status-number"))
        card.addWidget(label(tk.service_title(self.lang), "h3", align=AC))
        state = label(self.tr(f"state_{tk.state}") if f"state_{tk.state}" in _STATE_KEYS else tk.state,
                      "chipOk" if tk.state in ("serving", "done") else "chip", wrap=False, align=AC, name="status-state")
        card.addWidget(state, 0, AC)
        if tk.state == "waiting":
            card.addWidget(label(self.tr("ahead", n=tk.ahead) if tk.ahead else self.tr("ahead_none"), "big", align=AC,
                                 name="status-ahead"))
            if tk.ahead:
                card.addWidget(label(self.tr("est_wait", m=minutes(tk.est_wait_s) or 1), "h3", align=AC))
        if tk.window and tk.state in ("serving", "held", "waiting"):
            card.addWidget(label(self.tr("called_to", window=tk.window_title(self.lang)), "h1", align=AC,
                                 name="status-window"))
        if tk.state == "done":
            self._evaluation(card, tk)
        self.body.addWidget(frame("card", card))
        self.body.addStretch(1)
        self.body.addWidget(button(self.tr("query_again"), "primary", self.go("status"), name="query-again"))

    def _title_row(self, title: str) -> QHBoxLayout:
        """The screen's title; on the status screen with the two tabs: a queue ticket, or a case (办件)."""
        row = hbox(spacing=self.s(16))
        row.addWidget(label(title, "h1" if not (self.journey.elderly and self.lang == "en") else "h2",
                            name="screen-title"), 1)
        if self.mode == "status":
            for mode in ("ticket", "case"):
                on = self.journey.status_mode == mode
                tab = button(self.tr(f"tab_{mode}"), "primary" if on else None, self.go("status_mode", mode),
                             name=f"tab-{mode}")
                tab.setStyleSheet(f"font-size: {self.s(32)}px; min-height: {self.s(76)}px; "
                                  f"padding: 0 {self.s(24)}px;")
                row.addWidget(tab, 0, Qt.AlignmentFlag.AlignVCenter)
        return row


    def _evaluation(self, card: QVBoxLayout, tk: Ticket) -> None:
        """好差评 for a finished ticket: five large grades, once; the server refuses a second rating."""
        j = self.journey
        if tk.grade is not None:
            card.addWidget(label(self.tr("eval_thanks", grade=self.tr(f"grade_{tk.grade}")), "ok", align=AC,
                                 name="eval-thanks"))
            return
        card.addWidget(label(self.tr("eval_prompt"), "h3", align=AC))
        grades = [button(self.tr(f"grade_{g}"), "danger" if g <= 2 else None, self.go("evaluate", g),
                         name=f"eval-{g}") for g in (5, 4, 3, 2, 1)]
        for b in grades:
            b.setEnabled(not j.eval_busy)
            b.setMinimumHeight(self.s(96))
        if self.portrait:      # two rows fit a 1080-wide screen at elderly sizes
            card.addLayout(hbox(*grades[:3], spacing=self.s(16)))
            card.addLayout(hbox(*grades[3:], spacing=self.s(16)))
        else:
            card.addLayout(hbox(*grades, spacing=self.s(16)))
        if j.eval_busy:
            card.addWidget(label(self.tr("eval_sending"), "chip", align=AC, name="eval-busy"), 0, AC)
        elif j.eval_error:
            card.addWidget(frame("warn", hbox(label(j.eval_error, "body", name="eval-error"),
                                              margins=(24, 14, 24, 14))))


_STATE_KEYS = {f"state_{s}" for s in ("waiting", "serving", "held", "no_show", "done", "transferred", "expired", "cancelled")}


class AppointmentScreen(CodeScreen):
    name = "appointment"
    mode = "appointment"


class StatusScreen(CodeScreen):
    """A queue ticket by its number, verify code or QR (CodeScreen), or a case (办件) by its number and query code."""
    name = "status"
    mode = "status"

    def build(self) -> None:
        if self.journey.status_mode != "case":
            super().build()
            return
        j = self.journey
        self.body.addLayout(self._title_row(self.tr("case_title")))
        if j.case_found is not None and j.case_found.case is not None:
            self._case_result(j.case_found.case)
        else:
            self._case_entry()

    # ---------------------------------------------------------------- entry: number in three parts + query code
    def _field(self, name: str, placeholder: str) -> QPushButton:
        j = self.journey
        value = j.case_part(name)
        shown_text = value or placeholder
        if value and name in ("seq", "code"):       # how many digits are still to come
            shown_text = value + "·" * (len(placeholder) - len(value))
        b = button(shown_text, "fieldOn" if j.case_field == name else "field",
                   self.go("case_field", name), name=f"case-{name}")
        b.setProperty("empty", "true" if not value else "false")
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return b

    def _part(self, name: str, placeholder: str, caption: str) -> QVBoxLayout:
        return vbox(self._field(name, placeholder), label(caption, "muted", align=AC, wrap=False),
                    spacing=self.s(4))

    def _case_entry(self) -> None:
        j = self.journey
        def dash() -> QWidget:
            d = label("–", "h2", wrap=False, align=AC)
            d.setFixedHeight(self.s(88))         # centred on the boxes, not on their captions
            return d

        number = hbox(spacing=self.s(10))
        number.addLayout(self._part("prefix", "A", self.tr("case_part_prefix")), 3)
        number.addWidget(dash(), 0, Qt.AlignmentFlag.AlignTop)
        number.addLayout(self._part("day", "YYYYMMDD", self.tr("case_part_day")), 6)
        number.addWidget(dash(), 0, Qt.AlignmentFlag.AlignTop)
        number.addLayout(self._part("seq", "····", self.tr("case_part_seq")), 4)
        code = hbox(spacing=self.s(10))
        code.addLayout(self._part("code", "······", self.tr("case_part_code")), 1)
        fields = vbox(label(self.tr("case_number"), "h3"), number, spacing=self.s(8))
        if not j.elderly:
            fields.addWidget(label(self.tr("case_tap_hint"), "muted"))
        fields.addSpacing(self.s(8))
        fields.addWidget(label(self.tr("case_code"), "h3"))
        fields.addLayout(code)
        msg = None
        if j.case_busy:
            msg = label(self.tr("case_checking"), "chip", name="case-busy")
        elif j.case_error or j.case_error_text:
            text = j.case_error_text or self.tr(j.case_error)
            msg = frame("warn", hbox(label(text, "body", name="case-error"), margins=(24, 14, 24, 14)))
        kind = "letters" if j.case_field == "prefix" else "digits"
        pad = CasePad(kind, self.lang, self.s((100 if kind == "digits" else 96) if self.portrait else 84))
        pad.key.connect(lambda key: self.intent.emit("case_key", key))
        if self.portrait:
            if not j.elderly:
                self.body.addWidget(label(self.tr("case_body"), "body"))
            self.body.addLayout(fields)
            if msg:
                self.body.addWidget(msg)
            self.body.addStretch(1)
            self.body.addWidget(pad)
        else:
            left = vbox(label(self.tr("case_body"), "body") if not j.elderly else None, fields, msg, 0,
                        spacing=self.s(16))
            row = hbox(spacing=self.s(40))
            row.addLayout(left, 3)
            row.addLayout(vbox(0, pad), 2)
            self.body.addLayout(row, 1)

    # ---------------------------------------------------------------- result: the public view of the case
    def _case_result(self, case: CasePublic) -> None:
        pad = self.s(24 if self.portrait else 14)
        card = vbox(spacing=self.s(12 if self.portrait else 6), margins=(self.s(32), pad, self.s(32), pad))
        number = label(case.number, "caseNumber", wrap=False, name="case-number")
        if not self.portrait:
            number.setStyleSheet(f"font-size: {self.s(56)}px;")
        card.addWidget(number)
        card.addWidget(label(self._service_title(case), "h3", name="case-service"))
        state = hbox(spacing=self.s(20))
        status = label(self.tr(f"case_status_{case.status}"), "h3", wrap=False, name="case-status")
        fg, bg = self._status_colours(case)
        status.setStyleSheet(f"color: {fg}; background: {bg}; border-radius: {self.s(12)}px; "
                             f"padding: {self.s(6)}px {self.s(18)}px;")
        state.addWidget(status)
        if case.result:
            state.addWidget(label(self.tr(f"case_result_{case.result}"), "h3", name="case-result"), 1)
        else:
            state.addStretch(1)
        card.addLayout(state)
        if case.status in _OPEN_CASE and case.due_date:
            card.addWidget(label(self.tr("case_due", date=case.due_date), "body", name="case-due"))
        if case.status in _OPEN_CASE and case.days_left is not None:
            card.addWidget(label(self._days_left(case), "overdue" if case.days_left < 0 else "big",
                                 name="case-days-left"))
        details: list[QWidget | QVBoxLayout] = []
        if case.clock == "stopped":
            details.append(frame("warn", hbox(label(self.tr("case_clock_stopped"), "body", name="case-clock"),
                                              margins=(20, 12, 20, 12))))
        if case.missing:
            key = case.status if case.status in ("needs_materials", "incomplete") else "other"
            items = vbox(label(self.tr(f"case_missing_{key}"), "h3"), spacing=self.s(8))
            for i, m in enumerate(case.missing, 1):
                items.addWidget(label(f"{i}. {m}", "body", name=f"case-missing-{i}"))
            details.append(items)
        again = button(self.tr("case_again"), "primary", self.go("status", "case"), name="case-again")
        if self.portrait:      # everything in the card; the history scrolls under it
            for d in details:
                if isinstance(d, QVBoxLayout):
                    card.addLayout(d)
                else:
                    card.addWidget(d)
            self.body.addWidget(frame("card", card))
            self.body.addWidget(self._history(case, []), 1)
        else:                  # height is scarce: the card on the left, the rest scrolls on the right
            again.setStyleSheet(f"min-height: {self.s(88)}px; font-size: {self.s(36)}px;")
            row = hbox(spacing=self.s(32))
            row.addLayout(vbox(frame("card", card), 0, again, spacing=self.s(16)), 1)
            row.addWidget(self._history(case, details), 1)
            self.body.addLayout(row, 1)
            return
        self.body.addWidget(again)

    def _history(self, case: CasePublic, before: list[QWidget | QVBoxLayout]) -> QWidget:
        """Status and time of every change, oldest first, in a list that scrolls when it is long (after `before`:
        what landscape has no room for in the card)."""
        content = QWidget()
        lay = vbox(*before, label(self.tr("case_history"), "h3"), spacing=self.s(10), margins=(0, 0, self.s(16), 0))
        for i, step in enumerate(case.history):
            line = hbox(spacing=self.s(16))
            words = self.tr(f"case_status_{step.status}")
            if step.change in ("resumed", "extend"):
                words += f" · {self.tr(f'case_change_{step.change}')}"
            line.addWidget(label(_when(step.ts), "muted", wrap=False), 0, Qt.AlignmentFlag.AlignTop)
            line.addWidget(label(words, "body", name=f"case-step-{i}"), 1)
            lay.addLayout(line)
        lay.addStretch(1)
        content.setLayout(lay)
        return self.scroll_area(content, "case-history")

    def _service_title(self, case: CasePublic) -> str:
        if self.lang == "en" and case.service_name_en:
            return case.service_name_en
        if case.service_name and self.lang != "en":
            return case.service_name
        svc = self.journey.catalog.service(case.service) if self.journey.catalog else None
        return svc.title(self.lang) if svc else (case.service_name or case.service)

    @staticmethod
    def _status_colours(case: CasePublic) -> tuple[str, str]:
        """Green for finished well, blue while it runs, amber where the citizen has to act or it ended otherwise."""
        if case.status == "delivered" or (case.status == "done" and case.result != "rejected"):
            return theme.OK, "#E2F2E6"
        if case.status in ("accepted", "in_progress"):
            return theme.PRIMARY_DARK, "#E3ECF7"
        return theme.WARN, theme.WARN_BG

    def _days_left(self, case: CasePublic) -> str:
        n = case.days_left or 0
        natural = "_natural" if case.limit_unit == "natural_days" else ""
        if n == 0:
            return self.tr("case_due_today")
        key = ("case_days_left" if n > 0 else "case_overdue") + natural
        return self.tr(key + "_one") if abs(n) == 1 else self.tr(key, n=abs(n))


_OPEN_CASE = frozenset({"accepted", "in_progress", "needs_materials", "suspended"})


def _when(ts: str) -> str:
    """An ISO timestamp as the hall's wall clock shows it: 2026-11-30 09:41."""
    return ts[:16].replace("T", " ") if len(ts) >= 16 and ts[10] == "T" else ts


# ------------------------------------------------------------------ faults and refusals
class FaultScreen(Screen):
    """Server unreachable, connecting, or the printer out of service: say so plainly, never a made-up number."""
    name = "fault"
    nav = False

    def build(self) -> None:
        j = self.journey
        kind = j.fault_kind()
        self.body.addStretch(1)
        if kind in ("unreachable", "connecting"):
            title, body = (("connecting_title", "connecting_body") if kind == "connecting"
                           else ("unreachable_title", "unreachable_body"))
            icon = "info" if kind == "connecting" else "danger"
        else:
            title = "printer_title"
            body = {"paper_out": "paper_out_body", "cover_open": "cover_open_body"}.get(kind, "printer_offline_body")
            icon = "danger"
        m = self.s(48 if self.portrait else 28)
        box = vbox(spacing=self.s(28 if self.portrait else 16), margins=(m, m, m, m))
        box.addWidget(StatusIcon(icon, self.s(170 if self.portrait else 110)), 0, AC)
        box.addWidget(label(self.tr(title), "h1", align=AC, name="fault-title"))
        box.addWidget(label(self.tr(body), "big" if j.elderly else "h3", align=AC))
        if kind != "connecting":
            box.addWidget(label(self.tr("ask_staff"), "h2", align=AC))
        self.body.addWidget(frame("danger" if icon == "danger" else "card", box))
        self.body.addStretch(1)
        if kind not in ("unreachable", "connecting"):
            self.body.addWidget(label(self.tr("still_available"), "h3"))
            self.body.addWidget(button(self.tr("status"), None, self.go("status"), name="fault-status"))
        self.body.addStretch(1)


class MessageScreen(Screen):
    """The server refused (closed, quota, duplicate holder...): its reason, in the citizen's language."""
    name = "message"

    def build(self) -> None:
        j = self.journey
        o = j.outcome
        self.body.addStretch(1)
        box = vbox(spacing=self.s(24), margins=(self.s(48), self.s(48), self.s(48), self.s(48)))
        box.addWidget(StatusIcon("warn", self.s(150)), 0, AC)
        box.addWidget(label(self.tr("refused_title"), "h1", align=AC))
        text = error_text(o.code, o.message, o.message_zh, self.lang) if o else ""
        box.addWidget(label(text, "h2", align=AC, name="refusal"))
        self.body.addWidget(frame("card", box))
        self.body.addStretch(2)
        self.body.addWidget(button(self.tr("home"), "primary", self.go("home"), name="message-home"))

