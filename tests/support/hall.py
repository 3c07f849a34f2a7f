"""Real halls for tests: the server as a subprocess (embedded amqtt broker or a Mosquitto started here on a free
loopback port), read through its JSON ready line."""
from __future__ import annotations

import atexit
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from hall_bus import BusClient, Topics

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_CONFIG = ROOT / "config" / "hall.toml"      # the shipped file: [staff] sign_in_required = true
STAFF_FILE = ROOT / "config" / "staff.toml"            # its staff (every demo PIN is 1234)
DEMO_PIN = "1234"


def _without_sign_in() -> Path:
    """The reference hall with `[staff] sign_in_required = false` (and the staff file by absolute path, so copies
    elsewhere still find it), written once per test session: what tests and benches use unless they are about
    sign-in (those take REFERENCE_CONFIG and sign in)."""
    text = REFERENCE_CONFIG.read_text(encoding="utf-8")
    for old, new in (("sign_in_required = true", "sign_in_required = false"),
                     ('file = "staff.toml"', f"file = {json.dumps(str(STAFF_FILE))}")):
        assert old in text, f"{REFERENCE_CONFIG} has no {old!r}"
        text = text.replace(old, new, 1)
    out = Path(tempfile.mkdtemp(prefix="onewindow-hall-")) / "hall.toml"
    out.write_text(text, encoding="utf-8")
    atexit.register(shutil.rmtree, out.parent, True)
    return out


HALL_CONFIG = _without_sign_in()
ONEWINDOW = [sys.executable, "-m", "onewindow"]
ALL_DAY = [["00:00", "23:59"]]


def all_day_issuing(issuing: dict) -> dict:
    """An `[issuing]` table (as tomllib reads it) made to issue all day: `hours` one period, 00:00-23:59, and each
    `[[issuing.period_quotas]]` entry fitted to that one period by summing its quotas (the same numbers a day, no
    morning/afternoon split: the config check wants one quota per period). Changed in place and returned."""
    issuing["hours"] = [list(h) for h in ALL_DAY]
    for pq in issuing.get("period_quotas", []):
        pq["quotas"] = [sum(pq["quotas"])]
    return issuing


def all_day_hall(text: str, *, extra_days: Iterable[date] = ()) -> str:
    """A hall file's text issuing all day (`all_day_issuing`), with `extra_days` as the hall's extra opening days;
    the rest of the text, comments too, stays as it was (so a caller's further `.replace`s still find theirs). The
    result is checked to read back as exactly that change."""
    want = tomllib.loads(text)
    issuing = all_day_issuing(want["issuing"])
    days = [d.isoformat() for d in extra_days]
    hours = f"hours = {json.dumps(ALL_DAY)}"
    if days:
        assert "extra_days" not in issuing, "the hall file has extra_days of its own"
        issuing["extra_days"] = days
        hours += f"\nextra_days = {json.dumps(days)}"
    text, n = re.subn(r"^hours = .*$", lambda _m: hours, text, count=1, flags=re.M)
    assert n == 1, "the hall file has no [issuing] hours line"
    text = re.sub(r"^quotas = \[([^\]]*)\]", lambda m: f"quotas = [{sum(int(x) for x in m.group(1).split(','))}]",
                  text, flags=re.M)
    assert tomllib.loads(text) == want, "the all-day hall file does not read back as intended"
    return text


def without_period_quotas(text: str) -> str:
    """A hall file's text without its `[[issuing.period_quotas]]` tables (时段限号): for benches that set every quota
    to 999; the rest of the text stays as it was, checked to read back so."""
    want = tomllib.loads(text)
    want["issuing"].pop("period_quotas", None)
    text = re.sub(r"^\[\[issuing\.period_quotas\]\]\n(?:[a-z_]+ = .*\n)*", "", text, flags=re.M)
    assert tomllib.loads(text) == want, "the hall file without period quotas does not read back as intended"
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Mosquitto:
    """A private Mosquitto on a free loopback port (Nagle off, as in production); with `tls` (from
    make_test_ca) it listens for mqtts only."""
    workdir: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    tls: dict[str, Path] | None = None

    @property
    def url(self) -> str:
        if self.tls:
            return f"mqtts://127.0.0.1:{self.port}?ca={self.tls['ca']}"
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise FileNotFoundError("mosquitto is not installed (Debian package mosquitto)")
        self.port = self.port or free_port()
        conf = self.workdir / f"mosquitto-{self.port}.conf"
        tls = (f"cafile {self.tls['ca']}\ncertfile {self.tls['cert']}\nkeyfile {self.tls['key']}\n"
               if self.tls else "")
        if os.geteuid() == 0:   # started as root Mosquitto would drop to its own user, who cannot read pytest's tmp
            tls = "user root\n" + tls
        conf.write_text(f"listener {self.port} 127.0.0.1\n{tls}allow_anonymous true\nset_tcp_nodelay true\n"
                        "persistence false\nmax_inflight_messages 1000\nmax_queued_messages 100000\n")
        log_path = self.workdir / f"mosquitto-{self.port}.log"
        with log_path.open("w") as log:
            self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port)
        except TimeoutError as exc:
            self.stop()
            raise TimeoutError(f"{exc}; mosquitto said: {log_path.read_text()[-1500:]}") from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def make_test_ca(workdir: Path) -> dict[str, Path]:
    """A throw-away hall CA and a broker certificate for 127.0.0.1 signed by it, made with the openssl tool, as
    an installer would for a hall's own broker."""
    exe = shutil.which("openssl")
    if exe is None:
        raise FileNotFoundError("openssl is not installed (Debian package openssl)")
    d = workdir / "tls"
    d.mkdir(parents=True, exist_ok=True)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=OneWindow test hall CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "broker.pem", "-days", "2", "-extfile", "san.ext"],
    ):
        subprocess.run([exe, *cmd], cwd=d, check=True, capture_output=True, timeout=60)
    return {"ca": d / "ca.pem", "cert": d / "broker.pem", "key": d / "broker.key"}


@dataclass
class RunningHall:
    """A hall server subprocess and the broker it serves on."""
    url: str
    hall: str
    data: Path
    proc: subprocess.Popen
    mosquitto: Mosquitto | None = None
    ready: dict = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def topics(self) -> Topics:
        return Topics(self.hall)

    def client(self, client_id: str) -> BusClient:
        c = BusClient(self.url, self.hall, client_id).start()
        if not c.wait_connected(10):
            raise TimeoutError(f"{client_id} could not connect to {self.url}")
        return c

    def kill(self) -> None:
        """SIGKILL the server, as a power cut would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        if self.mosquitto:
            self.mosquitto.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def wait_for_line(proc: subprocess.Popen, timeout: float,
                  match: Callable[[str], bool] = lambda line: line.startswith("{")
                  ) -> tuple[str | None, threading.Thread]:
    """The first line of proc's stdout (a text pipe) that `match`es; "" when the output ends first (the process
    exited), None when `timeout` seconds pass first. Lines are read on a helper thread (returned too, and done once
    it has matched, leaving the rest of the output to the caller), so a process that hangs without a word cannot
    block the caller."""
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        try:
            for line in proc.stdout:            # type: ignore[union-attr]
                if match(line):
                    lines.put(line)
                    return
        except (OSError, ValueError):           # closed under us after a timeout
            pass
        lines.put("")                           # end of output: the process exited

    reader = threading.Thread(target=pump, name="wait-for-line", daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout), reader
    except queue.Empty:
        return None, reader


def start_server(data: Path, *, broker_url: str | None = None, broker_port: int | None = None,
                 config: Path = HALL_CONFIG, extra: list[str] | None = None, timeout: float = 20.0,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict, Path]:
    """Start `onewindow server` and wait at most `timeout` seconds for its ready line; a server that exits or hangs
    is killed and reported with the end of its log (RuntimeError), never waited for forever."""
    data.mkdir(parents=True, exist_ok=True)
    args = ONEWINDOW + ["server", "--config", str(config), "--data", str(data), "--open-all-day"]
    args += ["--broker", broker_url] if broker_url else ["--broker-port", str(broker_port or free_port())]
    args += extra or []
    log_path = data / f"server-{time.monotonic_ns()}.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    with log_path.open("w") as log_file:   # the child keeps its own descriptor
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log_file, text=True, cwd=ROOT, env=env)
    line, reader = wait_for_line(proc, timeout)        # the first JSON line is the ready line
    if not line:
        code = None
        if line == "":                          # its output ended: it is exiting
            try:
                code = proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
        proc.wait()
        reader.join(2)
        if not reader.is_alive():      # (a child of the server may still hold the pipe: then leave it to the reader)
            assert proc.stdout is not None
            proc.stdout.close()
        why = (f"exited with code {code}" if code is not None else "closed its output without a ready line"
               if line == "" else f"printed no ready line within {timeout:g} s and was killed")
        raise RuntimeError(f"server did not become ready: it {why}; its log:\n{log_path.read_text()[-3000:]}")
    ready = json.loads(line)
    if ready.get("event") != "ready":
        proc.kill()
        proc.wait()
        raise RuntimeError(f"server printed {line.strip()!r} instead of its ready line")
    return proc, ready, log_path


def start_hall(tmp_path: Path, broker: str = "embedded", *, data: Path | None = None,
               extra: list[str] | None = None, config: Path = HALL_CONFIG, timeout: float = 20.0,
               env: dict[str, str] | None = None) -> RunningHall:
    """Start a server with its own broker ("embedded": the supervised Mosquitto child, amqtt where mosquitto is not
    installed; "amqtt": the amqtt fallback) or with a private external Mosquitto ("mosquitto"); returns when it
    serves, or raises RuntimeError (TimeoutError for Mosquitto) within `timeout` seconds when it does not."""
    if broker == "amqtt":
        config = amqtt_config(config, tmp_path)
    data = data or tmp_path / "data"
    mosq = None
    if broker == "mosquitto":
        mosq = Mosquitto(tmp_path).start()
        try:
            proc, ready, log_path = start_server(data, broker_url=mosq.url, extra=extra, config=config,
                                                 timeout=timeout, env=env)
        except BaseException:
            mosq.stop()             # no broker left behind by a server that did not come up
            raise
    else:
        proc, ready, log_path = start_server(data, extra=extra, config=config, timeout=timeout, env=env)
    return RunningHall(ready["broker"], ready["hall"], data, proc, mosq, ready, log_path)


def amqtt_config(config: Path, workdir: Path) -> Path:
    """A copy of a hall config whose server runs the amqtt fallback broker ([broker] embedded = "amqtt")."""
    text = config.read_text(encoding="utf-8")
    assert "\n[broker]\n" in text, f"{config} has no [broker] table"
    out = workdir / f"amqtt-{config.name}"
    out.write_text(text.replace("\n[broker]\n", '\n[broker]\nembedded = "amqtt"\n', 1), encoding="utf-8")
    return out
