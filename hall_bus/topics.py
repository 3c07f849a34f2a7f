"""Every MQTT topic of the hall bus (PROTOCOL.md, version 1 with part 2). Nobody else formats a topic string."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParsedTopic:
    kind: str          # request, response, event, state, presence, device
    parts: tuple[str, ...]


class Topics:
    """Topic names under `onewindow/{hall}`."""

    ROOT = "onewindow"

    def __init__(self, hall: str) -> None:
        if not hall or "/" in hall or "+" in hall or "#" in hall:
            raise ValueError(f"hall id {hall!r} cannot be used in a topic")
        self.hall = hall
        self.base = f"{self.ROOT}/{hall}"

    # requests and replies
    def request(self, client: str, op: str) -> str:
        return f"{self.base}/request/{client}/{op}"

    def request_filter(self, client: str = "+") -> str:
        return f"{self.base}/request/{client}/+"

    def response(self, client: str) -> str:
        return f"{self.base}/response/{client}"

    # events
    @property
    def event_call(self) -> str:
        return f"{self.base}/event/call"

    @property
    def event_ticket(self) -> str:
        return f"{self.base}/event/ticket"

    @property
    def event_alert(self) -> str:
        return f"{self.base}/event/alert"

    @property
    def event_case(self) -> str:
        return f"{self.base}/event/case"

    @property
    def event_audit(self) -> str:
        return f"{self.base}/event/audit"

    def event_reprint(self, kiosk: str) -> str:
        """A console's reprint of a ticket, for one kiosk (`event/reprint/kiosk-k1`)."""
        return f"{self.base}/event/reprint/{kiosk}"

    @property
    def events_all(self) -> str:
        return f"{self.base}/event/#"

    # retained state
    @property
    def state_server(self) -> str:
        return f"{self.base}/state/server"

    @property
    def state_catalog(self) -> str:
        return f"{self.base}/state/catalog"

    def state_guide(self, service: str) -> str:
        return f"{self.base}/state/guide/{service}"

    def state_queue(self, zone: str) -> str:
        return f"{self.base}/state/queue/{zone}"

    @property
    def state_alerts(self) -> str:
        return f"{self.base}/state/alerts"

    @property
    def state_notice(self) -> str:
        return f"{self.base}/state/notice"

    def state_staff(self, window: str) -> str:
        return f"{self.base}/state/staff/{window}"

    def state_zone(self, zone: str) -> str:
        return f"{self.base}/state/zone/{zone}"

    def state_window(self, window: str) -> str:
        return f"{self.base}/state/window/{window}"

    @property
    def state_calls(self) -> str:
        return f"{self.base}/state/calls"

    @property
    def state_all(self) -> str:
        return f"{self.base}/state/#"

    @property
    def heartbeat(self) -> str:
        """The server's own heartbeat: published and subscribed by the server only, to hear that the broker still
        delivers to it."""
        return f"{self.base}/heartbeat/onewindow-server"

    def presence(self, client: str) -> str:
        return f"{self.base}/presence/{client}"

    @property
    def presence_all(self) -> str:
        return f"{self.base}/presence/+"

    def device_status(self, owner: str, device: str) -> str:
        """A device's status under its owner's client id (`device/kiosk-k1/printer/status`), so a broker ACL can
        allow each client its own devices only."""
        return f"{self.base}/device/{owner}/{device}/status"

    @property
    def device_status_all(self) -> str:
        return f"{self.base}/device/+/+/status"

    def parse(self, topic: str) -> ParsedTopic | None:
        """Split a topic of this hall into its kind and the segments after it; None if foreign."""
        prefix = self.base + "/"
        if not topic.startswith(prefix):
            return None
        rest = topic[len(prefix):].split("/")
        if not rest or not rest[0]:
            return None
        return ParsedTopic(rest[0], tuple(rest[1:]))
