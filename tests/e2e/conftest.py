"""End-to-end fixtures: a real hall server subprocess on the embedded broker and on Mosquitto. Every test under
tests/e2e is in the e2e tier (tests/conftest.py): real brokers, subprocesses and sockets belong here."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.hall import RunningHall, start_hall
from tests.support.tools import require_tool


@pytest.fixture(params=["embedded", "mosquitto"])
def hall(request: pytest.FixtureRequest, tmp_path) -> Iterator[RunningHall]:
    if request.param == "mosquitto":
        require_tool("mosquitto", package="mosquitto")
    h = start_hall(tmp_path, request.param)
    yield h
    h.stop()


@pytest.fixture
def mosquitto_hall(tmp_path) -> Iterator[RunningHall]:
    require_tool("mosquitto", package="mosquitto")
    h = start_hall(tmp_path, "mosquitto")
    yield h
    h.stop()
