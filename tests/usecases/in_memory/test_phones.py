"""usecases/phones.py's rules on memory repositories: one phone, one verified owner;
a code verifies only the claim it came with; a phone leaving a user stops their SMS."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.usecases import messages, phones

from .conftest import ALICE


def refused(call, *args) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        call(*args)
    return caught.value


def hooked_up(ctx, queues, user_id: str, phone: str = ALICE) -> str:
    assert phones.hook_up(ctx, user_id, phone)["status"] == "pending"
    return queues.last_code()


def test_a_code_verifies_its_users_claim(ctx, queues):
    code = hooked_up(ctx, queues, "alice")
    assert phones.describe(ctx, phones.get_user(ctx, "alice"))["status"] == "pending"
    assert refused(phones.verify, ctx, "alice", "000000" if code != "000000" else "111111").code == "wrong_code"
    assert phones.verify(ctx, "alice", code) == {"status": "verified"}
    assert phones.describe(ctx, phones.get_user(ctx, "alice"))["status"] == "verified"


def test_a_verified_phone_is_in_use_and_a_pending_one_is_taken_over(ctx, queues):
    first = hooked_up(ctx, queues, "alice")
    ctx.clock.advance(31)  # one code per phone every 30 s
    hooked_up(ctx, queues, "bob")  # alice's claim was pending: bob takes it over
    assert refused(phones.verify, ctx, "alice", first).code == "phone_taken_over"
    phones.verify(ctx, "bob", queues.last_code())
    ctx.clock.advance(31)
    assert refused(phones.hook_up, ctx, "carol", ALICE).code == "phone_in_use"


def test_a_newer_code_supersedes_the_older(ctx, queues):
    old = hooked_up(ctx, queues, "alice")
    ctx.clock.advance(31)
    new = hooked_up(ctx, queues, "alice")
    if old != new:
        assert refused(phones.verify, ctx, "alice", old).code == "wrong_code"
    assert phones.verify(ctx, "alice", new) == {"status": "verified"}


def test_an_opted_out_phone_is_refused_and_shown_so(ctx, queues):
    hooked_up(ctx, queues, "alice")
    ctx.store.phones.set_opted_out(ALICE, True, int(ctx.now()))
    assert phones.describe(ctx, phones.get_user(ctx, "alice"))["status"] == "opted_out"
    ctx.clock.advance(31)
    assert refused(phones.hook_up, ctx, "alice", ALICE).code == "opted_out"


def test_coming_back_to_chat_and_removing_the_phone_stop_queued_sms(ctx, queues):
    hooked_up(ctx, queues, "alice")
    assert phones.set_presence(ctx, "alice", False)["cancelled"] == 0
    phones.remove(ctx, "alice")
    assert refused(phones.get_user, ctx, "alice").status == 404
    assert ctx.store.phones.phone(ALICE).user_id is None
    assert messages.cancel_queued_for_user(ctx, "alice") == 0
