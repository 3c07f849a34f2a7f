"""Widget tests of the panel run on the scripted bus of tests/support/fakebus.py."""
from __future__ import annotations

import pytest

from tests.support.fakebus import FakeBus


@pytest.fixture
def bus() -> FakeBus:
    return FakeBus()
