"""The console's words, Chinese first with English beside (one table)."""
from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

TEXT: dict[str, tuple[str, str]] = {
    "title": ("值班长控制台", "Supervisor console"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"), "user": ("用户名", "User"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码不正确", "Wrong user name or password"),
    "slow_down": ("登录失败次数过多，请 {s} 秒后再试", "Too many failed logins: try again in {s} s"),
    "expired": ("登录已过期，请重新登录", "Your session has ended: please log in again"),
    "forbidden_title": ("无权操作", "Not allowed"),
    "forbidden": ("您的角色（{role}）不能执行此操作：需要{need}。", "Your role ({role}) cannot do this: it needs {need}."),
    "bad_form": ("表单已过期，请返回重新提交", "The form has expired: go back and send it again"),
    "role_manager": ("值班长（管理员）", "manager"), "role_supervisor": ("监察员", "supervisor"),
    "role_desk": ("服务台", "desk"),
    "map": ("大厅窗口", "Hall windows"), "queues": ("排队情况", "Queues"), "alerts": ("告警", "Alerts"),
    "followup": ("差评回访整改", "Bad-rating follow-up"), "devices": ("设备", "Devices"),
    "cases": ("临近/超期办件", "Cases near or past their deadline"), "actions": ("操作", "Actions"),
    "audit": ("操作记录", "Audit log"), "users": ("用户", "Users"),
    "open": ("服务中", "open"), "paused": ("暂停", "paused"), "closed": ("关闭", "closed"),
    "serving": ("正在办理", "serving"), "waiting": ("等候", "waiting"), "longest": ("最长等候", "longest wait"),
    "estimate": ("预计", "estimate"), "service": ("业务", "Service"), "zone": ("区域", "Zone"),
    "no_alerts": ("没有未处理的告警", "No open alerts"), "ack": ("确认", "Acknowledge"),
    "acked": ("已确认", "Acknowledged"), "acked_by": ("{who} 于 {at} 确认", "acknowledged by {who} at {at}"),
    "sound_on": ("开启提示音", "Sound on"), "sound_off": ("关闭提示音", "Sound off"),
    "green": ("绿色通道取号", "Green-channel ticket"), "priority": ("优先（绿色通道）", "priority (green channel)"),
    "print_at": ("在自助机打印", "print at kiosk"), "show_only": ("只显示，不打印", "show only, do not print"),
    "issue": ("取号", "Issue"), "cancel_ticket": ("作废号票", "Cancel a ticket"), "number": ("号码", "Number"),
    "reason": ("原因", "Reason"), "reprint": ("补打号票", "Reprint a ticket"), "kiosk": ("自助机", "Kiosk"),
    "notice": ("大屏滚动通知", "Hall display notice line"), "notice_zh": ("中文", "Chinese"),
    "notice_en": ("英文", "English"), "save": ("保存", "Save"), "send": ("提交", "Send"),
    "pause": ("暂停", "Pause"), "resume": ("恢复", "Resume"), "close": ("关闭窗口", "Close window"),
    "staff": ("工作人员", "Staff"), "nobody": ("未签到", "nobody signed in"), "for_min": ("{m} 分钟", "{m} min"),
    "done": ("已完成", "Done"), "refused": ("服务器拒绝了操作", "The server refused"),
    "timeout": ("服务器没有响应", "The server did not answer"), "back": ("返回控制台", "Back to the console"),
    "ticket_issued": ("已取号", "Ticket issued"), "print": ("打印", "Print"),
    "callback": ("回访", "Call-back"), "fix": ("整改", "Fix"), "due": ("期限", "due"), "overdue": ("已逾期", "overdue"),
    "note": ("说明", "Note"), "record": ("记录", "Record"), "no_tasks": ("没有差评任务", "No follow-up tasks"),
    "no_cases": ("没有临近期限的办件", "No cases near their deadline"), "days_left": ("剩余天数", "days left"),
    "online": ("在线", "online"), "offline": ("离线", "offline"), "server_offline": ("大厅服务器离线", "Hall server offline"),
    "bus_down": ("与消息总线断开", "Not connected to the hall bus"), "all_ok": ("运行正常", "All running"),
    "when": ("时间", "When"), "who": ("操作人", "Who"), "what": ("操作", "What"), "target": ("对象", "Target"),
    "result": ("结果", "Result"), "role": ("角色", "Role"), "window": ("窗口", "Window"),
    "floor": ("楼层", "Floor"), "grade": ("评分", "grade"), "status": ("状态", "Status"),
    "r_citizen_left": ("群众已离开", "citizen left"), "r_duplicate": ("重复取号", "duplicate"),
    "r_wrong_service": ("取错业务", "wrong service"), "r_staff_request": ("工作人员要求", "staff request"),
    "r_other": ("其他", "other"), "r_break": ("临时休息", "break"), "r_meeting": ("会议", "meeting"),
    "r_system": ("系统故障", "system fault"),
    "not_found": ("没有找到", "Not found"),
    "state_ok": ("正常", "ok"), "state_warning": ("警告", "warning"), "state_error": ("故障", "fault"),
    "state_offline": ("离线", "offline"), "state_unknown": ("未知", "unknown"), "last_status": ("最近状态", "last status"),
}

ROLE_KEYS = {"manager": "role_manager", "supervisor": "role_supervisor", "desk": "role_desk"}
CANCEL_REASONS = ("citizen_left", "duplicate", "wrong_service", "staff_request", "other")
PAUSE_REASONS = ("break", "meeting", "system", "other")

DEVICE_KINDS: dict[str, tuple[str, str]] = {
    "printer": ("打印机", "printer"), "idcard": ("身份证阅读器", "ID reader"), "scanner": ("扫码器", "scanner"),
    "keypad": ("呼叫器", "keypad"), "bus": ("呼叫器总线", "keypad bus"), "screen": ("窗口屏", "window screen"),
    "strip": ("条屏", "LED strip"), "evaluator": ("评价器", "evaluator"), "speaker": ("音箱", "speaker"),
    "kiosk": ("自助机", "kiosk"), "display": ("综合屏", "hall display"),
}
DETAIL_CODES: dict[str, tuple[str, str]] = {
    "near_end": ("纸将用完", "paper low"), "paper_low": ("纸将用完", "paper low"), "paper_out": ("缺纸", "paper out"),
    "cover_open": ("纸仓盖打开", "cover open"), "offline": ("离线", "offline"), "error": ("故障", "fault"),
    "not_configured": ("未配置", "not configured"), "ok": ("正常", "ok"),
}


def t(key: str, lang: Lang, **kw: object) -> str:
    zh, en = TEXT.get(key, (key, key))
    text = en if lang == "en" else zh
    return text.format(**kw) if kw else text
