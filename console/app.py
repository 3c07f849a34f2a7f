"""The supervisor console (Starlette): login and logout, the live hall page and its event stream, and the actions —
each checked against the user's console role here, sent to the server as a `console-` request with the user as
`actor`, and written to the audit log with its result. Pages read the mirror; only actions go to the server."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol
from urllib.parse import parse_qsl

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from console import i18n
from console.audit import AuditLog, now_iso
from console.config import ConsoleConfig
from console.followup import STEPS, Followups
from console.i18n import CANCEL_REASONS, DEVICE_KINDS, DETAIL_CODES, PAUSE_REASONS, ROLE_KEYS, Lang, t
from console.mirror import Mirror, Stream
from console.security import (
    CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE, HeadersMiddleware, LoginThrottle, Session, Sessions,
)
from console.users import Role, User, UsersFile, check_password
from hall_bus.client import RequestError
from hall_bus.contract import Op, may_call

log = logging.getLogger("onewindow.console")
HERE = Path(__file__).resolve().parent
NUMBER = re.compile(r"^[A-Z]{1,2}[0-9]{3}$")
IDENT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
KEEPALIVE_S = 15.0
REFRESH_S = 10.0                 # minutes on the screen, device silence, overdue tasks: redrawn this often
MAX_BODY = 8192

# what each console role may do (each role has everything of the roles below it)
NEEDS: dict[str, Role] = {
    "view": Role.DESK, "issue": Role.DESK, "reprint": Role.DESK,
    "cancel": Role.SUPERVISOR, "pause": Role.SUPERVISOR, "resume": Role.SUPERVISOR, "ack": Role.SUPERVISOR,
    "followup": Role.SUPERVISOR, "audit": Role.SUPERVISOR,
    "close": Role.MANAGER, "notice": Role.MANAGER, "users": Role.MANAGER,
}


class Bus(Protocol):
    def request(self, op: str, args: dict[str, Any], *, timeout: float = 8.0) -> dict[str, Any]: ...


@dataclass
class Console:
    config: ConsoleConfig
    mirror: Mirror
    bus: Bus
    users: UsersFile
    sessions: Sessions
    throttle: LoginThrottle
    audit: AuditLog
    followups: Followups
    templates: jinja2.Environment
    today: Callable[[], date] = date.today
    now: Callable[[], datetime] = lambda: datetime.now().astimezone()
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    case_error: str = ""

    async def call(self, op: Op, args: dict[str, Any]) -> dict[str, Any]:
        if not may_call(self.config.client_id, op, args):
            raise RequestError("forbidden", f"a console may not call {op} so", "控制台不能执行此操作")
        return await anyio.to_thread.run_sync(partial(self.bus.request, str(op), args,
                                                      timeout=self.config.request_timeout_s))


def console_of(request: Request) -> Console:
    return request.app.state.console


def lang_of(request: Request) -> Lang:
    q = request.query_params.get("lang")
    if q in ("zh", "en"):
        return q  # type: ignore[return-value]
    return "en" if request.cookies.get("ow_lang") == "en" else "zh"


def client_ip(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    if peer in request.app.state.console.config.trusted_proxies:
        fwd = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        return fwd or peer
    return peer


# ---------------------------------------------------------------- page plumbing
class Page:
    def __init__(self, con: Console, request: Request, session: Session | None = None) -> None:
        self.con = con
        self.request = request
        self.lang = lang_of(request)
        self.session = session
        self.user: User | None = con.users.users.get(session.user) if session else None

    def t(self, key: str, **kw: object) -> str:
        return t(key, self.lang, **kw)

    def can(self, what: str) -> bool:
        return self.user is not None and self.user.role.at_least(NEEDS[what])

    def context(self) -> dict[str, Any]:
        cat = self.con.mirror.catalog
        return {"t": self.t, "lang": self.lang, "user": self.user, "can": self.can,
                "role_name": self.t(ROLE_KEYS[self.user.role]) if self.user else "",
                "csrf": self.con.sessions.csrf(self.session) if self.session else "", "csrf_field": CSRF_FIELD,
                "hall": (cat.hall_title(self.lang) if cat else ""), "path": self.request.url.path}

    def render(self, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = self.con.templates.get_template(template).render(**self.context(), **ctx)
        response = HTMLResponse(html, status_code=status)
        q = self.request.query_params.get("lang")
        if q in ("zh", "en"):
            response.set_cookie("ow_lang", q, max_age=365 * 86400, samesite="lax")
        return response

    def message(self, title: str, text: str, status: int = 200, *, ok: bool = True, **ctx: Any) -> HTMLResponse:
        return self.render("message.html", status, title=title, text=text, ok=ok, **ctx)


def to_login(request: Request) -> Response:
    nxt = request.url.path if request.method == "GET" and request.url.path != "/events" else "/"
    response = RedirectResponse(f"/login?next={nxt}&expired=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


Handler = Callable[[Page], Awaitable[Response]]


def needs(what: str, *, post: bool = False) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Logged in, with a role that may do `what` (403 with a page saying so), and for a form a valid CSRF token."""
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            con = console_of(request)
            session = con.sessions.get(request.cookies.get(SESSION_COOKIE))
            if session is None or session.user not in con.users.users:
                return to_login(request)
            page = Page(con, request, session)
            if not page.can(what):
                need = page.t(ROLE_KEYS[NEEDS[what]])
                return page.message(page.t("forbidden_title"),
                                    page.t("forbidden", role=page.t(ROLE_KEYS[page.user.role]), need=need),  # type: ignore[union-attr]
                                    403, ok=False)
            if post or request.method == "POST":
                form = await read_form(request)
                if form is None:
                    return page.message(page.t("bad_form"), "", 413, ok=False)
                if not con.sessions.check_csrf(session, form.get(CSRF_FIELD)):
                    return page.message(page.t("bad_form"), "", 403, ok=False)
                request.state.form = form
            return await handler(page)
        guarded.__name__ = handler.__name__
        return guarded
    return wrap


async def read_form(request: Request) -> dict[str, str] | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    fields: dict[str, str] = {}
    for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50):
        fields.setdefault(k, v.strip())
    return fields


def form_of(page: Page) -> dict[str, str]:
    return page.request.state.form


# ---------------------------------------------------------------- views of the mirror
def _minutes_since(iso: str | None, now: datetime) -> int | None:
    if not iso:
        return None
    try:
        return max(0, int((now - datetime.fromisoformat(iso)).total_seconds() // 60))
    except (ValueError, TypeError):
        return None


def window_cell(con: Console, wid: str, lang: Lang) -> dict[str, Any]:
    m = con.mirror
    cat = m.catalog
    cw = cat.window(wid) if cat else None
    st = m.windows.get(wid)
    staff = m.staff.get(wid)
    now = con.now()
    name = (cw.name_en or cw.name) if (cw and lang == "en") else (cw.name if cw else (st.name if st else wid))
    current = st.current if st else None
    return {"id": wid, "name": name, "status": st.status if st else "closed",
            "reason": (st.reason or "") if st else "", "since": (st.since or "") if st else "",
            "minutes": _minutes_since(st.since if st else None, now),
            "staff": (staff.name or staff.staff) if staff and staff.staff else "",
            "number": current.number if current else "", "called_at": current.called_at if current else "",
            "serving_min": _minutes_since(current.called_at if current else None, now),
            "waiting": st.waiting if st else 0, "priority": bool(current and current.priority)}


def map_view(con: Console, lang: Lang) -> list[dict[str, Any]]:
    """Floors, each with its zones, each with its windows."""
    cat = con.mirror.catalog
    if cat is None:
        return []
    floors: dict[str, list[dict[str, Any]]] = {}
    for z in cat.zones:
        windows = [window_cell(con, w.id, lang) for w in cat.windows if w.zone == z.id]
        counts = {s: sum(1 for w in windows if w["status"] == s) for s in ("open", "paused", "closed")}
        floors.setdefault(z.floor or "", []).append({"id": z.id, "name": z.title(lang), "windows": windows,
                                                     "counts": counts})
    return [{"floor": f, "zones": zs} for f, zs in sorted(floors.items())]


def queues_view(con: Console, lang: Lang) -> list[dict[str, Any]]:
    cat = con.mirror.catalog
    if cat is None:
        return []
    out = []
    for z in cat.zones:
        state = con.mirror.zones.get(z.id)
        services = []
        for s in cat.services_of(z.id):
            load = state.services.get(s.id) if state else None
            if load is None or not load.waiting:
                continue
            services.append({"name": s.title(lang), "prefix": s.prefix, "waiting": load.waiting,
                             "longest": load.longest_wait_s // 60, "estimate": load.est_wait_s // 60})
        services.sort(key=lambda s: -s["longest"])
        out.append({"name": z.title(lang), "waiting": state.waiting if state else 0,
                    "serving": state.serving if state else 0, "estimate": (state.est_wait_s // 60) if state else 0,
                    "longest": max((s["longest"] for s in services), default=0), "services": services})
    return out


def alerts_view(con: Console, lang: Lang) -> dict[str, Any]:
    items = []
    for a in [*con.followups.overdue_alerts(), *con.mirror.open_alerts()]:
        items.append({"id": a["id"], "level": a.get("level", "yellow"), "kind": a.get("kind", ""),
                      "text": (a.get("text_en") or a.get("text_zh", "")) if lang == "en" else a.get("text_zh", ""),
                      "ts": a.get("ts", ""), "time": _clock(a.get("ts", "")), "local": bool(a.get("local"))})
    items.sort(key=lambda a: (a["ts"]), reverse=True)
    acked = [{"text": (a.get("text_en") or a.get("text_zh", "")) if lang == "en" else a.get("text_zh", ""),
              "who": a.get("acked_by") or "", "at": _clock(a.get("acked_at") or "")} for a in con.mirror.acked]
    return {"items": items, "acked": acked[:8], "reds": sum(1 for a in items if a["level"] == "red")}


def _clock(iso: str) -> str:
    if len(iso) == 10:
        return iso
    try:
        return datetime.fromisoformat(iso).strftime("%H:%M")
    except ValueError:
        return iso[:16]


def devices_view(con: Console, lang: Lang) -> list[dict[str, Any]]:
    m = con.mirror
    rows = []
    owners_with_devices = {owner for owner, _ in m.devices}
    for (owner, device), (status, _at) in m.devices.items():
        owner_state = m.owner_state(owner)
        state = status.state
        if owner_state == "offline":
            state = "offline"
        code = str(status.detail.get("code") or "")
        detail = DETAIL_CODES.get(code)
        text = (detail[1] if lang == "en" else detail[0]) if detail else code
        extra = [f"{k}: {v}" for k, v in status.detail.items() if k not in ("code",) and isinstance(v, (str, int))]
        kind = DEVICE_KINDS.get(status.kind, (status.kind, status.kind))
        rows.append({"owner": owner, "device": device, "kind": kind[1] if lang == "en" else kind[0],
                     "state": state, "text": text, "extra": "; ".join(extra)[:80],
                     "owner_state": owner_state})
    for client, seen in m.presence.items():
        role = seen.role or client.partition("-")[0]
        if client in owners_with_devices or role not in ("kiosk", "devices", "display"):
            continue
        kind = DEVICE_KINDS.get(role, (role, role))
        rows.append({"owner": client, "device": "", "kind": kind[1] if lang == "en" else kind[0],
                     "state": "ok" if seen.state == "online" else "offline", "text": "", "extra": "",
                     "owner_state": seen.state})
    order = {"offline": 0, "error": 1, "warning": 2, "ok": 3}
    rows.sort(key=lambda r: (order.get(r["state"], 0), r["owner"], r["device"]))
    return rows


def followup_view(con: Console, lang: Lang) -> list[dict[str, Any]]:
    today = con.today()
    out = []
    for task in con.followups.ordered():
        steps = []
        for step in STEPS:
            done = task.done.get(step)
            steps.append({"step": step, "due": task.due(step), "overdue": task.overdue(step, today),
                          "done": done, "at": _clock(done.at) if done else ""})
        out.append({"id": task.id, "ticket": task.ticket, "window": task.window, "grade": task.grade,
                    "text": (task.text_en or task.text_zh) if lang == "en" else task.text_zh,
                    "created": task.created[:16].replace("T", " "), "steps": steps, "open": task.open()})
    return out


def cases_view(con: Console, lang: Lang) -> list[dict[str, Any]]:
    out = []
    for c in con.mirror.cases.values():
        out.append({"number": c["number"], "service": (c.get("service_name_en") or c.get("service_name") or
                                                       c.get("service")) if lang == "en" else
                    (c.get("service_name") or c.get("service")), "status": c.get("status", ""),
                    "due": c.get("due_date") or "", "days_left": c.get("days_left"),
                    "window": c.get("window", ""), "clock": c.get("clock", "running")})
    out.sort(key=lambda c: (c["days_left"] if c["days_left"] is not None else 999, c["number"]))
    return out


def status_view(con: Console) -> dict[str, Any]:
    m = con.mirror
    return {"bus": m.bus_up, "server": m.online, "day": m.server.business_day if m.server else "",
            "case_error": con.case_error}


def kiosks(con: Console) -> list[str]:
    return sorted(c for c, s in con.mirror.presence.items() if c.startswith("kiosk-") and s.state == "online")


def services(con: Console, lang: Lang) -> list[dict[str, str]]:
    cat = con.mirror.catalog
    return [{"id": s.id, "name": f"{s.prefix} · {s.title(lang)}"} for s in cat.services] if cat else []


PARTS: dict[str, tuple[str, Callable[[Console, Lang], Any], str]] = {
    # part -> (template, view, the name the template knows it by)
    "map": ("part_map.html", map_view, "floors"),
    "queues": ("part_queues.html", queues_view, "queues"),
    "alerts": ("part_alerts.html", alerts_view, "alerts"),
    "devices": ("part_devices.html", devices_view, "devices"),
    "followup": ("part_followup.html", followup_view, "tasks"),
    "cases": ("part_cases.html", cases_view, "cases"),
    "notice": ("part_notice.html", lambda con, lang: con.mirror.notice, "notice"),
    "status": ("part_status.html", lambda con, lang: status_view(con), "status"),
}


def render_part(page: Page, part: str) -> str:
    template, view, name = PARTS[part]
    return page.con.templates.get_template(template).render(**page.context(), **{name: view(page.con, page.lang)})


def render_window(page: Page, wid: str) -> str:
    return page.con.templates.get_template("part_window.html").render(**page.context(),
                                                                      w=window_cell(page.con, wid, page.lang))


# ---------------------------------------------------------------- login
async def login(request: Request) -> Response:
    con = console_of(request)
    page = Page(con, request)
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    fresh = not (0 < len(nonce) <= 64)
    if fresh:
        nonce = secrets.token_urlsafe(18)
    nxt = request.query_params.get("next", "/")
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"

    def show(error: str = "", status: int = 200, name: str = "") -> Response:
        note = page.t("expired") if request.query_params.get("expired") and not error else ""
        r = page.render("login.html", status, error=error, note=note, next=nxt, name=name,
                        login_token=con.sessions.login_token(nonce))
        if fresh:
            r.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict")
        return r

    if request.method == "GET":
        return show()
    form = await read_form(request)
    if form is None or fresh or not con.sessions.check_login_token(nonce, form.get(CSRF_FIELD)):
        return show(page.t("bad_form"), 403)
    name = form.get("user", "")[:64]
    ip = client_ip(request)
    keys = (f"user:{name.lower()}", f"ip:{ip}")
    wait = con.throttle.wait(*keys)
    if wait:
        seconds = max(1, int(wait + 0.999))
        r = show(page.t("slow_down", s=seconds), 429, name)
        r.headers["Retry-After"] = str(seconds)
        return r
    user = con.users.users.get(name)
    ok = await anyio.to_thread.run_sync(check_password, user, form.get("password", "")[:256])
    if not ok or user is None:
        con.throttle.failed(*keys)
        con.audit.record(name if user else "(unknown)", "", "login", ok=False, result="bad_login", ip=ip)
        return show(page.t("bad_login"), 401, name)
    con.throttle.succeeded(*keys)
    _session, cookie = con.sessions.create(user.name)
    con.audit.record(user.name, user.role, "login", ip=ip)
    r = RedirectResponse(nxt, status_code=303)
    r.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict",
                 secure=request.url.scheme == "https")
    r.delete_cookie(LOGIN_COOKIE)
    return r


@needs("view", post=True)
async def logout(page: Page) -> Response:
    page.con.sessions.end(page.request.cookies.get(SESSION_COOKIE))
    page.con.audit.record(page.user.name, page.user.role, "logout")  # type: ignore[union-attr]
    r = RedirectResponse("/login", status_code=303)
    r.delete_cookie(SESSION_COOKIE)
    return r


# ---------------------------------------------------------------- pages
@needs("view")
async def home(page: Page) -> Response:
    parts = {p: render_part(page, p) for p in PARTS}
    return page.render("home.html", parts=parts, services=services(page.con, page.lang), kiosks=kiosks(page.con),
                       cancel_reasons=CANCEL_REASONS, notice=page.con.mirror.notice)


@needs("view")
async def window_page(page: Page) -> Response:
    wid = page.request.path_params["window"]
    cat = page.con.mirror.catalog
    if not IDENT.fullmatch(wid) or cat is None or cat.window(wid) is None:
        return page.message(page.t("not_found"), wid[:64], 404, ok=False)
    return page.render("window.html", w=window_cell(page.con, wid, page.lang), pause_reasons=PAUSE_REASONS,
                       cell=render_window(page, wid))


@needs("audit")
async def audit_page(page: Page) -> Response:
    return page.render("audit.html", entries=list(page.con.audit.recent)[:300])


@needs("users")
async def users_page(page: Page) -> Response:
    return page.render("users.html", users=sorted(page.con.users.users.values(), key=lambda u: (-u.role.rank, u.name)))


async def healthz(request: Request) -> Response:
    con = console_of(request)
    ok = con.mirror.bus_up and con.mirror.online
    return PlainTextResponse("ok" if ok else "waiting for the hall", status_code=200 if ok else 503)


# ---------------------------------------------------------------- the live stream
def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def events(request: Request) -> Response:
    con = console_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = con.sessions.get(cookie)
    if session is None or session.user not in con.users.users:
        return PlainTextResponse("login needed", status_code=401)
    page = Page(con, request, session)
    stream = con.mirror.open_stream()
    return StreamingResponse(live(page, stream, cookie or ""), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})


async def live(page: Page, stream: Stream, cookie: str) -> Any:
    con = page.con
    last_refresh = time.monotonic()
    try:
        yield b"retry: 2000\n\n"
        while True:
            try:
                await asyncio.wait_for(stream.wake.wait(), KEEPALIVE_S)
            except asyncio.TimeoutError:
                pass
            if con.sessions.get(cookie, touch=False) is None:
                yield sse("expired", {"login": "/login?expired=1"})
                return
            if time.monotonic() - last_refresh >= REFRESH_S:
                last_refresh = time.monotonic()
                stream.dirty |= {"devices", "followup", "alerts", "map"}
            if not stream.wake.is_set() and not stream.dirty:
                yield b": keepalive\n\n"
                continue
            await asyncio.sleep(0.05)               # coalesce a burst (a call changes window, zone and queue)
            stream.wake.clear()
            dirty, stream.dirty = stream.dirty, set()
            news, stream.alerts = stream.alerts, []
            if "all" in dirty:
                dirty = set(PARTS)
            patches = []
            if "map" in dirty:
                patches.append({"id": "part-map", "html": render_part(page, "map")})
            else:
                for key in sorted(k for k in dirty if k.startswith("win:")):
                    wid = key[4:]
                    patches.append({"id": f"win-{wid}", "html": render_window(page, wid)})
            for part in PARTS:
                if part != "map" and part in dirty:
                    patches.append({"id": f"part-{part}", "html": render_part(page, part)})
            if patches:
                yield sse("patch", patches)
            for a in news:
                yield sse("alert", {"id": a["id"], "level": a.get("level", "yellow"),
                                    "text": a.get("text_en") if page.lang == "en" else a.get("text_zh")})
    finally:
        con.mirror.close_stream(stream)


# ---------------------------------------------------------------- actions
async def act(page: Page, action: str, target: str, op: Op, args: dict[str, Any]) -> tuple[dict[str, Any] | None,
                                                                                         Response | None]:
    """Send one request as this user; the audit log gets the outcome either way. On refusal, the page that says
    what the server answered (its own words, in the user's language, and its code)."""
    user = page.user
    assert user is not None
    ip = client_ip(page.request)
    try:
        data = await page.con.call(op, args)
    except RequestError as exc:
        page.con.audit.record(user.name, user.role, action, target, ok=False, result=exc.code, ip=ip)
        title = page.t("timeout") if exc.code == "timeout" else page.t("refused")
        text = exc.message if page.lang == "en" else exc.message_zh
        status = 504 if exc.code == "timeout" else 409
        return None, page.message(title, f"{text} ({exc.code})", status, ok=False, code=exc.code)
    page.con.audit.record(user.name, user.role, action, target, ip=ip)
    return data, None


def done(page: Page, text: str) -> Response:
    return page.message(page.t("done"), text)


@needs("issue")
async def issue(page: Page) -> Response:
    form = form_of(page)
    service = form.get("service", "")
    cat = page.con.mirror.catalog
    if cat is None or cat.service(service) is None:
        return page.message(page.t("not_found"), page.t("service"), 400, ok=False)
    kiosk = form.get("kiosk", "")
    if kiosk and not re.fullmatch(r"kiosk-[A-Za-z0-9_.:-]{1,58}", kiosk):
        return page.message(page.t("not_found"), page.t("kiosk"), 400, ok=False)
    args = {"service": service, "channel": "staff", "priority": form.get("priority") == "1",
            "actor": page.user.name}  # type: ignore[union-attr]
    data, failed = await act(page, "ticket.issue", service, Op.TICKET_ISSUE, args)
    if failed:
        return failed
    assert data is not None
    printed = ""
    if kiosk:
        _, failed = await act(page, "ticket.reprint", f"{data.get('number', '')}@{kiosk}", Op.TICKET_REPRINT,
                              {"ticket_id": data.get("id", ""), "kiosk": kiosk, "actor": page.user.name})  # type: ignore[union-attr]
        printed = kiosk if failed is None else ""
        if failed is not None:
            return failed
    svc = cat.service(service)
    return page.render("ticket.html", ticket=data, service=svc.title(page.lang) if svc else service, printed=printed)


@needs("cancel")
async def cancel(page: Page) -> Response:
    form = form_of(page)
    number = form.get("number", "").upper()
    reason = form.get("reason", "")
    if not NUMBER.fullmatch(number) or reason not in CANCEL_REASONS:
        return page.message(page.t("bad_form"), page.t("number"), 400, ok=False)
    _data, failed = await act(page, "ticket.cancel", number, Op.TICKET_CANCEL,
                              {"number": number, "reason": reason, "actor": page.user.name})  # type: ignore[union-attr]
    return failed or done(page, f"{page.t('cancel_ticket')}: {number}")


@needs("reprint")
async def reprint(page: Page) -> Response:
    form = form_of(page)
    number = form.get("number", "").upper()
    kiosk = form.get("kiosk", "")
    if not NUMBER.fullmatch(number) or not re.fullmatch(r"kiosk-[A-Za-z0-9_.:-]{1,58}", kiosk):
        return page.message(page.t("bad_form"), page.t("number"), 400, ok=False)
    ticket, failed = await act(page, "ticket.get", number, Op.TICKET_GET, {"number": number})
    if failed:
        return failed
    assert ticket is not None
    _data, failed = await act(page, "ticket.reprint", f"{number}@{kiosk}", Op.TICKET_REPRINT,
                              {"ticket_id": ticket["id"], "kiosk": kiosk, "actor": page.user.name})  # type: ignore[union-attr]
    return failed or done(page, f"{page.t('reprint')}: {number} → {kiosk}")


async def window_action(request: Request) -> Response:
    action = request.path_params["action"]
    if action not in ("pause", "resume", "close"):
        raise HTTPException(404)
    return await _window_action[action](request)


def _make_window_action(action: str) -> Callable[[Request], Awaitable[Response]]:
    op = {"pause": Op.WINDOW_PAUSE, "resume": Op.WINDOW_RESUME, "close": Op.WINDOW_CLOSE}[action]

    @needs(action)
    async def handler(page: Page) -> Response:
        wid = page.request.path_params["window"]
        cat = page.con.mirror.catalog
        if not IDENT.fullmatch(wid) or cat is None or cat.window(wid) is None:
            return page.message(page.t("not_found"), wid[:64], 404, ok=False)
        args: dict[str, Any] = {"window": wid, "actor": page.user.name}  # type: ignore[union-attr]
        if action == "pause":
            reason = form_of(page).get("reason", "")
            args["reason"] = reason if reason in PAUSE_REASONS else "other"
        _data, failed = await act(page, f"window.{action}", wid, op, args)
        return failed or done(page, f"{page.t(action)}: {window_cell(page.con, wid, page.lang)['name']}")
    handler.__name__ = f"window_{action}"
    return handler


_window_action = {a: _make_window_action(a) for a in ("pause", "resume", "close")}


@needs("ack")
async def ack(page: Page) -> Response:
    alert_id = form_of(page).get("alert_id", "")
    if not 0 < len(alert_id) <= 160:
        return page.message(page.t("bad_form"), "", 400, ok=False)
    _data, failed = await act(page, "alert.ack", alert_id, Op.ALERT_ACK,
                              {"alert_id": alert_id, "actor": page.user.name})  # type: ignore[union-attr]
    return failed or done(page, f"{page.t('acked')}: {alert_id}")


@needs("notice")
async def notice(page: Page) -> Response:
    form = form_of(page)
    zh, en = form.get("zh", "")[:200], form.get("en", "")[:300]
    _data, failed = await act(page, "notice.set", zh[:40], Op.NOTICE_SET,
                              {"zh": zh, "en": en, "actor": page.user.name})  # type: ignore[union-attr]
    return failed or done(page, f"{page.t('notice')}: {zh or '—'}")


@needs("followup")
async def followup(page: Page) -> Response:
    form = form_of(page)
    task_id, step, note = form.get("task", ""), form.get("step", ""), form.get("note", "")[:500]
    user = page.user
    assert user is not None
    try:
        page.con.followups.record(task_id, step, user.name, note, now_iso())
    except (KeyError, ValueError):
        return page.message(page.t("bad_form"), task_id[:64], 409, ok=False)
    page.con.audit.record(user.name, user.role, f"followup.{step}", task_id, ip=client_ip(page.request))
    page.con.mirror.mark("followup")
    page.con.mirror.mark("alerts")
    return done(page, f"{page.t(step)}: {task_id}")


# ---------------------------------------------------------------- background: cases near their deadline
async def poll_cases(con: Console) -> None:
    while True:
        due = (con.today() + timedelta(days=con.config.case_due_days + 1)).isoformat()
        try:
            data = await con.call(Op.CASE_LIST, {"due_before": due})
            con.mirror.set_cases([c for c in data.get("cases", []) if isinstance(c, dict) and "number" in c])
            con.case_error = ""
        except RequestError as exc:
            if con.case_error != exc.code:
                log.warning("case.list: %s", exc)
            con.case_error = exc.code
        await asyncio.sleep(con.config.case_poll_s)


# ---------------------------------------------------------------- errors and the app
async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    page = Page(console_of(request), request)
    return page.message(page.t("not_found") if status == 404 else str(status), "", status, ok=False)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("page %s failed", request.url.path)
    return PlainTextResponse("出错了 / Something went wrong", status_code=500)


def routes() -> list[Any]:
    return [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/events", events),
        Route("/healthz", healthz),
        Route("/window/{window}", window_page),
        Route("/window/{window}/{action}", window_action, methods=["POST"]),
        Route("/act/issue", issue, methods=["POST"]),
        Route("/act/cancel", cancel, methods=["POST"]),
        Route("/act/reprint", reprint, methods=["POST"]),
        Route("/alerts/ack", ack, methods=["POST"]),
        Route("/notice", notice, methods=["POST"]),
        Route("/followup", followup, methods=["POST"]),
        Route("/audit", audit_page),
        Route("/users", users_page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def create_app(config: ConsoleConfig, mirror: Mirror, bus: Bus, *, users: UsersFile, secret: bytes,
               audit: AuditLog, followups: Followups, clock: Callable[[], float] = time.monotonic,
               today: Callable[[], date] = date.today, poll: bool = True) -> Starlette:
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                   trim_blocks=True, lstrip_blocks=True)
    con = Console(config=config, mirror=mirror, bus=bus, users=users,
                  sessions=Sessions(secret, config.session_idle_s, config.session_max_s, clock=clock),
                  throttle=LoginThrottle(clock=clock), audit=audit, followups=followups, templates=templates,
                  today=today)
    mirror.on_audit = audit.server_event

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        if poll:
            task = asyncio.create_task(poll_cases(con))
            con.tasks.add(task)
        try:
            yield
        finally:
            for task in con.tasks:
                task.cancel()

    app = Starlette(routes=routes(), exception_handlers={HTTPException: http_error, Exception: server_error},
                    lifespan=lifespan)
    app.state.console = con
    app.add_middleware(HeadersMiddleware)
    return app
