"""Logins and the edge of the console: signed session cookies with idle and absolute expiry (the session table is
in memory: a restart logs everyone out), per-session form tokens (CSRF), a growing delay after failed logins per
user name and per address (never a lockout), and security headers on every response."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "ow_console"
LOGIN_COOKIE = "ow_console_login"
CSRF_FIELD = "csrf"


def _mac(key: bytes, text: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()[:18]).decode()


@dataclass
class Session:
    id: str
    user: str
    created: float
    seen: float


class Sessions:
    """Cookie `sid.mac`; the table says who and since when. Idle: `idle_s` without a page or action; max: `max_s`
    after login."""

    def __init__(self, secret: bytes, idle_s: int, max_s: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = hashlib.sha256(b"onewindow console session\0" + secret).digest()
        self._csrf_key = hashlib.sha256(b"onewindow console csrf\0" + secret).digest()
        self.idle_s = idle_s
        self.max_s = max_s
        self.clock = clock
        self._table: dict[str, Session] = {}

    def create(self, user: str) -> tuple[Session, str]:
        now = self.clock()
        self._sweep(now)
        sid = secrets.token_urlsafe(24)
        s = self._table[sid] = Session(sid, user, now, now)
        return s, f"{sid}.{_mac(self._key, sid)}"

    def get(self, cookie: str | None, *, touch: bool = True) -> Session | None:
        """The live session of this cookie (its idle time restarts when `touch`), else None."""
        if not cookie or len(cookie) > 200:
            return None
        sid, _, mac = cookie.partition(".")
        if not hmac.compare_digest(mac, _mac(self._key, sid)):
            return None
        s = self._table.get(sid)
        if s is None:
            return None
        now = self.clock()
        if now - s.seen > self.idle_s or now - s.created > self.max_s:
            self._table.pop(sid, None)
            return None
        if touch:
            s.seen = now
        return s

    def end(self, cookie: str | None) -> None:
        sid = (cookie or "").partition(".")[0]
        self._table.pop(sid, None)

    def end_user(self, user: str) -> None:
        for sid in [k for k, s in self._table.items() if s.user == user]:
            self._table.pop(sid, None)

    def csrf(self, s: Session) -> str:
        return _mac(self._csrf_key, "s|" + s.id)

    def check_csrf(self, s: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf(s))

    def login_token(self, nonce: str) -> str:
        return _mac(self._csrf_key, "l|" + nonce)

    def check_login_token(self, nonce: str | None, token: str | None) -> bool:
        return bool(nonce) and bool(token) and hmac.compare_digest(str(token), self.login_token(str(nonce)))

    def _sweep(self, now: float) -> None:
        for sid in [k for k, s in self._table.items() if now - s.seen > self.idle_s or now - s.created > self.max_s]:
            del self._table[sid]

    def __len__(self) -> int:
        return len(self._table)


class LoginThrottle:
    """After `free` failures the next attempt must wait 2, 4, 8 … s (at most `cap_s`), per user name and per
    address; failures are forgotten `forget_s` after the last one and on a successful login. Never a lockout."""

    def __init__(self, free: int = 3, cap_s: float = 300.0, forget_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free = free
        self.cap_s = cap_s
        self.forget_s = forget_s
        self.clock = clock
        self._fails: dict[str, tuple[int, float]] = {}

    def wait(self, *keys: str) -> float:
        """Seconds to wait before the next attempt for any of these keys (0: go ahead)."""
        now = self.clock()
        longest = 0.0
        for key in keys:
            n, last = self._fails.get(key, (0, 0.0))
            if n and now - last > self.forget_s:
                self._fails.pop(key, None)
                continue
            if n >= self.free:
                delay = min(self.cap_s, 2.0 ** (n - self.free + 1))
                longest = max(longest, last + delay - now)
        return max(0.0, longest)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            n, _ = self._fails.get(key, (0, 0.0))
            self._fails[key] = (n + 1, now)
        if len(self._fails) > 10000:
            for k in [k for k, (_, last) in self._fails.items() if now - last > self.forget_s]:
                del self._fails[k]

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._fails.pop(key, None)


CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class HeadersMiddleware:
    """Security headers on every response (error pages too); no-store except static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in (b"cache-control",
                                                                                                b"server")]
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
                            (b"cross-origin-opener-policy", b"same-origin"),
                            (b"cache-control", b"public, max-age=3600" if static else b"no-store")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
