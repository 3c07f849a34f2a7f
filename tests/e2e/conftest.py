"""End-to-end fixtures: a real hall server subprocess on the embedded broker and on Mosquitto."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.hall import RunningHall, start_hall


@pytest.fixture(params=["embedded", "mosquitto"])
def hall(request: pytest.FixtureRequest, tmp_path) -> Iterator[RunningHall]:
    h = start_hall(tmp_path, request.param)
    yield h
    h.stop()


@pytest.fixture
def mosquitto_hall(tmp_path) -> Iterator[RunningHall]:
    h = start_hall(tmp_path, "mosquitto")
    yield h
    h.stop()
