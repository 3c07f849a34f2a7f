"""Safety at the edge: headers on every response, per-address limits (429 in Chinese), trusted proxies only,
the web role's ops only, secrets from the environment only."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from citizen_web.app import Gateway
from citizen_web.config import ConfigError, load
from citizen_web.security import RateLimiter, client_ip
from hall_bus.client import RequestError
from tests.citizen_web.conftest import TOKEN, Node, make_config, make_node, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", ["/", f"/t/{TOKEN}", "/nope", "/static/web.css", "/case", "/t/bad"])
def test_security_headers_on_every_response(node: Node, path: str) -> None:
    r = run(_get(node, path))
    h = r.headers
    assert "default-src 'none'" in h["content-security-policy"] and "frame-ancestors 'none'" in h["content-security-policy"]
    assert "script-src 'self'" in h["content-security-policy"] and "unsafe-inline" not in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == ("public, max-age=3600" if path.startswith("/static/") else "no-store")
    assert "charset=utf-8" in h["content-type"]


def test_the_csrf_cookie_is_strict_and_http_only(node: Node) -> None:
    cookie = run(_get(node, "/case")).headers["set-cookie"]
    assert "ow_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_lookups_are_limited_per_address_with_a_chinese_429_and_other_addresses_go_on() -> None:
    node = make_node(make_config(lookup_per_minute=20))

    async def go():
        codes = []
        async with node.client() as c:
            for _ in range(5):
                codes.append((await c.get(f"/t/{TOKEN}")).status_code)
            last = await c.get(f"/t/{TOKEN}")
        async with node.client(ip=("198.51.100.9", 1)) as other:
            theirs = (await other.get(f"/t/{TOKEN}")).status_code
        return codes, last, theirs
    codes, last, theirs = run(go())
    assert codes == [200] * 5            # a burst of a quarter of the minute's allowance, at least 5
    assert last.status_code == 429 and "请求过于频繁" in last.text and "每个网站节点分别计数" in last.text
    assert int(last.headers["retry-after"]) >= 1
    assert theirs == 200
    node.clock.now += 60
    assert run(_get(node, f"/t/{TOKEN}")).status_code == 200


def test_form_posts_have_their_own_stricter_limit() -> None:
    node = make_node(make_config(post_per_minute=4))        # fewer than 5 a minute: that many at once

    async def go():
        async with node.client() as c:
            page = (await c.get("/book/cancel")).text
            token = page.split('name="csrf" value="')[1].split('"')[0]
            return [(await c.post("/book/cancel", data={"code": "B0001", "phone_last4": "1234", "csrf": token}))
                    .status_code for _ in range(5)]
    assert run(go()) == [404, 404, 404, 404, 429]


def test_every_page_is_limited_too() -> None:
    node = make_node(make_config(page_per_minute=8))

    async def go():
        async with node.client() as c:
            return [(await c.get("/")).status_code for _ in range(6)]
    assert run(go()) == [200] * 5 + [429]


def test_the_limiter_forgets_an_address_once_its_bucket_is_full_again() -> None:
    now = [0.0]
    limiter = RateLimiter({"page": 60}, clock=lambda: now[0])
    for _ in range(20):
        limiter.allow("203.0.113.1", "page")
    assert len(limiter) == 1
    now[0] += 120
    limiter.allow("203.0.113.2", "page")
    assert len(limiter) == 1           # only the new one


def test_x_forwarded_for_is_believed_from_trusted_proxies_only() -> None:
    nets = (ipaddress.ip_network("10.0.0.0/8"),)
    scope = {"client": ("10.0.0.5", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4, 203.0.113.7")]}
    assert client_ip(scope, nets) == "203.0.113.7"          # the right-most hop the proxy added
    scope = {"client": ("198.51.100.1", 1), "headers": [(b"x-forwarded-for", b"203.0.113.7")]}
    assert client_ip(scope, nets) == "198.51.100.1"         # a client cannot pick its own address
    scope = {"client": ("10.0.0.5", 1), "headers": [(b"x-forwarded-for", b"garbage")]}
    assert client_ip(scope, nets) == "10.0.0.5"


def test_the_gateway_sends_only_what_the_web_role_may_call() -> None:
    calls = []

    class Bus:
        def request(self, op, args, *, timeout=8.0):
            calls.append(op)
            return {}
    g = Gateway(Bus(), "web-t1", 1.0)
    run(g.call("ticket.get", {"token": TOKEN}))
    for op, args in (("ticket.get", {"verify": "K7Q2"}), ("window.call_next", {"window": "w15"}),
                     ("case.get", {"number": "DA-20261130-0007"}), ("ticket.issue", {"service": "x"})):
        with pytest.raises(RequestError) as err:
            run(g.call(op, args))
        assert err.value.code == "forbidden"
    assert calls == ["ticket.get"]


def test_secrets_come_from_the_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "config" / "web.toml").read_text(encoding="utf-8")
    cfg = load(ROOT / "config" / "web.toml")
    monkeypatch.delenv("ONEWINDOW_WEB_SECRET", raising=False)
    with pytest.raises(ConfigError, match="ONEWINDOW_WEB_SECRET is not set"):
        cfg.secret("csrf_secret")
    monkeypatch.setenv("ONEWINDOW_WEB_SECRET", "short")
    with pytest.raises(ConfigError, match="shorter than 16"):
        cfg.secret("csrf_secret")
    monkeypatch.setenv("ONEWINDOW_WEB_SECRET", "a" * 32)
    assert cfg.secret("csrf_secret") == b"a" * 32
    literal = tmp_path / "web.toml"
    literal.write_text(text.replace('csrf_secret = "env:ONEWINDOW_WEB_SECRET"', 'csrf_secret = "abcdefabcdefabcdef"'),
                       encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(literal)
    assert any(p.startswith("csrf_secret: ") and "env:NAME" in p for p in err.value.problems)
    missing = tmp_path / "web2.toml"
    missing.write_text(text.replace('file = "ss-enroll.pdf"', 'file = "nope.pdf"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"forms\[0\]\.file: 'nope.pdf'"):
        load(missing)


async def _get(node: Node, path: str):
    async with node.client() as c:
        return await c.get(path)
