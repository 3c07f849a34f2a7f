"""Installer diagnostic: put a text on one LED screen (`onewindow device led --port URL --addr N --text T`)."""
from __future__ import annotations

from typing import Any

from devices.errors import DeviceError
from devices.frame7e import protocol as p
from devices.frame7e.bus import Bus7E
from devices.transport import open_transport


def led_command(port: str, addr: int, text: str, *, timeout: float = 0.3) -> dict[str, Any]:
    """Ping screen `addr` on the 7E line at `port` (a transport URL), then show `text` on its first line.
    Returns {"ok": True, "port", "addr", "text", "kind", "content_lost", "retries"} or
    {"ok": False, "port", "addr", "error"}; a port that cannot be opened raises DeviceError."""
    transport = open_transport(port)
    bus = Bus7E(transport, url=port, reply_timeout=timeout, poll_interval=3600.0)
    result: dict[str, Any] = {"port": port, "addr": addr}
    try:
        bus.add_device(addr)
    except ValueError as exc:
        transport.close()
        return {**result, "ok": False, "error": str(exc)}
    bus.start()
    try:
        info = p.parse_ping_reply(bus.request(addr, p.Cmd.PING))
        bus.request(addr, p.Cmd.SHOW_TEXT, p.text_payload(0, text))
        kinds = {k.value: k.name.lower() for k in p.DeviceKind}
        return {**result, "ok": True, "text": text, "kind": kinds.get(info.kind, f"0x{info.kind:02X}"),
                "content_lost": info.content_lost, "retries": bus.stats["retries"]}
    except DeviceError as exc:
        return {**result, "ok": False, "error": str(exc)}
    finally:
        bus.close()
