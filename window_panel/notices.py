"""The written notices a window hands the applicant (受理通知书, 一次性告知书, 不予受理通知书): one text, printed as
ESC/POS bytes on the window's receipt printer (devices.printer.layout's helpers) or shown on screen.

Each notice carries the case number, the query code, the dates and how to query the case; the 不予受理通知书 adds
the reasons and the applicant's appeal rights (行政复议 within 60 days, 行政诉讼 within 6 months). The applicant's
name is printed masked and the ID number and phone never appear."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from devices.printer.layout import (
    ESC_INIT, FS_KANJI_OFF, FS_KANJI_ON, KANJI_DOUBLE, KANJI_NORMAL, KANJI_TALL, PAPER_COLUMNS, check_encoding,
    check_paper, encode_text, fs_size, text_width, wrap,
)

log = logging.getLogger("onewindow.panel.notices")

ALIGN_LEFT = b"\x1ba\x00"
ALIGN_CENTER = b"\x1ba\x01"
BOLD_ON, BOLD_OFF = b"\x1bE\x01", b"\x1bE\x00"
FEED_AND_CUT = b"\x1bd\x04\x1dV\x00"      # feed 4 lines, full cut (the scanner and simulator end a job at GS V)

KINDS = ("accepted", "incomplete", "refused")

_T: dict[str, dict[str, str]] = {
    "zh": {
        "accepted": "受理通知书", "incomplete": "一次性告知书", "refused": "不予受理通知书",
        "number": "办件编号：{v}", "code": "查询码：{v}", "service": "申请事项：{v}", "dept": "承办部门：{v}",
        "applicant": "申请人：{v}", "window": "受理窗口：{v}", "accepted_at": "受理时间：{v}",
        "told_at": "告知时间：{v}", "refused_at": "决定时间：{v}",
        "due": "承诺办结日期：{v}（{n} 个{u}）", "legal_due": "法定办结期限：{v}（{n} 个{u}）",
        "working_days": "工作日", "natural_days": "自然日",
        "accepted_text": "您提交的申请材料齐全、符合法定形式，本机关决定予以受理。",
        "missing_accepted": "容缺受理，请在办结前补交以下材料：",
        "incomplete_text": "您申请办理的事项，申请材料不齐全或不符合法定形式。请一次性补齐以下材料后再来办理：",
        "refused_text": "经审查，您的申请依法不予受理，理由如下：",
        "reasons": "说明：{v}",
        "appeal": "如对本决定不服，可以自收到本通知书之日起六十日内依法申请行政复议，或者六个月内依法向人民法院"
                  "提起行政诉讼。",
        "query": "查询方式：凭办件编号和查询码，在大厅自助终端“办件查询”{web}查询办理进度{phone}。",
        "query_web": "或登录 {url} ",
        "query_phone": "；咨询电话 {p}",
        "keep": "请妥善保管本通知书，查询码请勿告知他人。",
        "issued": "出具时间：{v}",
    },
    "en": {
        "accepted": "Acceptance Notice", "incomplete": "Notice of Missing Materials", "refused": "Notice of Refusal",
        "number": "Case number: {v}", "code": "Query code: {v}", "service": "Service: {v}", "dept": "Department: {v}",
        "applicant": "Applicant: {v}", "window": "Window: {v}", "accepted_at": "Accepted: {v}",
        "told_at": "Date: {v}", "refused_at": "Decided: {v}",
        "due": "Promised by: {v} ({n} {u})", "legal_due": "Legal deadline: {v} ({n} {u})",
        "working_days": "working days", "natural_days": "days",
        "accepted_text": "Your application is complete and in due form; it has been accepted.",
        "missing_accepted": "Accepted with items to follow; please bring before completion:",
        "incomplete_text": "Your application is incomplete or not in due form. Please bring all of the following "
                           "and apply again:",
        "refused_text": "Your application cannot be accepted, for these reasons:",
        "reasons": "Note: {v}",
        "appeal": "If you disagree with this decision you may apply for administrative reconsideration within 60 "
                  "days of receiving this notice, or bring an administrative lawsuit before a people's court within "
                  "6 months.",
        "query": "To follow your case: enter the case number and query code at a hall kiosk (Case status){web}"
                 "{phone}.",
        "query_web": " or at {url}",
        "query_phone": "; phone {p}",
        "keep": "Keep this notice; do not share the query code.",
        "issued": "Issued: {v}",
    },
}


@dataclass(frozen=True)
class Notice:
    """A notice as text: `title` and the lines under it (printed wrapped; shown as they are)."""
    kind: str
    title: str
    hall: str
    lines: tuple[str, ...]
    lang: str = "zh"
    emphasis: tuple[str, ...] = field(default=())   # lines printed bold (number, query code)

    @property
    def text(self) -> str:
        head = [self.hall] if self.hall else []
        return "\n".join([*head, self.title, "", *self.lines])


def kind_of(case: dict[str, Any]) -> str:
    status = case.get("status")
    return status if status in ("incomplete", "refused") else "accepted"


def short_time(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value or "")


def masked(name: str) -> str:
    from devices.idcard import mask_name
    return mask_name(name) if name else ""


def case_web_url(status_url: str) -> str:
    """The hall's case query page, from the catalog's ticket link (`https://host/t/{token}` -> `https://host/case`)."""
    if "/t/{token}" not in status_url:
        return ""
    return status_url.split("/t/{token}", 1)[0] + "/case"


def build_notice(case: dict[str, Any], *, lang: str = "zh", hall: str = "", window_name: str = "",
                 hall_phone: str = "", web_url: str = "", now: datetime | None = None) -> Notice:
    """The notice for a case as case.accept / case.refuse return it (the full view)."""
    t = _T["en" if lang == "en" else "zh"]
    kind = kind_of(case)
    service = (case.get("service_name_en") if lang == "en" else None) or case.get("service_name") \
        or str(case.get("service", ""))
    number, code = str(case.get("number", "")), str(case.get("query_code", ""))
    lines = [t["number"].format(v=number), t["code"].format(v=code), t["service"].format(v=service)]
    emphasis = (lines[0], lines[1])
    if case.get("department"):
        lines.append(t["dept"].format(v=case["department"]))
    applicant = case.get("applicant") if isinstance(case.get("applicant"), dict) else None
    if applicant and applicant.get("name"):
        lines.append(t["applicant"].format(v=masked(str(applicant["name"]))))
    if window_name:
        lines.append(t["window"].format(v=window_name))
    at = short_time(case.get("accepted_at"))
    missing = [str(m) for m in case.get("missing") or ()]
    if kind == "accepted":
        lines.append(t["accepted_at"].format(v=at))
        unit = t[case.get("limit_unit") if case.get("limit_unit") in ("working_days", "natural_days")
                 else "working_days"]
        if case.get("due_date"):
            lines.append(t["due"].format(v=case["due_date"], n=case.get("promised_days", 0), u=unit))
        if case.get("legal_due_date"):
            lines.append(t["legal_due"].format(v=case["legal_due_date"], n=case.get("legal_days", 0), u=unit))
        lines += ["", t["accepted_text"]]
        if missing:
            lines.append(t["missing_accepted"])
            lines += [f"{i}. {m}" for i, m in enumerate(missing, 1)]
    elif kind == "incomplete":
        lines += [t["told_at"].format(v=at), "", t["incomplete_text"]]
        lines += [f"{i}. {m}" for i, m in enumerate(missing, 1)]
        if (case.get("reason") or "").strip():
            lines.append(t["reasons"].format(v=case["reason"].strip()))
    else:
        lines += [t["refused_at"].format(v=at), "", t["refused_text"], str(case.get("reason") or "").strip(),
                  "", t["appeal"]]
    web = t["query_web"].format(url=web_url) if web_url else ""
    phone = t["query_phone"].format(p=hall_phone) if hall_phone else ""
    lines += ["", t["query"].format(web=web, phone=phone), t["keep"],
              t["issued"].format(v=(now or datetime.now()).strftime("%Y-%m-%d %H:%M"))]
    return Notice(kind, t[kind], hall, tuple(lines), "en" if lang == "en" else "zh", emphasis)


def render_notice(notice: Notice, *, paper_mm: int = 80, encoding: str = "gbk") -> bytes:
    """The ESC/POS bytes of a notice: Kanji mode, the title in double size, user text cleaned of control codes
    (devices.printer.layout.encode_text), wrapped to the paper, cut."""
    enc = check_encoding(encoding)
    columns = PAPER_COLUMNS[check_paper(paper_mm)]
    out = bytearray(ESC_INIT + (FS_KANJI_OFF if enc == "utf-8" else FS_KANJI_ON) + ALIGN_CENTER)

    def line(text: str = "") -> None:
        out.extend(encode_text(text, enc) + b"\n")

    for part in wrap(notice.hall, columns) if notice.hall else []:
        line(part)
    fits = text_width(notice.title) * 2 <= columns
    out.extend(fs_size(KANJI_DOUBLE if fits else KANJI_TALL) + b"\x1d!" + (b"\x11" if fits else b"\x01"))
    for part in wrap(notice.title, columns // 2 if fits else columns):
        line(part)
    out.extend(b"\x1d!\x00" + fs_size(KANJI_NORMAL) + ALIGN_LEFT)
    line()
    for text in notice.lines:
        bold = text in notice.emphasis
        out.extend(BOLD_ON if bold else b"")
        for part in wrap(text, columns) if text else [""]:
            line(part)
        out.extend(BOLD_OFF if bold else b"")
    out.extend(FEED_AND_CUT)
    return bytes(out)


class NoticePrinter:
    """The window's receipt printer (devices.printer.TicketPrinter on the config's URL). print_async never blocks
    the GUI: the job runs on a thread of its own and `done(error)` is called there (None: printed)."""

    def __init__(self, url: str, encoding: str = "gbk", paper_mm: int = 80) -> None:
        from devices.printer import TicketPrinter
        self.url, self.encoding, self.paper_mm = url, encoding, paper_mm
        # a printer that answers no status prints nothing (unless the link can never answer: file://)
        self.driver = TicketPrinter(url, encoding=encoding, paper_mm=paper_mm,
                                    require_status=not url.startswith("file:"))
        self._lock = threading.Lock()

    def print_now(self, notice: Notice) -> None:
        """Print on this thread; raises devices.errors.DeviceError (PrinterError names the fault)."""
        job = render_notice(notice, paper_mm=self.paper_mm, encoding=self.encoding)
        with self._lock:
            self.driver.print_bytes(job)
        log.info("printed %s (%d bytes) on %s", notice.kind, len(job), self.url)   # never the notice's text

    def print_async(self, notice: Notice, done: Callable[[str | None], None]) -> None:
        def run() -> None:
            from devices.errors import DeviceError
            try:
                self.print_now(notice)
            except DeviceError as exc:
                log.warning("notice not printed on %s: %s", self.url, exc.message)
                done(exc.message)
                return
            except Exception as exc:      # a printer problem must never take the panel down
                log.exception("notice not printed on %s", self.url)
                done(str(exc)[:200])
                return
            done(None)
        threading.Thread(target=run, name="panel-notice-print", daemon=True).start()

    def close(self) -> None:
        self.driver.close()
