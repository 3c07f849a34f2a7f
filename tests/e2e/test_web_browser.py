"""The citizen web in a real browser: headless Chromium (Debian chromium + chromium-driver) driven by Selenium against
one `onewindow web` node on a real hall server. A ticket page changes without a reload when a panel calls the
ticket and again when the window finishes (then the rating link, rated once); booking through the forms gives a code
a kiosk checks in; the case query and its 办结评议 link; the 360 px layout in zh and en, rendered to PNG (also copied to
/tmp/web-shots/ for people to look at), with no horizontal scroll and a first load of the ticket page < 50 KB.

The node here runs with raised per-address limits (all of Chromium's requests come from 127.0.0.1 and these tests
load far more pages a minute than one citizen does); the limits themselves are tested in tests/citizen_web."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall_bus import BusClient
from hall_bus.contract import Op
from hall_bus.idnumber import check_digit
from tests.support.browser import chrome, console_errors, full_page_png, scroll_width, transferred_bytes
from tests.support.hall import HALL_CONFIG, ONEWINDOW, ROOT, RunningHall, all_day_hall, start_hall, wait_for_line

TZ = ZoneInfo("Asia/Shanghai")
ENV = {"ONEWINDOW_ID_HMAC_KEY": "e2e-id-key-0123456789", "ONEWINDOW_WEB_SECRET": "e2e-web-secret-0123456789"}
SERVICE = "ss_enroll"              # z1, windows w1 w3 w4 w6 w7 … serve it; tickets are called by number, one window each
ID_NUMBER = "11010519850312003" + check_digit("11010519850312003")
APPLICANT = {"name": "欧阳秀英", "id_number": "510304194810150028"}
SHOTS_COPY = Path("/tmp/web-shots")
WAIT_S = 20


def hall_config(tmp: Path) -> Path:
    """The shipped hall with booking possible right now: issuing all day, today and tomorrow working days, slots of
    10 minutes (the next one starts within the kiosk's check-in grace)."""
    today = datetime.now(TZ).date()
    text = HALL_CONFIG.read_text(encoding="utf-8")
    text = all_day_hall(text, extra_days=[today, today + timedelta(days=1)])
    text = text.replace("slot_minutes = 30", "slot_minutes = 10").replace("# seats = 4", "seats = 2", 1)
    # the staff file is relative to the shipped hall.toml; windows here call without a staff member signed in
    text = re.sub(r'^file = "([^"/]+)"', lambda m: f'file = "{HALL_CONFIG.parent / m.group(1)}"', text, flags=re.M)
    text = text.replace("sign_in_required = true", "sign_in_required = false")
    path = tmp / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def web_config(tmp: Path, node_id: str = "browser", **limits: int) -> Path:
    text = (ROOT / "config" / "web.toml").read_text(encoding="utf-8").replace('id = "w1"', f'id = "{node_id}"', 1)
    limits = {"page_per_minute": 3000, "lookup_per_minute": 3000, "post_per_minute": 600, **limits}
    for key, value in limits.items():
        text, n = re.subn(rf"^{key} = \d+", f"{key} = {value}", text, count=1, flags=re.M)
        assert n == 1, key
    path = tmp / f"web-{node_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_node(tmp: Path, hall: RunningHall, node_id: str = "browser", **limits: int) -> tuple[subprocess.Popen, str]:
    """`onewindow web` on a free port → (process, its URL)."""
    log = tmp / f"web-{node_id}.log"
    with log.open("w") as err:
        node = subprocess.Popen(ONEWINDOW + ["web", "--config", str(web_config(tmp, node_id, **limits)),
                                             "--listen", "127.0.0.1:0", "--broker", hall.url, "--log-level", "info"],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
                                env=dict(os.environ, PYTHONUNBUFFERED="1", **ENV))
    line, _ = wait_for_line(node, 40)
    if not line:
        stop_node(node)
        raise RuntimeError(f"the web node did not become ready: {log.read_text()[-2000:]}")
    return node, json.loads(line)["url"]


def stop_node(node: subprocess.Popen) -> None:
    if node.poll() is None:
        node.terminate()
        try:
            node.wait(10)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
    if node.stdout:
        node.stdout.close()


@dataclass
class Site:
    hall: RunningHall
    url: str
    node: subprocess.Popen
    log: Path
    shots: Path
    tmp: Path
    clients: dict[str, BusClient] = field(default_factory=dict)
    opened: set[str] = field(default_factory=set)

    def client(self, client_id: str) -> BusClient:
        if client_id not in self.clients:
            self.clients[client_id] = self.hall.client(client_id)
        return self.clients[client_id]

    def issue(self, service: str = SERVICE) -> dict:
        return self.client("kiosk-k1").request(Op.TICKET_ISSUE, {"service": service, "channel": "walk_in"},
                                               timeout=10)

    def call(self, window: str, number: str) -> dict:
        """Window `window` calls ticket `number` (each test calls at windows of its own: a second call at one
        window within [calling] repeat_window_s would be a recall)."""
        panel = self.client(f"panel-{window}")
        if window not in self.opened:
            panel.request(Op.WINDOW_OPEN, {"window": window}, timeout=10)
            self.opened.add(window)
        return panel.request(Op.WINDOW_CALL, {"window": window, "number": number}, timeout=10)

    def finish(self, window: str) -> dict:
        return self.client(f"panel-{window}").request(Op.WINDOW_FINISH, {"window": window}, timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web-browser")
    hall = start_hall(tmp, config=hall_config(tmp))
    node = None
    try:
        node, url = start_node(tmp, hall)
        shots = tmp / "shots"
        shots.mkdir()
        s = Site(hall, url, node, tmp / "web-browser.log", shots, tmp)
        yield s
        for c in s.clients.values():
            c.stop()
    finally:
        if node is not None:
            stop_node(node)
        hall.stop()


@pytest.fixture(scope="module")
def drv(site: Site) -> Iterator[Any]:
    d = chrome()
    yield d
    with contextlib.suppress(Exception):
        d.quit()


@pytest.fixture(autouse=True)
def _console_of_this_test_only(drv: Any) -> None:
    console_errors(drv)              # what earlier tests left in the browser's console is theirs


def wait_for(drv: Any, check: Any, what: str, timeout: float = WAIT_S) -> Any:
    from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException, TimeoutException,
                                            WebDriverException)
    from selenium.webdriver.support.ui import WebDriverWait
    def look(d: Any) -> Any:
        try:
            return check(d)
        except WebDriverException as exc:     # chromedriver's own word for an element the next page replaced
            if "does not belong to the document" in str(exc):
                return False
            raise

    try:          # a check may look while the next page replaces the last: stale or missing elements mean "not yet"
        return WebDriverWait(drv, timeout, poll_frequency=0.1,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                             ).until(look)
    except TimeoutException:
        raise AssertionError(f"{what}: not within {timeout} s; the page says: "
                             f"{drv.find_element('tag name', 'main').text[:600]!r}") from None


def text_of(drv: Any, css: str) -> str:
    from selenium.webdriver.common.by import By
    return drv.find_element(By.CSS_SELECTOR, css).text


def visible(drv: Any, css: str) -> bool:
    from selenium.webdriver.common.by import By
    found = drv.find_elements(By.CSS_SELECTOR, css)
    return bool(found) and found[0].is_displayed()


def shoot(site: Site, drv: Any, name: str) -> Path:
    """A PNG of the page as it is now, here and in /tmp/web-shots/; the page must fit 360 px (no horizontal
    scroll)."""
    errors = console_errors(drv)
    assert not errors, f"{name}: the browser console says {errors}"
    width = scroll_width(drv)
    assert width <= 360, f"{name}: the page is {width} px wide at a 360 px phone (horizontal scroll)"
    path = site.shots / f"{name}.png"
    full_page_png(drv, path)
    assert path.stat().st_size > 2000
    SHOTS_COPY.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS_COPY / path.name)
    return path


def submit(drv: Any, form_css: str = "form.form") -> None:
    from selenium.webdriver.common.by import By
    drv.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]").click()


# ---------------------------------------------------------------- 1. the live ticket page
def test_the_ticket_page_changes_without_reload_on_call_and_finish_then_rates_once(site: Site, drv: Any) -> None:
    from selenium.webdriver.common.by import By
    ticket = site.issue()
    token, number = ticket["token"], ticket["number"]
    drv.get(f"{site.url}/t/{token}?lang=zh")
    assert text_of(drv, ".number") == number and "城镇职工养老保险参保登记" in text_of(drv, "#ticket")
    assert not visible(drv, "#called") and visible(drv, "#ahead-box")
    wait_for(drv, lambda d: text_of(d, "#live") == "实时更新中", "the live stream connected")
    drv.execute_script("window.__stillTheSamePage = 42;")

    called = site.call("w1", number)
    assert called["number"] == number
    wait_for(drv, lambda d: visible(d, "#called") and text_of(d, "#called") == "请到1号窗口",
             "the call shown on the page")
    assert drv.execute_script("return window.__stillTheSamePage;") == 42, "the page was reloaded"
    assert text_of(drv, "#window") == "1号窗口" and not visible(drv, "#ahead-box")
    assert text_of(drv, "#state") == "办理中"

    site.finish("w1")
    wait_for(drv, lambda d: visible(d, "#rate-box"), "the rating link after the window finished")
    assert drv.execute_script("return window.__stillTheSamePage;") == 42, "the page was reloaded"
    assert not visible(drv, "#called") and not visible(drv, "#live")
    assert console_errors(drv) == []          # the script ran its updates without an error or a CSP refusal

    # rate it: the link, a grade and a comment → thanks; the same form sent again from a second tab → rated already
    drv.find_element(By.CSS_SELECTOR, "#rate-box a").click()
    wait_for(drv, lambda d: d.current_url.endswith(f"/rate/{token}"), "the rating page")
    first_tab = drv.current_window_handle
    drv.switch_to.new_window("tab")
    drv.get(f"{site.url}/rate/{token}")
    second_tab = drv.current_window_handle
    drv.switch_to.window(first_tab)
    drv.find_element(By.CSS_SELECTOR, "input[name=grade][value='5']").click()
    drv.find_element(By.ID, "comment").send_keys("窗口人员很耐心")
    submit(drv)
    wait_for(drv, lambda d: "感谢您的评价" in text_of(d, "main"), "the thank-you page")
    drv.switch_to.window(second_tab)
    drv.find_element(By.CSS_SELECTOR, "input[name=grade][value='1']").click()
    submit(drv)
    wait_for(drv, lambda d: "您已经评价过了" in text_of(d, "main"), "the already-rated answer")
    drv.close()
    drv.switch_to.window(first_tab)
    drv.get(f"{site.url}/rate/{token}")
    assert "您已评价，感谢！" in text_of(drv, "main") and not drv.find_elements(By.CSS_SELECTOR, "form.form")
    drv.get(f"{site.url}/t/{token}")
    assert "您已评价，感谢！" in text_of(drv, "#ticket") and not visible(drv, "#rate-box")


# ---------------------------------------------------------------- 2. booking through the forms, checked in at a kiosk
def test_booking_through_the_forms_gives_a_code_a_kiosk_checks_in(site: Site, drv: Any) -> None:
    from selenium.webdriver.common.by import By
    now = datetime.now(TZ)
    # the next 10-minute slot of today; after 23:45 the first one of tomorrow (00:00, within the 30 min grace)
    day = (now.date() + timedelta(days=1) if now.hour == 23 and now.minute >= 45 else now.date()).isoformat()
    drv.get(f"{site.url}/book?lang=zh")
    drv.find_element(By.CSS_SELECTOR, f"a[href='/book?service={SERVICE}']").click()
    wait_for(drv, lambda d: d.find_elements(By.CSS_SELECTOR, f"a[href$='date={day}']"), "the list of days")
    drv.find_element(By.CSS_SELECTOR, f"a[href$='date={day}']").click()
    wait_for(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=start]"), "the slots of the day")
    slot = next(e for e in drv.find_elements(By.CSS_SELECTOR, "input[name=start]") if e.is_enabled())
    start = slot.get_attribute("value")
    slot.click()
    drv.find_element(By.ID, "name").send_keys("张三")
    drv.find_element(By.ID, "id_number").send_keys(ID_NUMBER)
    drv.find_element(By.ID, "phone").send_keys("138 1234 5678")
    drv.find_element(By.CSS_SELECTOR, "input[name=consent]").click()
    submit(drv)
    wait_for(drv, lambda d: "预约成功" in text_of(d, "main"), "the booking answer")
    code = text_of(drv, ".number")
    assert re.fullmatch(r"[A-Z0-9]{6,12}", code), code
    assert start in text_of(drv, ".where") and ID_NUMBER not in drv.page_source
    shoot(site, drv, "book-4-booked-zh")

    checked_in = site.client("kiosk-k1").request(Op.APPOINTMENT_CHECKIN, {"code": code}, timeout=10)
    assert checked_in["channel"] == "appointment" and checked_in["service"] == SERVICE and checked_in["token"]
    drv.get(f"{site.url}/t/{checked_in['token']}")
    assert text_of(drv, ".number") == checked_in["number"] and text_of(drv, "#state") == "等候中"


# ---------------------------------------------------------------- 3. case query and the 办结评议 link
def test_case_query_shows_the_public_view_and_the_case_link_rates_once(site: Site, drv: Any) -> None:
    from selenium.webdriver.common.by import By
    ticket = site.issue()
    site.call("w4", ticket["number"])
    case = site.client("panel-w4").request(Op.CASE_ACCEPT, {"window": "w4", "applicant": APPLICANT,
                                                            "missing": ["劳动合同"]}, timeout=10)
    site.finish("w4")
    number, code, token = case["number"], case["query_code"], case["token"]

    for lang, accepted in (("zh", "已受理"), ("en", "Accepted")):
        drv.get(f"{site.url}/case?lang={lang}")
        drv.find_element(By.ID, "number").send_keys(number.lower())
        drv.find_element(By.ID, "query_code").send_keys(code)
        submit(drv)
        wait_for(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "p.status"), "the case")
        assert text_of(drv, ".number") == number and accepted in text_of(drv, "p.status")
        assert "劳动合同" in text_of(drv, "main") and APPLICANT["name"] not in drv.page_source
        shoot(site, drv, f"case-result-{lang}")
    drv.get(f"{site.url}/case?lang=zh")
    drv.find_element(By.ID, "number").send_keys(number)
    drv.find_element(By.ID, "query_code").send_keys("000000" if code != "000000" else "111111")
    submit(drv)
    wait_for(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "p.err"), "the failed lookup")
    assert not drv.find_elements(By.CSS_SELECTOR, "p.status")
    assert [e for e in console_errors(drv) if "404" not in e] == []       # the failed lookup's page is a 404

    drv.get(f"{site.url}/c/{token}")
    assert text_of(drv, ".number") == number and "已受理" in text_of(drv, "p.status")
    assert not drv.find_elements(By.CSS_SELECTOR, "form.form")          # not rateable before it is closed
    dept = site.client("dept-hrss")
    for change, extra in (("in_progress", {}), ("done", {"result": "approved"})):
        dept.request(Op.CASE_UPDATE, {"number": number, "change": change, "actor": "审批系统", **extra}, timeout=10)
    drv.get(f"{site.url}/c/{token}")
    assert "已办结" in text_of(drv, "p.status")
    first_tab = drv.current_window_handle
    drv.switch_to.new_window("tab")
    drv.get(f"{site.url}/c/{token}")
    second_tab = drv.current_window_handle
    drv.switch_to.window(first_tab)
    drv.find_element(By.CSS_SELECTOR, "input[name=grade][value='4']").click()
    submit(drv)
    wait_for(drv, lambda d: "感谢您的评价" in text_of(d, "main"), "the thank-you page")
    drv.switch_to.window(second_tab)
    drv.find_element(By.CSS_SELECTOR, "input[name=grade][value='2']").click()
    submit(drv)
    wait_for(drv, lambda d: "您已经评价过了" in text_of(d, "main"), "the already-rated answer")
    drv.close()
    drv.switch_to.window(first_tab)


# ---------------------------------------------------------------- 4. the 360 px layout in zh and en
def test_pages_at_360_px_in_both_languages_fit_and_the_ticket_page_loads_under_50_kb(site: Site, drv: Any) -> None:
    from selenium.webdriver.common.by import By
    waiting = [site.issue() for _ in range(3)]
    called = site.issue()
    token_waiting, token_called = waiting[-1]["token"], called["token"]
    site.call("w7", called["number"])
    today = datetime.now(TZ).date().isoformat()

    # first load of a ticket page in a browser with an empty cache, as the wire carried it
    fresh = chrome()
    try:
        fresh.get(f"{site.url}/t/{token_waiting}")
        wait_for(fresh, lambda d: d.execute_script("return document.readyState") == "complete", "the load")
        moved = transferred_bytes(fresh)
        kinds = fresh.execute_script(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    finally:
        fresh.quit()
    assert any("/static/web.css" in k for k in kinds) and any("/static/ticket.js" in k for k in kinds), kinds
    assert len(kinds) == 2, kinds            # nothing else (no /favicon.ico answered with the not-found page)
    assert 1000 < moved < 50_000, f"first load of /t/ moved {moved} bytes"
    SHOTS_COPY.mkdir(parents=True, exist_ok=True)
    (SHOTS_COPY / "first-load.json").write_text(json.dumps({"path": "/t/{token}", "transfer_bytes": moved,
                                                            "resources": kinds}, indent=1))

    for lang in ("zh", "en"):
        pages = [("home", "/"), ("ticket-waiting", f"/t/{token_waiting}"), ("ticket-called", f"/t/{token_called}"),
                 ("book-1-service", "/book"), ("book-2-day", f"/book?service={SERVICE}"),
                 ("book-3-slot", f"/book?service={SERVICE}&date={today}")]
        for name, path in pages:
            drv.get(f"{site.url}{path}{'&' if '?' in path else '?'}lang={lang}")
            assert drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == ("en" if lang == "en" else "zh-CN")
            if name == "ticket-called":
                want = "Please go to Window 7" if lang == "en" else "请到7号窗口"
                assert visible(drv, "#called") and text_of(drv, "#called") == want
            if name == "ticket-waiting":
                wait_for(drv, lambda d: text_of(d, "#live") in ("实时更新中", "Live"), "the live stream")
            shoot(site, drv, f"{name}-{lang}")
    # the large-text mode still fits
    drv.get(f"{site.url}/t/{token_called}?lang=zh&size=large")
    shoot(site, drv, "ticket-called-zh-large")
    drv.get(f"{site.url}/?size=normal")
    site.finish("w7")


# ---------------------------------------------------------------- 5. a live page refused a stream comes back
def test_a_page_refused_its_stream_reconnects_later_and_then_shows_the_call(site: Site, drv: Any) -> None:
    """EventSource gives up for good on a 429 (or a 502/503 while a node restarts); the page's script opens a new
    one later. Here a node allows one live page per address: the second tab is refused until the first closes."""
    node, url = start_node(site.tmp, site.hall, "strict", max_streams_per_ip=1)
    try:
        ticket = site.issue()
        first = drv.current_window_handle
        drv.get(f"{url}/t/{ticket['token']}")
        wait_for(drv, lambda d: text_of(d, "#live") == "实时更新中", "the first tab's stream")
        drv.switch_to.new_window("tab")
        second = drv.current_window_handle
        drv.get(f"{url}/t/{ticket['token']}")
        wait_for(drv, lambda d: text_of(d, "#live") == "连接中断，正在自动重连…", "the second tab refused (429)")
        drv.switch_to.window(first)
        drv.close()
        drv.switch_to.window(second)
        wait_for(drv, lambda d: text_of(d, "#live") == "实时更新中", "the second tab's stream, opened again", 40)
        site.call("w6", ticket["number"])
        wait_for(drv, lambda d: visible(d, "#called") and text_of(d, "#called") == "请到6号窗口", "the call")
        console_errors(drv)            # the refused stream's 429 is in the console: expected here
    finally:
        stop_node(node)
