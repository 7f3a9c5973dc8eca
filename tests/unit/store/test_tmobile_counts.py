"""store/tmobile_counts.py's contract: a message counted once, never past the cap, its count
given back once; T-Mobile's 30023 fills the day."""

from __future__ import annotations

import threading

import pytest

from chalicelib.store.dynamodb.tmobile_counts import DynamoTMobileCounts
from chalicelib.store.tmobile_counts import MemoryTMobileCounts

DAY, NEXT = "2026-12-07", "2026-12-08"


@pytest.fixture
def counts(impl):
    return MemoryTMobileCounts() if impl == "memory" else DynamoTMobileCounts()


def test_a_message_counts_once_and_the_cap_holds(counts):
    assert counts.admit(DAY, "msg_1", 2, cap=3, expires_at=100).admitted
    again = counts.admit(DAY, "msg_1", 2, cap=3, expires_at=100)
    assert again.admitted and again.count == 2, "a retry of the same message adds nothing"
    refused = counts.admit(DAY, "msg_2", 2, cap=3, expires_at=100)
    assert not refused.admitted and refused.count == 2
    assert counts.admit(DAY, "msg_3", 1, cap=3, expires_at=100).count == 3
    assert counts.count(DAY) == 3
    assert counts.admit(NEXT, "msg_2", 2, cap=3, expires_at=100).admitted, "a new day counts apart"


def test_a_count_given_back_once_and_counted_again_on_a_retry(counts):
    counts.admit(DAY, "msg_1", 2, cap=3, expires_at=100)
    assert counts.give_back(DAY, "msg_1")
    assert not counts.give_back(DAY, "msg_1"), "given back already"
    assert not counts.give_back(DAY, "msg_never"), "never counted"
    assert counts.count(DAY) == 0
    assert counts.admit(DAY, "msg_1", 2, cap=3, expires_at=100).count == 2


def test_t_mobiles_30023_fills_the_day(counts):
    counts.admit(DAY, "msg_1", 1, cap=10, expires_at=100)
    counts.fill(DAY, 10, expires_at=100)
    assert counts.count(DAY) == 10
    assert not counts.admit(DAY, "msg_2", 1, cap=10, expires_at=100).admitted
    counts.fill(DAY, 5, expires_at=100)
    assert counts.count(DAY) == 10, "never lowered"


def test_racing_senders_never_pass_the_cap_together(counts, impl, request):
    if impl == "dynamodb":
        request.getfixturevalue("atomic_moto")
    results: list[bool] = []

    def send(i: int) -> None:
        results.append(counts.admit(DAY, f"msg_{i}", 1, cap=5, expires_at=100).admitted)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5 and counts.count(DAY) == 5
