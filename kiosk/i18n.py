"""Every text the kiosk shows, in Chinese and English (one table, so a missing translation is a test failure)."""
from __future__ import annotations

from typing import Any

from hall_bus.hall import GRADES

LANGS = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    # chrome
    "back": ("返回", "Back"),
    "home": ("首页", "Home"),
    "other_lang": ("English", "中文"),
    "elderly_on": ("长者模式", "Large text"),
    "elderly_off": ("标准模式", "Standard text"),
    "idle_return": ("{s} 秒后返回首页", "Back to home in {s} s"),
    # home
    "welcome": ("欢迎！请选择办理区域", "Welcome! Choose a service area"),
    "zone_waiting": ("等候 {n} 人", "{n} waiting"),
    "zone_wait": ("约 {m} 分钟", "about {m} min"),
    "zone_no_wait": ("无需等候", "no wait"),
    "zone_services": ("{n} 项业务", "{n} services"),
    "id_hint_title": ("身份证取号", "ID card"),
    "id_hint": ("将身份证放在下方感应区，即可刷证取号", "Place your ID card on the reader below to take a number"),
    "appointment": ("预约签到", "Appointment check-in"),
    "appointment_sub": ("扫码或输入预约码", "Scan or type your code"),
    "status": ("查询号票", "Ticket status"),
    "status_sub": ("扫描号票二维码或输入号码", "Scan the ticket QR or type the number"),
    "guide": ("办事指南", "Service guide"),
    "guide_sub": ("所需材料与办理流程", "Materials and steps"),
    "hello_holder": ("{name}，您好！", "Hello, {name}!"),
    "holder_choose": ("已读取身份证，请选择要办理的业务", "ID card read. Please choose a service."),
    "holder_priority": ("您可优先办理", "You will be served with priority"),
    "holder_forget": ("取消刷证", "Not me"),
    "last_called": ("刚刚叫号", "Just called"),
    # zone / services
    "choose_service": ("请选择业务", "Choose a service"),
    "promised": ("承诺 {d} 个工作日办结", "Done in {d} working days"),
    "promised_now": ("即来即办", "Done on the spot"),
    "legal": ("法定时限 {d} 个工作日", "Legal limit {d} working days"),
    "take_number": ("取号", "Take a number"),
    "view_guide": ("指南", "Guide"),
    "needs_id": ("需刷身份证", "ID card needed"),
    "page": ("第 {p} / {n} 页", "Page {p} of {n}"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    # confirm
    "confirm_title": ("请确认取号信息", "Please confirm"),
    "confirm_service": ("办理业务", "Service"),
    "confirm_zone": ("办理区域", "Area"),
    "confirm_waiting": ("当前等候", "Now waiting"),
    "confirm_holder": ("身份证", "ID card"),
    "confirm_bring": ("请准备好以下材料", "Please have these ready"),
    "confirm_button": ("确认取号", "Take number"),
    "people": ("{n} 人", "{n} people"),
    "id_required_title": ("这项业务需要刷身份证", "This service needs your ID card"),
    "id_required_body": ("请将身份证放在感应区，然后再点“确认取号”。", "Place your ID card on the reader, then press “Take number”."),
    # printing
    "printing_title": ("正在为您取号", "Getting your number"),
    "step_request": ("申请号码", "Requesting"),
    "step_print": ("打印号票", "Printing"),
    "step_done": ("完成", "Done"),
    "printing_wait": ("请稍候，不要离开", "Please wait a moment"),
    # done
    "your_number": ("您的号码", "Your number"),
    "ahead": ("前面还有 {n} 人", "{n} ahead of you"),
    "ahead_none": ("前面没有人，请留意叫号", "You are next, please listen for your number"),
    "est_wait": ("预计等候约 {m} 分钟", "Estimated wait about {m} min"),
    "take_ticket": ("请取走号票", "Please take your ticket"),
    "go_to_zone": ("请到 {floor}{zone} 等候叫号", "Please wait in {zone} {floor}"),
    "priority_ticket": ("优先号", "Priority"),
    "finish": ("完成", "Finish"),
    # unprinted
    "unprinted_title": ("号票未能打印，但号码有效", "The ticket could not be printed, but your number is valid"),
    "unprinted_body": ("请记下或拍下这个号码，凭号码和验证码办理；工作人员已收到通知。",
                       "Please note or photograph this number and code. Staff have been told."),
    "verify_code": ("验证码", "Check code"),
    # guide
    "guide_title": ("办事指南", "Service guide"),
    "guide_pick": ("请选择要查看的业务", "Choose a service to read about"),
    "guide_materials": ("申请材料", "Documents to bring"),
    "guide_steps": ("办理流程", "Steps"),
    "guide_limits": ("办理时限", "Time limits"),
    "copies": ("{n} 份", "{n} copies"),
    "copy_one": ("1 份", "1 copy"),
    "original": ("原件", "original"),
    "photocopy": ("复印件", "photocopy"),
    "print_checklist": ("打印材料清单", "Print checklist"),
    "checklist_printed": ("材料清单已打印，请取走", "Checklist printed, please take it"),
    "checklist_failed": ("清单打印失败：{why}", "Could not print the checklist: {why}"),
    "no_materials": ("无需提交材料", "No documents needed"),
    "no_steps": ("请到窗口咨询", "Please ask at the window"),
    "appointment_ok": ("可预约", "Appointments taken"),
    # appointment
    "appt_title": ("预约签到", "Appointment check-in"),
    "appt_body": ("请将预约二维码对准扫码口，或输入预约码", "Hold your appointment QR code to the scanner, or type the code"),
    "appt_placeholder": ("预约码", "Appointment code"),
    "submit": ("确定", "OK"),
    "clear": ("清除", "Clear"),
    "delete": ("删除", "Delete"),
    "appt_checking": ("正在签到…", "Checking in…"),
    # status
    "status_title": ("查询号票", "Ticket status"),
    "status_body": ("扫描号票上的二维码，或输入号码（如 A023）或验证码", "Scan the QR on your ticket, or type the number (e.g. A023) or check code"),
    "status_placeholder": ("号码或验证码", "Number or check code"),
    "status_checking": ("正在查询…", "Looking up…"),
    "state_waiting": ("等候中", "Waiting"),
    "state_serving": ("正在办理", "Being served"),
    "state_held": ("已挂起，请留意叫号", "On hold, listen for your number"),
    "state_no_show": ("已过号，请联系工作人员", "Missed, please ask staff"),
    "state_done": ("已办结", "Finished"),
    "state_transferred": ("已转办", "Transferred"),
    "state_expired": ("已过期", "Expired"),
    "state_cancelled": ("已取消", "Cancelled"),
    "called_to": ("请到 {window} 办理", "Please go to {window}"),
    "query_again": ("再查一张", "Look up another"),
    "eval_prompt": ("请您对本次服务进行评价", "How was our service today?"),
    "eval_sending": ("正在提交评价…", "Sending your rating…"),
    "eval_thanks": ("感谢您的评价：{grade}", "Thank you for your rating: {grade}"),
    "eval_unreachable": ("暂时无法提交评价，请稍后再试或联系工作人员", "Your rating could not be sent; please try again later or ask staff"),
    # 好差评 grades: the hall's own labels (hall_bus.hall.GRADES), the same in the report and on the evaluators
    **{f"grade_{g}": labels for g, labels in GRADES.items()},
    "invalid_code": ("无法识别这个号码，请检查后重试", "That code was not recognised, please check it"),
    # faults
    "unreachable_title": ("暂时无法取号", "Numbers cannot be issued right now"),
    "unreachable_body": ("本机与叫号系统的连接中断。请联系大厅工作人员，或使用其他取号机。恢复后本机会自动继续服务。",
                         "This kiosk has lost its connection to the queue system. Please ask a member of staff or use another kiosk. It will resume by itself."),
    "connecting_title": ("正在连接叫号系统", "Connecting to the queue system"),
    "connecting_body": ("请稍候…", "Please wait…"),
    "ask_staff": ("请联系工作人员", "Please ask staff for help"),
    "printer_title": ("号票打印机暂停服务", "The ticket printer is out of service"),
    "paper_out_body": ("打印纸已用完，本机暂停取号。工作人员已收到通知，请使用其他取号机或联系工作人员。",
                       "The printer is out of paper, so this kiosk cannot issue numbers. Staff have been told. Please use another kiosk or ask staff."),
    "cover_open_body": ("打印机盖未关好，本机暂停取号。工作人员已收到通知，请使用其他取号机或联系工作人员。",
                        "The printer cover is open, so this kiosk cannot issue numbers. Staff have been told. Please use another kiosk or ask staff."),
    "printer_offline_body": ("打印机无响应，本机暂停取号。工作人员已收到通知，请使用其他取号机或联系工作人员。",
                             "The printer is not responding, so this kiosk cannot issue numbers. Staff have been told. Please use another kiosk or ask staff."),
    "still_available": ("仍可使用：", "Still available:"),
    "paper_low": ("打印纸即将用完，已通知工作人员", "Paper is running low; staff have been told"),
    "id_fault": ("身份证阅读器暂不可用，可直接点选业务取号", "The ID card reader is unavailable; you can still choose a service"),
    "id_read_failed": ("未能识别这张身份证，请重新放置或联系工作人员",
                       "This ID card could not be read. Please place it again or ask staff"),
    "refused_title": ("未能取号", "No number issued"),
    "try_again": ("重试", "Try again"),
    "closed_body": ("现在不在取号时间内", "Numbers are not being issued at this time"),
}


def t(key: str, lang: str, **kw: Any) -> str:
    zh, en = TEXT[key]
    text = en if lang == "en" else zh
    return text.format(**kw) if kw else text


PRINTER_PROBLEM = {
    "paper_out": ("打印纸已用完", "the printer is out of paper"),
    "cover_open": ("打印机盖未关好", "the printer cover is open"),
}
_PRINTER_UNAVAILABLE = ("打印机暂不可用，请联系工作人员", "the printer is not available, please ask staff")


def printer_problem(code: str, lang: str) -> str:
    """A printer code (paper_out, cover_open, no_reply, ...) in words a citizen understands."""
    zh, en = PRINTER_PROBLEM.get(code, _PRINTER_UNAVAILABLE)
    return en if lang == "en" else zh


def error_text(code: str, message: str, message_zh: str, lang: str) -> str:
    """The server's own explanation of a refusal, in the citizen's language."""
    if lang == "en":
        return message or code
    return message_zh or message or code
