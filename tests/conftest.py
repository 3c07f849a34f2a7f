"""Suite-wide rules: Qt offscreen; garbage collected on the main (Qt GUI) thread only; under CI=true a skipped
test fails the run."""
from __future__ import annotations

import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config: pytest.Config) -> None:
    # The Qt apps collect cyclic garbage on their GUI thread only (hall_bus.gui_thread); so does the suite. With
    # automatic collection a paho or reader thread of one test could free the previous test's widgets, timers
    # and socket notifiers, and Qt's dispatcher on the main thread would touch freed memory (a CI segfault).
    gc.disable()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    gc.collect()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (a skip is a failure in CI): {reason}"
