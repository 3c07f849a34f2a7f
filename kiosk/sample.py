"""A built-in sample catalogue, used only by `--screenshots` when no broker is reachable."""
from __future__ import annotations

from typing import Any

ID = {"name": "居民身份证", "name_en": "Resident ID card", "copies": 1, "original": True}
ID_COPY = {"name": "居民身份证复印件", "name_en": "Copy of resident ID card", "copies": 1, "original": False}
HUKOU = {"name": "户口簿", "name_en": "Household register (hukou)", "copies": 1, "original": True}
LICENCE = {"name": "营业执照副本", "name_en": "Business licence (duplicate)", "copies": 1, "original": True}
FORM = {"name": "申请表（现场填写）", "name_en": "Application form (filled in here)", "copies": 1, "original": True}
PHOTO = {"name": "近期一寸免冠照片", "name_en": "Recent 1-inch photo", "copies": 2, "original": True}
POA = {"name": "授权委托书（代办时）", "name_en": "Power of attorney (if acting for someone)", "copies": 1, "original": True}

STEPS = ["取号等候", "窗口提交材料", "工作人员受理审核", "领取办理结果或等待通知"]
STEPS_EN = ["Take a number and wait", "Hand in your documents at the window", "Staff check and accept the application",
            "Collect the result or wait to be notified"]


def _svc(sid: str, zone: str, prefix: str, name: str, name_en: str, legal: int, promised: int,
         mats: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": sid, "zone": zone, "prefix": prefix, "name": name, "name_en": name_en, "legal_days": legal,
            "promised_days": promised, "materials": mats, "steps": STEPS, "steps_en": STEPS_EN,
            "daily_quota": 200, "bookable": extra.get("appointment", True), "id_required": extra.get("id_required", False),
            "initials": INITIALS.get(sid, "")}


# What the server computes with pypinyin (hall_server.config.pinyin_initials) into the catalog's `initials`.
INITIALS = {
    "ss_pension": "YLBXDYSL", "ss_medical": "YLBXCBDJ", "ss_unemploy": "SYBXJSL", "ss_transfer": "SBGXZYJX",
    "ss_card": "SHBZKBH", "ss_record": "GRCBZMDY", "ss_injury": "GSRDSQ", "ss_birth": "SYJTSL",
    "ss_flex": "LHJYRYCBDJ", "ap_company": "QYSLDJ", "ap_change": "QYBGDJ", "ap_food": "SPJYXK",
    "ap_construct": "JSGCGHXK", "tx_invoice": "FPLY", "tx_declare": "GRSDSSB", "tx_register": "SWDJXXQR",
    "ps_hukou": "HKQY", "ps_idcard": "JMSFZHL", "ps_residence": "JZZBL", "np_private": "GTGSHDJ",
    "np_finance": "ZXQYRZFW", "pr_bid": "GCJSXMZBBA", "pr_land": "GYTDSYQCR",
}


def sample_catalog() -> dict[str, Any]:
    services = [
        _svc("ss_pension", "z1", "A", "养老保险待遇申领", "Pension benefit claim", 20, 5, [ID, HUKOU, FORM, PHOTO]),
        _svc("ss_medical", "z1", "A", "医疗保险参保登记", "Medical insurance enrolment", 15, 1, [ID, FORM]),
        _svc("ss_unemploy", "z1", "A", "失业保险金申领", "Unemployment benefit claim", 20, 3, [ID, FORM]),
        _svc("ss_transfer", "z1", "A", "社保关系转移接续", "Social insurance transfer", 45, 10, [ID, FORM]),
        _svc("ss_card", "z1", "A", "社会保障卡补换", "Replace a social security card", 10, 0, [ID, PHOTO]),
        _svc("ss_record", "z1", "A", "个人参保证明打印", "Print a proof of insurance", 1, 0, [ID], appointment=False),
        _svc("ss_injury", "z1", "A", "工伤认定申请", "Work-injury determination", 60, 30, [ID, FORM, POA]),
        _svc("ss_birth", "z1", "A", "生育津贴申领", "Maternity allowance claim", 20, 5, [ID, FORM]),
        _svc("ss_flex", "z1", "A", "灵活就业人员参保登记", "Enrolment for flexible workers", 15, 1, [ID, FORM]),
        _svc("ap_company", "z2", "B", "企业设立登记", "Company registration", 15, 1, [ID, FORM, POA]),
        _svc("ap_change", "z2", "B", "企业变更登记", "Company change registration", 15, 2, [LICENCE, ID, FORM]),
        _svc("ap_food", "z2", "B", "食品经营许可", "Food business permit", 20, 7, [LICENCE, ID, FORM]),
        _svc("ap_construct", "z2", "B", "建设工程规划许可", "Construction planning permit", 20, 10, [LICENCE, FORM]),
        _svc("tx_invoice", "z3", "C", "发票领用", "Collect invoices", 5, 0, [ID, LICENCE]),
        _svc("tx_declare", "z3", "C", "个人所得税申报", "Individual income tax return", 10, 0, [ID]),
        _svc("tx_register", "z3", "C", "税务登记信息确认", "Tax registration check", 10, 1, [LICENCE, ID]),
        _svc("ps_hukou", "z4", "D", "户口迁移", "Household registration transfer", 20, 5, [ID, HUKOU, FORM],
             id_required=True),
        _svc("ps_idcard", "z4", "D", "居民身份证换领", "Renew a resident ID card", 60, 30, [ID, HUKOU], id_required=True),
        _svc("ps_residence", "z4", "D", "居住证办理", "Residence permit", 15, 10, [ID, PHOTO, FORM]),
        _svc("np_private", "z5", "E", "个体工商户登记", "Sole-trader registration", 15, 1, [ID, FORM]),
        _svc("np_finance", "z5", "E", "中小企业融资服务", "SME financing advice", 10, 3, [LICENCE, FORM]),
        _svc("pr_bid", "z6", "F", "工程建设项目招标备案", "Tender filing for construction projects", 20, 3,
             [LICENCE, FORM, POA]),
        _svc("pr_land", "z6", "F", "国有土地使用权出让", "State land-use right transfer", 30, 15, [LICENCE, FORM]),
    ]
    return {
        "v": 1, "business_day": "2026-11-27",
        "hall": {"id": "daan", "name": "大安区政务服务中心", "name_en": "Daan District Government Service Centre",
                 "notice": "办理业务请携带有效身份证件 · 午间 12:00–13:30 暂停取号",
                 "notice_en": "Please bring valid ID · no numbers issued 12:00–13:30"},
        "issuing_hours": [["08:30", "12:00"], ["13:30", "17:30"]],
        "no_show_rule": {"rule": "requeue", "requeue_after": 3, "callback_s": 1800},     # [calling] no_show
        "zones": [
            {"id": "z1", "name": "社会保障服务区", "name_en": "Social Security", "floor": "1F"},
            {"id": "z2", "name": "行政审批服务区", "name_en": "Administrative Approval", "floor": "1F"},
            {"id": "z3", "name": "税务办理服务区", "name_en": "Taxation", "floor": "2F"},
            {"id": "z4", "name": "公安户籍服务区", "name_en": "Public Security & Household Registration", "floor": "2F"},
            {"id": "z5", "name": "非公经济服务区", "name_en": "Private Economy Services", "floor": "3F"},
            {"id": "z6", "name": "公共资源交易区", "name_en": "Public Resource Trading", "floor": "3F"},
        ],
        "services": services,
        "windows": [{"id": "w15", "name": "15号窗口", "name_en": "Window 15", "zone": "z1",
                     "services": ["ss_pension", "ss_medical"]}],
        "priority": {"age": 70},
        "status_url": "https://zwfw.daan.gov.cn/t/{token}",
    }


def sample_guides() -> dict[str, dict[str, Any]]:
    """The guides (state/guide/{service}) of the sample services."""
    return {s["id"]: {"v": 1, "service": s["id"], "name": s["name"], "name_en": s["name_en"],
                      "materials": s["materials"], "steps": s["steps"], "steps_en": s["steps_en"],
                      "promised_days": s["promised_days"], "legal_days": s["legal_days"]}
            for s in sample_catalog()["services"]}


SAMPLE_LOADS = {"z1": (23, 6, 1260), "z2": (8, 4, 540), "z3": (15, 5, 900), "z4": (0, 2, 0), "z5": (3, 1, 240),
                "z6": (1, 1, 120)}
