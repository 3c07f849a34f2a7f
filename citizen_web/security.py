"""Safety at the edge of a public node: the client's address (X-Forwarded-For from trusted proxies only), per-address
token buckets (kept only while they matter), CSRF tokens every node accepts, security headers on every response,
an access log without tokens, phones or addresses, and form bodies read with a size cap."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("onewindow.web.access")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# ---------------------------------------------------------------- the client's address
def client_ip(scope: Scope, trusted: Iterable[Network]) -> str:
    """The peer's address; behind trusted proxies, the right-most address of X-Forwarded-For that is not a trusted
    proxy itself (the left part of the header is whatever the client wrote)."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    nets = tuple(trusted)
    if not nets or not _in(peer, nets):
        return peer
    forwarded = ""
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded = (forwarded + "," if forwarded else "") + value.decode("latin-1")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, nets):
            return hop if _is_ip(hop) else peer
    return hops[0] if hops and _is_ip(hops[0]) else peer


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _in(addr: str, nets: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in nets)


# ---------------------------------------------------------------- rate limits
@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets per (address, class). A bucket that has filled up again is forgotten, so an address is held
    in memory only while it is being limited (at most a minute after its last request)."""

    def __init__(self, per_minute: dict[str, int], clock: Callable[[], float] = time.monotonic) -> None:
        self.rates = {k: v / 60.0 for k, v in per_minute.items()}
        # at once: a quarter of the minute's allowance, and at least 5 (a mistyped form sent again) unless the
        # minute allows fewer
        self.burst = {k: float(min(v, max(5, v // 4))) for k, v in per_minute.items()}
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._swept = clock()

    def allow(self, ip: str, kind: str) -> float:
        """0 when allowed (one token taken), else the seconds until the next token."""
        now = self.clock()
        if now - self._swept > 30:
            self._sweep(now)
        rate, burst = self.rates[kind], self.burst[kind]
        b = self._buckets.get((ip, kind))
        if b is None:
            b = self._buckets[(ip, kind)] = _Bucket(burst, now)
        b.tokens = min(burst, b.tokens + (now - b.at) * rate)
        b.at = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / rate

    def _sweep(self, now: float) -> None:
        self._swept = now
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.at) * self.rates[k[1]] >= self.burst[k[1]]]
        for k in full:
            del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)


class StreamCounter:
    """Open live streams per address (forgotten at zero)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def enter(self, ip: str) -> bool:
        n = self._open.get(ip, 0)
        if n >= self.limit:
            return False
        self._open[ip] = n + 1
        return True

    def leave(self, ip: str) -> None:
        n = self._open.get(ip, 0) - 1
        if n > 0:
            self._open[ip] = n
        else:
            self._open.pop(ip, None)


# ---------------------------------------------------------------- CSRF
CSRF_COOKIE = "ow_csrf"
CSRF_FIELD = "csrf"
CSRF_MAX_AGE_S = 2 * 3600


class Csrf:
    """Signed double-submit tokens: the browser holds a random nonce in a SameSite=Strict cookie; each form carries
    `time.HMAC(secret, nonce|time)`. Any node with the shared secret can check a form another node served, and a
    page on another site can neither read the cookie nor forge the field."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = hashlib.sha256(b"onewindow web csrf\0" + secret).digest()
        self.clock = clock

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(18)

    def token(self, nonce: str) -> str:
        ts = str(int(self.clock()))
        return f"{ts}.{self._mac(nonce, ts)}"

    def check(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token or len(token) > 100 or len(nonce) > 64:
            return False
        ts, _, mac = token.partition(".")
        if not ts.isdigit() or not mac:
            return False
        age = self.clock() - int(ts)
        if not -60 <= age <= CSRF_MAX_AGE_S:
            return False
        return hmac.compare_digest(mac, self._mac(nonce, ts))

    def _mac(self, nonce: str, ts: str) -> str:
        digest = hmac.new(self._key, f"{nonce}|{ts}".encode("ascii", "replace"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


# ---------------------------------------------------------------- form bodies
class BodyTooLarge(Exception):
    pass


async def read_form(request: Request, limit: int) -> dict[str, str]:
    """An application/x-www-form-urlencoded body of at most `limit` bytes (BodyTooLarge beyond); for repeated
    fields the first wins; invalid UTF-8 is replaced, never an error."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge()
    fields: dict[str, str] = {}
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50)
    except ValueError:
        raise BodyTooLarge() from None
    for k, v in pairs:
        fields.setdefault(k, v)
    return fields


# ---------------------------------------------------------------- every response
STATIC_PREFIXES = ("/static/", "/forms/")


def security_headers(nonce: str | None = None) -> list[tuple[bytes, bytes]]:
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'")
    return [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()")]


class EdgeMiddleware:
    """Headers on every response (error pages included), no-store unless a static file, and one access-log line
    naming the route's pattern (`/t/{token}`), never the path itself, the query, or the client's address."""

    def __init__(self, app: ASGIApp, route_of: Callable[[Scope], str],
                 on_error: Callable[[Scope, Exception], Awaitable[ASGIApp]]) -> None:
        self.app = app
        self.route_of = route_of
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        static = path.startswith(STATIC_PREFIXES)
        started = time.monotonic()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"cache-control", b"server")]
                headers += security_headers()
                headers.append((b"cache-control", b"public, max-age=3600" if static and status == 200
                                else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:        # a page that failed: its error page, one log line, never a stack trace
            access_log.error("%s %s failed: %s", scope.get("method", "-"), self.route_of(scope), type(exc).__name__)
            if status:                  # the response had started: nothing more can be said on it
                return
            page = await self.on_error(scope, exc)
            await page(scope, receive, send_with_headers)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d %.0fms", scope.get("method", "-"), self.route_of(scope), status,
                                (time.monotonic() - started) * 1000)


Handler = Callable[[Request], Awaitable[Any]]
