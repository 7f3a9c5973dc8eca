"""usecases/pool_growth.py: where sessions go, and growing the pool within
the call when they cannot go anywhere (take back a drained number, else buy
one at Twilio, under the growth lease and within the limits)."""

from __future__ import annotations

import pytest

from chalicelib.core import phone_numbers
from chalicelib.core.errors import BridgeError
from chalicelib.store.models import GROWTH_LEASE_ITEM, POOL_META, GrowthLease, PoolNumber
from chalicelib.store.models import POOL as POOL_KEY
from chalicelib.usecases import growth_lease, pool_growth, pool_numbers

from .support import ALICE, POOL, add_pool

USER = phone_numbers.parse(ALICE, "US")  # area code 415
OTHER_AREA = "+12125550101"


def refused(call, *args, **kwargs) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        call(*args, **kwargs)
    return caught.value


def claim_any(claimed: list):
    def claim(phone: str) -> bool:
        claimed.append(phone)
        return True

    return claim


def test_ranking_prefers_the_sticky_number_then_the_users_area_code(ctx, twilio):
    add_pool(ctx, twilio, OTHER_AREA, POOL[0], POOL[1])
    ranked = pool_growth.rank_for_session(ctx, ctx.now(), taken=set(), number=USER, sticky=None)
    assert ranked[-1] == OTHER_AREA and set(ranked[:2]) == {POOL[0], POOL[1]}
    assert pool_growth.rank_for_session(ctx, ctx.now(), taken=set(), number=USER, sticky=OTHER_AREA)[0] == OTHER_AREA
    assert pool_growth.rank_for_session(ctx, ctx.now(), taken={POOL[0], POOL[1]}, number=USER, sticky=None) == [
        OTHER_AREA
    ]


def test_a_draining_number_takes_no_new_session(ctx, twilio):
    add_pool(ctx, twilio, POOL[0], POOL[1])
    pool_numbers.drain(ctx, POOL[0])
    assert pool_growth.rank_for_session(ctx, ctx.now(), taken=set(), number=USER, sticky=POOL[0]) == [POOL[1]]
    assert pool_growth.pick_for_notice(ctx, USER) == POOL[1]


def test_no_active_number_and_no_room_to_grow_means_no_notice(ctx, monkeypatch):
    monkeypatch.setenv("POOL_MAX_SIZE", "0")  # an empty pool otherwise buys its first number (issue 13)
    ctx.refresh()  # the next invocation's settings
    error = refused(pool_growth.pick_for_notice, ctx, USER)
    assert (error.code, error.status) == ("pool_exhausted", 503)


def test_growing_takes_back_a_number_the_autoscaler_drained(ctx, twilio):
    add_pool(ctx, twilio, POOL[0], POOL[1])
    assert pool_numbers.drain_auto(ctx, POOL[1], ctx.now())
    claimed = []
    assert pool_growth.grow_for_session(ctx, USER, exclude={POOL[0]}, claim=claim_any(claimed)) == POOL[1]
    assert claimed == [POOL[1]]
    assert PoolNumber.get(POOL_KEY, POOL[1]).status == "active"
    assert not [r for r in twilio.rest_requests() if r["method"] == "POST"], "nothing bought"


def test_growing_buys_a_number_in_the_users_area_code(ctx, twilio):
    add_pool(ctx, twilio, POOL[0])
    claimed = []
    bought = pool_growth.grow_for_session(ctx, USER, exclude={POOL[0]}, claim=claim_any(claimed))
    assert claimed == [bought] and bought.startswith("+1415") and bought != POOL[0]
    item = PoolNumber.get(POOL_KEY, bought)
    assert (item.status, item.area_code, item.bought_at) == ("active", "415", int(ctx.now()))
    assert twilio.state.number_by_phone(bought) is not None, "bought at Twilio"
    assert GrowthLease.get(POOL_META, GROWTH_LEASE_ITEM).lease_owner is None, "the lease is given back"


def test_growing_stops_at_the_maximum_size(ctx, twilio, monkeypatch):
    monkeypatch.setenv("POOL_MAX_SIZE", "1")
    ctx.refresh()
    add_pool(ctx, twilio, POOL[0])
    error = refused(pool_growth.grow_for_session, ctx, USER, exclude={POOL[0]}, claim=claim_any([]))
    assert (error.code, error.status) == ("pool_exhausted", 503)
    assert "POOL_MAX_SIZE" in error.message
    assert [n.phone_number for n in pool_numbers.all_numbers(ctx)] == [POOL[0]]


def test_growing_waits_for_a_held_lease_in_virtual_time(ctx, twilio):
    add_pool(ctx, twilio, POOL[0])
    GrowthLease(lease_owner="someone else", lease_expires_at=ctx.now() + 1).save()
    bought = pool_growth.grow_for_session(ctx, USER, exclude={POOL[0]}, claim=claim_any([]))
    assert bought != POOL[0]
    assert ctx.clock.slept and sum(ctx.clock.slept) >= 1, "it waited until the other holder's lease ran out"
    assert all(s == growth_lease.LEASE_POLL_SECONDS for s in ctx.clock.slept)


def test_a_number_grown_but_claimed_by_a_racing_call_is_refused(ctx, twilio):
    add_pool(ctx, twilio, POOL[0], POOL[1])
    pool_numbers.drain_auto(ctx, POOL[1], ctx.now())
    error = refused(pool_growth.grow_for_session, ctx, USER, exclude={POOL[0]}, claim=lambda phone: False)
    assert (error.code, error.status) == ("pool_exhausted", 503)
    assert "retry" in error.message
