"""The words of the citizen pages, Chinese first and English beside it, and the few numbers turned into words
(waits, dates, limits)."""
from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

TEXT: dict[str, tuple[str, str]] = {
    "site": ("网上办事", "Online services"),
    "home": ("大厅实况", "Hall now"),
    "book": ("预约", "Book"),
    "case": ("办件查询", "Case status"),
    "lang_switch": ("English", "中文"),
    "big_on": ("大字", "Large text"),
    "big_off": ("标准字", "Normal text"),
    "skip": ("跳到正文", "Skip to content"),
    # hall now
    "hall_now": ("大厅实时情况", "The hall right now"),
    "hall_now_hint": ("根据等候人数选择合适的时间来大厅。", "Choose when to come by how many people are waiting."),
    "issuing_hours": ("取号时间", "Ticket hours"),
    "notice": ("今日公告", "Today's notice"),
    "waiting": ("等候", "Waiting"),
    "est_wait": ("预计等候", "Est. wait"),
    "open_windows": ("开放窗口", "Open windows"),
    "services": ("办理事项", "Services"),
    "recent_calls": ("最近叫号", "Recent calls"),
    "stale": ("与大厅的连接已中断，以下数据可能不是最新的。", "The link to the hall is down; these figures may be old."),
    "no_data": ("暂无数据", "No data yet"),
    "people": ("{n} 人", "{n}"),
    "guide": ("办事指南", "Guide"),
    # waits
    "wait_none": ("无需等候", "No wait"),
    "wait_min": ("约 {n} 分钟", "about {n} min"),
    "wait_hour": ("约 {h} 小时 {m} 分钟", "about {h} h {m} min"),
    # ticket
    "ticket": ("我的号", "My ticket"),
    "ticket_number": ("号码", "Number"),
    "service": ("业务", "Service"),
    "zone": ("区域", "Area"),
    "state": ("状态", "Status"),
    "ahead": ("前面还有", "People ahead"),
    "ahead_n": ("{n} 人", "{n}"),
    "next_you": ("下一位就是您", "You are next"),
    "window": ("窗口", "Window"),
    "go_to": ("请到{window}", "Please go to {window}"),
    "live_on": ("实时更新中", "Live"),
    "live_off": ("连接中断，正在自动重连…", "Connection lost, reconnecting…"),
    "live_static": ("刷新本页查看最新情况。", "Reload this page for the latest."),
    "rate_it": ("评价本次服务", "Rate this service"),
    "rated": ("您已评价，感谢！", "You rated this service. Thank you!"),
    "floor": ("{floor}", "floor {floor}"),
    # states
    "st_waiting": ("等候中", "Waiting"),
    "st_serving": ("办理中", "Being served"),
    "st_held": ("挂起，稍后再叫", "On hold, called back later"),
    "st_no_show": ("过号", "Missed"),
    "st_done": ("已办结", "Done"),
    "st_transferred": ("已转办", "Transferred"),
    "st_expired": ("已过期", "Expired"),
    "st_cancelled": ("已取消", "Cancelled"),
    # lookups
    "not_found_title": ("没有找到", "Not found"),
    "not_found": ("没有找到对应的记录。请核对链接或输入的内容；号票和链接只在当天或办件期间有效。",
                  "Nothing was found. Check the link or what you typed; ticket links are valid on their day only."),
    "unavailable_title": ("暂时无法查询", "Temporarily unavailable"),
    "unavailable": ("暂时联系不上大厅服务器，请稍后再试。", "The hall's server cannot be reached right now. Please try again later."),
    "error_title": ("出错了", "Something went wrong"),
    "error": ("页面出错了，请稍后再试。", "This page failed. Please try again later."),
    "too_many_title": ("请求过于频繁", "Too many requests"),
    "too_many": ("您的操作太频繁了，请 {s} 秒后再试。（每个网站节点分别计数）",
                 "Too many requests from your address. Try again in {s} s. (Counted per web node.)"),
    "bad_form": ("表单已过期或来源不明，请返回页面重新提交。", "This form expired or did not come from this site. Go back and submit it again."),
    "too_big": ("提交的内容太长。", "What you submitted is too long."),
    "back_home": ("返回首页", "Back to the hall page"),
    "method": ("不支持这种请求。", "This request is not supported."),
    # guide
    "materials": ("申请材料", "Documents"),
    "original": ("原件", "original"),
    "copy": ("复印件", "copy"),
    "copies": ("{n} 份", "{n}"),
    "steps": ("办理流程", "Steps"),
    "limits": ("办理时限", "Time limits"),
    "legal_limit": ("法定时限", "Legal limit"),
    "promised_limit": ("承诺时限", "Promised limit"),
    "working_days": ("{n} 个工作日", "{n} working days"),
    "natural_days": ("{n} 个自然日", "{n} calendar days"),
    "fees": ("收费标准", "Fees"),
    "no_fee": ("不收费", "Free of charge"),
    "forms": ("表格下载", "Forms"),
    "department": ("实施部门", "Department"),
    "book_this": ("预约办理", "Book an appointment"),
    "id_required": ("需本人持身份证办理", "Bring your own resident ID card"),
    # booking
    "book_title": ("预约办理", "Book an appointment"),
    "book_pick_service": ("第一步：选择事项", "Step 1: choose a service"),
    "book_pick_day": ("第二步：选择日期", "Step 2: choose a day"),
    "book_pick_slot": ("第三步：选择时段并填写实名信息", "Step 3: choose a time and give your details"),
    "no_bookable": ("目前没有可网上预约的事项。", "No service can be booked online at the moment."),
    "closed_day": ("这一天不能预约：{why}", "No booking on this day: {why}"),
    "closed_default": ("非办公日或不在可预约范围内", "not a working day or outside the booking period"),
    "no_slots": ("这一天已约满，请选择其他日期。", "This day is fully booked; choose another day."),
    "left": ("余 {n}", "{n} left"),
    "full": ("已满", "full"),
    "name": ("姓名", "Name"),
    "id_number": ("身份证号码", "Resident ID number"),
    "mobile": ("手机号码", "Mobile number"),
    "sms_ok": ("同意接收预约短信（不同意则不保存手机号码）", "Send me the booking by SMS (otherwise the phone is not kept)"),
    "consent": ("我已阅读并同意上述个人信息处理规则", "I have read and agree to how my personal information is handled"),
    "privacy_title": ("个人信息告知", "How we use your personal information"),
    "privacy": ("我们收集您的姓名、身份证号码和手机号码，用于实名预约（防止号源被倒卖）、到厅签到、短信通知和凭手机号后四位取消预约。"
                "身份证号码属于敏感个人信息：本网站不保存，只把经不可逆加密处理的标识和隐去名字的姓氏（如“张*”）交给政务服务大厅；"
                "手机号码仅用于本次预约的短信和取消。以上信息在预约日后 {days} 天删除。依据《中华人民共和国个人信息保护法》，"
                "您可以不同意，改为到大厅现场取号。",
                "We collect your name, resident ID number and mobile number to book under your real name (so slots cannot be "
                "resold), to check you in at the hall, to send the booking by SMS and to let you cancel with the last four "
                "digits of your phone. Your ID number is sensitive personal information: this site does not keep it and "
                "sends the hall only an irreversible keyed reference and your surname with the given name hidden (\"Zhang *\"). "
                "The phone number is used for this booking's SMS and cancellation only. All of it is deleted {days} days "
                "after the appointment day (Personal Information Protection Law of the PRC). If you do not agree, take a "
                "number at the hall instead."),
    "submit_book": ("提交预约", "Book"),
    "booked_title": ("预约成功", "Booked"),
    "booking_code": ("预约码", "Booking code"),
    "booked_hint": ("请在预约时段到大厅自助取号机输入预约码签到。如大厅开通了短信通知，预约码也会发到您的手机。请截图保存本页。",
                    "At your time, check in at a hall kiosk with this code. Where the hall sends SMS, the code is "
                    "also sent to your phone. Keep a screenshot of this page."),
    "when": ("时间", "When"),
    "cancel_title": ("取消预约", "Cancel a booking"),
    "phone_last4": ("预约手机号后四位", "Last 4 digits of the booking's phone"),
    "submit_cancel": ("取消预约", "Cancel booking"),
    "or_id": ("没有同意短信通知的预约不保存手机号码，请改填预约时的身份证号码。",
              "A booking made without SMS kept no phone number: give the ID number used to book instead."),
    "cancelled": ("预约已取消。", "The booking is cancelled."),
    "cancel_failed": ("没有找到这个预约，或手机号后四位不符，或预约已不能取消。",
                      "No such booking, the digits do not match, or it can no longer be cancelled."),
    "cancel_link": ("取消已有预约", "Cancel a booking"),
    "other_day": ("换一天", "Another day"),
    "other_service": ("换一项业务", "Another service"),
    # validation
    "v_required": ("请填写此项。", "Please fill this in."),
    "v_name": ("请填写与身份证一致的姓名（不超过 20 个字）。", "Write your name as on your ID card (at most 20 characters)."),
    "v_id_format": ("身份证号码应为 18 位：17 位数字加 1 位数字或 X。", "An ID number has 18 characters: 17 digits and a digit or X."),
    "v_id_check": ("身份证号码校验位不对，请核对。", "The ID number's check digit is wrong; please check it."),
    "v_id_birth": ("身份证号码中的出生日期不对，请核对。", "The birth date inside the ID number is wrong; please check it."),
    "v_phone": ("请填写 11 位手机号码（13–19 开头）。", "Give an 11-digit mainland mobile number (starting 13-19)."),
    "v_consent": ("需要您同意个人信息处理规则才能预约。", "Booking needs your agreement to how personal information is handled."),
    "v_date": ("日期无效或不在可预约范围内，请从列表中选择。", "That date is invalid or outside the booking period; pick one from the list."),
    "v_slot": ("请选择一个还有名额的时段。", "Choose a time that still has places."),
    "v_service": ("没有这项可预约的事项。", "No such bookable service."),
    "v_code": ("预约码应为 4–32 位字母或数字。", "A booking code is 4-32 letters or digits."),
    "v_last4": ("请填写 4 位数字。", "Give 4 digits."),
    "v_case_number": ("办件编号格式如 DA-20261130-0007。", "A case number looks like DA-20261130-0007."),
    "v_query_code": ("查询码为 6 位数字，在受理回执或短信上。", "The query code is 6 digits, on your receipt or SMS."),
    "v_grade": ("请选择一个评价等级。", "Choose a grade."),
    "v_comment": ("意见请不超过 200 字。", "Keep the comment under 200 characters."),
    "fix_below": ("请修改下面标出的内容。", "Please correct what is marked below."),
    # case
    "case_title": ("办件查询", "Case status"),
    "case_number": ("办件编号", "Case number"),
    "query_code": ("查询码", "Query code"),
    "submit_query": ("查询", "Look up"),
    "case_not_found": ("没有找到这个办件，请核对办件编号和查询码。", "No case found; check the case number and the query code."),
    "accepted_at": ("受理时间", "Accepted"),
    "due_date": ("承诺办结日期", "Promised by"),
    "legal_due_date": ("法定办结日期", "Legal deadline"),
    "days_left": ("剩余", "Days left"),
    "days_left_n": ("{n} 个工作日", "{n} working days"),
    "overdue_n": ("已超期 {n} 天", "{n} days overdue"),
    "clock_stopped": ("计时暂停（补正材料或特别程序期间不计时）", "Clock stopped (waiting for documents or a special procedure)"),
    "missing": ("需补正的材料", "Documents still needed"),
    "history": ("办理过程", "History"),
    "result": ("办理结果", "Result"),
    "approved": ("准予许可", "Approved"),
    "rejected": ("不予许可", "Rejected"),
    "cs_incomplete": ("材料不全（一次性告知）", "Incomplete (all missing documents listed)"),
    "cs_refused": ("不予受理", "Not accepted"),
    "cs_accepted": ("已受理", "Accepted"),
    "cs_in_progress": ("办理中", "In progress"),
    "cs_needs_materials": ("待补正", "Documents needed"),
    "cs_suspended": ("特别程序中", "Special procedure"),
    "cs_done": ("已办结", "Done"),
    "cs_delivered": ("已送达", "Delivered"),
    "cs_withdrawn": ("已撤回", "Withdrawn"),
    "cs_terminated": ("已终止", "Terminated"),
    # rating
    "rate_title": ("服务评价（好差评）", "Rate the service"),
    "rate_case_title": ("办结评议", "Rate how your case was handled"),
    "grade": ("评价", "Grade"),
    "comment": ("意见和建议（选填）", "Comment (optional)"),
    "submit_rate": ("提交评价", "Submit"),
    "thanks": ("感谢您的评价！", "Thank you for your rating!"),
    "already_rated": ("您已经评价过了，感谢您的评价。", "You have already rated this. Thank you!"),
    "rate_not_yet": ("办结后才能评价。", "You can rate once it is done."),
}

TICKET_STATES = ("waiting", "serving", "held", "no_show", "done", "transferred", "expired", "cancelled")
FINAL_STATES = frozenset({"done", "expired", "cancelled"})


def t(key: str, lang: Lang, **kw: object) -> str:
    zh, en = TEXT[key]
    text = en if lang == "en" else zh
    return text.format(**kw) if kw else text


def wait_text(seconds: int, lang: Lang) -> str:
    if seconds <= 0:
        return t("wait_none", lang)
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return t("wait_min", lang, n=minutes)
    return t("wait_hour", lang, h=minutes // 60, m=minutes % 60)


def ahead_text(ahead: int, lang: Lang) -> str:
    return t("next_you", lang) if ahead <= 0 else t("ahead_n", lang, n=ahead)


def state_text(state: str, lang: Lang) -> str:
    return t(f"st_{state}", lang) if f"st_{state}" in TEXT else state


def case_status_text(status: str, lang: Lang) -> str:
    return t(f"cs_{status}", lang) if f"cs_{status}" in TEXT else status


def limit_text(days: int | None, unit: str, lang: Lang) -> str:
    if not days:
        return ""
    return t("natural_days" if unit == "natural_days" else "working_days", lang, n=days)


def day_label(day: str, lang: Lang) -> str:
    """2026-12-01 → 12月1日 周二 / Tue 1 Dec."""
    from datetime import date
    d = date.fromisoformat(day)
    if lang == "en":
        return d.strftime("%a %-d %b")
    return f"{d.month}月{d.day}日 周{'一二三四五六日'[d.weekday()]}"
