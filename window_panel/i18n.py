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
