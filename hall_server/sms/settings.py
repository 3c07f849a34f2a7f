"""`[sms]` of hall.toml: which gateway carries the hall's text messages, and the texts themselves.

Placeholders (str.format style, `{name}`; no format specs, conversions or attributes) and the kinds that may use
them:

| placeholder     | what it is                                                   | kinds                              |
|-----------------|--------------------------------------------------------------|------------------------------------|
| `number`        | the case number, DA-20261130-0007                            | every case_* kind                  |
| `query_code`    | the case's 6-digit query code                                | case_accepted only                 |
| `service`       | the service's name                                           | every kind                         |
| `due_date`      | the promised date (due_date)                                 | case_accepted, case_reminder       |
| `hall`          | the hall's name                                              | every kind                         |
| `link`          | a web link (rating link with the case token for case_rate;   | case_incomplete, case_materials,   |
|                 | the page with the materials list for the other two)          | case_rate                          |
| `missing_count` | how many materials are missing                               | case_incomplete, case_materials    |
| `code`          | the appointment code                                         | appointment_booked                 |
| `date`, `start` | the appointment's date and start time                        | appointment_booked                 |

The query code goes into case_accepted only: it is the one text the applicant gets right at the window, and a
query code in later texts would spread it to every phone that ever held the number.
"""
from __future__ import annotations

import os
import re
import string
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from hall_bus.configfile import ConfigModel

KINDS = ("case_accepted", "case_incomplete", "case_materials", "case_reminder", "case_ready", "case_rate",
         "appointment_booked")
PLACEHOLDERS = ("number", "query_code", "service", "due_date", "hall", "link", "missing_count", "code", "date",
                "start")

ALLOWED: dict[str, frozenset[str]] = {
    "case_accepted": frozenset({"number", "query_code", "service", "due_date", "hall"}),
    "case_incomplete": frozenset({"service", "hall", "link", "missing_count"}),
    "case_materials": frozenset({"number", "service", "hall", "link", "missing_count"}),
    "case_reminder": frozenset({"number", "service", "due_date", "hall"}),
    "case_ready": frozenset({"number", "service", "hall"}),
    "case_rate": frozenset({"number", "service", "hall", "link"}),
    "appointment_booked": frozenset({"code", "service", "date", "start", "hall"}),
}

DEFAULT_TEMPLATES: dict[str, str] = {
    "case_accepted": "您的办件{number}已受理，查询码{query_code}，承诺{due_date}前办结。",
    "case_incomplete": "您申请的{service}尚缺{missing_count}项材料，清单见一次性告知书，补齐后请再来办理。",
    "case_materials": "您的办件{number}需补正{missing_count}项材料，详见补正告知书，补齐前暂停计时。",
    "case_reminder": "您的办件{number}正在办理中，承诺{due_date}前办结。",
    "case_ready": "您的办件{number}已办结，请带身份证到{hall}领取。",
    "case_rate": "办件已办结，请评价：{link}",
    "appointment_booked": "您已预约{date} {start}{service}，预约码{code}，请按时到大厅取号。",
}

TEMPLATE_MAX = 300          # characters of one template as written (the 70-unit check comes with real values)

GATEWAY_FORMS = ("http://", "https://", "gammu-smsd://", "dir://")


def template_problems(kind: str, text: str) -> list[str]:
    """What is wrong with a template for `kind` (empty: fine)."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"not a valid template ({exc}; write a literal brace as {{{{ or }}}})"]
    problems = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name == "" or not name.isidentifier():
            problems.append(f"placeholder {{{name}}}: only names like {{number}} may stand in braces")
        elif spec or conversion:
            problems.append(f"placeholder {{{name}}}: no format spec or conversion (write just {{{name}}})")
        elif name not in PLACEHOLDERS:
            problems.append(f"unknown placeholder {{{name}}} (known: {', '.join(PLACEHOLDERS)})")
        elif name not in ALLOWED[kind]:
            problems.append(f"placeholder {{{name}}} is not filled in for {kind} "
                            f"(it may use {', '.join(sorted(ALLOWED[kind]))})")
    return problems


def _template(kind: str):
    def check(value: str) -> str:
        problems = template_problems(kind, value)
        if problems:
            raise ValueError("; ".join(problems))
        return value
    return check


TemplateText = Annotated[str, StringConstraints(min_length=1, max_length=TEMPLATE_MAX)]


class SmsTemplates(ConfigModel):
    """`[sms.templates]`: one text per kind, the carrier signature left out (it is put in front when sent).
    An unknown kind is an error (`sms.templates.<key>: Extra inputs are not permitted`)."""
    case_accepted: TemplateText = Field(DEFAULT_TEMPLATES["case_accepted"], description="办件确认")
    case_incomplete: TemplateText = Field(DEFAULT_TEMPLATES["case_incomplete"], description="一次性告知")
    case_materials: TemplateText = Field(DEFAULT_TEMPLATES["case_materials"], description="补正")
    case_reminder: TemplateText = Field(DEFAULT_TEMPLATES["case_reminder"], description="中途提醒")
    case_ready: TemplateText = Field(DEFAULT_TEMPLATES["case_ready"], description="领件通知")
    case_rate: TemplateText = Field(DEFAULT_TEMPLATES["case_rate"], description="办结评议")
    appointment_booked: TemplateText = Field(DEFAULT_TEMPLATES["appointment_booked"], description="预约成功")

    @field_validator(*KINDS)
    @classmethod
    def _placeholders(cls, value: str, info) -> str:
        return _template(info.field_name)(value)

    def __getitem__(self, kind: str) -> str:
        if kind not in KINDS:
            raise KeyError(kind)
        return getattr(self, kind)

    def items(self) -> list[tuple[str, str]]:
        return [(k, getattr(self, k)) for k in KINDS]


class SmsSettings(ConfigModel):
    """`[sms]`: without the section no SMS is written (cases work all the same)."""
    gateway: str = Field(description='"http(s)://host/path" (the SMS platform), "gammu-smsd:///etc/gammu-smsdrc" '
                                     '(a modem through gammu-smsd, files backend), or "dir:///path" (demo only: '
                                     "one file per message); a relative dir:// or gammu-smsd:// path is relative "
                                     "to the data directory")
    secret: str | None = Field(None, description="HMAC-SHA256 key for the http gateway's X-OneWindow-Signature: "
                                                 "literal, or env:NAME")
    signature: str = Field(description="the carrier signature put in front of every text, e.g. 【大安政务】")
    alert_after_s: int = Field(600, ge=10, le=86400,
                               description="a message not accepted by the gateway by then raises sms_failing")
    timeout_s: float = Field(10, gt=0, le=120, description="seconds one gateway call may take")
    retry_max_s: int = Field(300, ge=1, le=3600, description="the longest wait between retries (1 s, doubling)")
    templates: SmsTemplates = SmsTemplates()

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, v: str) -> str:
        if not v.startswith(GATEWAY_FORMS):
            raise ValueError('must start with http://, https://, gammu-smsd:// or dir:// '
                             '(e.g. "gammu-smsd:///etc/gammu-smsdrc")')
        if v.startswith(("http://", "https://")):
            rest = v.split("://", 1)[1]
            if not rest or rest.startswith("/"):
                raise ValueError("an http(s) gateway needs a host")
        elif not v.split("://", 1)[1]:
            raise ValueError("needs a path after //")
        return v

    @field_validator("signature")
    @classmethod
    def _signature(cls, v: str) -> str:
        if not re.fullmatch(r"【[^【】\s]{1,20}】", v):
            raise ValueError("must be the carrier signature in 【】, e.g. 【大安政务】 (1 to 20 characters inside)")
        return v

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if v.startswith("env:"):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v[4:]):
                raise ValueError("env:NAME needs a variable name")
        elif len(v) < 16:
            raise ValueError("a literal secret must be at least 16 characters")
        return v

    def secret_value(self) -> bytes | None:
        """The HMAC key: the literal, or the variable's value for `env:NAME` (None when it is not set)."""
        if self.secret is None:
            return None
        if self.secret.startswith("env:"):
            value = os.environ.get(self.secret[4:])
            return value.encode("utf-8") if value else None
        return self.secret.encode("utf-8")
