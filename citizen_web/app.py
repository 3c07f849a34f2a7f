"""The citizen pages (Starlette): hall now, guides, the live ticket page and its event stream, booking, case query
and rating. Pages read the node's mirror; only actions and lookups go to the server, as bus requests of the `web-`
role run off the event loop. Every form is checked here, every failed lookup gets one answer."""
from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Callable, Protocol

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, Match
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from citizen_web import i18n
from citizen_web.config import WebConfig
from citizen_web.i18n import FINAL_STATES, Lang, t
from citizen_web.identity import id_ref, mask_name
from citizen_web.mirror import Mirror, Watcher
from citizen_web.security import (
    CSRF_COOKIE, CSRF_FIELD, BodyTooLarge, Csrf, EdgeMiddleware, RateLimiter, StreamCounter, client_ip, read_form,
)
from hall_bus.client import RequestError
from hall_bus.contract import Op, may_call
from hall_bus.hall import GRADES, window_title
from hall_bus.idnumber import BAD_BIRTH_DATE, BAD_CHECK_DIGIT, IdNumberError, PhoneError, check_id_number, check_mobile
from hall_bus.payloads import CASE_NUMBER_PATTERN, TOKEN_PATTERN, Booking, CasePublic, SlotsDay, Ticket

log = logging.getLogger("onewindow.web")
HERE = Path(__file__).resolve().parent
TOKEN = re.compile(TOKEN_PATTERN)
CASE_NUMBER = re.compile(CASE_NUMBER_PATTERN)
QUERY_CODE = re.compile(r"^\d{6}$")
BOOKING_CODE = re.compile(r"^[A-Za-z0-9-]{4,32}$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
NAME = re.compile(r"^[\w·•.\- ]{1,20}$")
LOOKUP_FAILURES = frozenset({"unknown_ticket", "unknown_case", "bad_request", "forbidden", "unknown_appointment"})
CONSENT_VERSION = "2026-11"
KEEPALIVE_S = 15.0
MIN_QUEUE_INTERVAL_S = 1.0
RATEABLE_CASE = frozenset({"done", "delivered", "refused", "incomplete", "withdrawn", "terminated"})


class Bus(Protocol):
    """The part of hall_bus.BusClient the pages use."""

    def request(self, op: str, args: dict[str, Any], *, timeout: float = 8.0) -> dict[str, Any]: ...


class Gateway:
    """Bus requests of this node's `web-` role, each on a worker thread (never on the event loop). An op the
    role may not call is refused here already, before it reaches the bus."""

    def __init__(self, bus: Bus, client_id: str, timeout: float, threads: int = 64) -> None:
        self.bus = bus
        self.client_id = client_id
        self.timeout = timeout
        self.limiter = anyio.CapacityLimiter(threads)

    async def call(self, op: Op, args: dict[str, Any]) -> dict[str, Any]:
        if not may_call(self.client_id, op, args):
            raise RequestError("forbidden", f"the web role may not call {op} so")
        return await anyio.to_thread.run_sync(partial(self.bus.request, str(op), args, timeout=self.timeout),
                                              limiter=self.limiter)


@dataclass
class Web:
    """What the handlers share: config, mirror, gateway, keys and limiters."""
    config: WebConfig
    mirror: Mirror
    gateway: Gateway
    id_key: bytes
    csrf: Csrf
    limiter: RateLimiter
    streams: StreamCounter
    templates: jinja2.Environment
    forms_dir: Path
    static_version: str = ""
    clock: Callable[[], float] = time.monotonic
    today: Callable[[], date] = date.today
    sse_tasks: set[asyncio.Task[Any]] = field(default_factory=set)


# ---------------------------------------------------------------- page plumbing
def lang_of(request: Request) -> Lang:
    q = request.query_params.get("lang")
    if q in ("zh", "en"):
        return q  # type: ignore[return-value]
    return "en" if request.cookies.get("ow_lang") == "en" else "zh"


def big_of(request: Request) -> bool:
    q = request.query_params.get("size")
    if q in ("large", "normal"):
        return q == "large"
    return request.cookies.get("ow_big") == "1"


class Page:
    """One rendering: the language, text size, CSRF nonce and the cookies to set."""

    def __init__(self, web: Web, request: Request) -> None:
        self.web = web
        self.request = request
        self.lang: Lang = lang_of(request)
        self.big = big_of(request)
        nonce = request.cookies.get(CSRF_COOKIE, "")
        self.new_nonce = not (0 < len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum())
        self.nonce = Csrf.new_nonce() if self.new_nonce else nonce

    def t(self, key: str, **kw: object) -> str:
        return t(key, self.lang, **kw)

    def render(self, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        web = self.web
        cat = web.mirror.catalog
        html = web.templates.get_template(template).render(
            t=self.t, lang=self.lang, big=self.big, csrf=web.csrf.token(self.nonce), csrf_field=CSRF_FIELD,
            hall=cat.hall_title(self.lang) if cat else "", static_version=web.static_version,
            i18n=i18n, wait_text=lambda s: i18n.wait_text(int(s), self.lang),
            ahead_text=lambda n: i18n.ahead_text(int(n), self.lang), online=web.mirror.online, **ctx)
        response = HTMLResponse(html, status_code=status)
        self.cookies(response)
        return response

    def cookies(self, response: Response) -> None:
        secure = self.request.url.scheme == "https" or self.request.headers.get("x-forwarded-proto") == "https"
        q = self.request.query_params
        if q.get("lang") in ("zh", "en"):
            response.set_cookie("ow_lang", q["lang"], max_age=365 * 86400, samesite="lax", secure=secure)
        if q.get("size") in ("large", "normal"):
            response.set_cookie("ow_big", "1" if q["size"] == "large" else "0", max_age=365 * 86400,
                                samesite="lax", secure=secure)
        if self.new_nonce:
            response.set_cookie(CSRF_COOKIE, self.nonce, httponly=True, samesite="strict", secure=secure)

    def message(self, title: str, text: str, status: int, **ctx: Any) -> HTMLResponse:
        return self.render("message.html", status, title=self.t(title), text=text, **ctx)

    def not_found(self) -> HTMLResponse:
        """The one answer for every failed lookup: unknown, wrong code, expired, malformed."""
        return self.message("not_found_title", self.t("not_found"), 404)

    def unavailable(self) -> HTMLResponse:
        return self.message("unavailable_title", self.t("unavailable"), 503)

    def server_says(self, exc: RequestError) -> str:
        return exc.message if self.lang == "en" else exc.message_zh


def web_of(request: Request) -> Web:
    return request.app.state.web


def limited(kind: str) -> Callable[..., Any]:
    """Per-address token bucket of this class before the handler runs."""
    def wrap(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def guarded(request: Request) -> Response:
            web = web_of(request)
            ip = client_ip(request.scope, web.config.proxy_networks)
            wait = web.limiter.allow(ip, kind)
            if kind != "page" and not wait:
                wait = web.limiter.allow(ip, "page")
            if wait:
                page = Page(web, request)
                seconds = max(1, int(wait + 0.999))
                response = page.message("too_many_title", page.t("too_many", s=seconds), 429)
                response.headers["Retry-After"] = str(seconds)
                return response
            return await handler(request)
        guarded.__name__ = handler.__name__
        return guarded
    return wrap


async def form_of(page: Page) -> dict[str, str] | Response:
    """The posted form after its size and CSRF checks, or the page that says what was wrong."""
    try:
        form = await read_form(page.request, page.web.config.max_body_bytes)
    except BodyTooLarge:
        return page.message("error_title", page.t("too_big"), 413)
    if page.new_nonce or not page.web.csrf.check(page.nonce, form.get(CSRF_FIELD)):
        return page.message("error_title", page.t("bad_form"), 403)
    return form


def ticket_view(web: Web, ticket: Ticket, lang: Lang) -> dict[str, Any]:
    """What the ticket page and its stream show: the mirror's queue figures are fresher than the reply's."""
    cat = web.mirror.catalog
    zone = cat.zone(ticket.zone) if cat else None
    ahead, wait = ticket.ahead, ticket.est_wait_s
    live = web.mirror.queue_entry(ticket.zone, ticket.id)
    if live is not None and ticket.state == "waiting":
        ahead, wait = live
    window = ticket.window_title(lang) if ticket.window else ""
    called = ticket.state == "serving" and bool(window)
    return {
        "state": ticket.state, "state_text": i18n.state_text(ticket.state, lang),
        "waiting": ticket.state == "waiting",
        "ahead": i18n.ahead_text(ahead, lang), "wait": i18n.wait_text(wait, lang),
        "window": window, "call": t("go_to", lang, window=window) if called else "",
        "final": ticket.state in FINAL_STATES,
        "rate": ticket.state == "done" and ticket.grade is None,
        "zone": (zone.title(lang) if zone else ticket.zone) + (f" · {zone.floor}" if zone and zone.floor else ""),
        "service": ticket.service_title(lang) or ticket.service,
    }


async def get_ticket(web: Web, token: str) -> Ticket | None:
    """None for every kind of failed lookup; RequestError('timeout') passes through."""
    if not TOKEN.fullmatch(token):
        return None
    try:
        data = await web.gateway.call(Op.TICKET_GET, {"token": token})
    except RequestError as exc:
        if exc.code in LOOKUP_FAILURES:
            return None
        raise
    return Ticket.parse(data)


# ---------------------------------------------------------------- hall now, guides, forms
@limited("page")
async def home(request: Request) -> Response:
    web = web_of(request)
    page = Page(web, request)
    cat = web.mirror.catalog
    zones = []
    if cat:
        for z in cat.zones:
            state = web.mirror.zones.get(z.id)
            services = []
            for s in cat.services_of(z.id):
                load = state.services.get(s.id) if state else None
                services.append({"id": s.id, "name": s.title(page.lang), "waiting": load.waiting if load else 0,
                                 "wait": load.est_wait_s if load else 0, "bookable": s.bookable})
            zones.append({"id": z.id, "name": z.title(page.lang), "floor": z.floor, "state": state,
                          "services": services})
    notice = web.mirror.notice.get(page.lang) or web.mirror.notice.get("zh") or ""
    if not notice and cat:
        notice = (cat.hall.notice_en or cat.hall.notice) if page.lang == "en" else cat.hall.notice
    calls = [{"number": c.number, "window": window_title(c.window_name, c.window_name_en, c.window, page.lang)}
             for c in web.mirror.calls.calls[:5]]
    hours = [f"{a}–{b}" for a, b in cat.issuing_hours] if cat else []
    return page.render("home.html", zones=zones, notice=notice, calls=calls, hours=hours)


@limited("page")
async def guide(request: Request) -> Response:
    web = web_of(request)
    page = Page(web, request)
    sid = request.path_params["service"]
    cat = web.mirror.catalog
    service = cat.service(sid) if cat else None
    if service is None:
        return page.not_found()
    g = web.mirror.guides.get(sid)
    forms = [{"name": (f.name_en or f.name) if page.lang == "en" else f.name, "url": f"/forms/{f.file}"}
             for f in web.config.forms if f.service == sid]
    if g is not None:
        forms += [{"name": (f.name_en or f.name) if page.lang == "en" else f.name, "url": f.url} for f in g.forms
                  if f.url.startswith(("https://", "http://", "/"))]
    dept = ""
    if g is not None:
        dept = (g.department_en or g.department) if page.lang == "en" else g.department
    elif cat:
        d = next((d for d in cat.departments if d.id == service.department), None)
        dept = ((d.name_en or d.name) if page.lang == "en" else d.name) if d else ""
    steps = list((g.steps_en or g.steps) if page.lang == "en" else g.steps) if g else []
    fees = ((g.fees_en or g.fees) if page.lang == "en" else g.fees) if g else ""
    unit = g.limit_unit if g else service.limit_unit
    return page.render("guide.html", service=service, name=service.title(page.lang), guide=g, forms=forms,
                       dept=dept, steps=steps, fees=fees,
                       legal=i18n.limit_text(g.legal_days if g else service.legal_days, unit, page.lang),
                       promised=i18n.limit_text(g.promised_days if g else service.promised_days, unit, page.lang))


@limited("page")
async def form_file(request: Request) -> Response:
    web = web_of(request)
    name = request.path_params["name"]
    if not any(f.file == name for f in web.config.forms) or not (web.forms_dir / name).is_file():
        return Page(web, request).not_found()
    return FileResponse(web.forms_dir / name, filename=name)


async def healthz(request: Request) -> Response:
    web = web_of(request)
    ok = web.mirror.ready.is_set() and web.mirror.online
    return PlainTextResponse("ok" if ok else "waiting for the hall", status_code=200 if ok else 503)


# ---------------------------------------------------------------- the ticket and its live stream
async def ticket_of_path(request: Request) -> tuple[Any, "Page", str, Any]:
    """(web, page, token, the ticket of the token in the path) — or, in the ticket's place, the answer to give
    instead: the one not-found page for any unknown token, or the hall-unavailable page."""
    web = web_of(request)
    page = Page(web, request)
    token = request.path_params["token"]
    try:
        ticket = await get_ticket(web, token)
    except RequestError:
        return web, page, token, page.unavailable()
    return web, page, token, page.not_found() if ticket is None else ticket


@limited("lookup")
async def ticket_page(request: Request) -> Response:
    web, page, token, ticket = await ticket_of_path(request)
    if isinstance(ticket, Response):
        return ticket
    return page.render("ticket.html", ticket=ticket, view=ticket_view(web, ticket, page.lang), token=token,
                       live=not (ticket.state in FINAL_STATES), script=True)


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


@limited("lookup")
async def ticket_events(request: Request) -> Response:
    web = web_of(request)
    lang = lang_of(request)
    token = request.path_params["token"]
    try:
        ticket = await get_ticket(web, token)
    except RequestError:
        return PlainTextResponse("unavailable", status_code=503)
    if ticket is None:
        return PlainTextResponse("not found", status_code=404)     # EventSource gives up on a 404: right here
    ip = client_ip(request.scope, web.config.proxy_networks)
    if not web.streams.enter(ip):
        return PlainTextResponse("too many live pages", status_code=429, headers={"Retry-After": "30"})
    headers = {"X-Accel-Buffering": "no", "Cache-Control": "no-store"}
    return StreamingResponse(ticket_stream(web, ticket, token, lang, ip), media_type="text/event-stream",
                             headers=headers)


async def ticket_stream(web: Web, ticket: Ticket, token: str, lang: Lang, ip: str) -> Any:
    """Pushes from the mirror only; asks the server again (ticket.get) only when the mirror says this ticket's
    state may have changed (a call, a window moving on, the ticket leaving its queue)."""
    mirror = web.mirror
    watcher: Watcher = mirror.watch(ticket.id, ticket.zone)
    try:
        yield b"retry: 3000\n\n"
        yield sse("ticket", ticket_view(web, ticket, lang))
        if ticket.state in FINAL_STATES:
            return
        last_queue = 0.0
        last_sent = web.clock()
        # a page's keepalive period, a little different on every page: a call wakes every page of its zone at
        # once, and with one period for all, 15 s later every one of them would send its keepalive at once too
        keepalive = KEEPALIVE_S * random.uniform(0.8, 1.0)
        while True:
            timeout = keepalive - (web.clock() - last_sent)
            if watcher.queue is not None:
                timeout = min(timeout, MIN_QUEUE_INTERVAL_S - (web.clock() - last_queue))
            if timeout > 0:
                try:            # asyncio.timeout, not wait_for: no task per wait, one hop less after a wake-up
                    async with asyncio.timeout(timeout):
                        await watcher.wake.wait()
                except TimeoutError:
                    pass
            watcher.wake.clear()
            now = web.clock()
            sent = False
            if watcher.call is not None:
                call, watcher.call = watcher.call, None
                where = window_title(call.get("window_name"), call.get("window_name_en"), call.get("window"), lang)
                yield sse("call", {"call": t("go_to", lang, window=where), "window": where,
                                   "recall": bool(call.get("recall")), "state_text": i18n.state_text("serving", lang)})
                sent = True
            if watcher.refresh:
                watcher.refresh = False
                try:
                    fresh = await get_ticket(web, token)
                except RequestError:
                    fresh = None
                if fresh is not None:
                    ticket = fresh
                    mirror.move(watcher, ticket.zone)
                    yield sse("ticket", ticket_view(web, ticket, lang))
                    sent = True
                    if ticket.state in FINAL_STATES:
                        return
            if watcher.queue is not None and now - last_queue >= MIN_QUEUE_INTERVAL_S:
                ahead, wait = watcher.queue
                watcher.queue = None
                last_queue = now
                if ticket.state == "waiting":
                    yield sse("queue", {"ahead": i18n.ahead_text(ahead, lang), "wait": i18n.wait_text(wait, lang)})
                    sent = True
            if sent:
                last_sent = now
            elif now - last_sent >= keepalive:
                yield b": keepalive\n\n"
                last_sent = now
    finally:
        mirror.unwatch(watcher)
        web.streams.leave(ip)


# ---------------------------------------------------------------- rating
def grade_choices(lang: Lang) -> list[tuple[int, str]]:
    return [(g, labels[1] if lang == "en" else labels[0]) for g, labels in sorted(GRADES.items(), reverse=True)]


def check_rating(page: Page, form: dict[str, str]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    errors: dict[str, str] = {}
    grade = form.get("grade", "")
    if grade not in ("1", "2", "3", "4", "5"):
        errors["grade"] = page.t("v_grade")
    comment = form.get("comment", "").strip()
    if len(comment) > 200:
        errors["comment"] = page.t("v_comment")
    if errors:
        return None, errors
    args: dict[str, Any] = {"grade": int(grade)}
    if comment:
        args["comment"] = comment
    return args, errors


async def submit_rating(page: Page, token: str, args: dict[str, Any]) -> tuple[str, str] | None:
    """(title, text) to show, or None when the token is unknown."""
    try:
        await page.web.gateway.call(Op.EVALUATION_SUBMIT, {"token": token, **args})
    except RequestError as exc:
        if exc.code == "already_rated":
            return page.t("rate_title"), page.t("already_rated")
        if exc.code in LOOKUP_FAILURES:
            return None
        if exc.code == "timeout":
            return page.t("unavailable_title"), page.t("unavailable")
        return page.t("rate_title"), page.server_says(exc)
    return page.t("rate_title"), page.t("thanks")


async def posted_rating(page: "Page", token: str, title: str | None = None
                        ) -> tuple[Response | None, dict[str, str], dict[str, str]]:
    """A posted 好差评 for a ticket or a case token: (the answer page, {}, {}) when it is settled (thanks, already
    rated, not found, a refused form), else (None, errors, values) to show the form again."""
    form = await form_of(page)
    if isinstance(form, Response):
        return form, {}, {}
    values = {"grade": form.get("grade", ""), "comment": form.get("comment", "")[:400]}
    args, errors = check_rating(page, form)
    if args is None:
        return None, errors, values
    said = await submit_rating(page, token, args)
    if said is None:
        return page.not_found(), {}, {}
    return page.render("message.html", title=title or said[0], text=said[1]), {}, {}


@limited("lookup")
async def rate_page(request: Request) -> Response:
    web, page, token, ticket = await ticket_of_path(request)
    if isinstance(ticket, Response):
        return ticket
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        done, errors, values = await posted_rating(page, token)
        if done is not None:
            return done
    return page.render("rate.html", 400 if errors else 200, ticket=ticket, view=ticket_view(web, ticket, page.lang),
                       grades=grade_choices(page.lang), errors=errors, values=values, action=f"/rate/{token}")


# ---------------------------------------------------------------- cases
def case_view(case: CasePublic, lang: Lang) -> dict[str, Any]:
    return {
        "number": case.number,
        "service": (case.service_name_en or case.service_name) if lang == "en" else case.service_name or case.service,
        "status": i18n.case_status_text(case.status, lang), "status_code": case.status,
        "result": t(case.result, lang) if case.result else "",
        "accepted_at": case.accepted_at[:16].replace("T", " "), "due_date": case.due_date or "",
        "legal_due_date": case.legal_due_date or "",
        "days_left": (t("overdue_n", lang, n=-case.days_left) if case.days_left is not None and case.days_left < 0
                      else t("days_left_n", lang, n=case.days_left) if case.days_left is not None else ""),
        "stopped": case.clock == "stopped", "missing": list(case.missing),
        "history": [{"status": i18n.case_status_text(h.status, lang), "ts": h.ts[:16].replace("T", " ")}
                    for h in case.history],
        "rateable": case.status in RATEABLE_CASE,
    }


@limited("lookup")
async def case_query(request: Request) -> Response:
    web = web_of(request)
    page = Page(web, request)
    if request.method == "GET":
        return page.render("case_form.html", errors={}, values={})
    form = await form_of(page)
    if isinstance(form, Response):
        return form
    number = re.sub(r"\s+", "", form.get("number", "")).upper().replace("—", "-").replace("－", "-")[:40]
    code = re.sub(r"\s+", "", form.get("query_code", ""))[:12]
    errors: dict[str, str] = {}
    if not CASE_NUMBER.fullmatch(number):
        errors["number"] = page.t("v_case_number")
    if not QUERY_CODE.fullmatch(code):
        errors["query_code"] = page.t("v_query_code")
    if errors:
        return page.render("case_form.html", 400, errors=errors, values={"number": number})
    try:
        data = await web.gateway.call(Op.CASE_GET, {"number": number, "query_code": code})
    except RequestError as exc:
        if exc.code == "timeout":
            return page.unavailable()
        return page.render("case_form.html", 404, errors={"lookup": page.t("case_not_found")},
                           values={"number": number})
    return page.render("case.html", case=case_view(CasePublic.parse(data), page.lang), action=None)


@limited("lookup")
async def case_token(request: Request) -> Response:
    web = web_of(request)
    page = Page(web, request)
    token = request.path_params["token"]
    if not TOKEN.fullmatch(token):
        return page.not_found()
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        done, errors, values = await posted_rating(page, token, title=page.t("rate_case_title"))
        if done is not None:
            return done
    try:
        data = await web.gateway.call(Op.CASE_GET, {"token": token})
    except RequestError as exc:
        if exc.code == "timeout":
            return page.unavailable()
        return page.not_found()
    return page.render("case.html", 400 if errors else 200, case=case_view(CasePublic.parse(data), page.lang),
                       action=f"/c/{token}", grades=grade_choices(page.lang), errors=errors, values=values)


# ---------------------------------------------------------------- booking
def booking_days(web: Web) -> list[str]:
    cat = web.mirror.catalog
    try:
        start = date.fromisoformat(cat.business_day) if cat and cat.business_day else web.today()
    except ValueError:
        start = web.today()
    return [(start + timedelta(days=i)).isoformat() for i in range(0, web.config.booking.days_ahead + 1)]


def bookable(web: Web) -> list[Any]:
    cat = web.mirror.catalog
    return [s for s in cat.services if s.bookable] if cat else []


@limited("page")
async def book(request: Request) -> Response:
    web = web_of(request)
    page = Page(web, request)
    services = bookable(web)
    if request.method == "POST":
        return await book_post(web, page, services)
    sid = request.query_params.get("service", "")
    day = request.query_params.get("date", "")
    service = next((s for s in services if s.id == sid), None)
    if not sid or service is None:
        errors = {"service": page.t("v_service")} if sid else {}
        return page.render("book.html", 400 if errors else 200, step="service", services=services, errors=errors)
    days = booking_days(web)
    if not day:
        return page.render("book.html", step="day", service=service, days=days, errors={})
    if day not in days:
        return page.render("book.html", 400, step="day", service=service, days=days, errors={"date": page.t("v_date")})
    return await slots_page(web, page, service, day, days, {}, {})


async def slots_page(web: Web, page: Page, service: Any, day: str, days: list[str], errors: dict[str, str],
                     values: dict[str, str], status: int = 200) -> Response:
    try:       # public availability: counted as a page (the route's own limit), not as a lookup
        data = await web.gateway.call(Op.APPOINTMENT_SLOTS, {"service": service.id, "date": day})
    except RequestError as exc:
        if exc.code == "timeout":
            return page.unavailable()
        return page.render("book.html", 400, step="day", service=service, days=days,
                           errors={"date": page.server_says(exc)})
    slots = SlotsDay.parse(data)
    closed = ""
    if not slots.slots:
        closed = page.t("closed_day", why=slots.closed_reason or page.t("closed_default"))
    elif not any(s.left > 0 for s in slots.slots):
        closed = page.t("no_slots")
    return page.render("book.html", status, step="slot", service=service, day=day, day_label=i18n.day_label(day, page.lang),
                       slots=slots.slots, closed=closed, days=days, errors=errors, values=values,
                       privacy=page.t("privacy", days=web.config.booking.kept_days))


async def book_post(web: Web, page: Page, services: list[Any]) -> Response:
    form = await form_of(page)
    if isinstance(form, Response):
        return form
    ip = client_ip(page.request.scope, web.config.proxy_networks)
    wait = web.limiter.allow(ip, "post")
    if wait:
        seconds = max(1, int(wait + 0.999))
        response = page.message("too_many_title", page.t("too_many", s=seconds), 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    service = next((s for s in services if s.id == form.get("service", "")), None)
    if service is None:
        return page.render("book.html", 400, step="service", services=services,
                           errors={"service": page.t("v_service")})
    days = booking_days(web)
    day = form.get("date", "")
    if day not in days:
        return page.render("book.html", 400, step="day", service=service, days=days, errors={"date": page.t("v_date")})
    errors: dict[str, str] = {}
    start = form.get("start", "")
    if not CLOCK.fullmatch(start):
        errors["start"] = page.t("v_slot")
    name = " ".join(form.get("name", "").split())
    if not name:
        errors["name"] = page.t("v_required")
    elif not NAME.fullmatch(name):
        errors["name"] = page.t("v_name")
    number = None
    raw_id = form.get("id_number", "")
    if not raw_id.strip():
        errors["id_number"] = page.t("v_required")
    else:
        try:
            number = check_id_number(raw_id[:40], today=web.today())
        except IdNumberError as exc:
            errors["id_number"] = page.t({BAD_CHECK_DIGIT: "v_id_check", BAD_BIRTH_DATE: "v_id_birth"}
                                         .get(exc.reason, "v_id_format"))
    phone = ""
    try:
        phone = check_mobile(form.get("phone", "")[:30])
    except PhoneError:
        errors["phone"] = page.t("v_phone") if form.get("phone", "").strip() else page.t("v_required")
    if form.get("consent") != "yes":
        errors["consent"] = page.t("v_consent")
    values = {"name": name[:20], "phone": form.get("phone", "")[:20], "start": start[:5],
              "sms": "yes" if form.get("sms") == "yes" else ""}
    if errors or number is None:
        return await slots_page(web, page, service, day, days, errors, values, 400)
    args = {"service": service.id, "date": day, "start": start,
            "holder": {"ref": id_ref(web.id_key, number), "display_name": mask_name(name)},
            "phone": phone, "sms": form.get("sms") == "yes"}
    try:
        data = await web.gateway.call(Op.APPOINTMENT_BOOK, args)
    except RequestError as exc:
        if exc.code == "timeout":
            return page.unavailable()
        return await slots_page(web, page, service, day, days, {"book": page.server_says(exc)}, values, 409)
    booking = Booking.parse(data)
    # the consent record: which notice was agreed to, when, for which booking — no personal data
    log.info("booking %s: consent %s given (sms %s)", booking.code[:2] + "…", CONSENT_VERSION,
             "yes" if args["sms"] else "no")
    return page.render("booked.html", booking=booking, service=service, day_label=i18n.day_label(booking.date, page.lang))


@limited("page")
async def book_cancel(request: Request) -> Response:
    web = web_of(request)
    page = Page(web, request)
    if request.method == "GET":
        return page.render("cancel.html", errors={}, values={})
    form = await form_of(page)
    if isinstance(form, Response):
        return form
    wait = web.limiter.allow(client_ip(request.scope, web.config.proxy_networks), "post")
    if wait:
        seconds = max(1, int(wait + 0.999))
        response = page.message("too_many_title", page.t("too_many", s=seconds), 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    code = form.get("code", "").strip().upper()[:40]
    last4 = form.get("phone_last4", "").strip()[:10]
    raw_id = form.get("id_number", "").strip()[:40]
    errors: dict[str, str] = {}
    if not BOOKING_CODE.fullmatch(code):
        errors["code"] = page.t("v_code")
    args: dict[str, Any] = {"code": code}
    if raw_id and not last4:            # booked without SMS: the phone was not kept, the ID number identifies
        try:
            args["holder_ref"] = id_ref(web.id_key, check_id_number(raw_id, today=web.today()))
        except IdNumberError as exc:
            errors["id_number"] = page.t({BAD_CHECK_DIGIT: "v_id_check", BAD_BIRTH_DATE: "v_id_birth"}
                                         .get(exc.reason, "v_id_format"))
    elif not re.fullmatch(r"\d{4}", last4):
        errors["phone_last4"] = page.t("v_last4")
    else:
        args["phone_last4"] = last4
    if errors:
        return page.render("cancel.html", 400, errors=errors, values={"code": code})
    try:
        await web.gateway.call(Op.APPOINTMENT_CANCEL, args)
    except RequestError as exc:
        if exc.code == "timeout":
            return page.unavailable()
        return page.render("cancel.html", 404, errors={"lookup": page.t("cancel_failed")}, values={"code": code})
    return page.message("cancel_title", page.t("cancelled"), 200)


# ---------------------------------------------------------------- errors
async def http_error(request: Request, exc: Exception) -> Response:
    web = web_of(request)
    page = Page(web, request)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return page.not_found()
    if status == 405:
        return page.message("error_title", page.t("method"), 405)
    return page.message("error_title", page.t("error"), status)


async def server_error(scope: Scope, exc: Exception) -> Response:
    request = Request(scope)
    try:
        return Page(web_of(request), request).message("error_title", t("error", lang_of(request)), 500)
    except Exception:                       # the error page itself failed: still no stack trace
        return PlainTextResponse("出错了 / Something went wrong", status_code=500)


# ---------------------------------------------------------------- the app
def route_name(scope: Scope) -> str:
    """The route pattern that matches (`/t/{token}`), for logs: the path itself may hold a token."""
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", ())
    for route in routes:
        match, _ = route.matches({**scope, "type": "http"})
        if match is Match.FULL:
            return getattr(route, "path", "?")
    return "(no route)"


def routes() -> list[Any]:
    return [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/guide/{service}", guide),
        Route("/forms/{name}", form_file),
        Route("/t/{token}", ticket_page),
        Route("/t/{token}/events", ticket_events),
        Route("/rate/{token}", rate_page, methods=["GET", "POST"]),
        Route("/case", case_query, methods=["GET", "POST"]),
        Route("/c/{token}", case_token, methods=["GET", "POST"]),
        Route("/book", book, methods=["GET", "POST"]),
        Route("/book/cancel", book_cancel, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def static_version() -> str:
    import hashlib
    h = hashlib.sha256()
    for p in sorted((HERE / "static").iterdir()):
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def create_app(config: WebConfig, mirror: Mirror, bus: Bus, *, id_key: bytes, csrf_secret: bytes,
               forms_dir: Path | None = None, clock: Callable[[], float] = time.monotonic,
               today: Callable[[], date] = date.today, lifespan: Any = None) -> Starlette:
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                   trim_blocks=True, lstrip_blocks=True)
    limits = config.limits
    web = Web(config=config, mirror=mirror, gateway=Gateway(bus, config.client_id, config.request_timeout_s),
              id_key=id_key, csrf=Csrf(csrf_secret),
              limiter=RateLimiter({"page": limits.page_per_minute, "lookup": limits.lookup_per_minute,
                                   "post": limits.post_per_minute}, clock=clock),
              streams=StreamCounter(limits.max_streams_per_ip), templates=templates,
              forms_dir=forms_dir or config.forms_path(), static_version=static_version(), clock=clock, today=today)
    app = Starlette(routes=routes(), exception_handlers={HTTPException: http_error},
                    lifespan=lifespan)
    app.state.web = web
    app.add_middleware(EdgeMiddleware, route_of=route_name, on_error=server_error)
    return app

