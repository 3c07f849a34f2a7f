"""Issue 9 finding 9: a server restarted after a service or a window was removed from hall.toml while its tickets
wait (or are served there) starts, cancels those tickets with the reason, and alerts — no KeyError, no restart
loop."""
from __future__ import annotations

import time

from hall_bus import BusClient, Topics
from hall_server.config import HallConfig, load_hall_config
from hall_server.service import HallService
from hall_server.store import Store
from tests.support.hall import HALL_CONFIG, Mosquitto


def _without(cfg: HallConfig, service: str, window: str) -> HallConfig:
    d = cfg.model_dump()
    d["services"] = [s for s in d["services"] if s["id"] != service]
    windows = []
    for w in d["windows"]:
        w["services"] = [s for s in w["services"] if s != service]
        if w["services"] and w["id"] != window:
            windows.append(w)
    d["windows"] = windows
    return HallConfig.model_validate(d)


def test_a_restart_after_a_service_and_a_window_were_removed(tmp_path) -> None:
    cfg = load_hall_config(HALL_CONFIG)
    serving_window = cfg.windows_by_id["w2"]           # serves ss_unemployment, not ss_enroll
    broker = Mosquitto(tmp_path).start()
    db = tmp_path / "hall.sqlite3"
    svc = HallService(cfg, Store(db), broker.url, open_all_day=True)
    alerts: list[dict] = []
    events: list[dict] = []
    console = BusClient(broker.url, "daan", "console-c1").start()
    console.subscribe(Topics("daan").event_alert, lambda _t, p: alerts.append(p))
    console.subscribe(Topics("daan").event_ticket, lambda _t, p: events.append(p))
    try:
        assert svc.start() and console.subscribed.wait(5)
        kiosk = BusClient(broker.url, "daan", "kiosk-k1").start()
        assert kiosk.wait_connected(5) and kiosk.subscribed.wait(5)
        enroll = [kiosk.request("ticket.issue", {"service": "ss_enroll", "channel": "walk_in"})["number"]
                  for _ in range(2)]
        transfer, other = (kiosk.request("ticket.issue", {"service": "ss_unemployment", "channel": "id_card", "holder": {
            "ref": f"holder-ref-{i:04d}", "birth_date": "1980-01-01"}})["number"] for i in range(2))
        panel = BusClient(broker.url, "daan", f"panel-{serving_window.id}").start()
        assert panel.wait_connected(5) and panel.subscribed.wait(5)
        assert panel.request("window.call_next", {"window": serving_window.id})["number"] == transfer
        panel.stop()
        svc.stop()

        svc = HallService(_without(cfg, "ss_enroll", serving_window.id), Store(db), broker.url, open_all_day=True)
        assert svc.start()
        states = {t["number"]: (t["state"], t["service"]) for t in svc.store.tickets_of(svc.engine.day)}
        assert all(states[n][0] == "cancelled" for n in enroll), states
        assert states[transfer][0] == "cancelled" and states[other][0] == "waiting"
        assert kiosk.request("ticket.get", {"number": other})["state"] == "waiting"   # the hall serves on
        assert kiosk.request("ticket.issue", {"service": "ss_unemployment", "channel": "id_card", "holder": {
            "ref": "holder-ref-0009", "birth_date": "1980-01-01"}})["number"] != other
        deadline = time.monotonic() + 5
        while not any(a["kind"] == "config" for a in alerts) and time.monotonic() < deadline:
            time.sleep(0.05)
        alert = next(a for a in alerts if a["kind"] == "config")
        assert alert["level"] == "red" and all(n in alert["text_en"] for n in enroll + [transfer])
        cancels = [e for e in events if e.get("action") == "cancel"]
        assert {e["ticket"]["number"] for e in cancels} == set(enroll + [transfer])
        assert all("removed from the configuration" in e["reason"] for e in cancels)
        kiosk.stop()
    finally:
        svc.stop()
        console.stop()
        broker.stop()
