"""The one percentile of the report and the benches: nearest rank, always a value that was measured."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall_server.stats import percentile, summary


def test_nearest_rank_on_small_samples():
    waits = [300.0, 60.0, 900.0, 120.0, 600.0]
    assert percentile(waits, 50) == 300.0
    assert percentile(waits, 90) == 900.0 and percentile(waits, 80) == 600.0
    assert percentile(waits, 100) == 900.0 and percentile(waits, 1) == 60.0
    assert percentile(range(1, 101), 99) == 99 and percentile(range(1, 101), 90) == 90
    assert percentile([1.0, 2.0], 50) == 1.0             # the lower median: a value measured, not 1.5


def test_no_values_is_an_error_not_a_number():
    with pytest.raises(ValueError):
        percentile([], 90)
    with pytest.raises(ValueError):
        percentile([1.0], 0)
    assert summary([]) == {"n": 0}


def test_summary():
    assert summary([float(x) for x in range(1, 101)]) == {"n": 100, "p50": 50.0, "p90": 90.0, "p99": 99.0,
                                                           "max": 100.0, "mean": 50.5}


@given(st.lists(st.floats(-1e6, 1e6), min_size=1), st.floats(0.1, 100))
def test_at_least_p_percent_are_at_or_below_and_it_was_measured(values, p):
    v = percentile(values, p)
    assert v in values
    assert sum(1 for x in values if x <= v) >= p / 100 * len(values) - 1e-9
    assert sum(1 for x in values if x < v) < p / 100 * len(values)
