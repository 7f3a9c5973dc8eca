"""GCRA arithmetic case by case (as redis-cell tests it) and its properties
over random schedules (core/gcra.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chalicelib.core import gcra
from chalicelib.core.gcra import Decision, decide

T0 = 1_800_000_000.0  # an epoch second, so float sums behave as they will in production

# (tat, now, cost, burst) -> (allowed, new_tat, wait), times relative to T0
DECIDE_CASES = [
    # a fresh key (TAT in the past) allows at once and moves the TAT to now + cost
    ((0.0, 0.0, 1.0, 0.0), (True, 1.0, 0.0)),
    ((-50.0, 0.0, 1.0, 0.0), (True, 1.0, 0.0)),
    # the next send waits for the TAT; the refusal leaves the TAT alone
    ((1.0, 0.0, 1.0, 0.0), (False, 1.0, 1.0)),
    ((1.0, 0.25, 1.0, 0.0), (False, 1.0, 0.75)),
    # at the TAT exactly it goes, and charges from the TAT (no gap, no overlap)
    ((1.0, 1.0, 1.0, 0.0), (True, 2.0, 0.0)),
    # a late send charges from now: idle time is not banked without a burst
    ((1.0, 5.0, 1.0, 0.0), (True, 6.0, 0.0)),
    # whether a send may go does not depend on its own cost; the cost moves the TAT
    ((0.0, 0.0, 3.0, 0.0), (True, 3.0, 0.0)),
    ((3.0, 2.0, 1.0, 0.0), (False, 3.0, 1.0)),
    ((3.0, 3.0, 0.5, 0.0), (True, 3.5, 0.0)),
    # toll-free: 3 segments per second, a 2-segment message costs 2/3 s
    ((0.0, 0.0, 2 / 3, 0.0), (True, 2 / 3, 0.0)),
    # a burst of 2 s lets the TAT run 2 s ahead of now: three 1 s sends at once, then wait
    ((0.0, 0.0, 1.0, 2.0), (True, 1.0, 0.0)),
    ((1.0, 0.0, 1.0, 2.0), (True, 2.0, 0.0)),
    ((2.0, 0.0, 1.0, 2.0), (True, 3.0, 0.0)),
    ((3.0, 0.0, 1.0, 2.0), (False, 3.0, 1.0)),
    ((3.0, 1.0, 1.0, 2.0), (True, 4.0, 0.0)),
    # a float sum a hair short of the slot still counts as on time
    ((1.0 + 5e-7, 1.0, 1.0, 0.0), (True, 2.0 + 5e-7, 0.0)),
]


@pytest.mark.parametrize("given_, expected", DECIDE_CASES)
def test_decide_case_table(given_, expected):
    tat, now, cost, burst = given_
    decision = decide(T0 + tat, T0 + now, cost, burst)
    allowed, new_tat, wait = expected
    assert decision.allowed is allowed
    assert decision.new_tat == pytest.approx(T0 + new_tat, abs=1e-6)
    assert decision.wait_seconds == pytest.approx(wait, abs=1e-6)


def test_decide_refuses_negative_costs():
    with pytest.raises(ValueError):
        decide(0.0, 0.0, -1.0)
    with pytest.raises(ValueError):
        decide(0.0, 0.0, 1.0, -1.0)


def test_cost_counts_segments_at_the_numbers_rate():
    assert gcra.cost_seconds(1, 1) == 1.0
    assert gcra.cost_seconds(3, 3) == 1.0
    assert gcra.cost_seconds(4, 100) == 0.04
    assert gcra.cost_seconds(0, 1) == 1.0  # a message is at least one segment


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    attempts=st.lists(st.tuples(st.floats(0, 5, allow_nan=False), st.integers(1, 10)), min_size=1, max_size=40),
    rate=st.sampled_from([1.0, 3.0, 100.0, 0.5]),
)
def test_sends_the_limiter_allows_never_come_closer_than_their_segments(attempts, rate):
    """Random attempts (gap since the last attempt, segments); whoever is refused
    comes back exactly when told. Allowed sends are spaced by the cost of the one
    before; every attempt is eventually allowed."""
    tat, now, sent = 0.0, T0, []
    for gap, segments in attempts:
        now += gap
        cost = gcra.cost_seconds(segments, rate)
        decision = decide(tat, now, cost)
        if not decision.allowed:
            assert decision.new_tat == tat and decision.wait_seconds > 0
            now += decision.wait_seconds
            decision = decide(tat, now, cost)
        assert decision.allowed
        tat = decision.new_tat
        sent.append((now, cost))
    for (at, cost), (next_at, _) in itertools.pairwise(sent):
        assert next_at >= at + cost - gcra.EPSILON


@hypothesis_settings(max_examples=100, deadline=None)
@given(
    gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=60),
    burst=st.sampled_from([0.0, 1.0, 2.5]),
)
def test_in_any_window_the_allowed_cost_is_at_most_the_window_plus_burst(gaps, burst):
    tat, now, allowed = 0.0, T0, []
    for gap in gaps:
        now += gap
        decision = decide(tat, now, 1.0, burst)
        if decision.allowed:
            tat = decision.new_tat
            allowed.append(now)
    for i, start in enumerate(allowed):
        for j in range(i, len(allowed)):
            window = allowed[j] - start
            count = j - i + 1
            # GCRA's bound: n sends of cost T fit in a window of (n - 1) T - burst
            assert window >= (count - 1) * 1.0 - burst - gcra.EPSILON * count


def test_decision_is_a_plain_value():
    assert decide(0.0, 0.0, 1.0) == Decision(True, 1.0, 0.0)
