"""Generate the machine-readable AsyncAPI 2.6 description of the hall bus from the declarations in
hall_bus.contract (so the contract is declared once). `python -m hall_bus.asyncapi > docs/asyncapi.json`."""
from __future__ import annotations

import json
import sys
from typing import Any

from hall_bus.contract import (
    CHANNELS, DEVICE_STATES, OPS, PROTOCOL_VERSION, TICKET_STATES, WINDOW_STATUSES, ErrorCode, Field,
)


def _schema(field: Field) -> dict[str, Any]:
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    names = {str: "string", int: "integer", dict: "object", bool: "boolean", list: "array", float: "number"}
    out: dict[str, Any] = {"type": names[kinds[0]] if len(kinds) == 1 else [names[k] for k in kinds]}
    if field.max_len is not None:
        out["maxLength"] = field.max_len
    if field.pattern:
        out["pattern"] = f"^{field.pattern}$"
    if field.choices:
        out["enum"] = list(field.choices)
    if field.lo is not None:
        out["minimum"] = field.lo
    if field.hi is not None:
        out["maximum"] = field.hi
    if field.fields:
        out.update(_object(field.fields))
    return out


def _object(fields: dict[str, Field]) -> dict[str, Any]:
    return {"type": "object", "properties": {k: _schema(f) for k, f in fields.items()},
            "required": [k for k, f in fields.items() if f.required]}


TICKET = {"type": "object", "required": ["id", "number", "service", "zone", "state", "channel", "priority",
                                         "issued_at", "ahead", "est_wait_s", "verify"],
          "properties": {"id": {"type": "string"}, "number": {"type": "string", "pattern": "^[A-Z]{1,2}[0-9]{3}$"},
                         "service": {"type": "string"}, "zone": {"type": "string"},
                         "state": {"enum": list(TICKET_STATES)}, "channel": {"enum": list(CHANNELS)},
                         "priority": {"type": "boolean"}, "issued_at": {"type": "string", "format": "date-time"},
                         "called_at": {"type": ["string", "null"]}, "window": {"type": ["string", "null"]},
                         "ahead": {"type": "integer"}, "est_wait_s": {"type": "integer"},
                         "verify": {"type": "string"}}}


def build() -> dict[str, Any]:
    base = "onewindow/{hall}"
    channels: dict[str, Any] = {}
    for op, fields in OPS.items():
        channels[f"{base}/request/{{client}}/{op}"] = {
            "description": f"Request {op}. The server answers on response/{{client}}.",
            "publish": {"operationId": op.replace(".", "_"), "message": {"name": op, "payload": {
                "type": "object", "required": ["v", "id", "args"],
                "properties": {"v": {"const": PROTOCOL_VERSION}, "id": {"type": "string", "maxLength": 64},
                               "args": _object(fields)}}}}}
    channels[f"{base}/response/{{client}}"] = {"subscribe": {"message": {"name": "reply", "payload": {
        "type": "object", "required": ["v", "id", "op", "ok"],
        "properties": {"v": {"const": 1}, "id": {"type": ["string", "null"]}, "op": {"type": "string"},
                       "ok": {"type": "boolean"}, "data": {"type": "object"},
                       "error": {"type": "object", "properties": {
                           "code": {"enum": [c.value for c in ErrorCode]}, "message": {"type": "string"},
                           "message_zh": {"type": "string"}}}}}}}}
    channels[f"{base}/event/call"] = {"subscribe": {"message": {"name": "call", "payload": {
        "type": "object", "required": ["v", "seq", "ticket_id", "number", "window", "window_name", "zone", "service",
                                       "recall", "text_zh", "text_en", "ts"]}}}}
    channels[f"{base}/event/ticket"] = {"subscribe": {"message": {"name": "ticket_change", "payload": {
        "type": "object", "properties": {"action": {"type": "string"}, "ticket": {"type": ["object", "null"]}}}}}}
    channels[f"{base}/event/alert"] = {"subscribe": {"message": {"name": "alert", "payload": {
        "type": "object", "properties": {"kind": {"enum": ["long_wait", "window_paused", "bad_evaluation"]}}}}}}
    retained = {
        "state/server": {"state": {"enum": ["online", "offline"]}, "version": {"type": "string"},
                         "business_day": {"type": "string"}},
        "state/catalog": {"hall": {"type": "object"}, "zones": {"type": "array"}, "services": {"type": "array"},
                          "windows": {"type": "array"}},
        "state/zone/{zone}": {"waiting": {"type": "integer"}, "serving": {"type": "integer"},
                              "est_wait_s": {"type": "integer"}, "last_called": {"type": "array"}},
        "state/window/{window}": {"status": {"enum": list(WINDOW_STATUSES)}, "current": {"type": ["object", "null"]},
                                  "waiting": {"type": "integer"}},
        "state/calls": {"calls": {"type": "array", "maxItems": 10}},
        "presence/{client}": {"state": {"enum": ["online", "offline"]}, "role": {"type": "string"}},
        "device/{device}/status": {"kind": {"type": "string"}, "state": {"enum": list(DEVICE_STATES)},
                                   "detail": {"type": "object"}},
    }
    for path, props in retained.items():
        channels[f"{base}/{path}"] = {"description": "retained", "subscribe": {"message": {"payload": {
            "type": "object", "properties": {"v": {"const": 1}, **props}}}}}
    return {"asyncapi": "2.6.0",
            "info": {"title": "OneWindow hall bus", "version": str(PROTOCOL_VERSION),
                     "description": "MQTT contract between the hall server, kiosks, staff panels, hall displays and "
                                    "device controllers. See docs/protocol.md."},
            "defaultContentType": "application/json",
            "channels": channels,
            "components": {"schemas": {"Ticket": TICKET}}}


def main() -> None:
    json.dump(build(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
