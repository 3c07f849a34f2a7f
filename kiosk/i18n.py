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
    "status": ("查询号票 · 办件", "Ticket or case status"),
    "status_sub": ("扫描号票二维码或输入号码，或凭查询码查办件", "Scan or type your ticket, or look up a case"),
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
    # search: pinyin initials on a letter pad, keywords to tap
    "search": ("搜索业务", "Find a service"),
    "search_sub": ("按拼音首字母或关键词查找", "By letters or keyword"),
    "search_title": ("搜索业务", "Find a service"),
    "search_hint": ("输入业务名称的拼音首字母（如“养老保险”输 YLBX），或点选关键词",
                    "Type letters of the service name (e.g. PENSION), or tap a keyword"),
    "search_placeholder": ("拼音首字母", "Letters"),
    "search_popular": ("常用业务", "Most used services"),
    "search_found": ("找到 {n} 项业务", "{n} services found"),
    "search_found_one": ("找到 1 项业务", "1 service found"),
    "search_more": ("只显示前 {n} 项，请继续输入", "Showing the first {n}: type more to narrow it down"),
    "search_none": ("没有找到相关业务", "No service found"),
    "search_none_body": ("请删掉几个字母或换一个关键词再试，也可返回按区域选择",
                         "Delete a letter or try another keyword, or go back and choose an area"),
    "search_again": ("重新输入", "Start again"),
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
    # case (办件) status: number + query code
    "tab_ticket": ("查号票", "Queue ticket"),
    "tab_case": ("查办件", "Case"),
    "case_title": ("查询办件进度", "Case status"),
    "case_body": ("请输入受理通知书上的办件编号和 6 位查询码", "Type the case number and the 6-digit query code from your notice"),
    "case_number": ("办件编号", "Case number"),
    "case_code": ("查询码", "Query code"),
    "case_part_prefix": ("字母", "Letters"),
    "case_part_day": ("日期", "Date"),
    "case_part_seq": ("序号", "No."),
    "case_part_code": ("6 位数字", "6 digits"),
    "case_tap_hint": ("开头字母和日期已按今天填好，如不同请点它修改", "Letters and date are today's; tap them to change"),
    "case_checking": ("正在查询…", "Looking up…"),
    "case_not_found": ("没有找到这个办件，请核对办件编号和查询码", "No case found. Please check the case number and the query code."),
    "case_bad_prefix": ("办件编号开头应为字母，请核对", "The case number starts with letters; please check it"),
    "case_bad_day": ("办件编号中的日期不正确，请核对", "The date in the case number is not valid; please check it"),
    "case_bad_seq": ("请输入办件编号最后 4 位数字", "Type the last 4 digits of the case number"),
    "case_bad_code": ("查询码为 6 位数字，请核对", "The query code is 6 digits; please check it"),
    "case_digits_only": ("这里只能输入数字", "Digits only here"),
    "case_letters_only": ("编号开头只能输入字母", "Letters only here"),
    "case_status_accepted": ("已受理", "Accepted"),
    "case_status_in_progress": ("办理中", "In progress"),
    "case_status_needs_materials": ("待补正", "Documents needed"),
    "case_status_suspended": ("特别程序", "Special procedure"),
    "case_status_done": ("已办结", "Completed"),
    "case_status_delivered": ("已领取", "Collected"),
    "case_status_incomplete": ("一次性告知", "Incomplete: documents listed"),
    "case_status_refused": ("不予受理", "Not accepted"),
    "case_status_withdrawn": ("已撤回", "Withdrawn"),
    "case_status_terminated": ("已终止", "Terminated"),
    "case_result_approved": ("办理结果：准予办理", "Result: approved"),
    "case_result_rejected": ("办理结果：不予办理", "Result: not approved"),
    "case_due": ("承诺办结日期 {date}", "Promised by {date}"),
    "case_days_left": ("还剩 {n} 个工作日", "{n} working days left"),
    "case_days_left_one": ("还剩 1 个工作日", "1 working day left"),
    "case_days_left_natural": ("还剩 {n} 天", "{n} days left"),
    "case_days_left_natural_one": ("还剩 1 天", "1 day left"),
    "case_due_today": ("今天到期", "Due today"),
    "case_overdue": ("逾期 {n} 个工作日", "{n} working days overdue"),
    "case_overdue_one": ("逾期 1 个工作日", "1 working day overdue"),
    "case_overdue_natural": ("逾期 {n} 天", "{n} days overdue"),
    "case_overdue_natural_one": ("逾期 1 天", "1 day overdue"),
    "case_clock_stopped": ("办理时限暂停计时：补正材料、特别程序期间不计入时限",
                           "The time limit is paused: time for documents or a special procedure does not count"),
    "case_missing_needs_materials": ("请补正以下材料", "Please bring these documents"),
    "case_missing_incomplete": ("请备齐以下材料后再来办理", "Please come back with these documents"),
    "case_missing_other": ("尚需补交的材料", "Documents still to hand in"),
    "case_history": ("办理记录", "History"),
    "case_change_resumed": ("恢复办理", "resumed"),
    "case_change_extend": ("延长时限", "time limit extended"),
    "case_again": ("再查一件", "Look up another"),
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


def no_show_text(rule: Any, lang: str) -> str:
    """The missed-number rule (hall_bus.NoShowRule) in a citizen's words: what happens if the number is missed."""
    return rule.text(lang) if rule is not None else ""


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
