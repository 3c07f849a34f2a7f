"""Headless Chromium driven by Selenium, with Debian's chromium and chromium-driver (Playwright cannot fetch its own
browsers here). A missing browser or driver FAILS the test (require_tool), it never skips. The window is a phone's:
360 x 740 CSS pixels unless told otherwise."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.tools import require_tool

PHONE_WIDTH = 360
PHONE_HEIGHT = 740
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars")


def chrome(width: int = PHONE_WIDTH, height: int = PHONE_HEIGHT, lang: str = "zh-CN") -> Any:
    """A new headless Chromium (selenium WebDriver); the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = require_tool("chromium", package="chromium")
    driver = require_tool("chromedriver", package="chromium-driver")
    opts = webdriver.ChromeOptions()
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    opts.add_argument(f"--lang={lang}")
    opts.binary_location = binary
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})       # console errors: see console_errors()
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    drv.set_page_load_timeout(30)
    # Chromium keeps a window at least 500 px wide whatever --window-size says: the phone's width comes from device
    # metrics emulation, which must take (a test at 500 px would pass a page a phone has to scroll sideways)
    phone_viewport(drv, width, height)
    return drv


def phone_viewport(drv: Any, width: int = PHONE_WIDTH, height: int = PHONE_HEIGHT) -> None:
    """A phone's screen: device metrics emulation at `width` CSS pixels (a page with the usual
    `<meta name="viewport" content="width=device-width">` then lays out at exactly that width)."""
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})


@pytest.fixture
def browser_factory() -> Iterator[Callable[..., Any]]:
    """`browser_factory(width=360, height=740, lang="zh-CN")` → a driver; every one made is quit after the test."""
    made: list[Any] = []

    def make(**kw: Any) -> Any:
        drv = chrome(**kw)
        made.append(drv)
        return drv

    yield make
    for drv in made:
        with contextlib.suppress(Exception):
            drv.quit()


def transferred_bytes(drv: Any) -> int:
    """Bytes the last page load moved on the wire: the navigation entry plus every resource entry (transferSize,
    headers included; 0 for what came from the cache)."""
    return int(drv.execute_script(
        "var n = performance.getEntriesByType('navigation')[0];"
        "var r = performance.getEntriesByType('resource');"
        "return (n ? n.transferSize : 0) + r.reduce(function (a, e) { return a + e.transferSize; }, 0);"))


def scroll_width(drv: Any) -> int:
    """The page's layout width in CSS pixels at a phone's viewport (≤ 360: no horizontal scroll)."""
    phone_viewport(drv)
    viewport = int(drv.execute_script("return document.documentElement.clientWidth;"))
    assert viewport == PHONE_WIDTH, f"the page lays out {viewport} px wide on a {PHONE_WIDTH} px phone (viewport meta?)"
    return int(drv.execute_script("return document.documentElement.scrollWidth;"))


def full_page_png(drv: Any, path: Any) -> None:
    """A PNG of the whole page at the phone's width (the window grown to the document's height for the shot)."""
    height = int(drv.execute_script("return Math.max(document.documentElement.scrollHeight, %d);" % PHONE_HEIGHT))
    try:
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": PHONE_WIDTH, "height": min(height, 4000), "deviceScaleFactor": 1,
                             "mobile": True})
        drv.save_screenshot(str(path))
    finally:
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": PHONE_WIDTH, "height": PHONE_HEIGHT, "deviceScaleFactor": 1, "mobile": True})


def console_errors(drv: Any) -> list[str]:
    """The browser console's errors since the last call (a CSP violation, a script error, a failed load)."""
    return [e["message"] for e in drv.get_log("browser") if e.get("level") == "SEVERE"]
