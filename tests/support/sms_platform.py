"""A local SMS platform (the provincial SMS gateway's HTTP API, PROTOCOL part 2: POST {"id","to","text"}) for the
end-to-end tests: records every request, answers 2xx, or the statuses a test scripts, or 503 while it is down; and
the real gammu-smsd daemon on Gammu's dummy phone (FACTS-ROUND2.md), no modem needed."""
from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.tools import require_tool


def wait_for(predicate, timeout: float = 15.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


class Platform:
    """A local SMS platform: answers each POST with the next status of `script` (then 200), records requests."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.accepted: list[str] = []
        self.down = False                 # answers 503 while set (an outage of the provincial platform)
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                platform.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = platform.script.pop(0) if platform.script else 503 if platform.down else 200
                if 200 <= status < 300:
                    platform.accepted.append(json.loads(body)["id"])
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/send"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def write_rc(tmp_path: Path, **smsd: str) -> Path:
    for d in ("phone", "inbox", "outbox", "sent", "error"):
        (tmp_path / d).mkdir(exist_ok=True)
    options = {"service": "files", "inboxpath": f"{tmp_path}/inbox/", "outboxpath": f"{tmp_path}/outbox/",
               "sentsmspath": f"{tmp_path}/sent/", "errorsmspath": f"{tmp_path}/error/", "inboxformat": "unicode",
               "transmitformat": "unicode", "loopsleep": "1", "receivefrequency": "1", "commtimeout": "1",
               "logfile": f"{tmp_path}/smsd.log", "debuglevel": "1", **smsd}
    rc = tmp_path / "gammu-smsdrc"
    rc.write_text("[gammu]\nmodel = dummy\nconnection = none\n"
                  f"device = {tmp_path}/phone\n\n[smsd]\n"
                  + "".join(f"{k} = {v}\n" for k, v in options.items() if v is not None), encoding="utf-8")
    return rc


class Smsd:
    def __init__(self, tmp_path: Path) -> None:
        self.exe = require_tool("gammu-smsd", package="gammu-smsd")
        self.dir = tmp_path
        self.rc = write_rc(tmp_path)
        self.log = tmp_path / "smsd.log"
        with open(tmp_path / "smsd.stderr", "wb") as err:
            self.proc = subprocess.Popen([self.exe, "-c", str(self.rc)], stdout=subprocess.DEVNULL, stderr=err,
                                         cwd=tmp_path)
        wait_for(lambda: self.log.exists() and "Starting phone communication" in self.log_text(), 10)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
