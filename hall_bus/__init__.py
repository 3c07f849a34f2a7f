"""The hall bus: PROTOCOL.md declared once (topics, payloads, validation) and one MQTT client wrapper."""
from hall_bus.contract import (
    PROTOCOL_VERSION, MAX_PAYLOAD, ErrorCode, Role, OPS, BusError,
    decode_json, encode_json, parse_request, validate_args, make_ok, make_error,
    role_of, may_call, TICKET_STATES, CHANNELS,
)
from hall_bus.topics import Topics
from hall_bus.client import BusClient, RequestError, parse_broker_url

__all__ = [
    "PROTOCOL_VERSION", "MAX_PAYLOAD", "ErrorCode", "Role", "OPS", "BusError",
    "decode_json", "encode_json", "parse_request", "validate_args", "make_ok", "make_error",
    "role_of", "may_call", "TICKET_STATES", "CHANNELS", "Topics", "BusClient", "RequestError",
    "parse_broker_url",
]
