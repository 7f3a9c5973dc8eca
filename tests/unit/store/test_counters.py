"""store/counters.py's contract (a log replaced only as read; a count below its limit)."""

from __future__ import annotations

import pytest

from chalicelib.store.counters import MemoryCounters
from chalicelib.store.dynamodb.counters import DynamoCounters


@pytest.fixture
def counters(impl):
    return MemoryCounters() if impl == "memory" else DynamoCounters()


def test_a_log_is_replaced_only_while_it_is_the_one_read(counters):
    assert counters.log("phone#1") is None
    assert counters.replace_log("phone#1", (1.0,), None, expires_at=100)
    assert not counters.replace_log("phone#1", (2.0,), None, expires_at=100), "another wrote first"
    first = counters.log("phone#1")
    assert first.times == (1.0,)
    assert counters.replace_log("phone#1", (1.0, 2.0), first, expires_at=100)
    assert not counters.replace_log("phone#1", (3.0,), first, expires_at=100), "read before the last write"
    assert counters.log("phone#1").times == (1.0, 2.0)


def test_a_count_stops_at_its_limit(counters):
    assert [counters.take("global#0", 2, expires_at=100) for _ in range(3)] == [1, 2, None]
    assert counters.take("global#3600", 2, expires_at=100) == 1, "another window counts apart"


def test_counts_without_a_limit_are_read_back_by_key(counters):
    for _ in range(3):
        counters.add("lookups#2026-12-07#line_type_intelligence", expires_at=100)
    counters.add("lookups#2026-12-08#line_type_intelligence", expires_at=100)
    assert counters.counts(
        ["lookups#2026-12-07#line_type_intelligence", "lookups#2026-12-08#line_type_intelligence", "lookups#none"]
    ) == {"lookups#2026-12-07#line_type_intelligence": 3, "lookups#2026-12-08#line_type_intelligence": 1}
