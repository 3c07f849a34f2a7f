"""A local SMS platform (the provincial SMS gateway's HTTP API, PROTOCOL part 2: POST {"id","to","text"}) for the
end-to-end tests: records every request, answers 2xx, or the statuses a test scripts, or 503 while it is down."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
