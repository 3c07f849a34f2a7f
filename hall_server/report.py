"""`onewindow report`: one business day of a hall as a self-contained HTML page (hand-drawn SVG charts) and CSVs."""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from hall_bus.configfile import ConfigError
from hall_bus.hall import GRADES as HALL_GRADES, window_number
from hall_server.config import HallConfig, load_hall_config
from hall_server.stats import percentile
from hall_server import report_cases
from hall_server.report_cases import CaseDay
from hall_server.store import Store

GRADES = HALL_GRADES   # 好差评 labels: one home (hall_bus.hall)
GRADE_COLOURS = {1: "#c0392b", 2: "#e67e22", 3: "#f1c40f", 4: "#7dbb42", 5: "#27ae60"}
SATISFIED = 4            # 满意 and 非常满意 count as satisfied (好评)
ZONE_COLOURS = ["#1f6fb2", "#2a9d8f", "#e9a23b", "#c8553d", "#7b5ea7", "#5c946e", "#8d6e63", "#3d5a80"]
FONT = "'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei','PingFang SC',sans-serif"

# Columns of tickets.csv: what happened to each ticket, never who held it (no holder ref, name, birth date,
# appointment code or verify code).
TICKET_COLUMNS = ["number", "service", "service_name", "zone", "zone_name", "channel", "priority", "state",
                  "issued_at", "first_called_at", "called_at", "finished_at", "window", "wait_s", "service_s",
                  "calls", "grade"]
WINDOW_COLUMNS = ["window", "name", "name_en", "zone", "called", "served", "no_show", "held", "transferred_out",
                  "avg_service_s", "evaluations", "avg_grade", "pauses"]
ZONE_COLUMNS = ["zone", "name", "name_en", "tickets", "called", "served", "no_show", "expired", "avg_wait_s",
                "p90_wait_s", "avg_service_s", "no_show_rate", "evaluations", "satisfaction_rate"]
# The supervision alerts of event/alert (engine.supervise / evaluate); the citizen's comment stays out of the CSV.
ALERT_KINDS = {"long_wait": ("等候超时", "Long wait"), "window_paused": ("窗口暂停超时", "Long pause"),
               "bad_evaluation": ("差评", "Bad evaluation"), "case_due_soon": ("办件临期", "Case due soon"),
               "case_overdue": ("办件超期", "Case overdue")}
ALERT_COLUMNS = ["ts", "kind", "kind_zh", "ticket", "window", "zone", "seconds", "grade", "text_zh", "case"]


# ---------------------------------------------------------------- numbers
@dataclass
class TicketRow:
    rec: dict[str, Any]
    issued_at: datetime
    first_called_at: datetime | None
    called_at: datetime | None
    finished_at: datetime | None

    @property
    def wait_s(self) -> float | None:
        return (self.first_called_at - self.issued_at).total_seconds() if self.first_called_at else None

    @property
    def service_s(self) -> float | None:
        if self.rec["state"] == "done" and self.called_at and self.finished_at:
            return max(0.0, (self.finished_at - self.called_at).total_seconds())
        return None


@dataclass
class Group:
    """Counts and samples of a zone, a window or the whole hall."""
    tickets: int = 0
    called: int = 0
    served: int = 0
    no_show: int = 0
    held: int = 0
    expired: int = 0
    transferred_out: int = 0
    pauses: int = 0
    waits: list[float] = field(default_factory=list)
    service_times: list[float] = field(default_factory=list)
    grades: list[int] = field(default_factory=list)

    @property
    def avg_wait_s(self) -> float | None:
        return _mean(self.waits)

    @property
    def p90_wait_s(self) -> float | None:
        return percentile(self.waits, 90) if self.waits else None    # nearest rank: a wait someone really had

    @property
    def avg_service_s(self) -> float | None:
        return _mean(self.service_times)

    @property
    def no_show_rate(self) -> float | None:
        return self.no_show / self.called if self.called else None

    @property
    def satisfaction_rate(self) -> float | None:
        return sum(1 for g in self.grades if g >= SATISFIED) / len(self.grades) if self.grades else None

    @property
    def avg_grade(self) -> float | None:
        return _mean([float(g) for g in self.grades])


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


@dataclass
class DayReport:
    day: date
    config: HallConfig
    tickets: list[TicketRow]
    hall: Group
    zones: dict[str, Group]
    windows: dict[str, Group]
    issued_per_hour: Counter[int]
    served_per_hour: Counter[int]
    grades: Counter[int]
    alerts: list[dict[str, Any]] = field(default_factory=list)   # supervision alerts raised that day, in order
    cases: CaseDay | None = None      # the day's cases (办件), hall_server.report_cases

    @property
    def has_cases(self) -> bool:
        """Cases figure in the report: any recorded, done or still open (a hall without cases shows none)."""
        return self.cases is not None and bool(self.cases.rows)


def build(store: Store, config: HallConfig, day: date) -> DayReport:
    """Gather one day's statistics from the store."""
    tz = ZoneInfo(config.hall.timezone)
    first_call: dict[str, datetime] = {}
    for ev in store.events_of(day, "call"):
        if not ev.get("recall") and ev.get("ticket_id") and ev.get("ts"):
            first_call.setdefault(ev["ticket_id"], datetime.fromisoformat(ev["ts"]))
    ticket_events = store.events_of(day, "ticket")

    rows: list[TicketRow] = []
    for rec in store.tickets_of(day):
        called = _dt(rec.get("called_at"))
        first = first_call.get(rec["id"]) or called
        rows.append(TicketRow(rec, datetime.fromisoformat(rec["issued_at"]).astimezone(tz),
                              first.astimezone(tz) if first else None, called.astimezone(tz) if called else None,
                              _dt(rec.get("finished_at")).astimezone(tz) if rec.get("finished_at") else None))

    hall = Group()
    zones: dict[str, Group] = {z.id: Group() for z in config.zones}
    windows: dict[str, Group] = {w.id: Group() for w in config.windows}
    issued_per_hour: Counter[int] = Counter()
    served_per_hour: Counter[int] = Counter()
    grades: Counter[int] = Counter()
    for r in rows:
        rec = r.rec
        groups = [hall, zones.setdefault(rec["zone"], Group())]
        win = windows.setdefault(rec["window"], Group()) if rec.get("window") else None
        issued_per_hour[r.issued_at.hour] += 1
        for g in groups:
            g.tickets += 1
            if r.first_called_at:
                g.called += 1
                g.waits.append(r.wait_s or 0.0)
            if rec["state"] == "done":
                g.served += 1
            elif rec["state"] == "no_show":
                g.no_show += 1
            elif rec["state"] == "held":
                g.held += 1
            elif rec["state"] == "expired":
                g.expired += 1
            if r.service_s is not None:
                g.service_times.append(r.service_s)
            if rec.get("grade"):
                g.grades.append(int(rec["grade"]))
        if rec["state"] == "done" and r.finished_at:
            served_per_hour[r.finished_at.hour] += 1
        if rec.get("grade"):
            grades[int(rec["grade"])] += 1
        if win is not None:
            win.tickets += 1
            win.served += rec["state"] == "done"
            win.no_show += rec["state"] == "no_show"
            win.held += rec["state"] == "held"
            if r.service_s is not None:
                win.service_times.append(r.service_s)
            if rec.get("grade"):
                win.grades.append(int(rec["grade"]))
    for ev in ticket_events:
        action, wid = ev.get("action"), ev.get("window")
        if action in ("call", "call_back") and wid in windows:
            windows[wid].called += 1
        elif action == "transfer" and ev.get("from_window") in windows:
            windows[ev["from_window"]].transferred_out += 1
        elif action == "window_pause" and wid in windows:
            windows[wid].pauses += 1
    alerts = sorted((ev for ev in store.events_of(day, "alert") if ev.get("kind") in ALERT_KINDS),
                    key=lambda ev: str(ev.get("ts", "")))
    return DayReport(day, config, rows, hall, zones, windows, issued_per_hour, served_per_hour, grades, alerts,
                     report_cases.build(store, config, day))


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


def write_csvs(rep: DayReport, out: Path) -> dict[str, Path]:
    cfg = rep.config

    def ticket_row(r: Any) -> list[Any]:
        rec = r.rec
        svc = cfg.services_by_id.get(rec["service"])
        zone = cfg.zones_by_id.get(rec["zone"])
        return [rec["number"], rec["service"], svc.name if svc else "", rec["zone"], zone.name if zone else "",
                rec["channel"], int(bool(rec["priority"])), rec["state"], _iso(r.issued_at),
                _iso(r.first_called_at), _iso(r.called_at), _iso(r.finished_at), rec.get("window") or "",
                _fmt(r.wait_s, 0), _fmt(r.service_s, 0), rec.get("calls", 0), rec.get("grade") or ""]

    def window_row(win: Any) -> list[Any]:
        g = rep.windows[win.id]
        return [win.id, win.name, win.name_en, win.zone, g.called, g.served, g.no_show, g.held,
                g.transferred_out, _fmt(g.avg_service_s), len(g.grades), _fmt(g.avg_grade, 2), g.pauses]

    def zone_row(z: Any) -> list[Any]:
        g = rep.zones[z.id]
        return [z.id, z.name, z.name_en, g.tickets, g.called, g.served, g.no_show, g.expired,
                _fmt(g.avg_wait_s), _fmt(g.p90_wait_s), _fmt(g.avg_service_s), _fmt(g.no_show_rate, 4),
                len(g.grades), _fmt(g.satisfaction_rate, 4)]

    tickets = sorted(rep.tickets, key=lambda r: (r.issued_at, r.rec["number"]))
    def alert_row(a: dict[str, Any]) -> list[Any]:
        return [a.get("ts", ""), a["kind"], ALERT_KINDS[a["kind"]][0], a.get("ticket", ""), a.get("window", ""),
                a.get("zone", ""), a.get("waited_s") or a.get("paused_s") or "", a.get("grade", ""),
                a.get("text_zh", ""), a.get("case", "")]

    files = {"tickets": _write_csv(out / "tickets.csv", TICKET_COLUMNS, map(ticket_row, tickets)),
            "alerts": _write_csv(out / "alerts.csv", ALERT_COLUMNS, map(alert_row, rep.alerts)),
            "windows": _write_csv(out / "windows.csv", WINDOW_COLUMNS, map(window_row, cfg.windows)),
            "zones": _write_csv(out / "zones.csv", ZONE_COLUMNS, map(zone_row, cfg.zones))}
    if rep.has_cases:
        assert rep.cases is not None
        files["cases"] = report_cases.write_csv(rep.cases, out, _write_csv)
    return files


# ---------------------------------------------------------------- SVG charts (drawn by hand: no JS, no CSS files)
def _axis(v: float, max_ticks: int = 5, whole: bool = False) -> tuple[float, list[float]]:
    """A round axis maximum at or above v and its ticks (steps of 1, 2 or 5 x 10^k; whole numbers for counts)."""
    if v <= 0:
        return 1.0, [0.0, 1.0]
    raw = v / max_ticks
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if raw <= m * mag)
    if whole:
        step = max(1.0, step)
    top = step * math.ceil(v / step - 1e-9)
    n = round(top / step)
    return top, [round(step * i, 9) for i in range(n + 1)]


def _num(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 or v >= 100 else f"{v:.1f}"


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


def column_chart(chart_id: str, title: str, labels: list[str], series: list[tuple[str, str, list[float]]], *,
                 width: int = 860, height: int = 300, rotate_labels: bool = False, unit: str = "",
                 colours: list[str] | None = None) -> str:
    """Vertical bars of counts, one group per label, one bar per series (name, colour, values)."""
    left, right, top = 56, 16, 40
    bottom = 44 if rotate_labels else 46
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax, ticks = _axis(max((v for _n, _c, vals in series for v in vals), default=0), whole=True)
    parts = [f'<svg id="{chart_id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'font-family="{FONT}">', f'<title>{escape(title)}</title>',
             _text(left, 22, title, size=15, anchor="start", fill="#1a1a1a", extra='font-weight="bold"')]
    for v in ticks:
        y = top + plot_h - plot_h * v / vmax
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_text(left - 6, y + 4, _num(v) + unit, size=11, anchor="end", fill="#666"))
    if not labels or vmax <= 0 or not any(v for _n, _c, vals in series for v in vals):
        parts.append(_text(left + plot_w / 2, top + plot_h / 2, "无数据 No data", size=14, fill="#999"))
    n = max(1, len(labels))
    slot = plot_w / n
    bar_w = max(2.0, min(40.0, slot * 0.8 / max(1, len(series))))
    for i, label in enumerate(labels):
        x0 = left + slot * i + (slot - bar_w * len(series)) / 2
        for j, (name, colour, vals) in enumerate(series):
            v = vals[i]
            h = plot_h * v / vmax if vmax else 0
            fill = colours[i] if colours and len(series) == 1 else colour
            x, y = x0 + j * bar_w, top + plot_h - h
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{fill}"><title>{escape(label)} {escape(name)}: {_num(v)}{unit}</title></rect>')
            if v and bar_w >= 12:
                parts.append(_text(x + (bar_w - 1) / 2, y - 4, _num(v), size=10, fill="#444"))
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
              width: int = 860, unit: str = "") -> str:
    """Horizontal bars, one row per label (long Chinese names read better this way)."""
    left, right, top, row = 250, 60, 44, 18 * max(1, len(series)) + 12
    height = top + row * max(1, len(labels)) + 20
    plot_w = width - left - right
    vmax, ticks = _axis(max((v for _n, _c, vals in series for v in vals), default=0))
    parts = [f'<svg id="{chart_id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'font-family="{FONT}">', f'<title>{escape(title)}</title>',
             _text(12, 22, title, size=15, anchor="start", fill="#1a1a1a", extra='font-weight="bold"')]
    for v in ticks:
        x = left + plot_w * v / vmax
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 20}" stroke="#e3e3e3"/>')
        parts.append(_text(x, height - 6, _num(v) + unit, size=10, fill="#666"))
    for i, label in enumerate(labels):
        y0 = top + row * i
        parts.append(_text(left - 8, y0 + row / 2 + 2, label, size=12, anchor="end"))
        for j, (name, colour, vals) in enumerate(series):
            v = vals[i]
            w = plot_w * v / vmax if vmax else 0
            y = y0 + 6 + j * 18
            parts.append(f'<rect class="bar" x="{left}" y="{y:.1f}" width="{w:.1f}" height="15" fill="{colour}">'
                         f'<title>{escape(label)} {escape(name)}: {_num(v)}{unit}</title></rect>')
            parts.append(_text(left + w + 4, y + 12, _num(v) + unit, size=10, anchor="start", fill="#444"))
    parts += _legend(series, width - right)
    parts.append("</svg>")
    return "\n".join(parts)


# ---------------------------------------------------------------- HTML
def _minutes(s: float | None) -> str:
    return "—" if s is None else f"{s / 60:.1f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def render_html(rep: DayReport) -> str:
    cfg, h = rep.config, rep.hall
    hours = sorted(set(rep.issued_per_hour) | set(rep.served_per_hour) | set(range(8, 18)))
    hours = list(range(hours[0], hours[-1] + 1))
    per_hour = column_chart(
        "chart-hourly", "每小时取号与办结 Tickets issued and served per hour", [f"{hh:02d}" for hh in hours],
        [("取号 Issued", "#1f6fb2", [float(rep.issued_per_hour[hh]) for hh in hours]),
         ("办结 Served", "#2a9d8f", [float(rep.served_per_hour[hh]) for hh in hours])])
    zone_wait = bar_chart(
        "chart-zone-wait", "各区等候时间（分钟） Waiting time per zone (minutes)",
        [f"{z.name} {z.name_en}" if len(z.name_en) < 18 else z.name for z in cfg.zones],
        [("平均 Average", "#1f6fb2", [(rep.zones[z.id].avg_wait_s or 0) / 60 for z in cfg.zones]),
         ("P90", "#e9a23b", [(rep.zones[z.id].p90_wait_s or 0) / 60 for z in cfg.zones])])
    zone_colour = {z.id: ZONE_COLOURS[i % len(ZONE_COLOURS)] for i, z in enumerate(cfg.zones)}
    active = [w for w in cfg.windows if rep.windows[w.id].served or rep.windows[w.id].called]
    per_window = column_chart(
        "chart-windows", "各窗口办结件数 Tickets served per window",
        [str(window_number(w.name, w.id) or w.name) for w in active], [("办结 Served", "#2a9d8f",
                                                        [float(rep.windows[w.id].served) for w in active])],
        rotate_labels=len(active) > 16, colours=[zone_colour[w.zone] for w in active], height=320)
    grade_chart = column_chart(
        "chart-grades", "评价分布 Evaluation grades (好差评)",
        [f"{g} {GRADES[g][0]}" for g in GRADES], [("评价 Evaluations", "#27ae60", [float(rep.grades[g]) for g in GRADES])],
        colours=[GRADE_COLOURS[g] for g in GRADES], width=600)
    counts = Counter(a["kind"] for a in rep.alerts)
    alert_summary = " · ".join(f"{zh} {en}: {counts[k]}" for k, (zh, en) in ALERT_KINDS.items())
    alert_rows = "\n".join(
        f"<tr><td>{escape(a.get('ts', '')[11:16])}</td><td>{escape(ALERT_KINDS[a['kind']][0])}</td>"
        f"<td>{escape(str(a.get('ticket') or a.get('case') or a.get('window') or ''))}</td>"
        f"<td>{escape(a.get('text_zh', ''))}</td></tr>"
        for a in rep.alerts[:200])
    more = f"<p>… {len(rep.alerts) - 200} more in alerts.csv</p>" if len(rep.alerts) > 200 else ""
    legend = " ".join(f'<span class="key"><i style="background:{zone_colour[z.id]}"></i>{escape(z.name)}</span>'
                      for z in cfg.zones)
    cards = [("取号 Tickets", str(h.tickets)), ("办结 Served", str(h.served)),
             ("平均等候 Avg wait", f"{_minutes(h.avg_wait_s)} min"), ("P90 等候 P90 wait", f"{_minutes(h.p90_wait_s)} min"),
             ("平均办理 Avg service", f"{_minutes(h.avg_service_s)} min"), ("过号率 No-show rate", _pct(h.no_show_rate)),
             ("评价 Evaluations", str(len(h.grades))), ("满意率 Satisfaction", _pct(h.satisfaction_rate))]
    card_html = "\n".join(f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
                          for k, v in cards)
    zone_rows = "\n".join(
        f"<tr><td>{escape(z.name)}<br><small>{escape(z.name_en)}</small></td><td>{g.tickets}</td><td>{g.served}</td>"
        f"<td>{_minutes(g.avg_wait_s)}</td><td>{_minutes(g.p90_wait_s)}</td><td>{_minutes(g.avg_service_s)}</td>"
        f"<td>{_pct(g.no_show_rate)}</td><td>{_pct(g.satisfaction_rate)}</td></tr>"
        for z in cfg.zones for g in [rep.zones[z.id]])
    cases_section = cases_css = ""
    if rep.has_cases:
        assert rep.cases is not None
        cases_section, cases_css = report_cases.render_section(rep.cases, bar_chart), report_cases.CSS
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{escape(cfg.hall.name)} 日报 {rep.day} — Daily report</title>
<style>
body {{ font-family: {FONT}; margin: 24px auto; max-width: 900px; color: #222; background: #fff; }}
h1 {{ font-size: 22px; margin: 0 0 2px; }} h1 small {{ font-weight: normal; color: #555; font-size: 15px; }}
.sub {{ color: #666; margin-bottom: 16px; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 20px; }}
.card {{ flex: 1 1 180px; border: 1px solid #dde3ea; border-radius: 6px; padding: 10px 12px; background: #f7f9fb; }}
.card .v {{ font-size: 22px; font-weight: bold; color: #1f4e79; }} .card .k {{ font-size: 12px; color: #555; }}
section {{ margin: 18px 0 26px; }} svg.chart {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #e3e3e3; padding: 5px 6px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }} th {{ background: #f0f3f6; }}
.key {{ display: inline-block; margin-right: 12px; font-size: 12px; }}
.key i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
footer {{ color: #888; font-size: 12px; margin-top: 30px; }}
h2 {{ font-size: 16px; margin: 0 0 6px; }} table.alerts td {{ text-align: left; }}
{cases_css}</style>
</head>
<body>
<h1>{escape(cfg.hall.name)} 运行日报 <small>{escape(cfg.hall.name_en)} — daily report</small></h1>
<div class="sub">业务日 Business day: {rep.day.isoformat()}</div>
<div class="cards">
{card_html}
</div>
<section>
{per_hour}
</section>
<section>
{zone_wait}
<table>
<tr><th>服务区 Zone</th><th>取号<br>Tickets</th><th>办结<br>Served</th><th>平均等候(分)<br>Avg wait (min)</th>
<th>P90 等候(分)<br>P90 wait (min)</th><th>平均办理(分)<br>Avg service (min)</th><th>过号率<br>No-show</th>
<th>满意率<br>Satisfaction</th></tr>
{zone_rows}
</table>
</section>
<section>
{per_window}
<div>{legend}</div>
</section>
<section>
{grade_chart}
</section>
{cases_section}
<section id="alerts">
<h2>督办提醒 Supervision alerts</h2>
<p>{escape(alert_summary)}</p>
<table class="alerts">
<tr><th>时间 Time</th><th>类型 Kind</th><th>号 / 办件 / 窗口 Ticket / case / window</th><th>内容 What</th></tr>
{alert_rows or '<tr><td colspan="4">今日无督办提醒 No alerts today</td></tr>'}
</table>
{more}
</section>
<footer>OneWindow 一窗 · 生成于 Generated {escape(datetime.now().astimezone().isoformat(timespec="seconds"))} ·
等候时间 = 首次呼叫 − 取号 (waiting = first call − issue); 满意率 = 满意及非常满意 / 全部评价 (grades 4–5 of all grades)</footer>
</body>
</html>
"""


# ---------------------------------------------------------------- command line
# The record's folder when --data is not given: the same default as `onewindow server --data`. The demo keeps its
# record in var/demo (or in its own --data DIR): pass that folder here.
DEFAULT_DATA_DIR = Path("var/data")


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


def run(argv: list[str] | None = None, *, now: datetime | None = None) -> int:
    p = argparse.ArgumentParser(prog="onewindow report", description="Daily statistics of the hall (HTML + CSV).")
    p.add_argument("--date", default="today", type=_day_arg,
                   help="business day: YYYY-MM-DD, today or yesterday (default today, on the hall's clock)")
    p.add_argument("--out", required=True, type=Path, help="directory for report-DATE.html and the CSVs")
    p.add_argument("--data", default=DEFAULT_DATA_DIR, type=Path,
                   help=f"directory of the SQLite record, as given to the server (default {DEFAULT_DATA_DIR}; "
                        "the demo's is var/demo)")
    p.add_argument("--config", default="config/hall.toml", help="the hall config (names of zones, services, windows)")
    args = p.parse_args(argv)
    try:
        cfg = load_hall_config(args.config)
    except ConfigError as err:
        print(f"onewindow report: cannot use {err}", file=sys.stderr)
        return 1
    today = business_day(cfg, now)
    day = {"today": today, "yesterday": date.fromordinal(today.toordinal() - 1)}.get(args.date) \
        or date.fromisoformat(args.date)
    db = args.data / f"{cfg.hall.id}.sqlite3"
    if not db.is_file():
        print(f"onewindow report: no record of hall {cfg.hall.id} at {db} (give the server's --data folder; "
              "the demo's is var/demo)", file=sys.stderr)
        return 1
    store = Store(db)
    try:
        rep = build(store, cfg, day)
        last = store.last_day()
    finally:
        store.close()
    if not rep.tickets and not (rep.cases and rep.cases.active):   # all zeros would read as a day without citizens
        print(f"onewindow report: no data for this day: hall {cfg.hall.id} issued no tickets and recorded no cases "
              f"on {day} "
              f"(record {db}; last business day recorded: {last or 'none'}); no report written", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    html_path = args.out / f"report-{day}.html"
    html_path.write_text(render_html(rep), encoding="utf-8")
    csvs = write_csvs(rep, args.out)
    h = rep.hall
    print(json.dumps({
        "event": "report", "hall": cfg.hall.id, "date": day.isoformat(), "html": str(html_path),
        "csv": {k: str(v) for k, v in csvs.items()},
        "totals": {"tickets": h.tickets, "called": h.called, "served": h.served, "no_show": h.no_show,
                   "expired": h.expired, "evaluations": len(h.grades), "alerts": len(rep.alerts),
                   "avg_wait_s": None if h.avg_wait_s is None else round(h.avg_wait_s, 1),
                   "p90_wait_s": h.p90_wait_s, "satisfaction_rate": None if h.satisfaction_rate is None
                   else round(h.satisfaction_rate, 4)},
        **({"cases": report_cases.totals(rep.cases)} if rep.has_cases and rep.cases else {}),
    }, ensure_ascii=False), flush=True)
    return 0

