"""`onewindow report`: a business day, a week, a month or any range of days of a hall as a self-contained, printable
HTML page (hand-drawn SVG charts, a print stylesheet for A4), CSVs per grouping, and on request a PDF (Chromium's
print-to-PDF). The numbers come from hall_server.report_range (and the cases' from hall_server.report_cases).

    onewindow report --config config/hall.toml --data var/data [--day D | --week D | --month YYYY-MM |
                     --from D --to D] [--out DIR] [--pdf]
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from hall_bus.configfile import ConfigError
from hall_bus.hall import window_number
from hall_server import report_cases, report_range
from hall_server.config import HallConfig, load_hall_config
from hall_server.report_range import (ALERT_KINDS, GRADES, NO_STAFF, NO_STAFF_LABEL, SATISFIED, Group, Period,
                                      Report, TicketRow)
from hall_server.stats import percentile
from hall_server.store import Store

__all__ = ["build", "render_html", "write_csvs", "render_pdf", "run", "Report", "DayReport", "Group", "TicketRow",
           "Axis", "value_axis", "column_chart", "bar_chart", "GRADES", "SATISFIED", "ALERT_KINDS"]

DayReport = Report          # the report of one day is a report of a period of one day
GRADE_COLOURS = {1: "#c0392b", 2: "#e67e22", 3: "#f1c40f", 4: "#7dbb42", 5: "#27ae60"}
ZONE_COLOURS = ["#1f6fb2", "#2a9d8f", "#e9a23b", "#c8553d", "#7b5ea7", "#5c946e", "#8d6e63", "#3d5a80"]
FONT = "'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei','PingFang SC',sans-serif"
WEEKDAYS_ZH = "一二三四五六日"

# The columns of the CSVs: what happened, counted, never who was served (no holder ref, name, birth date, phone,
# appointment code, verify code, token or comment).
TICKET_COLUMNS = ["day", "number", "service", "service_name", "zone", "zone_name", "channel", "priority", "state",
                  "issued_at", "first_called_at", "called_at", "finished_at", "window", "staff", "wait_s",
                  "service_s", "calls", "grade"]
STAT_COLUMNS = ["tickets", "called", "served", "no_show", "held", "expired", "median_wait_s", "avg_wait_s",
                "p90_wait_s", "median_service_s", "avg_service_s", "no_show_rate", "evaluations", "satisfied", "bad",
                "avg_grade", "satisfaction_rate", "pauses", "pause_minutes"]
ZONE_COLUMNS = ["zone", "name", "name_en", *STAT_COLUMNS]
SERVICE_COLUMNS = ["service", "name", "name_en", "zone", "department", *STAT_COLUMNS]
DEPARTMENT_COLUMNS = ["department", "name", "name_en", *STAT_COLUMNS]
WINDOW_COLUMNS = ["window", "name", "name_en", "zone", *STAT_COLUMNS, "transferred_out"]
STAFF_COLUMNS = ["staff", *STAT_COLUMNS]
DAY_COLUMNS = ["day", "weekday", *STAT_COLUMNS, "alerts", "cases_accepted", "cases_done", "cases_done_on_time"]
ALERT_COLUMNS = ["ts", "kind", "kind_zh", "ticket", "window", "zone", "seconds", "grade", "text_zh", "case",
                 "acked_at", "followup_s"]
CSV_NAMES = ("zones", "services", "departments", "windows", "staff", "days", "alerts", "cases")   # + tickets: a day


def build(store: Store, config: HallConfig, period: Period | date) -> Report:
    """The report of a day (a date) or a period (report_range.Period) from the store."""
    return report_range.build(store, config, period)


# ---------------------------------------------------------------- CSV
def _fmt(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _iso(d: datetime | None) -> str:
    return d.isoformat() if d else ""


def _write_csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:     # BOM: Excel reads it as UTF-8
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _stats(g: Group, bad_grade: int) -> list[Any]:
    return [g.tickets, g.called, g.served, g.no_show, g.held, g.expired, _fmt(g.median_wait_s, 0),
            _fmt(g.avg_wait_s), _fmt(g.p90_wait_s, 0), _fmt(g.median_service_s, 0), _fmt(g.avg_service_s),
            _fmt(g.no_show_rate, 4), g.evaluations, g.satisfied, g.bad(bad_grade), _fmt(g.avg_grade, 2),
            _fmt(g.satisfaction_rate, 4), g.pauses, _fmt(g.pause_minutes)]


def staff_order(rep: Report) -> list[str]:
    """Signed-in staff members by tickets served (most first), then the tickets of no one signed in."""
    named = sorted((k for k, g in rep.staff.items() if k != NO_STAFF and (g.tickets or g.pauses)),
                   key=lambda k: (-rep.staff[k].served, -rep.staff[k].tickets, k))
    return named + ([NO_STAFF] if NO_STAFF in rep.staff and (rep.staff[NO_STAFF].tickets
                                                             or rep.staff[NO_STAFF].pauses) else [])


def _extra_keys(groups: dict[str, Group], known: Iterable[str]) -> list[str]:
    """Groups met in the record but gone from the config (a service removed since), after the config's."""
    seen = set(known)
    return sorted(k for k, g in groups.items() if k not in seen and (g.tickets or g.called or g.pauses))


def write_csvs(rep: Report, out: Path) -> dict[str, Path]:
    """Every CSV of the report into `out`: one per grouping (zones, services, departments, windows, staff, days),
    alerts and cases (its header only when there were no cases), and for a single day also tickets.csv."""
    cfg, bad = rep.config, rep.config.supervision.bad_grade
    svc_by, zone_by, dept_by = cfg.services_by_id, cfg.zones_by_id, cfg.departments_by_id

    def ticket_row(r: TicketRow) -> list[Any]:
        svc, zone = svc_by.get(r.service), zone_by.get(r.zone)
        return [r.day.isoformat(), r.number, r.service, svc.name if svc else "", r.zone, zone.name if zone else "",
                r.channel, int(r.priority), r.state, _iso(r.issued_at), _iso(r.first_called_at), _iso(r.called_at),
                _iso(r.finished_at), r.window or "", r.staff or "", _fmt(r.wait_s, 0), _fmt(r.service_s, 0),
                r.calls, r.grade or ""]

    def alert_row(a: dict[str, Any]) -> list[Any]:
        followup = ""
        if a["kind"] == "bad_evaluation" and a.get("acked_at") and a.get("ts"):
            followup = _fmt(max(0.0, (datetime.fromisoformat(a["acked_at"])
                                      - datetime.fromisoformat(a["ts"])).total_seconds()), 0)
        return [a.get("ts", ""), a["kind"], ALERT_KINDS[a["kind"]][0], a.get("ticket", ""), a.get("window", ""),
                a.get("zone", ""), a.get("waited_s") or a.get("paused_s") or "", a.get("grade", ""),
                a.get("text_zh", ""), a.get("case", ""), a.get("acked_at") or "", followup]

    zones = [z.id for z in cfg.zones] + _extra_keys(rep.zones, zone_by)
    services = [s.id for s in cfg.services] + _extra_keys(rep.services, svc_by)
    depts = [d.id for d in cfg.departments] + _extra_keys(rep.departments, dept_by)
    windows = [w.id for w in cfg.windows] + _extra_keys(rep.windows, cfg.windows_by_id)
    case_days = rep.cases.per_day() if rep.cases is not None else {}

    def named(obj: Any) -> list[str]:
        return [obj.name, obj.name_en] if obj is not None else ["", ""]

    def zone_row(k: str) -> list[Any]:
        return [k, *named(zone_by.get(k)), *_stats(rep.zones[k], bad)]

    def service_row(k: str) -> list[Any]:
        s = svc_by.get(k)
        return [k, *named(s), s.zone if s else "", s.department if s else "", *_stats(rep.services[k], bad)]

    def dept_row(k: str) -> list[Any]:
        d = dept_by.get(k)
        return [k, d.name if d else "", d.name_en if d else "", *_stats(rep.departments[k], bad)]

    def window_row(k: str) -> list[Any]:
        w = cfg.windows_by_id.get(k)
        g = rep.windows[k]
        return [k, *named(w), w.zone if w else "", *_stats(g, bad), g.transferred_out]

    def day_row(d: date) -> list[Any]:
        c = case_days.get(d, Counter())
        return [d.isoformat(), d.isoweekday(), *_stats(rep.days[d], bad), rep.days[d].alerts,
                c["accepted"], c["done"], c["done_on_time"]]

    files: dict[str, Path] = {}
    if rep.period.single_day:      # a day's report lists its tickets; a month's would be 180,000 rows
        tickets = sorted(rep.tickets, key=lambda r: (r.issued_at, r.number))
        files["tickets"] = _write_csv(out / "tickets.csv", TICKET_COLUMNS, map(ticket_row, tickets))
    files |= {
        "zones": _write_csv(out / "zones.csv", ZONE_COLUMNS, map(zone_row, zones)),
        "services": _write_csv(out / "services.csv", SERVICE_COLUMNS, map(service_row, services)),
        "departments": _write_csv(out / "departments.csv", DEPARTMENT_COLUMNS,
                                  map(dept_row, [d for d in depts if d in rep.departments])),
        "windows": _write_csv(out / "windows.csv", WINDOW_COLUMNS, map(window_row, windows)),
        "staff": _write_csv(out / "staff.csv", STAFF_COLUMNS,
                            ([k, *_stats(rep.staff[k], bad)] for k in staff_order(rep))),
        "days": _write_csv(out / "days.csv", DAY_COLUMNS, map(day_row, rep.period.days)),
        "alerts": _write_csv(out / "alerts.csv", ALERT_COLUMNS, map(alert_row, rep.alerts)),
    }
    if rep.cases is not None:
        files["cases"] = report_cases.write_csv(rep.cases, out, _write_csv)
    else:
        files["cases"] = _write_csv(out / "cases.csv", report_cases.CASE_COLUMNS, [])
    return files


# ---------------------------------------------------------------- axes
@dataclass(frozen=True)
class Axis:
    """A value axis: `top` and `ticks` in the values' own unit (seconds for durations), `labels` in the axis's
    display unit (`unit`: "s", "min", "h" for durations, "" for counts, "%" ...), `scale` values per display unit."""
    top: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]
    unit: str = ""
    scale: float = 1.0
    decimals: int = 0

    def value(self, v: float) -> str:
        """A value (a bar's end) in the axis's unit: one decimal more than the ticks when it is not whole."""
        x = v / self.scale
        if abs(x - round(x)) < 1e-9 or abs(x) >= 100:
            return f"{x:.0f}"
        return f"{x:.{min(3, self.decimals + 1)}f}"


DURATION_UNITS = (("s", 1.0, 120.0), ("min", 60.0, 7200.0), ("h", 3600.0, math.inf))   # unit, scale, below
UNIT_ZH = {"s": "秒", "min": "分钟", "h": "小时"}


def _nice_step(raw: float) -> float:
    """The smallest step of 1, 2 or 5 × 10^n at or above raw."""
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag * (1 + 1e-9):
            return m * mag
    return 10 * mag


def value_axis(vmax: float, kind: str = "count", *, unit: str = "", max_ticks: int = 5) -> Axis:
    """An axis from 0 to at least vmax with at most about max_ticks nice steps (1, 2, 5 × 10^n in the display
    unit). kind "duration": vmax in seconds, shown in seconds under 2 minutes, minutes under 2 hours, hours beyond;
    "count": whole steps only; "number": any step, `unit` appended to the labels (e.g. "%"). Tick labels never
    round to the same text."""
    scale = 1.0
    if kind == "duration":
        unit, scale = next((u, sc) for u, sc, below in DURATION_UNITS if vmax < below)
    v = max(0.0, vmax) / scale
    if v <= 0:
        step = 1.0
    else:
        step = _nice_step(v / max_ticks)
        if kind == "count" or (kind == "duration" and unit == "s"):
            step = max(1.0, step)      # no fractional counts, no fractional seconds
    n = max(1, math.ceil(v / step - 1e-9))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    ticks = tuple(round(step * i, 9) for i in range(n + 1))
    labels = tuple(f"{t:.{decimals}f}" for t in ticks)
    return Axis(round(step * n, 9) * scale, tuple(t * scale for t in ticks), labels, unit, scale, decimals)


def _axis(v: float, max_ticks: int = 5, whole: bool = False) -> tuple[float, list[float]]:
    """A round axis maximum at or above v and its ticks (kept for callers of the daily report's helper)."""
    a = value_axis(v, "count" if whole else "number", max_ticks=max_ticks)
    return a.top, list(a.ticks)


# ---------------------------------------------------------------- SVG charts (drawn by hand: no JS, no CSS files)
def _text(x: float, y: float, s: str, *, size: int = 12, anchor: str = "middle", fill: str = "#333",
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" {extra}>'
            f'{escape(s)}</text>')


def _legend(series: list[tuple[str, str, list[float]]], right_edge: float) -> list[str]:
    """Colour keys of a chart with more than one series, right-aligned in its top margin."""
    if len(series) < 2:
        return []
    parts, lx = [], right_edge
    for name, colour, _vals in reversed(series):
        lx -= 12 + 7 * len(name) + 24
        parts.append(f'<rect x="{lx:.1f}" y="12" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(lx + 16, 22, name, size=11, anchor="start"))
    return parts


def _unit_caption(axis: Axis) -> str:
    if axis.unit in UNIT_ZH:
        return f"{UNIT_ZH[axis.unit]} {axis.unit}"
    return ""


def _svg_head(chart_id: str, title: str, width: int, height: int, x_title: float) -> list[str]:
    return [f'<svg id="{escape(chart_id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
            f'font-family="{FONT}">', f'<title>{escape(title)}</title>',
            _text(x_title, 22, title, size=15, anchor="start", fill="#1a1a1a", extra='font-weight="bold"')]


def column_chart(chart_id: str, title: str, labels: list[str], series: list[tuple[str, str, list[float]]], *,
                 width: int = 860, height: int = 300, rotate_labels: bool = False, unit: str = "",
                 colours: list[str] | None = None, kind: str = "count") -> str:
    """Vertical bars, one group per label, one bar per series (name, colour, values); kind "count", "duration"
    (values in seconds, axis in the unit that fits) or "number" (with `unit`)."""
    left, right, top = 56, 16, 40
    bottom = 50 if rotate_labels else 46
    plot_w, plot_h = width - left - right, height - top - bottom
    axis = value_axis(max((v for _n, _c, vals in series for v in vals), default=0), kind, unit=unit)
    suffix = axis.unit if kind == "number" else ""
    parts = _svg_head(chart_id, title, width, height, left)
    caption = _unit_caption(axis)
    if caption:
        parts.append(_text(left - 6, top - 8, caption, size=10, anchor="end", fill="#666"))
    for v, label in zip(axis.ticks, axis.labels):
        y = top + plot_h - plot_h * v / axis.top
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_text(left - 6, y + 4, label + suffix, size=11, anchor="end", fill="#666"))
    if not labels or not any(v for _n, _c, vals in series for v in vals):
        parts.append(_text(left + plot_w / 2, top + plot_h / 2, "无数据 No data", size=14, fill="#999"))
    n = max(1, len(labels))
    slot = plot_w / n
    bar_w = max(2.0, min(40.0, slot * 0.8 / max(1, len(series))))
    show_values = bar_w >= 12 and not (len(series) > 1 and n > 12)
    for i, label in enumerate(labels):
        x0 = left + slot * i + (slot - bar_w * len(series)) / 2
        for j, (name, colour, vals) in enumerate(series):
            v = vals[i]
            h = plot_h * v / axis.top
            fill = colours[i] if colours and len(series) == 1 else colour
            x, y = x0 + j * bar_w, top + plot_h - h
            shown = axis.value(v) + (f" {axis.unit}" if axis.unit and kind == "duration" else suffix)
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{fill}"><title>{escape(label)} {escape(name)}: {escape(shown)}</title></rect>')
            if v and show_values:
                parts.append(_text(x + (bar_w - 1) / 2, y - 4, axis.value(v), size=10, fill="#444"))
        cx = left + slot * i + slot / 2
        if rotate_labels:
            parts.append(_text(cx + 3, top + plot_h + 6, label, size=9, anchor="end",
                               extra=f'transform="rotate(-90 {cx + 3:.1f} {top + plot_h + 6:.1f})"'))
        else:
            parts.append(_text(cx, top + plot_h + 16, label, size=11))
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>')
    parts += _legend(series, left + plot_w)
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(chart_id: str, title: str, labels: list[str], series: list[tuple[str, str, list[float]]], *,
              width: int = 860, unit: str = "", kind: str = "number") -> str:
    """Horizontal bars, one row per label (long Chinese names read better this way); kind as column_chart's."""
    left, right, top, row = 250, 70, 44, 18 * max(1, len(series)) + 12
    height = top + row * max(1, len(labels)) + 24
    plot_w = width - left - right
    axis = value_axis(max((v for _n, _c, vals in series for v in vals), default=0), kind, unit=unit)
    suffix = axis.unit if kind == "number" else ""
    unit_note = f" {axis.unit}" if kind == "duration" else suffix
    parts = _svg_head(chart_id, title, width, height, 12)
    caption = _unit_caption(axis)
    if caption:
        parts.append(_text(left - 8, height - 6, caption, size=10, anchor="end", fill="#666"))
    for v, label in zip(axis.ticks, axis.labels):
        x = left + plot_w * v / axis.top
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 22}" stroke="#e3e3e3"/>')
        parts.append(_text(x, height - 6, label + suffix, size=10, fill="#666"))
    for i, label in enumerate(labels):
        y0 = top + row * i
        parts.append(_text(left - 8, y0 + row / 2 + 2, label, size=12, anchor="end"))
        for j, (name, colour, vals) in enumerate(series):
            v = vals[i]
            w = plot_w * v / axis.top
            y = y0 + 6 + j * 18
            parts.append(f'<rect class="bar" x="{left}" y="{y:.1f}" width="{w:.1f}" height="15" fill="{colour}">'
                         f'<title>{escape(label)} {escape(name)}: {escape(axis.value(v) + unit_note)}</title></rect>')
            parts.append(_text(left + w + 4, y + 12, axis.value(v) + unit_note, size=10, anchor="start",
                               fill="#444"))
    parts += _legend(series, width - right)
    parts.append("</svg>")
    return "\n".join(parts)


# ---------------------------------------------------------------- HTML
def _clock(s: float | None) -> str:
    """A duration as m:ss (h:mm:ss from an hour): tables and cards of waits and service times."""
    if s is None:
        return "—"
    t = int(round(s))
    h, rest = divmod(t, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _minutes(s: float | None) -> str:
    return "—" if s is None else f"{s / 60:.1f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _cell_row(name_html: str, g: Group, bad_grade: int, *, waits: bool = True, pauses: bool = False,
              cls: str = "") -> str:
    """A group's row in the tables (pauses: of windows, staff members and days only, where they are known)."""
    wait_cells = (f"<td>{_clock(g.median_wait_s)}</td><td>{_clock(g.p90_wait_s)}</td>" if waits else "")
    pause_cells = f"<td>{g.pauses}</td><td>{g.pause_minutes:.0f}</td>" if pauses else ""
    tr = f'<tr class="{cls}">' if cls else "<tr>"
    return (f"{tr}<td>{name_html}</td><td>{g.tickets}</td>"
            f"<td>{g.served}</td><td>{g.no_show}</td>{wait_cells}<td>{_clock(g.avg_service_s)}</td>"
            f"<td>{g.evaluations}</td><td>{g.satisfied}</td><td>{g.bad(bad_grade)}</td>"
            f"<td>{_pct(g.satisfaction_rate)}</td>{pause_cells}</tr>")


def _head_row(first: str, *, waits: bool = True, pauses: bool = False) -> str:
    wait_heads = "<th>等候中位<br>Median wait</th><th>P90 等候<br>P90 wait</th>" if waits else ""
    pause_heads = "<th>暂停<br>Pauses</th><th>暂停(分)<br>Paused min</th>" if pauses else ""
    return (f"<thead><tr><th>{first}</th><th>取号<br>Tickets</th><th>办结<br>Served</th><th>过号<br>No-show</th>"
            f"{wait_heads}<th>平均办理<br>Avg service</th><th>评价<br>Evals</th><th>好评<br>Good</th>"
            f"<th>差评<br>Bad</th><th>满意率<br>Satisf.</th>{pause_heads}</tr></thead>")


def _name2(zh: str, en: str) -> str:
    return f"{escape(zh)}<br><small>{escape(en)}</small>" if en and en != zh else escape(zh)


CSS = """
body { font-family: FONT; margin: 24px auto; max-width: 900px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 2px; } h1 small { font-weight: normal; color: #555; font-size: 15px; }
.sub { color: #666; margin-bottom: 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 20px; }
.card { flex: 1 1 140px; border: 1px solid #dde3ea; border-radius: 6px; padding: 10px 12px; background: #f7f9fb; }
.card .v { font-size: 22px; font-weight: bold; color: #1f4e79; } .card .k { font-size: 12px; color: #555; }
section { margin: 18px 0 26px; } svg.chart { max-width: 100%; height: auto; display: block; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 5px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f0f3f6; font-weight: normal; font-size: 12px; }
table.groups td { font-variant-numeric: tabular-nums; } tr.none td { color: #777; font-style: italic; }
.key { display: inline-block; margin-right: 12px; font-size: 12px; }
.key i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
footer { color: #888; font-size: 12px; margin-top: 30px; }
h2 { font-size: 17px; margin: 0 0 6px; border-bottom: 2px solid #1f4e79; padding-bottom: 3px; }
table.alerts td { text-align: left; } small { color: #666; }
.print-only { display: none; }
@page { size: A4; margin: 12mm 11mm 13mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.major { break-before: page; }
  svg.chart, .cards, .card, tr, h2, h3 { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  thead { display: table-header-group; }
  table { font-size: 9.5px; } th { font-size: 9px; } th, td { padding: 3px 4px; }
  .card { padding: 6px 8px; } .card .v { font-size: 17px; } .card .k { font-size: 10px; }
  .screen-only, title { display: none; } .print-only { display: block; }
  footer { font-size: 9px; }
}
""".replace("FONT", FONT)


def _day_label(d: date, many: bool) -> str:
    return f"{d:%m-%d}" if many else f"{d:%m-%d} {WEEKDAYS_ZH[d.weekday()]}"


def render_html(rep: Report) -> str:
    cfg, h, period = rep.config, rep.hall, rep.period
    bad = cfg.supervision.bad_grade
    single = period.single_day
    charts: list[str] = []

    # ---- the trend across the period
    trend = ""
    if not single:
        days = period.days
        many = len(days) > 10
        labels = [_day_label(d, many) for d in days]
        per_day = column_chart(
            "chart-days", "每日取号与办结 Tickets issued and served per day", labels,
            [("取号 Issued", "#1f6fb2", [float(rep.days[d].tickets) for d in days]),
             ("办结 Served", "#2a9d8f", [float(rep.days[d].served) for d in days])], rotate_labels=many, height=300)
        wait_day = column_chart(
            "chart-days-wait", "每日等候时间 Waiting time per day (median, P90)", labels,
            [("中位 Median", "#1f6fb2", [rep.days[d].median_wait_s or 0.0 for d in days]),
             ("P90", "#e9a23b", [rep.days[d].p90_wait_s or 0.0 for d in days])],
            rotate_labels=many, height=300, kind="duration")
        trend = f'<section id="trend">\n<h2>每日趋势 Day by day</h2>\n{per_day}\n{wait_day}\n</section>'

    hours = sorted(set(rep.issued_per_hour) | set(rep.served_per_hour) | set(range(8, 18)))
    hours = list(range(hours[0], hours[-1] + 1))
    per_hour = column_chart(
        "chart-hourly", "每小时取号与办结 Tickets issued and served per hour" + ("" if single else "（合计 total）"),
        [f"{hh:02d}" for hh in hours],
        [("取号 Issued", "#1f6fb2", [float(rep.issued_per_hour[hh]) for hh in hours]),
         ("办结 Served", "#2a9d8f", [float(rep.served_per_hour[hh]) for hh in hours])])

    # ---- zones
    zone_wait = bar_chart(
        "chart-zone-wait", "各区等候时间 Waiting time per zone",
        [f"{z.name} {z.name_en}" if len(z.name_en) < 18 else z.name for z in cfg.zones],
        [("中位 Median", "#1f6fb2", [rep.zones[z.id].median_wait_s or 0.0 for z in cfg.zones]),
         ("P90", "#e9a23b", [rep.zones[z.id].p90_wait_s or 0.0 for z in cfg.zones])], kind="duration")
    zone_rows = "\n".join(_cell_row(_name2(z.name, z.name_en), rep.zones[z.id], bad) for z in cfg.zones)

    # ---- services and departments (those with tickets)
    svc_ids = [s.id for s in cfg.services if rep.services.get(s.id, Group()).tickets] + \
        _extra_keys(rep.services, cfg.services_by_id)
    service_rows = "\n".join(
        _cell_row(_name2(s.name, s.name_en) if s else escape(sid), rep.services[sid], bad)
        for sid in svc_ids for s in [cfg.services_by_id.get(sid)])
    dept_ids = [d.id for d in cfg.departments if rep.departments.get(d.id, Group()).tickets] + \
        [k for k in _extra_keys(rep.departments, cfg.departments_by_id)]
    dept_rows = "\n".join(
        _cell_row(_name2(cfg.department_name(d), cfg.department_name(d, "en")) if d else "— <small>no department</small>",
                  rep.departments[d], bad) for d in dept_ids)

    # ---- windows
    zone_colour = {z.id: ZONE_COLOURS[i % len(ZONE_COLOURS)] for i, z in enumerate(cfg.zones)}
    active = [w for w in cfg.windows if rep.windows[w.id].served or rep.windows[w.id].called
              or rep.windows[w.id].pauses]
    per_window = column_chart(
        "chart-windows", "各窗口办结件数 Tickets served per window",
        [str(window_number(w.name, w.id) or w.name) for w in active],
        [("办结 Served", "#2a9d8f", [float(rep.windows[w.id].served) for w in active])],
        rotate_labels=len(active) > 16, colours=[zone_colour[w.zone] for w in active], height=320)
    window_rows = "\n".join(_cell_row(escape(w.name), rep.windows[w.id], bad, waits=False, pauses=True)
                            for w in active)
    legend = " ".join(f'<span class="key"><i style="background:{zone_colour[z.id]}"></i>{escape(z.name)}</span>'
                      for z in cfg.zones)

    # ---- staff
    staff_rows = "\n".join(
        _cell_row(escape(k) if k != NO_STAFF else f"{NO_STAFF_LABEL} <small>not signed in</small>",
                  rep.staff[k], bad, pauses=True, cls="none" if k == NO_STAFF else "") for k in staff_order(rep))

    # ---- evaluations and 差评 follow-up
    grade_chart = column_chart(
        "chart-grades", "评价分布 Evaluation grades (好差评)",
        [f"{g} {GRADES[g][0]}" for g in GRADES], [("评价 Evaluations", "#27ae60", [float(rep.grades[g]) for g in GRADES])],
        colours=[GRADE_COLOURS[g] for g in GRADES], width=600)
    fus = rep.followups
    done = sorted(f.seconds for f in fus if f.seconds is not None)
    staff_of = {(r.day, r.number): r.staff for r in rep.tickets if r.grade is not None and r.grade <= bad}
    fu_summary = (f"差评 Bad evaluations: {len(fus)} · 已跟进 Followed up: {len(done)} · "
                  f"跟进时长中位 Median follow-up: {_clock(percentile(done, 50)) if done else '—'} · "
                  f"P90: {_clock(percentile(done, 90)) if done else '—'} · "
                  f"最长 Longest: {_clock(done[-1]) if done else '—'}")
    fu_rows = "\n".join(
        f"<tr><td>{escape(f.ts.strftime('%m-%d %H:%M'))}</td><td>{escape(f.ticket)}</td>"
        f"<td>{escape(cfg.windows_by_id[f.window].name if f.window in cfg.windows_by_id else f.window)}</td>"
        f"<td>{escape(staff_of.get((f.ts.date(), f.ticket)) or '—')}</td><td>{f.grade or '—'}</td>"
        f"<td>{escape(f.acked_at.strftime('%m-%d %H:%M')) if f.acked_at else '—'}</td>"
        f"<td>{_clock(f.seconds)}</td></tr>" for f in fus[:100])
    fu_more = f"<p>… {len(fus) - 100} more in alerts.csv</p>" if len(fus) > 100 else ""

    # ---- alerts
    counts = rep.alert_counts
    alert_summary = " · ".join(f"{zh} {en}: {counts[k]}" for k, (zh, en) in ALERT_KINDS.items())
    alert_rows = "\n".join(
        f"<tr><td>{escape(a.get('ts', '')[5 if not single else 11:16].replace('T', ' '))}</td>"
        f"<td>{escape(ALERT_KINDS[a['kind']][0])}</td>"
        f"<td>{escape(str(a.get('ticket') or a.get('case') or a.get('window') or ''))}</td>"
        f"<td>{escape(a.get('text_zh', ''))}</td></tr>"
        for a in rep.alerts[:200])
    more = f"<p>… {len(rep.alerts) - 200} more in alerts.csv</p>" if len(rep.alerts) > 200 else ""

    cards = [("取号 Tickets", str(h.tickets)), ("办结 Served", str(h.served)),
             ("等候中位 Median wait", _clock(h.median_wait_s)), ("P90 等候 P90 wait", _clock(h.p90_wait_s)),
             ("平均办理 Avg service", _clock(h.avg_service_s)), ("过号率 No-show rate", _pct(h.no_show_rate)),
             ("评价 Evaluations", str(h.evaluations)), ("满意率 Satisfaction", _pct(h.satisfaction_rate)),
             ("暂停 Pauses", f"{h.pauses} · {h.pause_minutes:.0f} 分"), ("督办提醒 Alerts", str(len(rep.alerts)))]
    if rep.has_cases and rep.cases is not None:
        cards.append(("办件按时率 Cases on time", _pct(rep.cases.hall.on_time_rate)))
    card_html = "\n".join(f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
                          for k, v in cards)
    cases_section = cases_css = ""
    if rep.has_cases:
        assert rep.cases is not None
        cases_section, cases_css = report_cases.render_section(rep.cases, bar_chart), report_cases.CSS
        cases_section = cases_section.replace('<section id="cases">', '<section id="cases" class="major">', 1)
    if single:
        when = f"业务日 Business day: {period.start.isoformat()}（星期{WEEKDAYS_ZH[period.start.weekday()]}）"
    else:
        when = (f"统计期间 Period: {period.start.isoformat()} — {period.end.isoformat()}"
                f"（{len(period.days)} 天 days）")
    none_today = "今日无督办提醒 No alerts today" if single else "本期无督办提醒 No alerts in the period"
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{escape(cfg.hall.name)} {period.name_zh} {escape(period.label)} — {period.name_en.capitalize()}</title>
<style>
{CSS}{cases_css}</style>
</head>
<body>
<h1>{escape(cfg.hall.name)} 运行{period.name_zh} <small>{escape(cfg.hall.name_en)} — {period.name_en}</small></h1>
<div class="sub">{escape(when)}</div>
<div class="cards">
{card_html}
</div>
<p class="note">时长为 分:秒 Durations are min:s. 等候 = 首次呼叫 − 取号 (waiting = first call − issue).</p>
{trend}
<section id="hourly">
{per_hour}
</section>
<section id="zones" class="major">
<h2>按服务区 By zone</h2>
{zone_wait}
<table class="groups">
{_head_row("服务区 Zone")}
{zone_rows}
</table>
</section>
<section id="services" class="major">
<h2>按事项 By service</h2>
<table class="groups">
{_head_row("事项 Service")}
{service_rows or '<tr><td colspan="10">无 None</td></tr>'}
</table>
<h2 style="margin-top:18px">按部门 By department</h2>
<table class="groups">
{_head_row("部门 Department")}
{dept_rows or '<tr><td colspan="10">无 None</td></tr>'}
</table>
</section>
<section id="windows" class="major">
<h2>按窗口 By window</h2>
{per_window}
<div>{legend}</div>
<table class="groups">
{_head_row("窗口 Window", waits=False, pauses=True)}
{window_rows or '<tr><td colspan="10">无 None</td></tr>'}
</table>
</section>
<section id="staff" class="major">
<h2>按工作人员 By staff member</h2>
<table class="groups">
{_head_row("工作人员 Staff", pauses=True)}
{staff_rows or '<tr><td colspan="12">无 None</td></tr>'}
</table>
<p class="note">工作人员：窗口签到者（号票记录的 staff）；“未签到”为无签到记录的号。 Staff: who was signed in at the window.</p>
</section>
<section id="evaluations">
<h2>好差评 Evaluations</h2>
{grade_chart}
<h3>差评跟进 Follow-up of bad evaluations</h3>
<p>{escape(fu_summary)}</p>
<table class="alerts">
<thead><tr><th>时间 Time</th><th>号 Ticket</th><th>窗口 Window</th><th>工作人员 Staff</th><th>评分 Grade</th>
<th>跟进于 Acknowledged</th><th>跟进时长 Follow-up</th></tr></thead>
{fu_rows or '<tr><td colspan="7">无差评 No bad evaluations</td></tr>'}
</table>
{fu_more}
</section>
{cases_section}
<section id="alerts" class="major">
<h2>督办提醒 Supervision alerts</h2>
<p>{escape(alert_summary)}</p>
<table class="alerts">
<thead><tr><th>时间 Time</th><th>类型 Kind</th><th>号 / 办件 / 窗口 Ticket / case / window</th><th>内容 What</th></tr></thead>
{alert_rows or f'<tr><td colspan="4">{none_today}</td></tr>'}
</table>
{more}
</section>
<footer>OneWindow 一窗 · 生成于 Generated {escape(datetime.now().astimezone().isoformat(timespec="seconds"))} ·
等候时间 = 首次呼叫 − 取号 (waiting = first call − issue); 中位数与 P90 按全期所有号计算 (median and P90 over every ticket of the
period); 满意率 = 满意及非常满意 / 全部评价 (grades 4–5 of all grades); 差评 = {bad} 分及以下 (grade {bad} or lower)</footer>
</body>
</html>
"""


# ---------------------------------------------------------------- PDF
class ReportError(Exception):
    """The report cannot be made as asked (the message says why)."""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def render_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None, timeout: float = 180) -> Path:
    """Chromium's print-to-PDF of the report page (A4, the print stylesheet), in a profile of its own."""
    exe = chromium or find_chromium()
    if exe is None:
        raise ReportError("--pdf needs Chromium (Debian package chromium), which is not installed")
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="onewindow-report-chromium-") as profile:
        cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
               f"--print-to-pdf={pdf_path.resolve()}", html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ReportError(f"Chromium did not print {html_path} within {timeout:.0f} s") from None
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise ReportError(f"Chromium wrote no PDF (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    return pdf_path


# ---------------------------------------------------------------- command line
# The record's folder when --data is not given: the same default as `onewindow server --data`. The demo keeps its
# record in var/demo (or in its own --data DIR): pass that folder here.
DEFAULT_DATA_DIR = Path("var/data")
DEFAULT_OUT_DIR = Path("var/reports")


def business_day(config: HallConfig, now: datetime | None = None) -> date:
    """The hall's business date at `now` (default: this moment): the date on the hall's clock (hall.timezone), not
    the machine's — a report run at 01:00 in the hall on a UTC machine still means the hall's day."""
    return (now or datetime.now(ZoneInfo(config.hall.timezone))).astimezone(ZoneInfo(config.hall.timezone)).date()


def _day_arg(value: str) -> str:
    if value in ("today", "yesterday"):
        return value
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not YYYY-MM-DD, today or yesterday") from None


def _date_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not YYYY-MM-DD") from None


def _week_arg(value: str) -> date:
    try:
        return report_range.parse_week(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not YYYY-MM-DD (a day of the week) or YYYY-Www") from None


def _month_arg(value: str) -> tuple[int, int]:
    try:
        return report_range.parse_month(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not YYYY-MM") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="onewindow report",
        description="Statistics of the hall for a day, a week, a month or any range of days: HTML with charts "
                    "(printable, A4), CSVs per zone, service, department, window, staff member and day, and a PDF "
                    "with --pdf.")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--day", "--date", dest="day", default=None, type=_day_arg,
                      help="one business day: YYYY-MM-DD, today or yesterday (the default is today, on the hall's "
                           "clock)")
    when.add_argument("--week", type=_week_arg, help="the week (Monday to Sunday) of a day YYYY-MM-DD, or YYYY-Www")
    when.add_argument("--month", type=_month_arg, help="a calendar month, YYYY-MM")
    when.add_argument("--from", dest="from_", type=_date_arg, metavar="FROM",
                      help="first day of a range YYYY-MM-DD (with --to, both included)")
    p.add_argument("--to", type=_date_arg, help="last day of the range given by --from")
    p.add_argument("--out", default=DEFAULT_OUT_DIR, type=Path,
                   help=f"directory for report-PERIOD.html, the CSVs and the PDF (default {DEFAULT_OUT_DIR})")
    p.add_argument("--data", default=DEFAULT_DATA_DIR, type=Path,
                   help=f"directory of the SQLite record, as given to the server (default {DEFAULT_DATA_DIR}; "
                        "the demo's is var/demo)")
    p.add_argument("--config", default="config/hall.toml", help="the hall config (names of zones, services, windows)")
    p.add_argument("--pdf", action="store_true", help="also print the report to report-PERIOD.pdf with Chromium")
    return p


def period_of(args: argparse.Namespace, cfg: HallConfig, now: datetime | None = None) -> Period:
    today = business_day(cfg, now)
    if args.week is not None:
        return report_range.week_period(args.week)
    if args.month is not None:
        return report_range.month_period(*args.month)
    if args.from_ is not None:
        return report_range.range_period(args.from_, args.to)
    value = args.day or "today"
    day = {"today": today, "yesterday": date.fromordinal(today.toordinal() - 1)}.get(value) \
        or date.fromisoformat(value)
    return report_range.day_period(day)


def run(argv: list[str] | None = None, *, now: datetime | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    if (args.from_ is None) != (args.to is None):
        p.error("--from and --to go together")
    if args.from_ is not None and args.to < args.from_:
        p.error(f"--to {args.to} is before --from {args.from_}")
    if args.from_ is not None and (args.to - args.from_).days + 1 > report_range.MAX_DAYS:
        p.error(f"a report covers at most {report_range.MAX_DAYS} days")
    chromium = None
    if args.pdf:
        chromium = find_chromium()
        if chromium is None:
            print("onewindow report: --pdf needs Chromium to print the PDF, and it is not installed (Debian package "
                  "chromium: sudo apt-get install chromium; ./run installs it). Without --pdf the HTML and CSVs are "
                  "written, and the HTML prints from any browser.", file=sys.stderr)
            return 2
    try:
        cfg = load_hall_config(args.config)
    except ConfigError as err:
        print(f"onewindow report: cannot use {err}", file=sys.stderr)
        return 1
    period = period_of(args, cfg, now)
    db = args.data / f"{cfg.hall.id}.sqlite3"
    if not db.is_file():
        print(f"onewindow report: no record of hall {cfg.hall.id} at {db} (give the server's --data folder; "
              "the demo's is var/demo)", file=sys.stderr)
        return 1
    store = Store(db)
    try:
        rep = build(store, cfg, period)
        last = store.last_day()
    finally:
        store.close()
    if not rep.tickets and not (rep.cases and rep.cases.active):   # all zeros would read as a period without citizens
        what = f"on {period.start}" if period.single_day else f"from {period.start} to {period.end}"
        print(f"onewindow report: no data for this {'day' if period.single_day else 'period'}: hall {cfg.hall.id} "
              f"issued no tickets and recorded no cases {what} "
              f"(record {db}; last business day recorded: {last or 'none'}); no report written", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    html_path = args.out / f"report-{period.label}.html"
    html_path.write_text(render_html(rep), encoding="utf-8")
    csvs = write_csvs(rep, args.out)
    pdf_path = None
    if args.pdf:
        try:
            pdf_path = render_pdf(html_path, args.out / f"report-{period.label}.pdf", chromium=chromium)
        except ReportError as err:
            print(f"onewindow report: {err}", file=sys.stderr)
            return 2
    print(json.dumps({
        "event": "report", "hall": cfg.hall.id, "period": period.kind, "from": period.start.isoformat(),
        "to": period.end.isoformat(), **({"date": period.start.isoformat()} if period.single_day else {}),
        "html": str(html_path), **({"pdf": str(pdf_path)} if pdf_path else {}),
        "csv": {k: str(v) for k, v in csvs.items()},
        "totals": report_range.totals(rep),
        **({"cases": report_cases.totals(rep.cases)} if rep.has_cases and rep.cases else {}),
    }, ensure_ascii=False), flush=True)
    return 0
