"""`onewindow demo`: the whole hall on one machine — server, a simulated crowd, and (with a screen) the kiosk,
the hall display and a staff panel with simulated devices."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hall_bus import BusClient, RequestError
from hall_server.broker import die_with_parent, free_port, mosquitto_binary, port_free
from hall_server.config import HallConfig, load_hall_config
from hall_bus.contract import Op
from hall_bus.idnumber import check_digit

ROOT = Path(__file__).resolve().parent.parent
CHANNEL_WEIGHTS = (("walk_in", 8), ("id_card", 3))


def say(msg: str) -> None:
    try:
        print(f"{datetime.now():%H:%M:%S} {msg}", flush=True)
    except BrokenPipeError:      # the log reader went away (| head): the hall runs on without its log
        pass


def has_screen() -> bool:
    if sys.platform.startswith("win") or sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


DEMO_PIN = "1234"       # every PIN of the reference staff file (config/staff.toml)


class Crowd:
    """Citizens taking numbers at kiosks and staff calling them at windows, compressed in time."""

    def __init__(self, cfg: HallConfig, url: str, *, gui_windows: set[str], speed: float, seed: int | None) -> None:
        self.cfg, self.url, self.speed = cfg, url, speed
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.counts = {"issued": 0, "called": 0, "done": 0, "no_show": 0, "transferred": 0}
        self.zones_issued: set[str] = set()
        self.zones_called: set[str] = set()
        self.lock = threading.Lock()
        # two staffed windows per zone, not those that have a Qt panel
        self.windows = []
        for z in cfg.zones:
            ws = [w for w in cfg.windows if w.zone == z.id and w.id not in gui_windows]
            self.windows += ws[:2]
        # with [staff] sign_in_required each staffed window signs in a staff member of the staff file first (the
        # reference config/staff.toml: every demo PIN is DEMO_PIN)
        self.staff_of: dict[str, str] = {}
        if cfg.staff.sign_in_required:
            free = sorted(cfg.staff_book.members.values(), key=lambda m: m.number)
            for w in self.windows:
                m = next((m for m in free if m.may_sign_in_at(w.id)), None)
                if m is not None:
                    free.remove(m)
                    self.staff_of[w.id] = m.number
        served = {s for w in self.windows for s in w.services}
        self.services = [s for s in cfg.services if s.id in served]
        self.threads: list[threading.Thread] = []
        self.clients: list[BusClient] = []
        self.web_url: str | None = None
        self.links_shown = 0

    def start(self) -> None:
        kiosks = [BusClient(self.url, self.cfg.hall.id, f"kiosk-crowd{i}").start() for i in (1, 2, 3)]
        self.clients += kiosks
        for i, k in enumerate(kiosks):
            self._spawn(self._arrivals, k, i)
        for w in self.windows:
            c = BusClient(self.url, self.cfg.hall.id, f"panel-{w.id}").start()
            self.clients.append(c)
            self._spawn(self._staff, c, w)
        for dept in sorted({s.department for s in self.services if s.department in self.cfg.departments_by_id}):
            self._spawn(self._department, dept)

    def _spawn(self, fn, *args) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def _sleep(self, seconds: float) -> bool:
        return self.stop.wait(seconds / self.speed)

    def _arrivals(self, kiosk: BusClient, idx: int) -> None:
        kiosk.wait_connected(10)
        zones = [z.id for z in self.cfg.zones]
        n = 0
        while not self.stop.is_set():
            # walk the zones in turn first so every zone has citizens early, then at random
            zone = zones[(n * 2 + idx) % len(zones)] if n < len(zones) else self.rng.choice(zones)
            n += 1
            svc = self.rng.choice([s for s in self.services if s.zone == zone])
            channel = self.rng.choices([c for c, _ in CHANNEL_WEIGHTS], [w for _, w in CHANNEL_WEIGHTS])[0]
            if svc.id_required:             # the kiosk asks for the card first: this citizen swipes it
                channel = "id_card"
            args: dict = {"service": svc.id, "channel": channel}
            if channel == "id_card":
                year = self.rng.choice([1948, 1952, 1969, 1985, 1996, 2001])
                args["holder"] = {"ref": f"demo{self.rng.getrandbits(64):016x}", "birth_date": f"{year}-05-17",
                                  "display_name": self.rng.choice(["张*", "李*", "王*", "欧阳*", "陈*"])}
            try:
                t = kiosk.request(Op.TICKET_ISSUE, args, timeout=5)
            except RequestError as exc:
                say(f"[kiosk-crowd{idx + 1}] {svc.name}: {exc.message_zh}")
            else:
                with self.lock:
                    self.counts["issued"] += 1
                    self.zones_issued.add(t["zone"])
                mins = max(1, round(t["est_wait_s"] / 60)) if t["ahead"] else 0   # as the kiosk shows it
                prio = " 优先" if t["priority"] else ""
                say(f"取号 {t['number']:<5}{prio} {t['zone_name']}·{t['service_name']}  前面{t['ahead']}人 约{mins}分钟"
                    f"  ({'身份证' if channel == 'id_card' else '现场'})")
                if self.web_url and t.get("token") and self.links_shown < 3:    # the ticket's QR, on a phone
                    self.links_shown += 1
                    say(f"   手机查看 {t['number']}: {self.web_url}/t/{t['token']}")
            self._sleep(self.rng.uniform(0.5, 1.5))

    def _staff(self, c: BusClient, w) -> None:
        c.wait_connected(10)
        if w.id in self.staff_of:
            try:
                who = c.request(Op.STAFF_SIGN_IN, {"window": w.id, "staff": self.staff_of[w.id], "pin": DEMO_PIN},
                                timeout=10)
                say(f"签到 {who['name']}（工号{who['staff']}）于{w.name}")
            except RequestError as exc:
                say(f"[{w.name}] 签到失败：{exc.message_zh}")
        self._sleep(self.rng.uniform(0.5, 3))
        while not self.stop.is_set():
            try:
                t = c.request(Op.WINDOW_CALL_NEXT, {"window": w.id}, timeout=5)
            except RequestError as exc:
                if exc.code != "no_ticket":
                    say(f"[{w.name}] {exc.message_zh}")
                self._sleep(self.rng.uniform(1.5, 3))
                continue
            with self.lock:
                self.counts["called"] += 1
                self.zones_called.add(t["zone"])
            say(f"叫号 请{t['number']}号到{w.name}办理  ({t['service_name']}, 等候{self._waited(t)})")
            if self._sleep(self.rng.uniform(2, 6)):
                return
            self._maybe_case(c, w, t)
            roll = self.rng.random()
            try:
                if roll < 0.08:
                    c.request(Op.WINDOW_NO_SHOW, {"window": w.id}, timeout=5)
                    self.counts["no_show"] += 1
                    say(f"过号 {t['number']} ({w.name})")
                elif roll < 0.14:
                    others = [s for s in self.services if s.zone == t["zone"] and s.id != t["service"]]
                    if others:
                        target = self.rng.choice(others)
                        c.request(Op.WINDOW_TRANSFER, {"window": w.id, "service": target.id}, timeout=5)
                        self.counts["transferred"] += 1
                        say(f"转办 {t['number']} → {target.name}")
                else:
                    c.request(Op.WINDOW_FINISH, {"window": w.id}, timeout=5)
                    self.counts["done"] += 1
                    grade = self.rng.choices([5, 4, 3, 2, 1], [70, 20, 6, 3, 1])[0]
                    c.request(Op.EVALUATION_SUBMIT, {"ticket_id": t["id"], "grade": grade}, timeout=5)
                    say(f"办结 {t['number']} ({w.name}) 评价 {'★' * grade}")
            except RequestError as exc:
                say(f"[{w.name}] {exc.message_zh}")
            self._sleep(self.rng.uniform(0.5, 1.5))

    def _applicant(self) -> dict:
        year = self.rng.choice([1948, 1957, 1969, 1978, 1985, 1996, 2001])
        first17 = f"510304{year}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}{self.rng.randint(0, 999):03d}"
        name = self.rng.choice("张李王刘陈杨赵黄周吴") + self.rng.choice(["伟", "芳", "秀英", "建国", "静", "磊", "海燕"])
        return {"name": name, "id_number": first17 + check_digit(first17)}

    def _maybe_case(self, c: BusClient, w, t: dict) -> None:
        """一窗受理: about a third of the citizens apply for something the window accepts as a case (办件); a few
        are told what is missing (一次性告知); about two in three agree to SMS notices."""
        roll = self.rng.random()
        if roll > 0.4:
            return
        svc = self.cfg.services_by_id[t["service"]]
        args: dict = {"window": w.id, "applicant": self._applicant()}
        if self.rng.random() < 0.65:
            args.update(phone=f"13{self.rng.randint(0, 9)}{self.rng.randint(0, 99999999):08d}", sms=True)
        try:
            if roll < 0.05:
                missing = [m.name for m in svc.materials[:self.rng.randint(1, len(svc.materials))]]
                case = c.request(Op.CASE_REFUSE, {**args, "service": svc.id, "kind": "incomplete",
                                                  "missing": missing}, timeout=5)
                say(f"一次性告知 {case['number']} {svc.name}：缺{'、'.join(missing)}")
            else:
                case = c.request(Op.CASE_ACCEPT, args, timeout=5)
                sms = "，短信通知" if case["sms"] else ""
                say(f"受理 {case['number']} {svc.name}（{w.name}），承诺{case['due_date']}前办结{sms}")
        except RequestError as exc:
            say(f"[{w.name}] 受理失败：{exc.message_zh}")

    def _department(self, dept: str) -> None:
        """A department's own approval system (dept-<id>): moves its cases on — 办理, sometimes 补正 and back,
        办结, 领件."""
        c = BusClient(self.url, self.cfg.hall.id, f"dept-{dept}").start()
        self.clients.append(c)
        c.wait_connected(10)
        name = self.cfg.department_name(dept)
        moves = {"accepted": "in_progress", "needs_materials": "resumed", "done": "delivered"}
        while not self._sleep(self.rng.uniform(3, 6)):
            try:
                cases = c.request(Op.CASE_LIST, {}, timeout=5)["cases"]
            except RequestError:
                continue
            for case in cases:
                status = case["status"]
                if status == "in_progress":
                    change = "needs_materials" if self.rng.random() < 0.15 else "done"
                else:
                    change = moves.get(status)
                if change is None or self.rng.random() < 0.5:
                    continue
                args: dict = {"number": case["number"], "change": change, "actor": f"{name}审批系统"}
                if change == "needs_materials":
                    args["missing"] = ["补充证明材料"]
                elif change == "done":
                    args["result"] = "approved"
                elif change == "delivered":
                    args["delivery"] = {"method": "pickup"}
                try:
                    c.request(Op.CASE_UPDATE, args, timeout=5)
                except RequestError as exc:
                    say(f"[{name}] {case['number']}: {exc.message_zh}")
                    continue
                word = {"in_progress": "办理", "needs_materials": "补正", "resumed": "恢复办理", "done": "办结",
                        "delivered": "领件"}[change]
                with self.lock:
                    self.counts["cases_" + change] = self.counts.get("cases_" + change, 0) + 1
                say(f"{word} {case['number']} {case['service_name']}（{name}）")

    @staticmethod
    def _waited(t: dict) -> str:
        try:
            s = (datetime.fromisoformat(t["called_at"]) - datetime.fromisoformat(t["issued_at"])).total_seconds()
        except (KeyError, TypeError, ValueError):
            return "?"
        return f"{int(s)}秒"

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(6)
        for c in self.clients:
            c.stop()


def write_demo_appointments(cfg: HallConfig, path: Path, count: int = 5) -> list[str]:
    """Today's bookings, as the online booking platform would export them (code,service,date,start,end); the demo's
    slots span the whole day, so their codes check in at any hour the demo runs."""
    today = datetime.now(ZoneInfo(cfg.hall.timezone)).date().isoformat()
    services = [s for s in cfg.services if s.appointment][:count]
    codes = [f"YY{2026000 + i:07d}" for i in range(1, len(services) + 1)]
    rows = ["code,service,date,start,end"] + [f"{c},{s.id},{today},00:00,23:59" for c, s in zip(codes, services)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return codes


def _spawn_app(args: list[str], name: str, procs: list[tuple[str, subprocess.Popen, Path]], log_dir: Path,
               env: dict[str, str] | None = None) -> None:
    """Start one role with its output in log_dir/<role>.log, so the live log stays the crowd's."""
    log_path = log_dir / f"{args[0]}.log"
    try:
        with log_path.open("w") as log_file:
            proc = subprocess.Popen([sys.executable, "-m", "onewindow", *args], cwd=ROOT,
                                    stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                    preexec_fn=die_with_parent(signal.SIGTERM))
        procs.append((name, proc, log_path))
        say(f"started {name}: onewindow {' '.join(args)}  (log: {log_path})")
    except OSError as exc:
        say(f"could not start {name}: {exc}")


def _ready_line(log_path: Path, proc: subprocess.Popen, timeout: float = 15) -> dict | None:
    """The JSON ready line a role prints into its log, or None when it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log_path.read_text(errors="replace").splitlines() if log_path.exists() else []:
            if line.startswith("{") and '"ready"' in line:
                return json.loads(line)
        if proc.poll() is not None:
            return None
        time.sleep(0.2)
    return None


def start_console(broker_url: str, procs: list[tuple[str, subprocess.Popen, Path]], data: Path) -> None:
    """The supervisor console (值班长) with a demo login it prints."""
    _spawn_app(["console", "--config", str(ROOT / "config" / "console.toml"), "--broker", broker_url,
                "--listen", "127.0.0.1:0", "--data", str(data / "console"), "--demo-login"],
               "supervisor console", procs, data)
    ready = _ready_line(data / "console.log", procs[-1][1]) if procs else None
    if ready is None:
        say(f"the console did not start; see {data / 'console.log'}")
        return
    login = ready.get("demo_login") or {}
    say(f"supervisor console: {ready['url']}/  (demo login: {login.get('user')} / {login.get('password')})")


def start_web(cfg: HallConfig, broker_url: str, procs: list[tuple[str, subprocess.Popen, Path]], data: Path,
              id_key: str) -> str | None:
    """One citizen web node (互联网+政务服务) on a free local port; returns its address once it serves."""
    port = free_port("127.0.0.1")
    _spawn_app(["web", "--config", str(ROOT / "config" / "web.toml"), "--broker", broker_url,
                "--listen", f"127.0.0.1:{port}"], "citizen web node", procs, data,
               env={"ONEWINDOW_ID_HMAC_KEY": id_key, "ONEWINDOW_WEB_SECRET": secrets.token_urlsafe(24)})
    ready = _ready_line(data / "web.log", procs[-1][1]) if procs else None
    if ready is None:
        say(f"the citizen web node did not start; see {data / 'web.log'}")
        return None
    web_url = ready["url"]
    say(f"citizen web: {web_url}/ (hall now, guides, booking {web_url}/book, case query {web_url}/case)")
    return web_url


# ---- demo faults (演示故障): real faults of the crowd's devices, through the real drivers --------------------
EVALUATOR_SILENT_AFTER_S = 6.0     # after the device controller's 7E line starts
PAPER_OUT_AFTER_S = 5.0            # after the crowd comes in
DEVICE_ALERTS = ("device_fault", "device_offline")


def devices_config_with_fault(src: Path, dest: Path,
                              after_s: float = EVALUATOR_SILENT_AFTER_S) -> tuple[Path, str | None]:
    """A copy of devices.toml whose last evaluator on a simulated 7E line stops answering `after_s` seconds after
    the line starts (sim://bus7e?...&silent_after=ADDR:S): the controller finds it offline and says so on
    device/devices-<name>/<id>/status. Returns (config to run, the evaluator's id); (src, None) when there is no
    simulated evaluator (a site file on real lines is never touched)."""
    import tomllib
    text = src.read_text(encoding="utf-8")
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return src, None
    buses = cfg.get("buses", {})
    for ev in reversed(cfg.get("evaluators", [])):
        url = str(buses.get(ev.get("bus"), {}).get("url", ""))
        quoted = f'"{url}"'
        if url.startswith("sim://bus7e") and "silent_after" not in url and text.count(quoted) == 1:
            faulty = f"{url}{'&' if '?' in url else '?'}silent_after={ev['addr']}:{after_s:g}"
            dest.write_text(text.replace(quoted, f'"{faulty}"'), encoding="utf-8")
            return dest, str(ev.get("id"))
    return src, None


class KioskPrinterFault:
    """The ticket printer of the crowd's first kiosk, as the Qt kiosk runs it: the real driver (devices.printer) on
    a simulated printer (sim://printer), polled for its real-time status, each change published as the kiosk
    publishes it (kiosk.hardware.printer_health -> device/kiosk-<id>/printer-<id>/status, retained). The fault:
    the paper roll ends (the simulator's paper sensor), the driver reads paper_end, the server raises device_fault."""

    URL = "sim://printer?encoding=gbk"

    def __init__(self, client: BusClient) -> None:
        self.client = client
        owner = client.client_id
        self.topic = client.topics.device_status(owner, f"printer-{owner.removeprefix('kiosk-')}")
        self.driver = None
        self._lock = threading.Lock()

    def start(self) -> "KioskPrinterFault":
        from devices.printer import TicketPrinter
        self.driver = TicketPrinter(self.URL, require_status=True, confirm_delay=0.3)
        self.driver.add_listener(self)
        self.driver.open()
        self.driver.start_monitor(interval=1.0)
        return self

    def status_changed(self, status) -> None:      # the driver's listener (monitor thread)
        from kiosk.hardware import printer_health
        with self._lock:
            self.client.publish(self.topic, printer_health(status, self.URL).status_payload(), retain=True)

    def paper_out(self) -> None:
        self.driver.transport.simulator.set_fault(paper="out")

    def close(self) -> None:
        if self.driver is not None:
            self.driver.close()


def follow_device_alerts(client: BusClient) -> None:
    """The server's device alerts, as the supervisor console lists them, in the demo's log too."""
    def on_alert(_topic: str, alert: dict) -> None:
        if isinstance(alert, dict) and alert.get("kind") in DEVICE_ALERTS and not alert.get("acked_by"):
            say(f"告警 [{alert['kind']}] {alert.get('text_zh', alert.get('target', ''))}（值班长控制台可见）")
    client.subscribe(client.topics.event_alert, on_alert, retained=False)


def inject_demo_faults(crowd: "Crowd", headless: bool, evaluator: str | None, stop: threading.Event) -> list:
    """Starts what the faults need; returns what to close at the end."""
    kiosk = next((c for c in crowd.clients if c.client_id.startswith("kiosk-")), None)
    if kiosk is None:
        return []
    follow_device_alerts(kiosk)
    if evaluator:
        say(f"演示故障：评价器 {evaluator} 约{EVALUATOR_SILENT_AFTER_S:g}秒后停止应答（模拟断线），设备控制器将报告其离线")
    if not headless:          # the Qt kiosk runs its own printer
        return []
    try:
        printer = KioskPrinterFault(kiosk).start()
    except Exception as exc:   # no python-escpos, no pty: the demo runs on without this fault
        say(f"演示故障：{kiosk.client_id} 的打印机无法模拟（{exc}）")
        return []

    def later() -> None:
        if not stop.wait(PAPER_OUT_AFTER_S):
            printer.paper_out()
            say(f"演示故障：{kiosk.client_id} 的取号机打印纸用完（模拟打印机缺纸）")
    threading.Thread(target=later, daemon=True).start()
    return [printer]


def debian_package(soname: str) -> str:
    """Debian's package name for a shared library: libxcb-icccm.so.4 → libxcb-icccm4, libxkbcommon-x11.so.0 →
    libxkbcommon-x11-0 (a hyphen when the name ends in a digit)."""
    base, _, version = soname.partition(".so.")
    return f"{base}{'-' if base[-1:].isdigit() else ''}{version}" if version else base


def missing_qt_x11_packages() -> list[str]:
    """The Debian packages Qt's X11 (xcb) plugin needs and this machine lacks, read from ldd; [] when none are
    missing or it cannot tell. Found without importing PySide6 (only the Qt apps import it)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations or shutil.which("ldd") is None:
        return []
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    missing: set[str] = set()
    for lib in (qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6XcbQpa.so.6"):
        if not lib.exists():
            continue
        try:
            out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        missing.update(line.split()[0] for line in out.splitlines() if "not found" in line)
    return sorted(debian_package(so) for so in missing)


def _report_early_exits(procs: list[tuple[str, subprocess.Popen, Path]]) -> None:
    """A role that died at start (no Qt platform plugin, bad config...) is named with its last log line; the
    rest of the hall carries on without it."""
    for name, proc, log_path in procs:
        if proc.poll() is not None:
            lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
            hint = next((ln for ln in lines if "xcb" in ln or "platform plugin" in ln), lines[-1] if lines else "")
            say(f"{name} stopped at start (exit {proc.returncode}): {hint.strip()[:160]}")
            text = "\n".join(lines)
            if "could not connect to display" in text:
                say(f"  no X display answers at DISPLAY={os.environ.get('DISPLAY', '')}; try --headless")
            elif "platform plugin" in text:
                packages = missing_qt_x11_packages()
                say(f"  Qt's X11 plugin lacks system libraries: apt-get install {' '.join(packages)}" if packages else
                    "  Qt's X11 plugin lacks system libraries: see README 'System packages' (libxcb-cursor0 ...)")


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="onewindow demo", description="Run the whole hall on this machine.")
    p.add_argument("--config", default=str(ROOT / "config" / "hall.toml"))
    p.add_argument("--headless", action="store_true", help="no Qt windows: server and simulated crowd only")
    p.add_argument("--duration", type=float, default=0, help="stop after S seconds (default: until Ctrl+C)")
    p.add_argument("--speed", type=float, default=1.0, help="crowd speed factor")
    p.add_argument("--seed", type=int)
    p.add_argument("--data", help="data directory (default: a fresh var/demo)")
    p.add_argument("--sms-out", metavar="DIR", help="where the demo's SMS go, one file each (default: DATA/sms-out)")
    args = p.parse_args(argv)
    cfg = load_hall_config(args.config)

    port = cfg.broker.port
    if not port_free(cfg.broker.host, port):
        new = free_port(cfg.broker.host)
        say(f"MQTT port {cfg.broker.host}:{port} is busy (another broker?); the demo uses port {new} instead")
        port = new
    data = Path(args.data) if args.data else ROOT / "var" / "demo"
    if not args.data and data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)

    headless = args.headless
    if not headless and not has_screen():
        say("no screen here (DISPLAY/WAYLAND_DISPLAY unset): running headless — server and simulated crowd only")
        headless = True
    if mosquitto_binary() is None:
        say("note: mosquitto not found — the server runs its amqtt fallback broker instead")
    for tool, lost in (("espeak-ng", "calling voice"), ("aplay", "sound output (voice clips go to files)")):
        if shutil.which(tool) is None:
            say(f"note: {tool} not found — {lost}")

    appointments = write_demo_appointments(cfg, data / "appointments.csv")
    sms_out = Path(args.sms_out) if args.sms_out else data / "sms-out"
    with (data / "server.log").open("w") as server_log:
        server = subprocess.Popen([sys.executable, "-m", "onewindow", "server", "--config", args.config,
                                   "--data", str(data), "--broker-port", str(port), "--open-all-day",
                                   "--appointments", str(data / "appointments.csv"), "--sms-out", str(sms_out)],
                                  stdout=subprocess.PIPE, stderr=server_log, text=True, cwd=ROOT,
                                  preexec_fn=die_with_parent(signal.SIGTERM))   # no orphans if the demo is killed
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("{"):
        say(f"the server did not start; see {data / 'server.log'}")
        server.wait()
        return 1
    ready = json.loads(line)
    url = ready["broker"]
    kind = {"MosquittoBroker": "its supervised Mosquitto child", "EmbeddedBroker": "its amqtt broker"}.get(
        ready.get("broker_kind", ""), "its broker")
    say(f"hall server ready: {cfg.hall.name} on {url}, {kind} (log: {data / 'server.log'})")
    say("appointment codes to try at the kiosk (预约签到): " + ", ".join(appointments))

    procs: list[tuple[str, subprocess.Popen, Path]] = []
    gui_windows: set[str] = set()
    # A real hall keeps the ID-reference key in the kiosks' and web nodes' environment; the demo makes one per run.
    id_key = os.environ.get("ONEWINDOW_ID_HMAC_KEY") or secrets.token_hex(32)
    web_url = start_web(cfg, url, procs, data, id_key)
    start_console(url, procs, data)
    devices_cfg = ROOT / "config" / "devices.toml"
    faulty_evaluator = None
    if devices_cfg.exists():
        devices_cfg, faulty_evaluator = devices_config_with_fault(devices_cfg, data / "devices.toml")
        _spawn_app(["devices", "--config", str(devices_cfg), "--broker", url, "--voice-out", str(data / "voice")],
                   "device controller (simulated keypads, LED screens, evaluators)", procs, data)
    if not headless:
        _spawn_app(["kiosk", "--config", str(ROOT / "config" / "kiosk.toml"), "--broker", url, "--windowed"],
                   "kiosk", procs, data, env={"ONEWINDOW_ID_HMAC_KEY": id_key})
        _spawn_app(["display", "--config", str(ROOT / "config" / "display.toml"), "--broker", url, "--windowed"],
                   "hall display", procs, data)
        gui_windows.add("w15")
        _spawn_app(["panel", "--window", "w15", "--broker", url], "staff panel of window 15", procs, data)

    crowd = Crowd(cfg, url, gui_windows=gui_windows, speed=args.speed, seed=args.seed)
    crowd.web_url = web_url
    crowd.start()
    stop = threading.Event()
    faults = inject_demo_faults(crowd, headless, faulty_evaluator, stop)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    say("the crowd is coming in; Ctrl+C stops the demo")
    if not stop.wait(min(4.0, args.duration) if args.duration > 0 else 4.0):
        _report_early_exits(procs)
        remaining = args.duration - 4.0 if args.duration > 0 else None
        if remaining is None or remaining > 0:
            stop.wait(remaining)
    stop.set()
    for fault in faults:
        fault.close()
    crowd.close()
    for _name, proc, _log in procs:
        if proc.poll() is None:
            proc.terminate()
    for _name, proc, _log in procs:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
    server.terminate()
    server.wait(10)
    c = crowd.counts
    sms_files = sorted(sms_out.glob("*.txt")) if sms_out.is_dir() else []
    summary = {"event": "demo_summary", "issued": c["issued"], "called": c["called"], "done": c["done"],
               "no_show": c["no_show"], "transferred": c["transferred"],
               "cases": {k.removeprefix("cases_"): v for k, v in c.items() if k.startswith("cases_")},
               "sms": len(sms_files), "sms_out": str(sms_out),
               "zones_issued": sorted(crowd.zones_issued), "zones_called": sorted(crowd.zones_called)}
    say(f"demo over: {c['issued']} tickets issued, {c['called']} called, {c['done']} done, "
        f"{c['no_show']} no-show, {c['transferred']} transferred; zones issued {len(crowd.zones_issued)}/6, "
        f"called {len(crowd.zones_called)}/6")
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0
