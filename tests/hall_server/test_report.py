"""`onewindow report`: a day of the reference hall, run through the engine into the store, becomes an HTML page
with SVG charts and CSVs without personal data."""
from __future__ import annotations

import csv
import json
import random
import re
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall_server import report
from hall_server.config import HallConfig, load_hall_config
from hall_server.engine import Engine, HallError, Outcome
from hall_server.store import Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config" / "hall.toml"
TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)


def at(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hh, mm, ss, tzinfo=TZ)


class Day:
    """Engine + Store, every outcome committed like the service does."""

    def __init__(self, cfg: HallConfig, data: Path) -> None:
        self.cfg = cfg
        self.engine = Engine(cfg, rng=random.Random(11))
        self.store = Store(data / f"{cfg.hall.id}.sqlite3")

    def do(self, op: str, *args, **kwargs) -> Outcome:
        out = getattr(self.engine, op)(*args, **kwargs)
        self.store.commit(out, self.engine.windows, self.engine.day)
        return out


def play_day(cfg: HallConfig, data: Path) -> Day:
    """Zone z6 follows a script with known figures; zones z1..z5 get a random crowd."""
    d = Day(cfg, data)
    z6 = [s.id for s in cfg.services if s.zone == "z6"]
    w6 = [w.id for w in cfg.windows if w.zone == "z6" and z6[0] in w.services][:2]
    # script: t1 waits 5 min, served 10 min, grade 5; t2 waits 15 min, served 4 min, grade 2;
    # t3 waits 14 min, recalled, no-show
    t1 = d.do("issue", at(9), z6[0], "id_card",
              {"ref": "HMAC-SECRET-1", "birth_date": "1950-03-04", "display_name": "张*"}).data
    t2 = d.do("issue", at(9, 1), z6[0], "walk_in").data
    t3 = d.do("issue", at(9, 2), z6[0], "walk_in").data
    d.do("call_next", at(9, 5), w6[0])            # t1 (also priority: 76 years old)
    d.do("finish", at(9, 15), w6[0])
    d.do("call_next", at(9, 16), w6[1])           # t2
    d.do("call_next", at(9, 16), w6[0])           # t3
    d.do("recall", at(9, 17), w6[0])
    d.do("no_show", at(9, 18), w6[0])
    d.do("finish", at(9, 20), w6[1])
    d.do("evaluate", at(9, 21), 5, ticket_id=t1["id"])
    d.do("evaluate", at(9, 22), 2, "等太久", ticket_id=t2["id"])
    d.do("set_window", at(9, 30), w6[1], "pause", reason="午休")
    d.do("supervise", at(9, 50))                  # paused 20 min > 15: one window_paused alert
    d.scripted = {"t1": t1, "t2": t2, "t3": t3, "windows": w6}   # type: ignore[attr-defined]

    rng = random.Random(5)
    services = [s for s in cfg.services if s.zone != "z6"]
    now = at(8, 30)
    holders = 0
    while now < at(16, 30):
        now += timedelta(seconds=rng.randint(20, 90))
        if at(12) <= now < at(13, 30):
            now = at(13, 30)
        svc = rng.choice(services)
        holder = None
        if rng.random() < 0.4 or svc.id_required:     # some services are issued on an ID card only
            holders += 1
            holder = {"ref": f"HMAC-SECRET-{holders + 100}", "birth_date": f"19{rng.randint(30, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                      "display_name": "李*"}
        d.do("issue", now, svc.id, "id_card" if holder else "walk_in", holder)
        for wid in rng.sample([w.id for w in cfg.windows if w.zone != "z6"], 3):
            r = rng.random()
            try:
                if r < 0.55:
                    d.do("call_next", now, wid)
                elif r < 0.62:
                    d.do("no_show", now, wid)
                elif r < 0.65:
                    cur = d.engine.windows[wid].current
                    target = rng.choice(services).id
                    if cur:
                        d.do("transfer", now, wid, service=target)
                else:
                    d.do("finish", now, wid)
                    t = d.engine.tickets[d.engine.windows[wid].last_finished]
                    if rng.random() < 0.6:
                        d.do("evaluate", now, rng.choice([1, 3, 4, 4, 5, 5, 5]), ticket_id=t.id)
            except HallError:
                pass
    return d


@pytest.fixture(scope="module")
def cfg() -> HallConfig:
    return load_hall_config(CONFIG_PATH)


@pytest.fixture(scope="module")
def day(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> Day:
    data = tmp_path_factory.mktemp("data")
    d = play_day(cfg, data)
    d.store.close()
    d.data = data        # type: ignore[attr-defined]
    return d


@pytest.fixture(scope="module")
def produced(day: Day, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("report")
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = report.run(["--date", DAY.isoformat(), "--out", str(out), "--data", str(day.data),  # type: ignore[attr-defined]
                         "--config", str(CONFIG_PATH)])
    assert rc == 0
    (line,) = buf.getvalue().strip().splitlines()
    return json.loads(line), out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_json_line_names_the_files_and_totals(produced: tuple[dict, Path], day: Day) -> None:
    info, out = produced
    assert info["event"] == "report" and info["date"] == "2026-11-27" and info["hall"] == "daan"
    assert Path(info["html"]) == out / "report-2026-11-27.html"
    assert {k: Path(v).name for k, v in info["csv"].items()} == \
        {k: f"{k}.csv" for k in ("tickets", *report.CSV_NAMES)}
    for p in [info["html"], *info["csv"].values()]:
        assert Path(p).is_file()
    tickets = day.engine.tickets.values()
    assert info["totals"]["tickets"] == len(day.engine.tickets) > 100
    assert info["totals"]["served"] == sum(t.state.value == "done" for t in tickets)
    assert info["totals"]["no_show"] == sum(t.state.value == "no_show" for t in tickets)
    assert info["totals"]["evaluations"] == sum(t.grade is not None for t in tickets)
    assert info["totals"]["alerts"] == len(read_csv(out / "alerts.csv")) >= 2


def test_tickets_csv_has_every_ticket_and_no_personal_data(produced: tuple[dict, Path], day: Day) -> None:
    _info, out = produced
    rows = read_csv(out / "tickets.csv")
    assert list(rows[0]) == report.TICKET_COLUMNS
    assert sorted(r["number"] for r in rows) == sorted(t.number for t in day.engine.tickets.values())
    text = (out / "tickets.csv").read_text(encoding="utf-8-sig")
    for t in day.engine.tickets.values():
        for secret in (t.holder_ref, t.birth_date, t.display_name, t.verify):
            if secret:
                assert secret not in text, secret
    assert "HMAC" not in text and "张*" not in text
    for banned in ("holder", "birth", "name_masked", "display_name", "verify", "appointment"):
        assert not any(banned in c for c in rows[0])
    by_number = {r["number"]: r for r in rows}
    t1 = by_number[day.scripted["t1"]["number"]]     # type: ignore[attr-defined]
    assert t1["state"] == "done" and t1["wait_s"] == "300" and t1["service_s"] == "600" and t1["grade"] == "5"
    assert t1["priority"] == "1" and t1["issued_at"] == "2026-11-27T09:00:00+08:00"
    t3 = by_number[day.scripted["t3"]["number"]]     # type: ignore[attr-defined]
    assert t3["state"] == "no_show" and t3["wait_s"] == "840" and t3["service_s"] == "" and t3["calls"] == "2"


def test_zones_csv(produced: tuple[dict, Path], day: Day, cfg: HallConfig) -> None:
    _info, out = produced
    rows = {r["zone"]: r for r in read_csv(out / "zones.csv")}
    assert list(next(iter(rows.values()))) == report.ZONE_COLUMNS
    assert list(rows) == ["z1", "z2", "z3", "z4", "z5", "z6"]
    assert rows["z1"]["name"] == "社会保障服务区" and rows["z1"]["name_en"] == "Social Security"
    z6 = rows["z6"]
    # waits 300, 900, 840 s; service 600 and 240 s
    assert (z6["tickets"], z6["called"], z6["served"], z6["no_show"]) == ("3", "3", "2", "1")
    assert float(z6["avg_wait_s"]) == pytest.approx((300 + 900 + 840) / 3, abs=0.1)
    assert float(z6["p90_wait_s"]) == 900
    assert float(z6["avg_service_s"]) == 420
    assert float(z6["no_show_rate"]) == pytest.approx(1 / 3, abs=1e-4)
    assert float(z6["satisfaction_rate"]) == 0.5 and z6["evaluations"] == "2"
    for zid, r in rows.items():
        tickets = [t for t in day.engine.tickets.values() if t.zone == zid]
        assert int(r["tickets"]) == len(tickets) > 0
        assert int(r["served"]) == sum(t.state.value == "done" for t in tickets)
        called = [t for t in tickets if t.called_at]
        assert int(r["called"]) == len(called)
        assert (r["avg_wait_s"] == "") == (not called)


def test_windows_csv(produced: tuple[dict, Path], day: Day, cfg: HallConfig) -> None:
    _info, out = produced
    rows = {r["window"]: r for r in read_csv(out / "windows.csv")}
    assert len(rows) == 102 and rows["w15"]["name"] == "15号窗口"
    served: dict[str, int] = {}
    for t in day.engine.tickets.values():
        if t.state.value == "done":
            served[t.window] = served.get(t.window, 0) + 1   # type: ignore[index]
    assert {w: int(r["served"]) for w, r in rows.items() if int(r["served"])} == served
    a, b = day.scripted["windows"]                 # type: ignore[attr-defined]
    assert rows[a]["served"] == "1" and rows[a]["no_show"] == "1" and rows[a]["called"] == "2"
    assert rows[a]["avg_service_s"] == "600.0" and rows[a]["avg_grade"] == "5.00"
    assert rows[b]["pauses"] == "1" and rows[b]["avg_grade"] == "2.00"


def test_supervision_alerts_in_csv_and_html(produced: tuple[dict, Path], day: Day) -> None:
    info, out = produced
    rows = read_csv(out / "alerts.csv")
    t2, w6 = day.scripted["t2"], day.scripted["windows"]       # type: ignore[attr-defined]
    bad = [r for r in rows if r["kind"] == "bad_evaluation"]
    [mine] = [r for r in bad if r["ticket"] == t2["number"]]      # the crowd's bad grades are listed too
    assert {"grade": "2", "kind_zh": "差评"}.items() <= mine.items()
    paused = [r for r in rows if r["kind"] == "window_paused"]
    assert len(paused) == 1 and paused[0]["window"] == w6[1] and int(paused[0]["seconds"]) == 20 * 60
    assert "等太久" not in (out / "alerts.csv").read_text(encoding="utf-8-sig")   # the citizen's comment stays out
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    html = Path(info["html"]).read_text(encoding="utf-8")
    assert "督办提醒 Supervision alerts" in html and f"差评 Bad evaluation: {len(bad)}" in html


def test_html_is_self_contained_with_svg_charts(produced: tuple[dict, Path]) -> None:
    info, _out = produced
    html = Path(info["html"]).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    for chart in ("chart-hourly", "chart-zone-wait", "chart-windows", "chart-grades"):
        m = re.search(rf'<svg id="{chart}".*?</svg>', html, re.S)
        assert m, chart
        assert m.group(0).count('class="bar"') >= 5, chart
    assert "<script" not in html and "<link" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    for label in ("每小时取号与办结", "Tickets issued and served per hour", "各区等候时间", "Waiting time per zone",
                  "各窗口办结件数", "Tickets served per window", "评价分布", "Evaluation grades",
                  "社会保障服务区", "公共资源交易区", "非常满意", "满意率"):
        assert label in html, label
    assert "张*" not in html and "HMAC" not in html


def test_svg_is_well_formed_xml(produced: tuple[dict, Path]) -> None:
    import xml.etree.ElementTree as ET
    info, _out = produced
    html = Path(info["html"]).read_text(encoding="utf-8")
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(svgs) == 4
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")


def test_a_day_without_tickets_is_no_data_not_an_all_zero_report(day: Day, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = report.run(["--date", "2026-11-26", "--out", str(out), "--data", str(day.data),   # type: ignore[attr-defined]
                     "--config", str(CONFIG_PATH)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "no data for this day" in err and "2026-11-26" in err and "2026-11-27" in err   # the day that has data
    assert not out.exists()


@pytest.mark.parametrize("utc, date_arg, expected", [
    # 2026-11-26 17:30 UTC is already 01:30 on the 27th in the hall (Asia/Shanghai): the machine's date is the 26th
    (datetime(2026, 11, 26, 17, 30, tzinfo=ZoneInfo("UTC")), None, "2026-11-27"),
    (datetime(2026, 11, 26, 17, 30, tzinfo=ZoneInfo("UTC")), "today", "2026-11-27"),
    (datetime(2026, 11, 27, 16, 5, tzinfo=ZoneInfo("UTC")), "yesterday", "2026-11-27"),   # 00:05 on the 28th
])
def test_the_default_day_is_the_halls_business_day(day: Day, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   utc: datetime, date_arg: str | None, expected: str) -> None:
    argv = ["--out", str(tmp_path), "--data", str(day.data), "--config", str(CONFIG_PATH)]  # type: ignore[attr-defined]
    rc = report.run(argv + (["--date", date_arg] if date_arg else []), now=utc)
    assert rc == 0, capsys.readouterr().err
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["date"] == expected and (tmp_path / f"report-{expected}.html").is_file()
    assert info["totals"]["tickets"] > 100


def test_the_hall_day_seen_from_a_machine_in_utc(cfg: HallConfig) -> None:
    assert report.business_day(cfg, datetime(2026, 11, 26, 15, 59, tzinfo=ZoneInfo("UTC"))) == date(2026, 11, 26)
    assert report.business_day(cfg, datetime(2026, 11, 26, 16, 0, tzinfo=ZoneInfo("UTC"))) == date(2026, 11, 27)


def test_the_default_record_is_the_servers(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc = report.run(["--date", "2026-11-27", "--out", "o", "--config", str(CONFIG_PATH)])
    err = capsys.readouterr().err
    assert rc == 1 and "no record of hall daan at var/data/daan.sqlite3" in err and "var/demo" in err


def test_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = report.run(["--date", "2026-11-27", "--out", str(tmp_path / "o"), "--data", str(tmp_path / "none"),
                     "--config", str(CONFIG_PATH)])
    assert rc == 1 and "no record" in capsys.readouterr().err
    assert not (tmp_path / "none").exists() and not (tmp_path / "o").exists()


def test_bad_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        report.run(["--date", "27.11.2026", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


def test_command_line(day: Day, tmp_path: Path) -> None:
    exe = ROOT / ".venv" / "bin" / "onewindow"
    if not exe.exists():
        pytest.skip("onewindow console script not installed in .venv")
    proc = subprocess.run([str(exe), "report", "--date", "2026-11-27", "--out", str(tmp_path),
                           "--data", str(day.data), "--config", str(CONFIG_PATH)],   # type: ignore[attr-defined]
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(info["html"]).is_file() and info["totals"]["tickets"] > 100
