"""SMS (PROTOCOL.md "SMS"): texts written to an outbox in the transaction of the change that causes them, handed
to a gateway (an SMS platform over http, gammu-smsd, or a folder for the demo) by a sender thread at least once,
marked sent, never sent again after a restart.

    settings.SmsSettings        [sms] of hall.toml
    templates                   render, ucs2_units, overflow_problems, check_phone
    outbox                      the SQL (enqueue inside the caller's transaction)
    gateways                    HttpGateway, GammuFilesGateway, DirGateway, gateway_from
    sender.SmsSender            the thread
"""
from __future__ import annotations

from hall_server.sms.gateways import (DirGateway, GammuFilesGateway, Gateway, GatewayConfigError, GatewayError,
                                      HttpGateway, gateway_from)
from hall_server.sms.outbox import enqueue, ensure_schema, opt_out
from hall_server.sms.sender import SmsSender
from hall_server.sms.settings import KINDS, SmsSettings
from hall_server.sms.templates import check_phone, overflow_problems, render, ucs2_units

__all__ = ["DirGateway", "GammuFilesGateway", "Gateway", "GatewayConfigError", "GatewayError", "HttpGateway",
           "KINDS", "SmsSender", "SmsSettings", "check_phone", "enqueue", "ensure_schema", "gateway_from", "opt_out",
           "overflow_problems", "render", "ucs2_units"]
