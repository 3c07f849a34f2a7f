"""Issue 9 finding 15: the per-request work of an issue does not grow with the day. A waiting ticket transferred to
a named window must not turn every `ahead` into a walk over the queues, and the ID-card duplicate check must not
walk all of today's tickets. Counted (tickets looked at), not timed, so the test is exact on a busy machine."""
from __future__ import annotations

import pytest

from hall_bus.contract import ErrorCode
from hall_server.config import HallConfig
from hall_server.engine import Engine, HallError
from tests.hall_server.test_engine import at, small_config_dict


class _Counting(dict):
    """The engine's ticket table, counting how many tickets are looked at."""
    looked = 0

    def __getitem__(self, key):
        _Counting.looked += 1
        return super().__getitem__(key)

    def values(self):
        for v in super().values():
            _Counting.looked += 1
            yield v


def _busy_engine(n: int) -> Engine:
    e = Engine(HallConfig.model_validate({**small_config_dict(), "issuing": {"hours": [["00:00", "23:59"]],
                                                                              "weekdays": [1, 2, 3, 4, 5, 6, 7]}}))
    e.tickets = _Counting()
    for i in range(n):
        e.issue(at(8, 0, 0), ("s_a1", "s_b")[i % 2], "id_card", {"ref": f"holder-{i:05d}", "birth_date": "1990-01-01"})
    return e


def test_a_named_transfer_does_not_make_issue_walk_the_queue() -> None:
    e = _busy_engine(1800)
    e.call_next(at(9), "w1")
    e.transfer(at(9, 1), "w1", to_window="w2")        # one ticket waits for window 2 by name
    assert any(e.directed.values())
    _Counting.looked = 0
    out = e.issue(at(9, 2), "s_a1", "walk_in")
    # window 1 (the only open one) calls s_a1 and s_b: everyone waiting but the ticket named for window 2
    assert out.data["ahead"] == 1799
    assert _Counting.looked < 50, f"an issue looked at {_Counting.looked} tickets"


def test_the_id_card_duplicate_check_looks_only_at_the_holders_tickets() -> None:
    e = _busy_engine(1800)
    _Counting.looked = 0
    out = e.issue(at(9), "s_a1", "id_card", {"ref": "holder-00007", "birth_date": "1990-01-01"})
    assert _Counting.looked < 50, f"an issue looked at {_Counting.looked} tickets"
    assert out.data["number"] == "A901"
    with pytest.raises(HallError) as exc:        # B004 (s_b) is still this holder's: refused, as before
        e.issue(at(9), "s_b", "id_card", {"ref": "holder-00007", "birth_date": "1990-01-01"})
    assert exc.value.code is ErrorCode.DUPLICATE_HOLDER and "B004" in exc.value.message
