"""Open alerts (`state/alerts`) and device supervision (device_fault, device_offline) — pure, no I/O.

Every alert the server raises goes out on `event/alert` and stays in `state/alerts` (newest first, at most
MAX_SHOWN) until a console acknowledges it (`alert.ack`: the alert with acked_by/acked_at goes out on `event/alert`
again and leaves the list) or, for device alerts, until the device is well again (it leaves the list, no event).
The store keeps the open alerts (table `alerts`), so a restart shows the same list.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from hall_bus import payloads as bus
from hall_bus.contract import BusError, ErrorCode

MAX_SHOWN = 200
MAX_BYTES = 60 * 1024      # state/alerts stays under the bus's 64 KiB message limit
DEVICE_KINDS = ("device_fault", "device_offline")
# roles whose clients own devices: their going offline (presence offline, last will) takes their devices with them
DEVICE_OWNER_PREFIXES = ("kiosk-", "devices-")    # a panel only once it reported a device

Alert = dict[str, Any]      # the wire form of hall_bus.payloads.Alert
RaiseFn = Callable[..., Any]   # Engine._alert(now, kind, level, target, text_zh, text_en, **detail) -> Event


class AlertBoard:
    """The open alerts by id, in the order raised."""

    def __init__(self, alerts: Iterable[Alert] = ()) -> None:
        self.open: dict[str, Alert] = {}
        for a in sorted(alerts, key=lambda a: a.get("ts", "")):
            self.open[a["id"]] = a

    def add(self, alert: Alert) -> bool:
        if alert.get("acked_by") or alert.get("acked_at") or alert["id"] in self.open:
            return False
        self.open[alert["id"]] = alert
        return True

    def remove(self, alert_id: str) -> bool:
        return self.open.pop(alert_id, None) is not None

    def acked(self, alert_id: str, actor: str, at: datetime) -> Alert:
        """The alert as acknowledged (not yet removed: the service removes it once the ack is stored). An id that is
        not open is `conflict` (already acknowledged, cleared, or never raised)."""
        alert = self.open.get(alert_id)
        if alert is None:
            raise BusError(ErrorCode.CONFLICT, f"no open alert {alert_id!r} (already acknowledged, cleared or unknown)",
                           "该告警不存在或已处理")
        return {**alert, "acked_by": actor, "acked_at": at.isoformat()}

    def view(self) -> dict[str, Any]:
        """`state/alerts`: newest first, at most MAX_SHOWN, and within the bus's message limit (the oldest left
        out first: they stay open and return to the list as newer ones are acknowledged)."""
        newest = sorted(self.open.values(), key=lambda a: a.get("ts", ""), reverse=True)[:MAX_SHOWN]
        wire = bus.AlertsState.parse({"alerts": newest}).wire()
        sizes = [len(json.dumps(a, ensure_ascii=False, separators=(",", ":")).encode()) + 1 for a in wire["alerts"]]
        total = sum(sizes) + 64
        while wire["alerts"] and total > MAX_BYTES:
            wire["alerts"].pop()
            total -= sizes.pop()
        return wire


@dataclass
class DeviceWatch:
    """Device statuses and owners' presence -> device alerts, one per fault until it clears.

    `active` maps a device target (`kiosk-k1/printer`, or an owner `kiosk-k1` for its presence) to the id of its
    alert while the fault lasts — acknowledged or not (an acknowledged fault is not raised again until it cleared)."""
    active: dict[str, tuple[str, str]] = field(default_factory=dict)     # target -> (kind, alert id)
    owners: set[str] = field(default_factory=set)                         # clients seen reporting devices

    @classmethod
    def from_alerts(cls, rows: Iterable[Alert]) -> "DeviceWatch":
        w = cls()
        for a in rows:
            if a.get("kind") in DEVICE_KINDS and a.get("target"):
                w.active[a["target"]] = (a["kind"], a["id"])
        return w

    def status(self, now: datetime, owner: str, device: str, state: str, detail: dict[str, Any],
               raise_alert: RaiseFn) -> list[Any]:
        """A device's status: an error raises device_fault, offline device_offline; ok or warning clears it.
        Returns the events (alerts and clears) to store and publish."""
        self.owners.add(owner)
        target = f"{owner}/{device}"
        if state in ("error", "offline"):
            kind = "device_fault" if state == "error" else "device_offline"
            have = self.active.get(target)
            if have and have[0] == kind:
                return []
            events = self._clear(target, now) if have else []
            what = ", ".join(f"{k}={v}" for k, v in sorted(detail.items())
                             if isinstance(v, (str, int, float, bool)))[:120]
            if kind == "device_fault":
                zh, en = f"{owner} 的设备 {device} 故障" + (f"（{what}）" if what else ""), \
                    f"{device} of {owner} reports an error" + (f" ({what})" if what else "")
            else:
                zh, en = f"{owner} 的设备 {device} 离线", f"{device} of {owner} is offline"
            ev = raise_alert(now, kind, "red" if kind == "device_fault" else "yellow", target, zh, en,
                             owner=owner, device=device)
            self.active[target] = (kind, ev.payload["id"])
            return events + [ev]
        return self._clear(target, now)

    def presence(self, now: datetime, client: str, state: str, raise_alert: RaiseFn) -> list[Any]:
        """An owner's presence: offline (or its last will) raises device_offline for the owner, online clears it."""
        if state == "online":
            return self._clear(client, now)
        if not (client in self.owners or client.startswith(DEVICE_OWNER_PREFIXES)):
            return []
        if client in self.active:
            return []
        ev = raise_alert(now, "device_offline", "red", client, f"{client} 已离线，其设备无法使用",
                         f"{client} went offline with its devices", owner=client)
        self.active[client] = ("device_offline", ev.payload["id"])
        return [ev]

    def _clear(self, target: str, now: datetime) -> list[Any]:
        have = self.active.pop(target, None)
        if have is None:
            return []
        from hall_server.engine import Event
        return [Event("alert_clear", {"id": have[1], "kind": have[0], "target": target, "ts": now.isoformat()})]
