"""usecases/phones.py: hook-up, verification by code, presence, removal."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.store.conditional import get_or_none
from chalicelib.store.models import Message, Phone, RateCounter, Session, User
from chalicelib.usecases import messages, phones, sessions

from .support import ALICE, POOL, add_pool, send_outbound, verified_user


@pytest.fixture
def pool(ctx, twilio):
    add_pool(ctx, twilio, *POOL)
    return ctx


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def refused(call, *args) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        call(*args)
    return caught.value


def test_hook_up_claims_the_phone_and_texts_a_code_that_is_never_stored(pool, twilio):
    assert phones.hook_up(pool, "alice", "(415) 555-0123") == {"user_id": "alice", "phone": ALICE, "status": "pending"}
    assert Phone.get(ALICE).user_id == "alice" and Phone.get(ALICE).verified is False
    assert twilio.sms_to(ALICE) == [], "the code goes out through the outbound queue, not in the call"
    assert send_outbound(pool) == 1
    code = twilio.last_code(ALICE)
    user = User.get("alice")
    assert code not in " ".join(str(v) for v in user.attribute_values.values())
    assert all(code not in f"{m.text} {m.body}" for m in Message.scan())
    assert twilio.sms_to(ALICE)[0].from_ in POOL


def test_a_verified_phone_of_another_user_is_refused(pool, twilio):
    verified_user(pool, twilio, "alice", ALICE)
    error = refused(phones.hook_up, pool, "mallory", ALICE)
    assert (error.code, error.status) == ("phone_in_use", 409)
    assert Phone.get(ALICE).user_id == "alice"


def test_an_unverified_claim_can_be_taken_over(pool, twilio):
    phones.hook_up(pool, "alice", ALICE)
    pool.clock.advance(31)  # one code per phone per 30 s
    phones.hook_up(pool, "bob", ALICE)
    assert Phone.get(ALICE).user_id == "bob"


def test_verify_counts_tries_and_stops_at_the_limit(pool, twilio):
    phones.hook_up(pool, "alice", ALICE)
    send_outbound(pool)
    code = twilio.last_code(ALICE)
    for left in (4, 3, 2, 1, 0):
        error = refused(phones.verify, pool, "alice", wrong(code))
        assert (error.code, error.status) == ("wrong_code", 400)
        assert f"{left} tries left" in error.message
    # The tries are counted per phone, across codes (issue 12), not on the user.
    error = refused(phones.verify, pool, "alice", code)
    assert (error.code, error.status) == ("too_many_tries", 429)
    assert User.get("alice").phone_status == "pending"


@pytest.mark.parametrize("malformed", [123456, None, "12345", "1234567", "12 345", "abcdef", "１２３４５", "١٢٣٤٥٦"])
def test_a_malformed_code_costs_no_try(pool, twilio, malformed):
    phones.hook_up(pool, "alice", ALICE)
    error = refused(phones.verify, pool, "alice", malformed)
    assert (error.code, error.status) == ("invalid_code", 400)
    assert get_or_none(RateCounter, f"tries#{ALICE}") is None, "no try counted"


def test_the_right_code_in_full_width_digits_or_with_spaces_around_verifies(pool, twilio):
    phones.hook_up(pool, "alice", ALICE)
    send_outbound(pool)
    code = twilio.last_code(ALICE)
    full_width = "".join(chr(ord(digit) - ord("0") + ord("０")) for digit in code)
    assert phones.verify(pool, "alice", f" {full_width}\n") == {"status": "verified"}


def test_the_code_expires_at_its_ttl(pool, twilio):
    phones.hook_up(pool, "alice", ALICE)
    send_outbound(pool)
    code = twilio.last_code(ALICE)
    pool.clock.advance(600)  # VERIFICATION_CODE_TTL_SECONDS: expired at the TTL itself
    error = refused(phones.verify, pool, "alice", code)
    assert (error.code, error.status) == ("code_expired", 410)


def test_the_right_code_within_the_ttl_verifies(pool, twilio):
    phones.hook_up(pool, "alice", ALICE)
    send_outbound(pool)
    pool.clock.advance(599)
    assert phones.verify(pool, "alice", twilio.last_code(ALICE)) == {"status": "verified"}
    assert Phone.get(ALICE).verified is True
    assert User.get("alice").code_hash is None
    assert phones.describe(User.get("alice"))["status"] == "verified"


def test_hook_up_of_an_opted_out_phone_is_refused(pool, twilio):
    Phone(phone=ALICE, opted_out=True, updated_at=0).save()
    error = refused(phones.hook_up, pool, "alice", ALICE)
    assert (error.code, error.status) == ("opted_out", 409)


def test_remove_closes_sessions_cancels_queued_and_frees_the_phone(pool, twilio, queued_events):
    verified_user(pool, twilio, "alice", ALICE)
    session, _ = sessions.open_session(pool, {"user_id": "alice", "partner_id": "bob"})
    queued = messages.submit(pool, Session.get(session["session_id"]), "hi")
    phones.remove(pool, "alice")
    assert Session.get(session["session_id"]).status == "closed"
    assert Session.get(session["session_id"]).close_reason == "phone_removed"
    assert Message.get(queued["message_id"]).status == "cancelled"
    assert Phone.get(ALICE).user_id is None
    assert User.count("alice") == 0
    assert [e["reason"] for e in queued_events if e["type"] == "session.closed"] == ["phone_removed"]
    # The phone is free for someone else now (once the 30 s between codes to it have passed).
    pool.clock.advance(31)
    assert phones.hook_up(pool, "carol", ALICE)["status"] == "pending"


def test_changing_phone_closes_the_sessions_on_the_old_one(pool, twilio):
    verified_user(pool, twilio, "alice", ALICE)
    session, _ = sessions.open_session(pool, {"user_id": "alice", "partner_id": "bob"})
    phones.hook_up(pool, "alice", "+14155550199")
    assert Session.get(session["session_id"]).close_reason == "phone_changed"
    assert Phone.get(ALICE).user_id is None


def test_coming_back_to_chat_cancels_queued_messages(pool, twilio):
    verified_user(pool, twilio, "alice", ALICE)
    session, _ = sessions.open_session(pool, {"user_id": "alice", "partner_id": "bob"})
    queued = messages.submit(pool, Session.get(session["session_id"]), "hi")
    assert phones.set_presence(pool, "alice", False) == {"user_id": "alice", "away": False, "cancelled": 1}
    assert Message.get(queued["message_id"]).status == "cancelled"
    error = refused(phones.set_presence, pool, "alice", "no")
    assert (error.code, error.status) == ("invalid_presence", 400)
