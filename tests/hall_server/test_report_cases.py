"""The cases (办件) part of the daily report: cases written through the real CaseBook into a real Store around the
2026 Mid-Autumn / National Day holidays, then counted for Friday 2026-10-09 (accepted, done on time or late,
overdue, refused, incomplete, by service and department, days taken against the legal limit)."""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall_server import report, report_cases
from hall_server.case_desk import service_terms
from hall_server.cases import Case, CaseBook, CaseOutcome
from hall_server.config import HallConfig, load_hall_config
from hall_server.crypto import Sealer
from hall_server.engine import Engine, Outcome
from hall_server.store import Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config" / "hall.toml"
TZ = ZoneInfo("Asia/Shanghai")
D = date(2026, 10, 9)          # Friday; 09-25 (中秋) and 10-01..10-07 (国庆) are holidays, Saturday 10-10 is worked
NAME, ID_NUMBER, NOTE = "王小明", "110101199003071234", "申请人电话13800138000"


def at(m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=TZ)


@dataclass
class Hall:
    cfg: HallConfig
    store: Store
    book: CaseBook
    path: Path
    cases: dict[str, Case]
    engine: Engine

    def put(self, out: CaseOutcome, now: datetime) -> Case:
        events = [self.engine._alert(now, kind, level, target, zh, en, **detail)
                  for kind, level, target, zh, en, detail in out.alerts]
        self.store.commit(Outcome(cases=dict(out.cases), events=events), {}, now.date())
        return next(iter(out.cases.values())) if out.cases else None    # type: ignore[return-value]

    def accept(self, name: str, service: str, now: datetime, window: str = "w1") -> Case:
        c = self.put(self.book.accept(now, now.date(), service, window, ticket_id=None,
                                      applicant={"name": NAME, "id_number": ID_NUMBER}, phone=None,
                                      actor=f"panel-{window}", staff="李工", note=NOTE), now)
        self.cases[name] = c
        return c

    def refuse(self, name: str, service: str, kind: str, now: datetime) -> Case:
        c = self.put(self.book.refuse(now, now.date(), service, "w1", kind, ticket_id=None, reasons="材料不全",
                                      missing=["身份证"], applicant={"name": NAME, "id_number": ID_NUMBER},
                                      phone=None, actor="panel-w1", staff="李工", note=NOTE), now)
        self.cases[name] = c
        return c

    def change(self, name: str, change: str, now: datetime, **kw: object) -> None:
        c = self.cases[name]
        if change == "done":
            kw.setdefault("result", "approved")
        self.put(self.book.update(now, c, change, actor="dept-x", note=NOTE, **kw), now)   # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cfg() -> HallConfig:
    return load_hall_config(CONFIG_PATH)


@pytest.fixture(scope="module")
def hall(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> Hall:
    data = tmp_path_factory.mktemp("data")
    store = Store(data / f"{cfg.hall.id}.sqlite3")
    store.sealer = Sealer(bytes(32))
    book = CaseBook(cfg.hall_calendar, service_terms(cfg), number_prefix=cfg.cases.number_prefix)
    h = Hall(cfg, store, book, data, {}, Engine(cfg))
    # acceptances in order of time (the book numbers each day's cases from 1)
    h.accept("retire", "ss_retire", at(9, 21))            # 10 days; 补正 09-23..09-29; done on D: on time
    h.accept("extended", "ss_enroll", at(9, 21, 10))      # 5 days + 5 extension: due 10-12, open, not overdue
    h.accept("late", "ss_enroll", at(9, 22))              # 5 days: due 09-30; done on D: late
    h.accept("overdue", "ap_building", at(9, 22, 11))     # 5 days: due 09-30; open at the end of D, done 10-12
    h.accept("due_today", "ap_building", at(9, 24))       # 5 days: due 10-09 = D: open, not overdue yet
    h.accept("holiday", "ss_enroll", at(9, 28))           # 5 days over 国庆: due 10-10; done on D: on time
    h.accept("done_before", "ps_noncrime", at(9, 28, 10))  # done 10-08: not in D's done
    h.change("retire", "needs_materials", at(9, 23), missing=["退休审批表"])
    h.change("extended", "extend", at(9, 24), days=5, approved_by="主任")
    h.change("retire", "resumed", at(9, 29))
    h.change("done_before", "done", at(10, 8))
    h.accept("today", "ss_enroll", at(10, 9, 9, 30))      # accepted on D, open
    h.refuse("refused", "ps_noncrime", "refused", at(10, 9, 9, 40))
    h.refuse("incomplete", "ss_enroll", "incomplete", at(10, 9, 9, 50))
    h.accept("on_the_spot", "tx_register", at(10, 9, 10))   # 即办: 0 days, done on D
    for name, mm in (("retire", 5), ("late", 10), ("holiday", 15), ("on_the_spot", 20)):
        h.change(name, "done", at(10, 9, 10, mm))
    h.put(h.book.supervise(at(10, 9, 16)), at(10, 9, 16))   # red cards: overdue; yellow: due_today, extended...
    h.change("holiday", "delivered", at(10, 9, 16, 30), delivery={"method": "pickup"})
    h.accept("after", "ss_enroll", at(10, 12))            # after D: not in D's report
    h.change("overdue", "done", at(10, 12, 11))
    h.change("late", "delivered", at(10, 12, 11, 30), delivery={"method": "pickup"})
    return h


@pytest.fixture(scope="module")
def cd(hall: Hall) -> report_cases.CaseDay:
    return report_cases.build(hall.store, hall.cfg, D)


def by_number(cd: report_cases.CaseDay) -> dict[str, report_cases.CaseRow]:
    return {r.rec["number"]: r for r in cd.rows}


def test_the_days_counts(hall: Hall, cd: report_cases.CaseDay) -> None:
    rows = by_number(cd)
    names = {n: c.number for n, c in hall.cases.items()}
    assert set(rows) == {names[n] for n in ("retire", "extended", "late", "overdue", "due_today", "holiday",
                                            "today", "refused", "incomplete", "on_the_spot")}
    h = cd.hall
    assert (h.accepted, h.refused, h.incomplete) == (2, 1, 1)          # today, on_the_spot
    assert (h.done, h.done_on_time, h.done_late) == (4, 3, 1)          # retire, holiday, on_the_spot / late
    assert h.overdue == 1 and h.open == 4     # overdue (done only on 10-12); extended, due_today, today open
    assert cd.active and cd.alerts["case_overdue"] == 1


def test_on_time_across_the_holidays_stops_and_extensions(hall: Hall, cd: report_cases.CaseDay) -> None:
    r = {n: by_number(cd)[c.number] for n, c in hall.cases.items() if c.number in by_number(cd)}
    # 5 working days from Monday 09-28: 09-29, 09-30, (国庆 10-01..07), 10-08, 10-09, Saturday 10-10 (调休)
    assert r["holiday"].due == date(2026, 10, 10) and r["holiday"].on_time is True
    assert r["holiday"].working_days == 4 and r["holiday"].status == "delivered"
    # 09-22 + 5: 09-23, 09-24, (中秋 09-25, weekend), 09-28, 09-29, 09-30
    assert r["late"].due == date(2026, 9, 30) and r["late"].on_time is False
    assert r["late"].status == "done"                       # delivered only on 10-12: as it stood on D
    assert r["late"].working_days == 7
    # stopped 09-23..09-29 (补正): 09-22, 09-30, 10-08, 10-09 count
    assert r["retire"].working_days == 4 and r["retire"].due == date(2026, 10, 16) and r["retire"].on_time
    assert r["on_the_spot"].due == D and r["on_the_spot"].on_time and r["on_the_spot"].working_days == 0
    # open at the end of D
    assert r["overdue"].status == "accepted" and r["overdue"].overdue and r["overdue"].due == date(2026, 9, 30)
    assert r["due_today"].due == D and not r["due_today"].overdue      # due on D itself is not overdue yet
    assert r["extended"].due == date(2026, 10, 12) and not r["extended"].overdue   # 5 + 5 days
    assert r["refused"].due is None and r["incomplete"].due is None


def test_by_service_and_ratio(cd: report_cases.CaseDay) -> None:
    enroll = cd.services["ss_enroll"]    # legal 20, promised 5
    assert (enroll.accepted, enroll.done, enroll.done_on_time, enroll.done_late, enroll.incomplete) == (1, 2, 1, 1, 1)
    assert enroll.open == 2 and enroll.overdue == 0
    assert enroll.avg_days_taken == pytest.approx((4 + 7) / 2)
    assert enroll.actual_legal_ratio == pytest.approx(11 / 40)
    assert cd.promised_ratio("ss_enroll") == pytest.approx(0.25)
    assert cd.services["ss_retire"].actual_legal_ratio == pytest.approx(4 / 30)
    assert cd.services["tx_register"].actual_legal_ratio == 0.0
    assert cd.services["ap_building"].overdue == 1 and cd.services["ap_building"].done == 0
    assert cd.services["ap_building"].actual_legal_ratio is None
    assert cd.promised_ratio("ap_building") == pytest.approx(5 / 15)     # from the config: none done on D
    assert cd.services["ps_noncrime"].refused == 1 and cd.services["ps_noncrime"].done == 0   # done 10-08
    assert cd.hall.actual_legal_ratio == pytest.approx((4 + 7 + 4 + 0) / (20 + 20 + 30 + 1))
    assert report_cases.service_order(cd) == ["ss_enroll", "ss_retire", "ap_building", "tx_register", "ps_noncrime"]


def test_by_department(cd: report_cases.CaseDay) -> None:
    assert report_cases.department_order(cd) == ["hrss", "housing", "social", "tax", "police"]   # config order
    hrss = cd.departments["hrss"]
    assert (hrss.accepted, hrss.done, hrss.done_late, hrss.incomplete) == (1, 2, 1, 1)
    assert cd.departments["housing"].overdue == 1
    assert report_cases.department_name(cd, "hrss") == "区人力资源和社会保障局"


def test_a_later_day_sees_the_cases_as_they_stood(hall: Hall) -> None:
    later = report_cases.build(hall.store, hall.cfg, date(2026, 10, 12))
    h = later.hall
    assert (h.accepted, h.done, h.done_late) == (1, 1, 1)      # "after"; "overdue" done, late
    assert h.overdue == 1                                        # due_today (due 10-09) is overdue now
    before = report_cases.build(hall.store, hall.cfg, date(2026, 9, 30))
    assert before.hall.open == 7
    # late and overdue are due on 09-30 itself; done_before (1 day from 09-28) was due 09-29, done only 10-08
    assert [row.rec["number"] for row in before.rows if row.overdue] == [hall.cases["done_before"].number]
    r = {row.rec["number"]: row for row in before.rows}
    retire = r[hall.cases["retire"].number]
    assert retire.status == "in_progress" and retire.due == date(2026, 10, 16)
    extended = r[hall.cases["extended"].number]
    assert extended.due == date(2026, 10, 12)


def test_cases_csv_has_no_personal_data(hall: Hall, cd: report_cases.CaseDay, tmp_path: Path) -> None:
    path = report_cases.write_csv(cd, tmp_path, report._write_csv)
    text = path.read_text(encoding="utf-8-sig")
    for secret in (NAME, ID_NUMBER, NOTE, "13800138000", "李工", "材料不全"):
        assert secret not in text, secret
    for c in hall.cases.values():
        assert c.token not in text and c.query_code not in text.replace(c.number, "")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == report_cases.CASE_COLUMNS
    for banned in ("applicant", "phone", "token", "query", "note", "reason", "id_number", "name_masked"):
        assert not any(banned in col for col in rows[0]), banned
    row = {r["number"]: r for r in rows}
    holiday = row[hall.cases["holiday"].number]
    assert {"service": "ss_enroll", "department": "hrss", "status": "delivered", "result": "approved",
            "due_date": "2026-10-10", "on_time": "1", "overdue": "0", "working_days_taken": "4",
            "legal_days": "20", "done_at": "2026-10-09T10:15:00+08:00"}.items() <= holiday.items()
    overdue = row[hall.cases["overdue"].number]
    assert overdue["overdue"] == "1" and overdue["done_at"] == "" and overdue["on_time"] == ""
    assert overdue["status"] == "accepted" and overdue["result"] == ""     # done (approved) only on 10-12
    assert row[hall.cases["refused"].number]["due_date"] == ""


def test_the_report_has_the_cases_section(hall: Hall, tmp_path: Path) -> None:
    hall.store.db.execute("SELECT 1")            # still open: the report reads next to the writer
    rep = report.build(hall.store, hall.cfg, D)
    assert rep.has_cases and not rep.tickets
    html = report.render_html(rep)
    m = re.search(r'<section id="cases"[^>]*>.*?</section>', html, re.S)
    assert m
    section = m.group(0)
    for label in ("办件 Cases", "按事项 By service", "按部门 By department", "区人力资源和社会保障局",
                  "实际/法定", "35%", "超期未结", "一次性告知"):
        assert label in section, label
    assert "<td>28%</td>" in section          # ss_enroll actual/legal 11/40 = 27.5%
    svg = re.search(r'<svg id="chart-case-ratio".*?</svg>', section, re.S)
    assert svg and svg.group(0).count('class="bar"') == 2 * 3     # ss_enroll, ss_retire, tx_register
    ET.fromstring(svg.group(0))
    for secret in (NAME, ID_NUMBER, NOTE, "李工"):
        assert secret not in html, secret
    assert "办件超期" in html                   # the red card in the supervision alerts
    files = report.write_csvs(rep, tmp_path)
    assert files["cases"] == tmp_path / "cases.csv"
    alerts = (tmp_path / "alerts.csv").read_text(encoding="utf-8-sig")
    assert hall.cases["overdue"].number in alerts and NAME not in alerts


def test_command_line_on_a_day_with_cases_only(hall: Hall, tmp_path: Path) -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = report.run(["--date", D.isoformat(), "--out", str(tmp_path), "--data", str(hall.path),
                         "--config", str(CONFIG_PATH)])
    assert rc == 0
    info = json.loads(buf.getvalue().strip().splitlines()[-1])
    assert info["cases"] == {"accepted": 2, "done": 4, "done_on_time": 3, "done_late": 1, "overdue": 1,
                             "refused": 1, "incomplete": 1, "open": 4,
                             "actual_legal_ratio": round(15 / 71, 4)}
    assert Path(info["csv"]["cases"]).is_file()


def test_a_day_without_cases_has_no_section(hall: Hall) -> None:
    empty = report_cases.build(hall.store, hall.cfg, date(2026, 9, 18))
    assert not empty.rows and not empty.active
    rep = report.build(hall.store, hall.cfg, date(2026, 9, 18))
    assert not rep.has_cases and 'id="cases"' not in report.render_html(rep)
