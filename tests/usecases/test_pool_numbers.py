"""usecases/pool_numbers.py: the pool's numbers at Twilio (the stand-in):
adopt, buy within the limits, drain, release."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.store.models import POOL as POOL_KEY
from chalicelib.store.models import PoolNumber
from chalicelib.usecases import pool_numbers

from .support import POOL, add_pool

PUBLIC = "https://bridge.example.test/api"  # PUBLIC_BASE_URL of tests/conftest.py


def refused(call, *args) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        call(*args)
    return caught.value


def test_adopting_an_owned_number_points_its_webhooks_here(ctx, twilio):
    twilio.own(POOL[0])
    shown = pool_numbers.add(ctx, {"phone_number": "(415) 555-0101", "segments_per_second": 3})
    assert shown == {"phone_number": POOL[0], "status": "active", "open_sessions": 0, "segments_per_second": 3}
    at_twilio = twilio.state.number_by_phone(POOL[0])
    assert (at_twilio.sms_url, at_twilio.status_callback) == (PUBLIC + "/twilio/sms", PUBLIC + "/twilio/status")
    item = PoolNumber.get(POOL_KEY, POOL[0])
    assert (item.twilio_sid, item.area_code, item.bought_at) == (at_twilio.sid, "415", int(ctx.now()))


def test_a_number_the_account_does_not_own_is_refused(ctx, twilio):
    error = refused(pool_numbers.add, ctx, {"phone_number": POOL[0]})
    assert (error.code, error.status) == ("number_not_owned", 400)
    assert pool_numbers.list_numbers(ctx) == {"numbers": []}


def test_buying_gets_a_number_in_the_area_code_within_the_size_limit(ctx, twilio, monkeypatch):
    bought = pool_numbers.add(ctx, {"area_code": "212"})
    assert bought["phone_number"].startswith("+1212") and bought["status"] == "active"
    assert twilio.state.number_by_phone(bought["phone_number"]) is not None
    monkeypatch.setenv("POOL_MAX_SIZE", "1")
    ctx.refresh()  # the next invocation's settings
    error = refused(pool_numbers.add, ctx, {"area_code": "212"})
    assert (error.code, error.status) == ("pool_exhausted", 503) and "POOL_MAX_SIZE" in error.message
    for body, code in [
        ({"area_code": "2x"}, "invalid_area_code"),
        ({"country": "USA"}, "invalid_country"),
        ({"segments_per_second": 0}, "invalid_segments_per_second"),
    ]:
        error = refused(pool_numbers.add, ctx, body)
        assert (error.code, error.status) == (code, 400)


def test_a_drained_number_is_released_at_twilio_and_kept_as_a_record(ctx, twilio):
    twilio.own(POOL[0])
    pool_numbers.add(ctx, {"phone_number": POOL[0]})
    assert pool_numbers.drain(ctx, POOL[0])["status"] == "draining"
    ctx.clock.advance(3600)
    assert pool_numbers.release(ctx, POOL[0], ctx.now()) is True
    assert twilio.state.number_by_phone(POOL[0]) is None
    item = PoolNumber.get(POOL_KEY, POOL[0])
    assert (item.status, item.released_at) == ("released", int(ctx.now()))
    assert pool_numbers.release(ctx, POOL[0], ctx.now()) is False


def test_an_active_number_is_not_released(ctx, twilio):
    add_pool(ctx, twilio, POOL[0])
    assert pool_numbers.release(ctx, POOL[0], ctx.now()) is False
    assert PoolNumber.get(POOL_KEY, POOL[0]).status == "active"
    error = refused(pool_numbers.drain, ctx, POOL[1])
    assert (error.code, error.status) == ("number_not_found", 404)
