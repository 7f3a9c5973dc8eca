"""usecases/sessions.py: opening on a pool number, reopening, expiry by
virtual time, the route an inbound SMS follows, the scheduled sweep."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.store.models import POOL as POOL_KEY
from chalicelib.store.models import PoolNumber, Route, Session
from chalicelib.usecases import phones, sessions

from .support import ALICE, BOB_PHONE, POOL, add_pool, of_type, seed_verified_user

TTL = 12 * 3600  # SESSION_TTL_SECONDS' default


@pytest.fixture
def users(ctx, twilio):
    add_pool(ctx, twilio, *POOL)
    seed_verified_user(ctx, "alice", ALICE)
    seed_verified_user(ctx, "bob", BOB_PHONE)
    return ctx


def open_(ctx, user_id: str, partner_id: str, **extra) -> dict:
    return sessions.open_session(ctx, {"user_id": user_id, "partner_id": partner_id, **extra})


def open_sessions_on(number: str) -> int:
    return int(PoolNumber.get(POOL_KEY, number).open_sessions or 0)


def test_each_partner_of_a_user_gets_a_distinct_pool_number(users):
    placed = [open_(users, "alice", partner) for partner in ("p1", "p2", "p3")]
    assert all(created for _, created in placed)
    numbers = [session["pool_number"] for session, _ in placed]
    assert sorted(numbers) == sorted(POOL)
    # Another user may share a number with alice: the route is (phone, number).
    other, _ = open_(users, "bob", "p1")
    assert other["pool_number"] in POOL
    assert sum(open_sessions_on(n) for n in POOL) == 4


def test_reopening_returns_the_same_open_session(users):
    first, created = open_(users, "alice", "p1", partner_name="Pat")
    again, created_again = open_(users, "alice", "p1")
    assert (created, created_again) == (True, False)
    assert again == first
    assert first["partner_name"] == "Pat" and first["expires_at"] == int(users.now()) + TTL


def test_a_user_without_a_verified_phone_cannot_open(users, twilio):
    with pytest.raises(BridgeError) as caught:
        open_(users, "nobody", "p1")
    assert (caught.value.code, caught.value.status) == ("phone_not_verified", 409)
    with pytest.raises(BridgeError) as caught:
        sessions.open_session(users, {"user_id": "", "partner_id": "p1"})
    assert (caught.value.code, caught.value.status) == ("invalid_id", 400)


def test_expiry_by_virtual_time_closes_the_session_and_frees_the_route(users, queued_events):
    session, _ = open_(users, "alice", "p1")
    number = session["pool_number"]
    users.clock.advance(TTL - 1)
    assert sessions.settle_expired(users, sessions.get(users, session["session_id"])).status == "open"
    users.clock.advance(1)
    assert sessions.get(users, session["session_id"]).status == "open", "a read is a read"
    expired = sessions.settle_expired(users, sessions.get(users, session["session_id"]))
    assert (expired.status, expired.close_reason) == ("closed", "expired")
    assert Route.count(ALICE, Route.pool_number == number) == 0
    assert open_sessions_on(number) == 0
    assert [e["reason"] for e in of_type(queued_events, "session.closed")] == ["expired"]
    with pytest.raises(BridgeError) as caught:
        sessions.get_open(users, session["session_id"])
    assert (caught.value.code, caught.value.status) == ("session_closed", 409)
    # The pair opens a new session, back on the number it had (sticky).
    again, created = open_(users, "alice", "p1")
    assert created and again["session_id"] != session["session_id"] and again["pool_number"] == number


def test_open_on_route_finds_the_session_only_while_it_is_open(users):
    session, _ = open_(users, "alice", "p1")
    number = session["pool_number"]
    now = users.now()
    assert sessions.open_on_route(users, ALICE, number, now).session_id == session["session_id"]
    assert sessions.open_on_route(users, BOB_PHONE, number, now) is None
    assert sessions.open_on_route(users, ALICE, number, now + TTL) is None  # expired, though not yet closed
    sessions.close(users, sessions.get(users, session["session_id"]))
    assert sessions.open_on_route(users, ALICE, number, now) is None


def test_close_is_told_once_and_close_pair_finds_the_session(users, queued_events):
    session, _ = open_(users, "alice", "p1")
    assert sessions.close_pair(users, "alice", "p1") is True
    assert sessions.close(users, sessions.get(users, session["session_id"])) is False
    assert sessions.close_pair(users, "alice", "p1") is False
    closed = of_type(queued_events, "session.closed")
    assert [(e["session_id"], e["reason"]) for e in closed] == [(session["session_id"], "closed")]
    assert sessions.list_open(users, "alice") == {"sessions": []}


def test_sweep_expired_closes_and_counts(users):
    old, _ = open_(users, "alice", "p1")
    bobs, _ = open_(users, "bob", "p1")
    users.clock.advance(TTL / 2)
    young, _ = open_(users, "alice", "p2")
    users.clock.advance(TTL / 2)  # old and bob's have expired; young has half its TTL left
    closed, per_user, per_number = sessions.sweep_expired(users, users.now())
    assert closed == 2
    assert per_user == {"alice": 1}
    assert per_number == {young["pool_number"]: 1}
    assert Session.get(old["session_id"]).close_reason == "expired"
    assert Session.get(bobs["session_id"]).close_reason == "expired"
    assert Session.get(young["session_id"]).status == "open"
    assert sessions.sweep_expired(users, users.now())[0] == 0


def test_an_active_conversation_stays_open(users):
    session, _ = open_(users, "alice", "p1")
    users.clock.advance(TTL * 0.5)
    sessions.touch(users, sessions.get(users, session["session_id"]), users.now())
    users.clock.advance(TTL * 0.75)  # past the first expiry, within the moved one
    assert sessions.settle_expired(users, sessions.get(users, session["session_id"])).status == "open"
    assert sessions.open_on_route(users, ALICE, session["pool_number"], users.now()) is not None


def test_a_message_is_refused_while_the_user_is_in_chat(users):
    session, _ = open_(users, "alice", "p1")
    phones.set_presence(users, "alice", False)
    with pytest.raises(BridgeError) as caught:
        sessions.send_message(users, session["session_id"], "hi")
    assert (caught.value.code, caught.value.status) == ("user_present", 409)
    phones.set_presence(users, "alice", True)
    assert sessions.send_message(users, session["session_id"], "hi")["status"] == "queued"
