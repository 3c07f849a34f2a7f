"""The kiosk's look: one palette, one font family, one stylesheet scaled for normal and elderly mode."""
from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

# 政务蓝 primary; high-contrast text on a light background (WCAG AA at least, mostly AAA).
PRIMARY = "#0B4F9C"
PRIMARY_DARK = "#083A73"
ACCENT = "#E8A317"
BG = "#EEF2F7"
CARD = "#FFFFFF"
TEXT = "#0F1B2D"
MUTED = "#3D4B5C"
LINE = "#C9D3DF"
OK = "#1B7F3B"
WARN_BG = "#FFF4D6"
WARN = "#7A4D00"
DANGER = "#B3261E"
DANGER_BG = "#FDECEA"

ZONE_COLOURS = ["#1565C0", "#2E7D32", "#C62828", "#6A1B9A", "#D35400", "#00796B", "#455A64", "#AD1457"]

FAMILY = "Noto Sans CJK SC"


def zone_colour(index: int) -> str:
    return ZONE_COLOURS[index % len(ZONE_COLOURS)]


def install_font(app: QApplication) -> str:
    """Use Noto Sans CJK SC when installed (fonts-noto-cjk); Qt falls back per glyph otherwise."""
    families = set(QFontDatabase.families())
    family = FAMILY if FAMILY in families else next((f for f in families if "CJK SC" in f), app.font().family())
    font = QFont(family)
    font.setPixelSize(30)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    app.setFont(font)
    return family


def px(base: int, scale: float) -> int:
    return int(round(base * scale))


def stylesheet(scale: float = 1.0, family: str = FAMILY) -> str:
    """scale 1.0: body 30 px; elderly mode uses ~1.25."""
    def p(n: int) -> str:
        return f"{px(n, scale)}px"
    return f"""
* {{ font-family: "{family}"; color: {TEXT}; }}
QWidget#root {{ background: {BG}; }}
QWidget#screen {{ background: {BG}; }}
QLabel {{ font-size: {p(30)}; background: transparent; }}
QLabel[cls="h1"] {{ font-size: {p(54)}; font-weight: 700; }}
QLabel[cls="h2"] {{ font-size: {p(40)}; font-weight: 700; }}
QLabel[cls="h3"] {{ font-size: {p(34)}; font-weight: 700; }}
QLabel[cls="body"] {{ font-size: {p(30)}; }}
QLabel[cls="muted"] {{ font-size: {p(28)}; color: {MUTED}; }}
QLabel[cls="en"] {{ font-size: {p(28)}; color: {MUTED}; }}
QLabel[cls="number"] {{ font-size: {p(230)}; font-weight: 800; color: {PRIMARY}; }}
QLabel[cls="number_small"] {{ font-size: {p(120)}; font-weight: 800; color: {PRIMARY}; }}
QLabel[cls="big"] {{ font-size: {p(44)}; font-weight: 700; }}
QLabel[cls="ok"] {{ font-size: {p(40)}; font-weight: 700; color: {OK}; }}

QWidget#header {{ background: qlineargradient(x1:0, y1:0, x2:1, y2:0, stop:0 {PRIMARY_DARK}, stop:1 {PRIMARY}); }}
QWidget#header QLabel {{ color: white; }}
QLabel#hallName {{ font-size: 40px; font-weight: 700; }}
QLabel#hallNameEn {{ font-size: 28px; color: #D6E4F5; }}
QLabel#clock {{ font-size: 48px; font-weight: 700; }}
QLabel#date {{ font-size: 28px; color: #D6E4F5; }}
QLabel#emblem {{ background: white; color: {PRIMARY}; border-radius: {p(40)}; font-size: {p(40)}; font-weight: 800; }}

QWidget#footer {{ background: {CARD}; border-top: 2px solid {LINE}; }}

QPushButton {{ font-size: {p(32)}; font-weight: 600; border-radius: {p(18)}; padding: {p(10)} {p(26)};
              min-height: {p(66)}; background: {CARD}; border: 3px solid {PRIMARY}; color: {PRIMARY}; }}
QPushButton:pressed {{ background: #D9E6F5; }}
QPushButton:disabled {{ border-color: {LINE}; color: #8592A3; background: #F4F6F9; }}
QPushButton[cls="primary"] {{ background: {PRIMARY}; color: white; border: none; font-size: {p(40)}; min-height: {p(110)}; }}
QPushButton[cls="primary"]:pressed {{ background: {PRIMARY_DARK}; }}
QPushButton[cls="primary"]:disabled {{ background: #9FB3CB; color: #EEF2F7; }}
QPushButton[cls="nav"] {{ font-size: {p(32)}; min-width: 150px; min-height: {p(72)}; padding: 8px 18px; }}
QPushButton[cls="headerbtn"] {{ background: transparent; color: white; border: 3px solid white; font-size: {p(30)};
              min-height: {p(70)}; padding: {p(6)} {p(22)}; }}
QPushButton[cls="headerbtn"]:pressed {{ background: rgba(255,255,255,0.2); }}
QPushButton[cls="key"] {{ font-size: {p(40)}; font-weight: 700; min-height: {p(96)}; min-width: {p(80)}; padding: 0;
              border: 2px solid {LINE}; color: {TEXT}; }}
QPushButton[cls="key"]:pressed {{ background: #D9E6F5; }}
QPushButton[cls="word"], QPushButton[cls="wordOn"] {{ font-size: {p(30)}; font-weight: 700; min-height: {p(72)};
              min-width: 0; padding: 0 {p(8)}; border: 2px solid {LINE}; border-radius: {p(36)}; color: {PRIMARY_DARK}; }}
QPushButton[cls="wordOn"] {{ background: {PRIMARY}; border-color: {PRIMARY}; color: white; }}
QPushButton[cls="danger"] {{ border-color: {DANGER}; color: {DANGER}; }}

QPushButton[cls="tile"] {{ background: {CARD}; border: 2px solid {LINE}; border-radius: {p(24)}; padding: 0; text-align: left; }}
QPushButton[cls="tile"]:pressed {{ background: #E3ECF7; }}
QPushButton[cls="tile"] QLabel {{ background: transparent; }}
QLabel[cls="tileTitle"] {{ font-size: {p(40)}; font-weight: 700; }}
QLabel[cls="tileTitleL"] {{ font-size: {p(36)}; font-weight: 700; }}
QLabel[cls="tileSub"] {{ font-size: {p(28)}; color: {MUTED}; }}
QLabel[cls="tileStat"] {{ font-size: {p(30)}; font-weight: 700; }}
QLabel[cls="badge"] {{ color: white; font-size: {p(44)}; font-weight: 800; border-radius: {p(16)}; }}
QLabel[cls="chip"] {{ font-size: {p(28)}; font-weight: 600; border-radius: {p(12)}; padding: {p(4)} {p(14)};
              background: #E3ECF7; color: {PRIMARY_DARK}; }}
QLabel[cls="chipOk"] {{ font-size: {p(28)}; font-weight: 600; border-radius: {p(12)}; padding: {p(4)} {p(14)};
              background: #E2F2E6; color: {OK}; }}
QLabel[cls="chipWarn"] {{ font-size: {p(28)}; font-weight: 600; border-radius: {p(12)}; padding: {p(4)} {p(14)};
              background: {WARN_BG}; color: {WARN}; }}

QFrame[cls="card"] {{ background: {CARD}; border: 2px solid {LINE}; border-radius: {p(24)}; }}
QFrame[cls="card"] QLabel {{ background: transparent; }}
QFrame[cls="hint"] {{ background: #E3ECF7; border-radius: {p(24)}; border: none; }}
QFrame[cls="greet"] {{ background: #E2F2E6; border: 3px solid {OK}; border-radius: {p(24)}; }}
QFrame[cls="warn"] {{ background: {WARN_BG}; border: 3px solid {ACCENT}; border-radius: {p(20)}; }}
QFrame[cls="warn"] QLabel {{ color: {WARN}; font-weight: 600; }}
QFrame[cls="danger"] {{ background: {DANGER_BG}; border: 3px solid {DANGER}; border-radius: {p(24)}; }}
QFrame[cls="danger"] QLabel[cls="h1"] {{ color: {DANGER}; }}
QFrame[cls="sep"] {{ background: {LINE}; border: none; max-height: 2px; min-height: 2px; }}

QLineEdit {{ font-size: {p(48)}; font-weight: 700; padding: {p(10)} {p(20)}; border: 3px solid {PRIMARY};
            border-radius: {p(16)}; background: white; min-height: {p(90)}; letter-spacing: 4px; }}
QPushButton[cls="field"], QPushButton[cls="fieldOn"] {{ font-size: {p(48)}; font-weight: 700; background: white;
              border: 3px solid {LINE}; border-radius: {p(16)}; min-height: {p(88)}; padding: 0 {p(16)}; color: {TEXT}; }}
QPushButton[cls="fieldOn"] {{ border: {p(5)} solid {PRIMARY}; background: #F3F8FF; }}
QPushButton[cls="field"][empty="true"], QPushButton[cls="fieldOn"][empty="true"] {{ color: #8592A3; }}
QLabel[cls="caseNumber"] {{ font-size: {p(66)}; font-weight: 800; color: {PRIMARY}; }}
QLabel[cls="overdue"] {{ font-size: {p(44)}; font-weight: 700; color: {DANGER}; }}
QProgressBar {{ border: none; border-radius: {p(16)}; background: #D5DEEA; min-height: {p(32)}; max-height: {p(32)};
               text-align: center; font-size: {p(24)}; color: transparent; }}
QProgressBar::chunk {{ border-radius: {p(16)}; background: {PRIMARY}; }}
QScrollArea {{ background: transparent; border: none; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QScrollBar:vertical {{ width: {p(18)}; background: transparent; }}
QScrollBar::handle:vertical {{ background: #9FB3CB; border-radius: {p(9)}; min-height: 80px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
"""
