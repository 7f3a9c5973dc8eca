"""The limiter: GCRA arithmetic case by case (as redis-cell tests it), its
properties over random schedules, and its state in DynamoDB (conditional
writes, one read per key per invocation, the campaign on top)."""
from __future__ import annotations

import boto3
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from chalicelib import limiter
from chalicelib.limiter import Decision, LimitSettings, Limiter, campaign_key, decide
from chalicelib.models import LIMITS, POOL, PoolNumber

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
    assert limiter.cost_seconds(1, 1) == 1.0
    assert limiter.cost_seconds(3, 3) == 1.0
    assert limiter.cost_seconds(4, 100) == 0.04
    assert limiter.cost_seconds(0, 1) == 1.0  # a message is at least one segment


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    attempts=st.lists(
        st.tuples(st.floats(0, 5, allow_nan=False), st.integers(1, 10)), min_size=1, max_size=40
    ),
    rate=st.sampled_from([1.0, 3.0, 100.0, 0.5]),
)
def test_sends_the_limiter_allows_never_come_closer_than_their_segments(attempts, rate):
    """Random attempts (gap since the last attempt, segments); whoever is refused
    comes back exactly when told. Allowed sends are spaced by the cost of the one
    before; every attempt is eventually allowed."""
    tat, now, sent = 0.0, T0, []
    for gap, segments in attempts:
        now += gap
        cost = limiter.cost_seconds(segments, rate)
        decision = decide(tat, now, cost)
        if not decision.allowed:
            assert decision.new_tat == tat and decision.wait_seconds > 0
            now += decision.wait_seconds
            decision = decide(tat, now, cost)
        assert decision.allowed
        tat = decision.new_tat
        sent.append((now, cost))
    for (at, cost), (next_at, _) in zip(sent, sent[1:]):
        assert next_at >= at + cost - limiter.EPSILON


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
            assert window >= (count - 1) * 1.0 - burst - limiter.EPSILON * count


# --- the state in DynamoDB ------------------------------------------------------

NUMBER = "+14155550100"


def approx(value: float):
    return pytest.approx(value, abs=1e-6)  # epoch-sized floats

OTHER = "+14155550199"


def _add_number(phone: str, rate: float = 1.0, tat: float | None = 0.0) -> None:
    item = PoolNumber(POOL, phone, segments_per_second=rate, created_at=int(T0), open_sessions=0)
    if tat is None:
        item.save()
        boto3.client("dynamodb").update_item(
            TableName=PoolNumber.Meta.table_name,
            Key={"pool": {"S": POOL}, "phone_number": {"S": phone}},
            UpdateExpression="REMOVE limiter_tat",
        )
    else:
        item.limiter_tat = tat
        item.save()


def _stored_tat(phone: str, hash_key: str = POOL) -> float:
    return PoolNumber.get(hash_key, phone, consistent_read=True).limiter_tat


NO_CAMPAIGN = LimitSettings(burst_seconds=0.0, campaign_id=None, campaign_segments_per_second=None)


def charge(limits: Limiter, number: str, segments: int, now: float) -> float:
    """Book a send at `now` (no booking ahead): 0 when booked, else the wait."""
    booking = limits.reserve(number, segments, now)
    if booking.at is None:
        return booking.wait_seconds
    assert booking.at == now
    return 0.0


def test_a_charge_moves_the_numbers_tat_by_segments_over_rate(aws_backend):
    _add_number(NUMBER, rate=3.0)
    limits = Limiter(NO_CAMPAIGN)
    assert limits.ready_in(NUMBER, T0) == 0
    assert charge(limits, NUMBER, 2, T0) == 0
    assert _stored_tat(NUMBER) == approx(T0 + 2 / 3)
    # The next send waits for that TAT; placement reads it as the number's backlog.
    assert limits.ready_in(NUMBER, T0) == approx(2 / 3)
    assert charge(limits, NUMBER, 1, T0 + 2 / 3) == 0
    assert _stored_tat(NUMBER) == approx(T0 + 1.0)
    assert limits.reads == 1  # the state is read once, then known from its own writes


def test_a_refused_charge_writes_nothing(aws_backend):
    _add_number(NUMBER, tat=T0 + 5)
    limits = Limiter(NO_CAMPAIGN)
    assert charge(limits, NUMBER, 1, T0) == approx(5.0)
    assert _stored_tat(NUMBER) == T0 + 5


def test_an_item_without_a_tat_is_charged_conditionally_too(aws_backend):
    _add_number(NUMBER, tat=None)
    first, second = Limiter(NO_CAMPAIGN), Limiter(NO_CAMPAIGN)
    assert first.ready_in(NUMBER, T0) == 0 and second.ready_in(NUMBER, T0) == 0
    assert charge(first, NUMBER, 1, T0) == 0
    assert charge(second, NUMBER, 1, T0) == approx(1.0)  # lost the race, re-read, told to wait
    assert second.conflicts == 1
    assert _stored_tat(NUMBER) == approx(T0 + 1)


def test_two_invocations_racing_for_one_slot_spend_it_once(aws_backend):
    _add_number(NUMBER)
    first, second = Limiter(NO_CAMPAIGN), Limiter(NO_CAMPAIGN)
    first.ready_in(NUMBER, T0), second.ready_in(NUMBER, T0)  # both read TAT 0
    assert charge(first, NUMBER, 1, T0) == 0
    assert charge(second, NUMBER, 1, T0 + 0.5) == approx(0.5)
    assert charge(second, NUMBER, 1, T0 + 1.0) == 0
    assert _stored_tat(NUMBER) == approx(T0 + 2.0)


def test_a_stale_cache_costs_one_read_never_an_excess(aws_backend):
    _add_number(NUMBER)
    stale = Limiter(NO_CAMPAIGN)
    stale.ready_in(NUMBER, T0)
    assert charge(Limiter(NO_CAMPAIGN), NUMBER, 4, T0) == 0  # someone else spends 4 s
    assert charge(stale, NUMBER, 1, T0 + 1) == approx(3.0)
    assert (stale.reads, stale.conflicts) == (2, 1)


def test_the_campaign_limit_applies_on_top_across_numbers(aws_backend):
    _add_number(NUMBER, rate=10.0)
    _add_number(OTHER, rate=10.0)
    campaign = LimitSettings(burst_seconds=0.0, campaign_id="acme", campaign_segments_per_second=2.0)
    one, two = Limiter(campaign), Limiter(campaign)
    assert charge(one, NUMBER, 1, T0) == 0
    # OTHER's own limit would allow it; the campaign (2 segments/s) says wait half a second.
    assert two.ready_in(OTHER, T0) == approx(0.5)
    assert charge(two, OTHER, 1, T0) == approx(0.5)
    assert charge(two, OTHER, 1, T0 + 0.5) == 0
    assert _stored_tat(campaign_key("acme"), LIMITS) == approx(T0 + 1.0)
    # The campaign item is not a pool number.
    assert [n.phone_number for n in PoolNumber.query(POOL)] == sorted([NUMBER, OTHER])


def test_a_number_missing_from_the_pool_is_limited_in_memory(aws_backend):
    limits = Limiter(NO_CAMPAIGN)
    assert charge(limits, NUMBER, 1, T0) == 0
    assert charge(limits, NUMBER, 1, T0) == approx(1.0)
    assert list(PoolNumber.query(POOL)) == []


def test_decision_is_a_plain_value():
    assert decide(0.0, 0.0, 1.0) == Decision(True, 1.0, 0.0)


def test_a_send_is_booked_ahead_within_the_lead_and_at_least_the_margin_ahead(aws_backend):
    _add_number(NUMBER, tat=T0 + 1)
    limits = Limiter(NO_CAMPAIGN, lead=0.1, margin=0.05)
    assert limits.ready_in(NUMBER, T0 + 0.8) == approx(0.1)
    assert limits.ready_in(NUMBER, T0 + 0.95) == 0
    booking = limits.reserve(NUMBER, 1, T0 + 0.95)
    assert booking.at == approx(T0 + 1.0)  # the slot itself: no idle time, no overlap
    assert _stored_tat(NUMBER) == approx(T0 + 2.0)
    # An idle number books the margin ahead, so its writes are done when the slot comes.
    booking = limits.reserve(NUMBER, 1, T0 + 10)
    assert booking.at == approx(T0 + 10.05)


def test_a_longer_horizon_books_a_later_slot_instead_of_refusing(aws_backend):
    _add_number(NUMBER, tat=T0 + 0.8)
    limits = Limiter(NO_CAMPAIGN, lead=0.1)
    assert limits.reserve(NUMBER, 1, T0).at is None
    assert limits.reserve(NUMBER, 1, T0, horizon=1.0).at == approx(T0 + 0.8)


def test_a_late_send_moves_the_tat_on_by_its_delay(aws_backend):
    _add_number(NUMBER)
    limits = Limiter(NO_CAMPAIGN, lead=0.1, margin=0.05)
    booking = limits.reserve(NUMBER, 1, T0)
    limits.settle(NUMBER, booking.at, booking.at)  # on time: nothing to do
    assert _stored_tat(NUMBER) == approx(T0 + 1.05)
    limits.settle(NUMBER, booking.at, booking.at + 0.3)
    assert _stored_tat(NUMBER) == approx(T0 + 1.35)
