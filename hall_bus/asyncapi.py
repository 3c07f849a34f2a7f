"""Generate the machine-readable AsyncAPI 2.6 description of the hall bus from the pydantic models of
hall_bus.contract (requests) and hall_bus.payloads (everything the server and the devices send), so the contract
is declared once. `python -m hall_bus.asyncapi > docs/asyncapi.json`; a test keeps the committed file in step."""
from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hall_bus import payloads as p
from hall_bus.contract import MAX_REQUEST_ID, OPS, PROTOCOL_VERSION, ErrorCode

REF = "#/components/schemas/{model}"

# topic (under onewindow/{hall}/) -> (model, retained, who publishes, description)
TOPICS: dict[str, tuple[type[BaseModel], bool, str, str]] = {
    "event/call": (p.CallEvent, False, "server", "a ticket called to a window"),
    "event/ticket": (p.TicketEvent, False, "server", "every ticket state change (audit and supervision feed)"),
    "event/alert": (p.Alert, False, "server", "a supervision alert"),
    "event/case": (p.CaseEvent, False, "server", "every change of a case (办件), public view only"),
    "event/audit": (p.AuditEvent, False, "server", "console, staff and department actions"),
    "event/reprint/{kiosk}": (p.ReprintEvent, False, "server", "a console asks this kiosk to print a ticket again"),
    "state/notice": (p.NoticeState, True, "server", "the hall display's extra ticker line"),
    "state/staff/{window}": (p.StaffState, True, "server", "who is signed in at a window (masked name) or null"),
    "state/server": (p.ServerState, True, "server", "the server's presence; last will = offline"),
    "state/catalog": (p.Catalog, True, "server", "hall, zones, services, windows, departments, rules in force"),
    "state/guide/{service}": (p.Guide, True, "server", "one service's guide (materials, steps, limits, fees, forms)"),
    "state/zone/{zone}": (p.ZoneState, True, "server", "counts of one zone and its services"),
    "state/queue/{zone}": (p.QueueState, True, "server", "ahead and estimated wait of each waiting ticket"),
    "state/window/{window}": (p.WindowState, True, "server", "one window's status and current ticket"),
    "state/calls": (p.CallsState, True, "server", "the last 10 calls, newest first"),
    "state/alerts": (p.AlertsState, True, "server", "open alerts, newest first"),
    "presence/{client}": (p.Presence, True, "every client", "a client's presence; last will = offline"),
    "device/{owner}/{device}/status": (p.DeviceStatus, True, "the device's owner",
                                       "one device's health, under its owner's client id"),
}


def build() -> dict[str, Any]:
    base = "onewindow/{hall}"
    models: list[tuple[type[BaseModel], str]] = [(m, "serialization") for m, *_ in TOPICS.values()]
    models += [(p.Reply, "serialization"), (p.Ticket, "serialization"), (p.CaseFull, "serialization"),
               (p.CaseListing, "serialization")]
    models += [(m, "validation") for m in dict.fromkeys(OPS.values())]
    _keys, defs = models_json_schema(models, ref_template=REF)
    schemas = dict(sorted(defs.get("$defs", {}).items()))
    channels: dict[str, Any] = {}
    for op, args_model in OPS.items():
        channels[f"{base}/request/{{client}}/{op}"] = {
            "description": f"Request {op}. The server answers on response/{{client}}.",
            "publish": {"operationId": op.replace(".", "_"), "message": {"name": str(op), "payload": {
                "type": "object", "required": ["v", "id", "args"],
                "properties": {"v": {"const": PROTOCOL_VERSION},
                               "id": {"type": "string", "minLength": 1, "maxLength": MAX_REQUEST_ID},
                               "args": {"$ref": REF.format(model=args_model.__name__)}}}}}}
    channels[f"{base}/response/{{client}}"] = {
        "description": "Replies to this client's requests. data of ticket.issue, ticket.get, appointment.checkin and "
                       "the window ops that answer with a ticket is a Ticket; window.open/close/pause/resume answer "
                       "with a WindowState; case.accept, case.refuse, case.update answer with a CaseFull, case.get "
                       "with a CaseFull (the case's window, department, consoles) or a CasePublic, case.list with a "
                       "CaseListing; error.code is one of ErrorCode.",
        "subscribe": {"message": {"name": "reply", "payload": {"$ref": REF.format(model="Reply")}}}}
    for path, (model, retained, who, text) in TOPICS.items():
        channels[f"{base}/{path}"] = {
            "description": f"{text} (published by {who}{', retained' if retained else ''})",
            "subscribe": {"message": {"name": model.__name__, "payload": {"$ref": REF.format(model=model.__name__)}}}}
    schemas["ErrorCode"] = {"enum": [c.value for c in ErrorCode]}
    return {"asyncapi": "2.6.0",
            "info": {"title": "OneWindow hall bus", "version": str(PROTOCOL_VERSION),
                     "description": "MQTT contract between the hall server, kiosks, staff panels, hall displays and "
                                    "device controllers. Generated from hall_bus.contract and hall_bus.payloads; "
                                    "see docs/protocol.md."},
            "defaultContentType": "application/json",
            "channels": channels,
            "components": {"schemas": schemas}}


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
