"""store/pool.py's contract (a number's lifecycle, its usage per day, each SMS received
counted once, the growth lease) on both implementations."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.store.dynamodb.pool import DynamoPool
from chalicelib.store.pool import ACTIVE, DRAINING, RELEASED, RELEASING, MemoryPool, PoolNumber, Received

NUMBER = "+14155550101"
DAY = date(2027, 1, 15)


@pytest.fixture
def pool(impl):
    store = MemoryPool() if impl == "memory" else DynamoPool()
    store.record(PoolNumber(NUMBER, 1.0, created_at=10, country="US", area_code="415", bought_at=10))
    return store


def test_a_recorded_number_keeps_what_other_writes_moved(pool):
    pool.adjust_open_sessions(NUMBER, +2, now=20)
    pool.hold_back(NUMBER, "30007: filtered", now=21)
    pool.record(PoolNumber(NUMBER, 3.0, created_at=10, twilio_sid="PN1", country="US", area_code="415"))
    number = pool.number(NUMBER)
    assert (number.segments_per_second, number.twilio_sid, number.open_sessions) == (3.0, "PN1", 2)
    assert number.held_back == "30007: filtered" and number.bought_at is None
    assert [n.phone_number for n in pool.numbers()] == [NUMBER]


def test_the_lifecycle_moves_only_from_where_it_may(pool):
    assert not pool.take_back(NUMBER, now=1), "not drained"
    assert pool.drain_auto(NUMBER, "auto", now=2) and not pool.drain_auto(NUMBER, "auto", now=3)
    assert pool.take_back(NUMBER, now=4) and pool.number(NUMBER).status == ACTIVE
    drained = pool.drain(pool.number(NUMBER), "requested", now=5)
    assert (drained.status, drained.drain_reason, drained.changed_at) == (DRAINING, "requested", 5)
    assert not pool.take_back(NUMBER, now=6), "drained on request: never taken back"
    assert pool.start_release(NUMBER) and pool.number(NUMBER).status == RELEASING
    assert not pool.start_release(NUMBER)
    pool.undo_release(NUMBER)
    assert pool.number(NUMBER).status == DRAINING
    pool.start_release(NUMBER)
    pool.released(NUMBER, now=9)
    assert (pool.number(NUMBER).status, pool.number(NUMBER).released_at) == (RELEASED, 9)


def test_a_hold_is_set_once_and_cleared_once(pool):
    assert pool.hold_back(NUMBER, "30034: unregistered", now=1)
    assert not pool.hold_back(NUMBER, "30007: filtered", now=2)
    assert not pool.hold_back("+14155550199", "30007: filtered", now=2), "not a pool number"
    assert pool.clear_hold(NUMBER) and not pool.clear_hold(NUMBER)


def test_the_open_session_counter_is_corrected_only_while_unchanged(pool):
    pool.adjust_open_sessions(NUMBER, +3, now=20)
    assert not pool.correct_open_sessions(NUMBER, counted=3, last_used_at=19, found=1)
    assert pool.correct_open_sessions(NUMBER, counted=3, last_used_at=20, found=1)
    assert pool.number(NUMBER).open_sessions == 1


def test_a_fold_moves_its_mark_once(pool):
    assert pool.fold(NUMBER, DAY, None, (5, 2))
    assert not pool.fold(NUMBER, DAY, None, (5, 2)), "another fold moved the mark first"
    assert pool.fold(NUMBER, DAY, (5, 2), (8, 3))
    assert pool.folded() == {NUMBER: (8, 3)}
    usage = pool.usage(DAY)[NUMBER]
    assert (usage.segments_out, usage.messages_out) == (8, 3)


def test_each_sms_received_is_counted_once_whatever_the_retries(pool):
    batch = [Received("evt_1", NUMBER, 2), Received("evt_2", NUMBER, 0, mms=True)]
    pool.count_received(DAY, batch, now=1.0)
    pool.count_received(DAY, [*batch, Received("evt_3", NUMBER, 1)], now=2.0)  # a retried batch, one more
    usage = pool.usage(DAY)[NUMBER]
    assert (usage.messages_in, usage.segments_in, usage.mms_in) == (3, 3, 1)
    pool.count_mms_sent(NUMBER, DAY)
    assert pool.usage(DAY)[NUMBER].mms_out == 1


def test_the_growth_lease_has_one_holder_until_it_expires(pool):
    assert pool.take_lease("a", now=0.0, until=60.0)
    assert not pool.take_lease("b", now=30.0, until=90.0)
    pool.give_back_lease("b")  # not b's: nothing changes
    assert not pool.take_lease("b", now=30.0, until=90.0)
    assert pool.take_lease("b", now=61.0, until=121.0), "an expired lease is free"
    pool.give_back_lease("b")
    assert pool.take_lease("c", now=62.0, until=122.0)


def test_the_autoscalers_memory_is_kept(pool):
    assert pool.autoscaler_memory() == {}
    pool.keep_autoscaler_memory({"quiet_since": 5})
    assert pool.autoscaler_memory() == {"quiet_since": 5}
