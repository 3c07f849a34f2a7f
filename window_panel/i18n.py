"""Every text of the window panel in Chinese and English."""
from __future__ import annotations

from typing import Any

from window_panel.model import Action

TEXT: dict[str, tuple[str, str]] = {
    Action.CALL_NEXT: ("呼叫下一位", "Call next"),
    Action.RECALL: ("重呼", "Recall"),
    Action.CALL_NUMBER: ("指定呼叫", "Call number"),
    Action.NO_SHOW: ("过号", "No-show"),
    Action.HOLD: ("挂起", "Hold"),
    Action.CALL_BACK: ("回呼", "Call back"),
    Action.TRANSFER: ("转移", "Transfer"),
    Action.FINISH: ("办结", "Finish"),
    Action.ACCEPT: ("受理", "Accept case"),
    Action.REFUSE: ("告知 / 不予受理", "Missing / refuse"),
    "pause": ("暂停服务", "Pause"),
    "resume": ("恢复服务", "Resume"),
    "open": ("开始服务", "Open window"),
    "title": ("一窗 窗口呼叫 · {w}", "OneWindow caller · {w}"),
    "status_open": ("服务中", "Open"),
    "status_paused": ("暂停", "Paused"),
    "status_closed": ("未开窗", "Closed"),
    "status_unknown": ("状态未知", "Unknown"),
    "queue": ("等候 {n} 人", "{n} waiting"),
    "queue_unknown": ("等候 — 人", "— waiting"),
    "no_ticket": ("当前无办理中的号", "No ticket at the window"),
    "no_ticket_hint": ("按 F1 呼叫下一位", "Press F1 to call the next ticket"),
    "paused_hint": ("暂停原因：{r}", "Paused: {r}"),
    "paused_hint_none": ("窗口已暂停，按 F9 恢复", "Window paused — F9 resumes"),
    "closed_hint": ("窗口未开，按 F9 开始服务", "Window closed — F9 opens it"),
    "waited": ("等候 {t}", "Waited {t}"),
    "serving_for": ("办理 {t}", "Serving {t}"),
    "priority": ("优先", "Priority"),
    "recall_tag": ("重呼", "Recalled"),
    "connecting": ("正在连接服务器…", "Connecting to the hall server…"),
    "disconnected": ("与服务器的连接已断开，正在自动重连 — 暂时不能叫号",
                     "Connection lost — reconnecting. Calling is unavailable."),
    "server_offline": ("叫号服务器暂时离线，正在等待恢复", "The hall server is offline — waiting for it to return."),
    "error": ("操作失败：{m}", "Failed: {m}"),
    "done_call": ("已呼叫 {n}", "Called {n}"),
    "done_recall": ("已重呼 {n}", "Recalled {n}"),
    "done_finish": ("{n} 已办结", "{n} finished"),
    "done_no_show": ("{n} 已过号", "{n} marked no-show"),
    "done_hold": ("{n} 已挂起", "{n} on hold"),
    "done_transfer": ("{n} 已转移", "{n} transferred"),
    "done_window": ("窗口状态已更新", "Window status updated"),
    "sending": ("正在发送…", "Sending…"),
    # staff sign-in (签到)
    "sign_in_title": ("工作人员签到", "Staff sign-in"),
    "sign_in_hint": ("请输入工号和密码后按回车。呼叫器上：0 8、工号、确认，再输密码、确认。",
                     "Type your staff number and PIN, then Enter. On the keypad: 0 8, staff number, OK, PIN, OK."),
    "staff_number": ("工号", "Staff number"),
    "staff_number_hint": ("工号（数字）", "Staff number (digits)"),
    "pin": ("密码", "PIN"),
    "pin_hint": ("4–12 位数字", "4–12 digits"),
    "sign_in": ("签到", "Sign in"),
    "sign_out": ("签退", "Sign out"),
    "skip_sign_in": ("暂不签到，返回叫号", "Back to calling without signing in"),
    "not_signed_in": ("本窗口还没有工作人员签到，请先签到再叫号", "Nobody is signed in at this window: sign in to call"),
    "signing_in": ("正在核对工号和密码…", "Checking your staff number and PIN…"),
    "signing_out": ("正在签退…", "Signing out…"),
    "signed_in": ("签到成功：{n}", "Signed in: {n}"),
    "signed_out": ("已签退，请下一位工作人员签到", "Signed out. The next staff member may sign in."),
    "bad_login": ("工号或密码不正确，请重新输入", "Wrong staff number or PIN. Please try again."),
    "bad_login_wait": ("工号或密码不正确。多次输错后需稍等：请 {s} 秒后再试（不会锁定账号）",
                       "Wrong staff number or PIN. After repeated mistakes please wait {s} s before trying again "
                       "(nobody is locked out)."),
    "wait_s": ("请稍候 {s} 秒", "Wait {s} s"),
    "bad_staff": ("工号应为 1–12 位数字", "The staff number has 1 to 12 digits"),
    "bad_pin": ("密码应为 4–12 位数字", "The PIN has 4 to 12 digits"),
    "nobody": ("未签到", "Not signed in"),
    "staff_head": ("{n} · 工号 {s}", "{n} · No. {s}"),
    # dialogs
    "dlg_call_number": ("指定呼叫", "Call a number"),
    "dlg_number": ("号码（如 A023）", "Number (e.g. A023)"),
    "dlg_call_back": ("回呼挂起 / 过号的号", "Call back a held / no-show ticket"),
    "dlg_call_back_none": ("今天本窗口没有挂起或过号的号，可直接输入号码", "No held or no-show tickets here today; type a number"),
    "dlg_transfer": ("转移当前号 {n}", "Transfer {n}"),
    "dlg_to_service": ("转到业务", "To a service"),
    "dlg_to_window": ("转到窗口", "To a window"),
    "dlg_filter": ("筛选…", "Filter…"),
    "dlg_pause": ("暂停服务", "Pause the window"),
    "dlg_reason": ("暂停原因", "Reason"),
    "reasons": ("临时离开|用餐|会议|业务咨询|系统故障", "Short break|Meal|Meeting|Consultation|System problem"),
    "ok": ("确定", "OK"),
    "cancel": ("取消", "Cancel"),
    "held": ("挂起", "held"),
    "no_show_state": ("过号", "no-show"),
    "channel_walk_in": ("现场取号", "Walk-in"),
    "channel_id_card": ("刷证取号", "ID card"),
    "channel_appointment": ("预约", "Appointment"),
    "channel_staff": ("窗口代取", "By staff"),
    # cases (办件)
    "cases_title": ("本窗口在办办件", "Open cases of this window"),
    "cases_none": ("本窗口暂无在办办件", "No open cases at this window"),
    "cases_loading": ("正在读取办件…", "Loading cases…"),
    "col_number": ("办件编号", "Case"),
    "col_service": ("事项", "Service"),
    "col_status": ("状态", "Status"),
    "col_days": ("剩余", "Days left"),
    "days_left": ("{n} 天", "{n} d"),
    "days_over": ("超期 {n} 天", "{n} d over"),
    "days_stopped": ("{n} 天（停表）", "{n} d (stopped)"),
    "case_status_incomplete": ("一次性告知", "Incomplete"),
    "case_status_refused": ("不予受理", "Refused"),
    "case_status_accepted": ("已受理", "Accepted"),
    "case_status_in_progress": ("办理中", "In progress"),
    "case_status_needs_materials": ("补正中", "Awaiting materials"),
    "case_status_suspended": ("特别程序", "Suspended"),
    "case_status_done": ("已办结", "Done"),
    "case_status_delivered": ("已送达", "Delivered"),
    "case_status_withdrawn": ("已撤回", "Withdrawn"),
    "case_status_terminated": ("已终止", "Terminated"),
    "change_in_progress": ("开始办理", "Start processing"),
    "change_needs_materials": ("补正（列出缺少的材料）", "Ask for materials (补正)"),
    "change_resumed": ("恢复办理（重新计时）", "Resume (clock runs)"),
    "change_suspended": ("特别程序（停表）", "Special procedure (clock stops)"),
    "change_extend": ("延期", "Extend"),
    "change_done": ("办结", "Done"),
    "change_delivered": ("送达（领取 / 邮寄）", "Delivered (pickup / mail)"),
    "change_withdrawn": ("撤回申请", "Withdrawn"),
    "change_terminated": ("终止办理", "Terminated"),
    "result_approved": ("准予（通过）", "Approved"),
    "result_rejected": ("不予许可（驳回）", "Rejected"),
    "delivery_pickup": ("窗口领取", "Picked up"),
    "delivery_mail": ("邮寄送达", "Mailed"),
    "done_accept": ("已受理，办件编号 {n}", "Accepted: case {n}"),
    "done_refuse_incomplete": ("已出具一次性告知书 {n}", "Notice of missing materials {n} issued"),
    "done_refuse_refused": ("已出具不予受理通知书 {n}", "Notice of refusal {n} issued"),
    "done_update": ("办件 {n} 已更新：{s}", "Case {n} updated: {s}"),
    "printing": ("正在打印{t}…", "Printing the {t}…"),
    "printed": ("{t}已打印", "{t} printed"),
    "print_failed": ("打印失败（{m}），通知书显示在屏幕上", "Not printed ({m}); the notice is on screen"),
    # the accept / refuse / change dialogs
    "dlg_accept": ("受理办件 · {n}", "Accept a case · {n}"),
    "dlg_refuse": ("一次性告知 / 不予受理 · {n}", "Missing materials / refuse · {n}"),
    "dlg_case": ("办件 {n}", "Case {n}"),
    "dlg_service": ("办理事项", "Service"),
    "dlg_name": ("申请人姓名", "Applicant's name"),
    "dlg_id_number": ("身份证号码（18 位）", "ID number (18 characters)"),
    "dlg_read_card": ("读身份证", "Read ID card"),
    "dlg_card_hint": ("请申请人将身份证放在读卡器上", "Ask the applicant to place the ID card on the reader"),
    "dlg_card_read": ("已从身份证读取姓名和号码", "Name and number read from the ID card"),
    "dlg_phone": ("手机号码（选填）", "Mobile number (optional)"),
    "dlg_sms": ("申请人同意接收本办件的短信通知", "The applicant agrees to SMS about this case"),
    "dlg_sms_text": ("短信只用于本办件：受理确认（含办件编号和查询码）、补正告知、办结领取提醒和办事评价。"
                     "不同意则不保存手机号。",
                     "Texts are only about this case: acceptance (with case number and query code), requests "
                     "for materials, ready for pickup, and a rating link. Without consent the number is not kept."),
    "dlg_missing_accept": ("容缺受理：勾选暂缺、后补的材料", "Accept with items to follow: tick the missing ones"),
    "dlg_missing_refuse": ("勾选缺少的材料（一次性告知）", "Tick the missing materials"),
    "dlg_missing_other": ("其他材料，一行一项", "Other items, one per line"),
    "dlg_no_materials": ("未收到该事项的材料清单，请在下方逐项填写", "No materials list for this service; type them below"),
    "dlg_note": ("备注（选填）", "Note (optional)"),
    "dlg_kind": ("结论", "Outcome"),
    "dlg_kind_incomplete": ("材料不齐全：一次性告知", "Materials missing: notice of what to bring"),
    "dlg_kind_refused": ("不予受理（告知复议、诉讼权利）", "Refuse (with appeal rights)"),
    "dlg_reasons": ("理由", "Reasons"),
    "dlg_applicant_opt": ("申请人（选填，填则须完整）", "Applicant (optional; complete if given)"),
    "dlg_change": ("变更", "Change"),
    "dlg_no_change": ("此状态下无可办理的变更", "No change is possible in this status"),
    "dlg_days": ("延长天数", "Extra days"),
    "dlg_approved_by": ("批准人", "Approved by"),
    "dlg_extend_reason": ("延期理由", "Reason for the extension"),
    "dlg_result": ("办理结果", "Result"),
    "dlg_delivery": ("送达方式", "Delivery"),
    "dlg_tracking": ("邮件单号（邮寄时）", "Tracking number (mail)"),
    "dlg_close": ("关闭", "Close"),
    "dlg_print": ("打印", "Print"),
    "detail_service": ("事项：{v}", "Service: {v}"),
    "detail_status": ("状态：{v}", "Status: {v}"),
    "detail_accepted": ("受理时间：{v}", "Accepted: {v}"),
    "detail_due": ("承诺办结：{v}　法定期限：{v2}", "Due: {v}   Legal deadline: {v2}"),
    "detail_days": ("剩余：{v}", "Days left: {v}"),
    "detail_missing": ("缺少材料：{v}", "Missing: {v}"),
    "detail_applicant": ("申请人：{v}　手机：{p}", "Applicant: {v}   Phone: {p}"),
    "detail_history": ("办理记录", "History"),
    # validation (nothing is sent while one of these shows)
    "bad_name": ("请填写申请人姓名", "Enter the applicant's name"),
    "bad_id_format": ("身份证号码应为 18 位：17 位数字加校验位（0-9 或 X）",
                      "The ID number has 18 characters: 17 digits and a check digit (0-9 or X)"),
    "bad_id_check": ("身份证号码校验位不对（GB 11643），请核对", "The ID number fails its check digit (GB 11643)"),
    "bad_id_birth": ("身份证号码中的出生日期不正确", "The birth date in the ID number is not valid"),
    "bad_phone": ("手机号码不正确：应为 11 位大陆手机号（13-19 开头）",
                  "Not a mainland mobile number (11 digits starting 13-19)"),
    "bad_sms": ("填写了手机号但申请人未同意短信：勾选同意，或清空手机号",
                "A phone was given without SMS consent: tick consent or clear the number"),
    "bad_missing": ("一次性告知须列出缺少的材料", "List the missing materials"),
    "bad_reasons": ("请填写理由", "Give the reasons"),
    "bad_approved_by": ("延期须填写批准人和理由", "An extension needs the approver and a reason"),
    "bad_tracking": ("邮寄须填写邮件单号", "Mail needs a tracking number"),
    "bad_args": ("内容不符合要求：{m}", "Not valid: {m}"),
}


class Tr:
    def __init__(self, lang: str) -> None:
        self.lang = "en" if lang == "en" else "zh"

    def __call__(self, key: str, **kw: Any) -> str:
        zh, en = TEXT[key]
        text = en if self.lang == "en" else zh
        return text.format(**kw) if kw else text

    def error(self, err: dict[str, Any]) -> str:
        """The server's own words in the panel's language (message_zh / message), with the code for support."""
        zh = err.get("message_zh") or err.get("message") or ""
        en = err.get("message") or err.get("message_zh") or ""
        text = en if self.lang == "en" else zh
        code = err.get("code")
        return f"{text}（{code}）" if code and self.lang == "zh" else f"{text} ({code})" if code else text

    def name(self, obj: dict[str, Any] | None, key: str = "name") -> str:
        if not obj:
            return ""
        if self.lang == "en" and obj.get(f"{key}_en"):
            return str(obj[f"{key}_en"])
        return str(obj.get(key) or "")

    def case_status(self, status: Any) -> str:
        key = f"case_status_{status}"
        return self(key) if key in TEXT else str(status or "")

    def days(self, case: dict[str, Any]) -> str:
        """'3 天', '超期 2 天', '5 天（停表）', or '—' when no deadline is running."""
        days = case.get("days_left")
        if not isinstance(days, int) or isinstance(days, bool) or case.get("status") in (
                "done", "delivered", "withdrawn", "terminated", "incomplete", "refused"):
            return "—"
        if days < 0:
            return self("days_over", n=-days)
        return self("days_stopped" if case.get("clock") == "stopped" else "days_left", n=days)
