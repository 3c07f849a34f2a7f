"""`--screenshots DIR`: every kiosk screen, in Chinese and English, portrait and landscape, as PNG files."""
from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from kiosk.bridge import KioskBridge
from kiosk.config import KioskConfig
from kiosk.model import (
    CasePublic, Catalog, Connectivity, DeviceHealth, Guide, Health, Holder, IssueOutcome, Ticket, ZoneLoad,
)
from kiosk.sample import SAMPLE_LOADS, sample_catalog, sample_guides

SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080)}


def fetch_catalog(config: KioskConfig, timeout: float = 1.5) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]],
                                                                     dict[str, dict[str, Any]]]:
    """The retained state/catalog, state/zone/* and state/guide/* from the configured broker, if one answers
    quickly."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from hall_bus import Topics, decode_json, parse_broker_url
    topics = Topics(config.hall)
    got: dict[str, Any] = {}
    zones: dict[str, dict[str, Any]] = {}
    guides: dict[str, dict[str, Any]] = {}
    done = threading.Event()
    try:
        addr = parse_broker_url(config.broker)
    except ValueError:
        return None, {}, {}
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"display-kioskshots-{config.id}")
    addr.apply(c)

    def on_connect(client: mqtt.Client, *_a: Any) -> None:
        client.subscribe([(topics.state_catalog, 1), (topics.state_zone("+"), 1), (topics.state_guide("+"), 1)])

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            obj = decode_json(msg.payload)
        except Exception:
            return
        if msg.topic == topics.state_catalog:
            got["catalog"] = obj
            done.set()
        elif msg.topic.startswith(topics.state_guide("")):
            guides[msg.topic.rsplit("/", 1)[-1]] = obj
        else:
            zones[msg.topic.rsplit("/", 1)[-1]] = obj

    c.on_connect = on_connect
    c.on_message = on_message
    try:
        c.connect(addr.host, addr.port, keepalive=5)
    except OSError:
        return None, {}, {}
    c.loop_start()
    done.wait(timeout)
    if done.is_set():
        done.clear()
        done.wait(0.2)     # let the zone states follow
    c.disconnect()
    c.loop_stop()
    return got.get("catalog"), zones, guides


def sample_ticket(catalog: Catalog, **over: Any) -> Ticket:
    svc = catalog.service("ss_pension") or catalog.services[0]
    zone = catalog.zone(svc.zone)
    base = dict(id="t-sample", number=f"{svc.prefix}023", service=svc.id, zone=svc.zone, state="waiting",
                channel="walk_in", priority=False, ahead=5, est_wait_s=540, verify="K7Q2",
                service_name=svc.name, service_name_en=svc.name_en,
                zone_name=zone.name if zone else "", zone_name_en=zone.name_en if zone else "",
                issued_at="2026-11-27T09:41:00+08:00")
    base.update(over)
    return Ticket(**base)


def sample_case(catalog: Catalog, **over: Any) -> CasePublic:
    """A case's public view as `case.get` gives it to a kiosk (number + query code)."""
    svc = catalog.service("ss_pension") or catalog.services[0]
    base: dict[str, Any] = dict(
        number="DA-20261125-0007", service=svc.id, service_name=svc.name, service_name_en=svc.name_en,
        department="rsj", status="in_progress", accepted_at="2026-11-25T10:12:00+08:00", promised_days=5,
        legal_days=20, due_date="2026-12-02", legal_due_date="2026-12-23", days_left=3, clock="running",
        history=[{"status": "accepted", "change": "", "ts": "2026-11-25T10:12:00+08:00"},
                 {"status": "in_progress", "change": "in_progress", "ts": "2026-11-26T09:03:00+08:00"}])
    base.update(over)
    return CasePublic.parse(base)


def overlapping_labels(win: QWidget) -> list[str]:
    """Problems a reader would see: a wrapped label given less height than its text needs, or two labels drawn
    over each other (a layout squeezed below its minimum). A window-size check alone does not catch these."""
    problems = []
    boxes = []
    for lab in win.findChildren(QLabel):
        if not (lab.isVisibleTo(win) and lab.text() and lab.width() > 0 and lab.height() > 0):
            continue
        if lab.wordWrap():
            need = lab.heightForWidth(lab.width())
            if need > lab.height() + 2:
                problems.append(f"label {lab.text()[:32]!r} squeezed to {lab.height()} px of {need}")
        top_left = lab.mapTo(win, QPoint(0, 0))
        boxes.append((QRect(top_left, lab.size()).adjusted(2, 2, -2, -2), lab.text()[:32]))
    for i, (r1, t1) in enumerate(boxes):
        for r2, t2 in boxes[i + 1:]:
            if r1.intersects(r2):
                problems.append(f"labels {t1!r} and {t2!r} overlap ({r1.getRect()} {r2.getRect()})")
    return problems


def render_all(config: KioskConfig, out: Path, family: str) -> int:
    from kiosk import bridge as bridge_mod
    from kiosk.window import KioskWindow
    bridge_mod.LOG_EVENTS = False
    out.mkdir(parents=True, exist_ok=True)
    raw, zone_states, guides = fetch_catalog(config)
    source = "broker"
    if raw is None:
        raw, zone_states, guides, source = sample_catalog(), {}, sample_guides(), "sample"
    catalog = Catalog.parse(raw, {sid: Guide.parse(g) for sid, g in guides.items()})
    loads = {z: ZoneLoad.parse(v) for z, v in zone_states.items()}
    if not loads:
        loads = {z: ZoneLoad(waiting=w, serving=s, est_wait_s=e, last_called=["A019", "A020"])
                 for z, (w, s, e) in SAMPLE_LOADS.items()}
    app = QApplication.instance()
    files: list[str] = []
    overflow: list[str] = []
    zones = [z.id for z in catalog.zones]
    busiest = max(zones, key=lambda z: len(catalog.services_of(z))) if zones else None
    smallest = min(zones, key=lambda z: len(catalog.services_of(z))) if zones else None
    id_svc = next((s for s in catalog.services if s.id_required), catalog.services[0] if catalog.services else None)
    first = catalog.service("ss_pension") or (catalog.services[0] if catalog.services else None)
    holder = Holder("x" * 43, "1950-03-08", "张*")

    for orientation, (w, h) in SIZES.items():
        for lang in ("zh", "en"):
            bridge = KioskBridge(config)          # never started: no bus, no devices
            win = KioskWindow(config, bridge, portrait=orientation == "portrait", family=family)
            win.setFixedSize(w, h)      # overflow must show up as clipping, not as a wider picture
            win.show()

            def reset(win: KioskWindow = win, lang: str = lang) -> None:
                j = win.journey
                j.catalog = catalog
                j.loads = dict(loads)
                j.conn = Connectivity(True, True)
                j.health = {"printer": DeviceHealth("printer", Health.OK), "idcard": DeviceHealth("idcard", Health.OK)}
                j.forced_unreachable = False
                j.started = 0.0
                win.go_home(reset=True)
                j.lang = lang
                j.holder = None
                win.refresh()

            def shot(name: str, setup: Callable[[], None], win: KioskWindow = win, lang: str = lang,
                     orientation: str = orientation) -> None:
                reset()
                setup()
                win.header.tick(win.journey.lang)
                for _ in range(6):     # wrapped labels settle their height over a few layout passes
                    app.processEvents()
                path = out / f"{orientation}-{lang}-{len(files) % 100:02d}-{name}.png"
                hint = win.layout().minimumSize()
                if hint.width() > w or hint.height() > h:
                    overflow.append(f"{path.name}: needs {hint.width()}x{hint.height()}")
                overflow.extend(f"{path.name}: {problem}" for problem in overlapping_labels(win))
                img = win.grab()
                if (img.width(), img.height()) != (w, h):
                    raise RuntimeError(f"{path.name}: rendered {img.width()}x{img.height()}, not {w}x{h}")
                img.save(str(path), "PNG", 30)   # light compression: ~3x faster, still small
                files.append(str(path))

            def show(name: str, **state: Any) -> Callable[[], None]:
                def setup() -> None:
                    for k, v in state.items():
                        setattr(win.journey, k, v)
                    if "elderly" in state:
                        win.apply_style()
                    win.show_screen(name)
                return setup

            t = sample_ticket(catalog)
            shot("home", lambda: None)
            if smallest:
                shot("zone", show("zone", zone_id=smallest))
            if busiest:
                shot("services", show("zone", zone_id=busiest))
            shot("search", show("search"))
            shot("search-initials", show("search", search_letters="YLBX"))
            shot("search-keyword", show("search", search_word="税"))
            shot("search-none", show("search", search_letters="QXZ"))
            shot("elderly-search", show("search", elderly=True, search_letters="SB"))
            shot("elderly-search-keyword", show("search", elderly=True, search_word="户口"))
            if first:
                shot("confirm", show("confirm", service_id=first.id))
                shot("printing", show("printing", progress=("print", 0.62)))
                shot("done", show("done", outcome=IssueOutcome("printed", ticket=t)))
                shot("unprinted", show("done", outcome=IssueOutcome("unprinted", ticket=t, code="paper_out")))
                shot("guide", show("guide", guide_service=first.id))
            shot("appointment", show("appointment", code_text="20261127-0815"))
            shot("status-entry", show("status", code_text="A023"))
            called = sample_ticket(catalog, state="serving", ahead=0, window="w15", window_name="15号窗口",
                                   window_name_en="Window 15")
            shot("status-result", show("status", lookup=IssueOutcome("found", ticket=called)))
            finished = sample_ticket(catalog, state="done", ahead=0, window="w15", window_name="15号窗口",
                                     window_name_en="Window 15")
            shot("status-evaluate", show("status", lookup=IssueOutcome("found", ticket=finished)))
            case_entry = dict(status_mode="case", case_seq="0007", case_code="1234", case_field="code")
            shot("case-entry", show("status", **case_entry))
            shot("case-prefix", show("status", status_mode="case", case_field="prefix", case_fresh=True))
            shot("case-not-found", show("status", **{**case_entry, "case_code": "123456",
                                                     "case_error": "case_not_found"}))
            shot("case-result", show("status", status_mode="case",
                                     case_found=IssueOutcome("found", case=sample_case(catalog))))
            waiting = sample_case(catalog, status="needs_materials", clock="stopped", days_left=-2, missing=[
                "户口簿（原件）", "近期一寸免冠照片 2 张"], history=[
                {"status": "accepted", "ts": "2026-11-16T10:12:00+08:00"},
                {"status": "in_progress", "change": "in_progress", "ts": "2026-11-17T09:03:00+08:00"},
                {"status": "needs_materials", "change": "needs_materials", "ts": "2026-11-24T15:40:00+08:00"}])
            shot("case-result-materials", show("status", status_mode="case",
                                               case_found=IssueOutcome("found", case=waiting)))
            done = sample_case(catalog, status="done", result="approved", days_left=None, history=[
                {"status": "accepted", "ts": "2026-11-16T10:12:00+08:00"},
                {"status": "in_progress", "change": "in_progress", "ts": "2026-11-17T09:03:00+08:00"},
                {"status": "suspended", "change": "suspended", "ts": "2026-11-18T11:20:00+08:00"},
                {"status": "in_progress", "change": "resumed", "ts": "2026-11-20T08:45:00+08:00"},
                {"status": "in_progress", "change": "extend", "ts": "2026-11-21T16:02:00+08:00"},
                {"status": "needs_materials", "change": "needs_materials", "ts": "2026-11-24T15:40:00+08:00"},
                {"status": "in_progress", "change": "resumed", "ts": "2026-11-25T09:12:00+08:00"},
                {"status": "done", "change": "done", "ts": "2026-11-27T14:30:00+08:00"}])
            shot("case-result-done", show("status", status_mode="case", case_found=IssueOutcome("found", case=done)))
            shot("elderly-case-entry", show("status", elderly=True, **case_entry))
            shot("elderly-case-result", show("status", elderly=True, status_mode="case",
                                             case_found=IssueOutcome("found", case=waiting)))
            shot("id-greeting", show("home", holder=holder))
            if id_svc:
                shot("confirm-id", show("confirm", holder=holder, service_id=id_svc.id))
                shot("confirm-needs-id", show("confirm", service_id=id_svc.id))
            shot("elderly-home", show("home", elderly=True))
            if busiest:
                shot("elderly-services", show("zone", elderly=True, zone_id=busiest))
            if first:
                shot("elderly-done", show("done", elderly=True, outcome=IssueOutcome("printed", ticket=t)))
            shot("server-unreachable", show("fault", conn=Connectivity(False, False)))
            shot("connecting", show("fault", conn=Connectivity(False, None), started=float("inf")))
            shot("paper-out", show("fault", health={"printer": DeviceHealth("printer", Health.ERROR, "paper_out")}))
            shot("cover-open", show("fault", health={"printer": DeviceHealth("printer", Health.ERROR, "cover_open")}))
            shot("paper-low", show("home", health={"printer": DeviceHealth("printer", Health.WARNING, "near_end")}))
            shot("id-reader-fault", show("home", health={"idcard": DeviceHealth("idcard", Health.ERROR, "sam_failed")}))
            shot("refused", show("message", outcome=IssueOutcome("refused", code="duplicate_holder",
                                                                 message="This person already waits for this service",
                                                                 message_zh="您已在排队等候这项业务")))
            win.close()
            win.deleteLater()
            bridge.deleteLater()
            app.processEvents()
    sys.stdout.write(json.dumps({"event": "screenshots", "dir": str(out), "count": len(files), "catalog": source,
                                 "overflow": overflow}, ensure_ascii=False) + "\n")
    return 0
