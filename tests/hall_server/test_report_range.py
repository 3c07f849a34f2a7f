"""`onewindow report` over a period: days of the reference hall run through the real Engine into a real Store, then
reported as a week, a month and a range — totals that add up, medians over every ticket of the period, staff with
and without sign-in, pauses, 差评 follow-up times, every CSV, escaping, and axes in units that fit their values."""
from __future__ import annotations

import csv
import io
import json
import random
import re
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall_server import report, report_range
from hall_server.config import HallConfig, load_hall_config
from hall_server.engine import Engine, Event, HallError, Outcome
from hall_server.stats import percentile
from hall_server.store import Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config" / "hall.toml"
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
DAYS = [MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=2), MONDAY + timedelta(days=4)]   # Mon-Wed, Fri
STAFFED = {MONDAY + timedelta(days=4)}        # staff signed in (tickets carry `staff`) on Friday only
HOSTILE = '<script>alert("x")</script>&amp;\'"'
COMMENT = '<img src=x onerror=alert(1)> 电话13800138000'


def at(d: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=TZ)


class Hall:
    def __init__(self, cfg: HallConfig, data: Path) -> None:
        self.cfg = cfg
        self.engine = Engine(cfg, rng=random.Random(3))
        self.store = Store(data / f"{cfg.hall.id}.sqlite3")
        self.data = data
        self.tickets: dict[date, list[dict]] = {}    # the engine's tickets at the end of each day
        self.bad_alert: dict | None = None

    def do(self, op: str, *args, **kwargs) -> Outcome:
        out = getattr(self.engine, op)(*args, **kwargs)
        self.store.commit(out, self.engine.windows, self.engine.day)
        return out


def play(cfg: HallConfig, data: Path) -> Hall:
    h = Hall(cfg, data)
    opened = [w.id for w in cfg.windows if w.zone in ("z1", "z2")][:6]
    served = {sid for w in cfg.windows if w.id in opened[1:] for sid in w.services}
    services = [s for s in cfg.services if not s.id_required and s.id in served]
    for n, d in enumerate(DAYS):
        rng = random.Random(100 + n)
        now = at(d, 8, 45)
        for wid in opened:
            h.do("set_window", now, wid, "open")
        h.do("set_window", at(d, 10), opened[0], "pause", reason="break")
        h.do("set_window", at(d, 10, 12), opened[0], "resume")          # 12 minutes
        for i in range(25 + 5 * n):
            now = at(d, 9) + timedelta(seconds=40 * i + rng.randint(0, 30))
            h.do("issue", now, rng.choice(services).id, "walk_in")
            for wid in rng.sample(opened[1:], 2):
                try:
                    r = rng.random()
                    if r < 0.6:
                        h.do("call_next", now + timedelta(seconds=rng.randint(10, 400 * (n + 1))), wid)
                    elif r < 0.68:
                        h.do("no_show", now + timedelta(seconds=5), wid)
                    else:
                        out = h.do("finish", now + timedelta(seconds=rng.randint(30, 200)), wid)
                        t = h.engine.tickets[h.engine.windows[wid].last_finished]
                        if rng.random() < 0.7:
                            grade = rng.choice([1, 2, 4, 5, 5])
                            out = h.do("evaluate", now + timedelta(seconds=250), grade, COMMENT, ticket_id=t.id)
                            alert = next((e.payload for e in out.events if e.kind == "alert"), None)
                            if alert and h.bad_alert is None:
                                h.bad_alert = alert
                except HallError:
                    pass
        h.tickets[d] = [t.to_record() for t in h.engine.tickets.values()]
    # the first 差评 acknowledged 25 minutes later (a stored copy of the alert with acked_at, as alert.ack keeps it)
    assert h.bad_alert is not None
    acked = datetime.fromisoformat(h.bad_alert["ts"]) + timedelta(minutes=25)
    copy = {**h.bad_alert, "acked_by": "supervisor", "acked_at": acked.isoformat()}
    h.store.commit(Outcome(events=[Event("alert", copy)]), h.engine.windows, h.engine.day)
    # staff signed in on Friday: its tickets' records name the staff member of the window that served them
    for d in STAFFED:
        h.store.db.execute("UPDATE tickets SET record = json_set(record, '$.staff', 'S-' || "
                           "json_extract(record, '$.window')) WHERE day=? AND json_extract(record, '$.window') "
                           "IS NOT NULL", (d.isoformat(),))
    return h


@pytest.fixture(scope="module")
def cfg() -> HallConfig:
    return load_hall_config(CONFIG_PATH)


@pytest.fixture(scope="module")
def hall(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> Hall:
    h = play(cfg, tmp_path_factory.mktemp("data"))
    yield h
    h.store.close()


@pytest.fixture(scope="module")
def week(hall: Hall, cfg: HallConfig) -> report_range.Report:
    return report.build(hall.store, cfg, report_range.week_period(MONDAY + timedelta(days=2)))


def run_cli(argv: list[str]) -> tuple[int, dict | None]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = report.run(argv)
    lines = buf.getvalue().strip().splitlines()
    return rc, json.loads(lines[-1]) if lines else None


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- periods
def test_periods() -> None:
    w = report_range.week_period(date(2026, 11, 26))
    assert (w.start, w.end, w.label) == (date(2026, 11, 23), date(2026, 11, 29), "2026-W48")
    assert report_range.parse_week("2026-W48") == date(2026, 11, 23)
    m = report_range.month_period(*report_range.parse_month("2026-02"))
    assert (m.start, m.end, m.label, len(m.days)) == (date(2026, 2, 1), date(2026, 2, 28), "2026-02", 28)
    assert report_range.month_period(2026, 12).end == date(2026, 12, 31)
    r = report_range.range_period(date(2026, 11, 3), date(2026, 11, 19))
    assert r.kind == "range" and r.label == "2026-11-03_2026-11-19" and len(r.days) == 17
    assert report_range.range_period(date(2026, 11, 3), date(2026, 11, 3)).kind == "day"
    with pytest.raises(ValueError):
        report_range.range_period(date(2026, 11, 3), date(2026, 11, 2))
    with pytest.raises(ValueError):
        report_range.parse_month("2026-13")


# ---------------------------------------------------------------- the week adds up
def test_the_weeks_totals_are_the_sum_of_its_days(hall: Hall, cfg: HallConfig, week: report_range.Report) -> None:
    days = [report.build(hall.store, cfg, d) for d in DAYS]
    assert all(r.period.single_day and r.hall.tickets > 0 for r in days)
    for name in ("tickets", "called", "served", "no_show", "expired", "pauses", "alerts", "evaluations"):
        assert getattr(week.hall, name) == sum(getattr(r.hall, name) for r in days), name
    assert week.hall.pause_s == pytest.approx(sum(r.hall.pause_s for r in days))
    assert len(week.alerts) == sum(len(r.alerts) for r in days)
    for z in cfg.zones:
        assert week.zones[z.id].served == sum(r.zones[z.id].served for r in days)
    for w in cfg.windows:
        assert week.windows[w.id].called == sum(r.windows[w.id].called for r in days), w.id
    assert week.grades == sum((r.grades for r in days), start=type(week.grades)())
    # the days of the week: Thursday and the weekend had no tickets but are in the period
    assert list(week.days) == week.period.days and len(week.days) == 7
    assert {d: g.tickets for d, g in week.days.items()} == {r.period.start: r.hall.tickets for r in days} | {
        MONDAY + timedelta(days=k): 0 for k in (3, 5, 6)}
    # and against the engine's own tickets
    engine_tickets = [t for d in DAYS for t in hall.tickets[d] if t["day"] == d.isoformat()]
    assert week.hall.tickets == len(engine_tickets)
    assert week.hall.served == sum(t["state"] == "done" for t in engine_tickets)
    assert week.hall.evaluations == sum(t["grade"] is not None for t in engine_tickets)


def test_medians_are_over_every_ticket_of_the_period(hall: Hall, cfg: HallConfig,
                                                      week: report_range.Report) -> None:
    days = [report.build(hall.store, cfg, d) for d in DAYS]
    waits = [w for r in days for w in r.hall.waits]
    assert len(waits) == week.hall.called > 50
    assert week.hall.median_wait_s == percentile(waits, 50)
    assert week.hall.p90_wait_s == percentile(waits, 90)
    daily_medians = [r.hall.median_wait_s for r in days]
    assert week.hall.median_wait_s != pytest.approx(sum(daily_medians) / len(daily_medians))   # not averaged
    assert max(daily_medians) >= week.hall.median_wait_s >= min(daily_medians)
    # the waits are the engine's: first call − issue
    t = next(t for t in hall.tickets[DAYS[0]] if t["called_at"] and t["calls"] == 1)
    row = next(r for r in week.tickets if r.id == t["id"])
    assert row.wait_s == (datetime.fromisoformat(t["called_at"]) - datetime.fromisoformat(t["issued_at"])).total_seconds()


def test_pauses_count_and_minutes(week: report_range.Report, cfg: HallConfig) -> None:
    first = [w.id for w in cfg.windows if w.zone in ("z1", "z2")][0]
    assert week.windows[first].pauses == 4 and week.windows[first].pause_minutes == pytest.approx(48)
    assert week.days[MONDAY].pauses == 1 and week.days[MONDAY].pause_s == 12 * 60


def test_staff_with_and_without_sign_in(week: report_range.Report, hall: Hall) -> None:
    friday = DAYS[-1]
    named = {k: g for k, g in week.staff.items() if k != report_range.NO_STAFF}
    assert named and all(k.startswith("S-w") for k in named)
    fri = [t for t in hall.tickets[friday] if t["day"] == friday.isoformat()]
    assert sum(g.tickets for g in named.values()) == sum(1 for t in fri if t["window"])
    assert sum(g.evaluations for g in named.values()) == sum(1 for t in fri if t["window"] and t["grade"])
    # the other days' tickets (and Friday's never called) are nobody's: 未签到
    assert week.staff[report_range.NO_STAFF].tickets == week.hall.tickets - sum(g.tickets for g in named.values())
    order = report.staff_order(week)
    assert order[-1] == report_range.NO_STAFF and set(order[:-1]) == set(k for k, g in named.items() if g.tickets)
    monday = report.build(hall.store, hall.cfg, MONDAY)
    assert list(monday.staff) == [report_range.NO_STAFF]
    html = report.render_html(monday)
    assert "未签到 —" in html


def test_bad_evaluation_follow_up(week: report_range.Report, hall: Hall) -> None:
    assert hall.bad_alert is not None
    fus = {f.alert_id: f for f in week.followups}
    assert len(fus) == sum(1 for a in week.alerts if a["kind"] == "bad_evaluation") >= 2
    assert fus[hall.bad_alert["id"]].seconds == 25 * 60
    assert sum(f.seconds is None for f in week.followups) == len(fus) - 1      # the others: not yet
    assert len([a for a in week.alerts if a["id"] == hall.bad_alert["id"]]) == 1   # the ack is no new alert
    assert all("comment" not in a for a in week.alerts)
    assert report_range.totals(week)["median_followup_s"] == 1500


# ---------------------------------------------------------------- axes
@pytest.mark.parametrize("vmax, unit, labels", [
    (40, "s", ("0", "10", "20", "30", "40")),         # waits of 3-40 s: seconds
    (3, "s", ("0", "1", "2", "3")),                     # never 0.0, 0.0, 0.1 minutes
    (95, "s", ("0", "20", "40", "60", "80", "100")),
    (95 * 60, "min", ("0", "20", "40", "60", "80", "100")),     # 3-95 min: minutes
    (10 * 60, "min", ("0", "2", "4", "6", "8", "10")),
    (5 * 3600, "h", ("0", "1", "2", "3", "4", "5")),
    (150, "min", ("0.0", "0.5", "1.0", "1.5", "2.0", "2.5")),
])
def test_duration_axis_units(vmax: float, unit: str, labels: tuple[str, ...]) -> None:
    a = report.value_axis(vmax, "duration")
    assert a.unit == unit and a.labels == labels
    assert a.top >= vmax and a.ticks[0] == 0


@pytest.mark.parametrize("vmax", [0, 1, 2, 3, 7, 9, 13, 48, 99, 101, 640, 5999, 180_000])
def test_count_axis_is_whole_and_labels_distinct(vmax: float) -> None:
    a = report.value_axis(vmax, "count")
    assert all(float(t).is_integer() for t in a.ticks) and all("." not in s for s in a.labels)
    assert len(set(a.labels)) == len(a.labels) and a.top >= vmax and len(a.ticks) <= 7


@pytest.mark.parametrize("vmax", [0.3, 1, 7, 59, 61, 119, 121, 599, 3599, 7199, 7201, 36_000, 0.04])
def test_duration_labels_never_repeat(vmax: float) -> None:
    a = report.value_axis(vmax, "duration")
    assert len(set(a.labels)) == len(a.labels) >= 2 and a.top >= vmax


def test_short_waits_draw_seconds_in_the_chart() -> None:
    svg = report.bar_chart("c", "waits", ["A", "B"], [("median", "#000", [3.0, 40.0])], kind="duration")
    ticks = re.findall(r'fill="#666" >([^<]*)</text>', svg)
    assert [t for t in ticks if t != "秒 s"] == ["0", "10", "20", "30", "40"] and "秒 s" in svg
    ET.fromstring(svg)
    svg = report.column_chart("c", "waits", ["A"], [("median", "#000", [95 * 60.0])], kind="duration")
    assert "分钟 min" in svg and ">100</text>" in svg


# ---------------------------------------------------------------- the command line
def test_month_command_writes_every_csv(hall: Hall, tmp_path: Path) -> None:
    rc, info = run_cli(["--month", "2026-11", "--out", str(tmp_path), "--data", str(hall.data),
                        "--config", str(CONFIG_PATH)])
    assert rc == 0 and info is not None
    assert info["period"] == "month" and (info["from"], info["to"]) == ("2026-11-01", "2026-11-30")
    assert Path(info["html"]) == tmp_path / "report-2026-11.html"
    assert set(info["csv"]) == set(report.CSV_NAMES)
    assert not (tmp_path / "tickets.csv").exists()           # a period's report has no ticket list
    for name in report.CSV_NAMES:
        assert (tmp_path / f"{name}.csv").is_file(), name
    days = read_csv(tmp_path / "days.csv")
    assert list(days[0]) == report.DAY_COLUMNS and len(days) == 30
    assert sum(int(r["tickets"]) for r in days) == info["totals"]["tickets"] > 100
    assert list(read_csv(tmp_path / "staff.csv")[0]) == report.STAFF_COLUMNS
    services = read_csv(tmp_path / "services.csv")
    assert sum(int(r["tickets"]) for r in services) == info["totals"]["tickets"]
    depts = read_csv(tmp_path / "departments.csv")
    assert sum(int(r["tickets"]) for r in depts) == info["totals"]["tickets"]
    alerts = read_csv(tmp_path / "alerts.csv")
    assert [r["followup_s"] for r in alerts if r["followup_s"]] == ["1500"]
    text = "".join(p.read_text(encoding="utf-8-sig") for p in tmp_path.glob("*.csv"))
    for t in (t for d in DAYS for t in hall.tickets[d]):
        assert t["token"] not in text and t["verify"] not in text
    assert "13800138000" not in text and "onerror" not in text
    html = Path(info["html"]).read_text(encoding="utf-8")
    for chart in ("chart-days", "chart-days-wait", "chart-hourly", "chart-zone-wait", "chart-windows",
                  "chart-grades"):
        m = re.search(rf'<svg id="{chart}".*?</svg>', html, re.S)
        assert m, chart
        ET.fromstring(m.group(0))
    assert "运行月报" in html and "2026-11-01 — 2026-11-30" in html
    assert "@media print" in html and "size: A4" in html and "<script" not in html


@pytest.mark.parametrize("args, label", [
    (["--week", "2026-11-25"], "2026-W48"),
    (["--week", "2026-W48"], "2026-W48"),
    (["--from", "2026-11-24", "--to", "2026-11-27"], "2026-11-24_2026-11-27"),
    (["--day", "2026-11-27"], "2026-11-27"),
    (["--date", "2026-11-27"], "2026-11-27"),
])
def test_period_flags(hall: Hall, tmp_path: Path, args: list[str], label: str) -> None:
    rc, info = run_cli([*args, "--out", str(tmp_path), "--data", str(hall.data), "--config", str(CONFIG_PATH)])
    assert rc == 0 and info is not None and Path(info["html"]).name == f"report-{label}.html"
    assert (tmp_path / "tickets.csv").exists() == (label == "2026-11-27")


def test_range_flags_are_checked(hall: Hall, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--out", str(tmp_path), "--data", str(hall.data), "--config", str(CONFIG_PATH)]
    for bad, msg in ((["--from", "2026-11-24"], "go together"), (["--to", "2026-11-24"], "go together"),
                     (["--from", "2026-11-24", "--to", "2026-11-20"], "before"),
                     (["--month", "2026-11", "--week", "2026-11-24"], "not allowed"),
                     (["--month", "11/2026"], "YYYY-MM")):
        with pytest.raises(SystemExit) as exc:
            report.run(bad + base)
        assert exc.value.code == 2 and msg in capsys.readouterr().err, bad


def test_a_period_without_data(hall: Hall, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _ = run_cli(["--month", "2026-09", "--out", str(tmp_path / "o"), "--data", str(hall.data),
                     "--config", str(CONFIG_PATH)])
    assert rc == 1 and "no data for this period" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_pdf_without_chromium_is_a_clear_error(hall: Hall, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    rc, _ = run_cli(["--week", "2026-W48", "--pdf", "--out", str(tmp_path / "o"), "--data", str(hall.data),
                     "--config", str(CONFIG_PATH)])
    err = capsys.readouterr().err
    assert rc == 2 and "Chromium" in err and "chromium" in err and not (tmp_path / "o").exists()


# ---------------------------------------------------------------- escaping
def test_hostile_names_comments_and_staff_are_escaped(hall: Hall, cfg: HallConfig, tmp_path: Path) -> None:
    data = cfg.model_dump()
    for s in data["services"]:
        s["name"] = HOSTILE + s["name"]
    data["zones"][0]["name_en"] = HOSTILE
    data["departments"][0]["name"] = HOSTILE
    hostile_cfg = HallConfig.model_validate(data)
    rep = report.build(hall.store, hostile_cfg, report_range.week_period(MONDAY))
    rep.staff["<b>S-1</b>"] = rep.staff.pop(next(k for k in rep.staff if k))
    html = report.render_html(rep)
    assert "<script" not in html and "<b>S-1" not in html and "&lt;b&gt;S-1&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;" in html
    assert "onerror" not in html and "13800138000" not in html        # the citizen's comment never shows
    for svg in re.findall(r"<svg .*?</svg>", html, re.S):
        ET.fromstring(svg)
    files = report.write_csvs(rep, tmp_path)
    rows = read_csv(files["services"])
    assert rows[0]["name"].startswith(HOSTILE)        # CSV: the text as it is (csv quoting), nothing executes there
