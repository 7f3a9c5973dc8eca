"""The limiter (usecases/sending/limits.py) over its stores: in DynamoDB (conditional
writes, one read per key per invocation, the campaign on top) and in memory
(the same compare-and-set contract, without moto)."""

from __future__ import annotations

import boto3
import pytest

from chalicelib.config import LimitSettings
from chalicelib.store.dynamodb.limits import DynamoLimitStore
from chalicelib.store.limit_states import MemoryLimitStore
from chalicelib.store.models import LIMITS, POOL, CampaignLimit, PoolNumber
from chalicelib.usecases.sending import limits as rate_limits
from chalicelib.usecases.sending.limits import campaign_key

T0 = 1_800_000_000.0  # an epoch second, so float sums behave as they will in production


def Limiter(limits, lead: float = 0.0, margin: float = 0.0, store=None) -> rate_limits.Limiter:
    """A limiter over DynamoDB (or `store`), numbers at 1 segment/s unless stored otherwise."""
    return rate_limits.Limiter(store or DynamoLimitStore(), limits, 1.0, lead=lead, margin=margin)


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
    model = PoolNumber if hash_key == POOL else CampaignLimit
    return model.get(hash_key, phone, consistent_read=True).limiter_tat


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


def test_a_send_a_little_late_moves_the_next_charge_without_a_write_of_its_own(aws_backend):
    _add_number(NUMBER)
    writes = []

    class Counted(DynamoLimitStore):
        def write(self, *args, **kwargs):
            writes.append(args)
            return super().write(*args, **kwargs)

    store = Counted()
    limits = Limiter(NO_CAMPAIGN, lead=0.1, margin=0.05, store=store)
    booking = limits.reserve(NUMBER, 1, T0)
    limits.settle(NUMBER, booking.at, booking.at + 0.005)  # a sleep's overshoot
    assert len(writes) == 1 and _stored_tat(NUMBER) == approx(T0 + 1.05)
    # The next send is charged from the late one's end: T0 + 1.055, one write.
    assert limits.reserve(NUMBER, 1, T0 + 1.0).at == approx(T0 + 1.055)
    assert len(writes) == 2 and _stored_tat(NUMBER) == approx(T0 + 2.055)


# --- the same contract in memory --------------------------------------------------


def test_in_memory_two_limiters_racing_for_one_slot_spend_it_once():
    store = MemoryLimitStore({NUMBER: 1.0})
    first, second = Limiter(NO_CAMPAIGN, store=store), Limiter(NO_CAMPAIGN, store=store)
    first.ready_in(NUMBER, T0), second.ready_in(NUMBER, T0)  # both read TAT 0
    assert charge(first, NUMBER, 1, T0) == 0
    assert charge(second, NUMBER, 1, T0) == approx(1.0)  # its write failed: re-read, told to wait
    assert (second.reads, second.conflicts) == (2, 1)
    assert charge(second, NUMBER, 1, T0 + 1.0) == 0
    assert store.writes == 2


def test_in_memory_a_number_out_of_the_pool_is_never_written():
    store = MemoryLimitStore({})
    limits = Limiter(NO_CAMPAIGN, store=store)
    assert charge(limits, NUMBER, 1, T0) == 0
    assert charge(limits, NUMBER, 1, T0) == approx(1.0)
    assert store.writes == 0


def test_in_memory_the_campaign_limits_every_number():
    store = MemoryLimitStore({NUMBER: 10.0, OTHER: 10.0})
    campaign = LimitSettings(burst_seconds=0.0, campaign_id="acme", campaign_segments_per_second=2.0)
    one, two = Limiter(campaign, store=store), Limiter(campaign, store=store)
    assert charge(one, NUMBER, 1, T0) == 0
    assert charge(two, OTHER, 1, T0) == approx(0.5)
    assert charge(two, OTHER, 1, T0 + 0.5) == 0


def test_a_groups_next_sends_are_booked_and_counted_in_the_same_write(aws_backend):
    _add_number(NUMBER)
    limits = Limiter(NO_CAMPAIGN, lead=0.1, margin=0.05)
    booking = limits.reserve(NUMBER, 1, T0, then=(2, 1, 3), until=T0 + 3.1)
    assert booking.at == approx(T0 + 0.05)
    assert booking.then == approx((T0 + 1.05, T0 + 3.05))  # back to back; the 4th would start after `until`
    assert _stored_tat(NUMBER) == approx(T0 + 4.05)
    stored = PoolNumber.get(POOL, NUMBER, consistent_read=True)
    assert (stored.segments_out, stored.messages_out) == (4, 3)
    # With a campaign the slots are shared by every number: nothing is booked ahead.
    other = Limiter(
        rate_limits.LimitSettings(burst_seconds=0.0, campaign_id="acme", campaign_segments_per_second=10.0),
        store=MemoryLimitStore({OTHER: 1.0}),
    )
    assert other.reserve(OTHER, 1, T0, then=(1,), until=T0 + 10).then == ()


@pytest.mark.parametrize("in_memory", [False, True])
def test_slots_booked_ahead_are_remembered_for_the_next_invocation_and_taken_back_once(aws_backend, in_memory):
    _add_number(NUMBER)
    store = MemoryLimitStore({NUMBER: 1.0}) if in_memory else DynamoLimitStore()
    first = Limiter(NO_CAMPAIGN, lead=0.1, margin=0.05, store=store)
    first.reserve(NUMBER, 1, T0, then=(2, 1), until=T0 + 10, then_ids=("b", "c"))
    # The next invocation reads them with the state: no write to send on them.
    second = Limiter(NO_CAMPAIGN, lead=0.1, margin=0.05, store=store)
    assert second.booked_slots(NUMBER) == {"b": (approx(T0 + 1.05), 2), "c": (approx(T0 + 3.05), 1)}
    # A late send written moves the TAT on, and the slots booked ahead with it.
    second.settle(NUMBER, T0 + 1.05, T0 + 1.30)
    assert Limiter(NO_CAMPAIGN, store=store).booked_slots(NUMBER)["c"][0] == approx(T0 + 3.30)
    # Taken back once, whoever tries again.
    assert second.release(NUMBER, {"c": 1}) is True
    assert Limiter(NO_CAMPAIGN, store=store).release(NUMBER, {"c": 1}) is False
    assert "c" not in Limiter(NO_CAMPAIGN, store=store).booked_slots(NUMBER)
    counted = store.sent[NUMBER] if in_memory else _counted(NUMBER)
    assert list(counted) == [3, 2]  # 4 segments of 3 messages booked, 1 of 1 taken back
    # The next charge replaces them: what it books ahead, nothing here.
    third = Limiter(NO_CAMPAIGN, store=store)
    third.reserve(NUMBER, 1, T0 + 10)
    assert Limiter(NO_CAMPAIGN, store=store).booked_slots(NUMBER) == {}


def _counted(phone: str) -> tuple[int, int]:
    stored = PoolNumber.get(POOL, phone, consistent_read=True)
    return int(stored.segments_out or 0), int(stored.messages_out or 0)
