"""usecases/sessions.py's rules on memory repositories: one number per concurrent chat of
a user, reopening returns the open session, expiry closes it only when a step settles it,
a close is told once, and only the phone's verified owner's sessions route."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BridgeError
from chalicelib.store.phones import VERIFIED, Phone, User
from chalicelib.usecases import sessions

from .conftest import ALICE, BOB_PHONE, POOL

TTL = 12 * 3600


@pytest.fixture
def users(ctx):
    for user_id, phone in (("alice", ALICE), ("bob", BOB_PHONE)):
        ctx.store.phones.users[user_id] = User(user_id, phone, VERIFIED)
        ctx.store.phones.phones[phone] = Phone(phone, user_id=user_id, verified=True)
    return ctx


def open_(ctx, partner_id: str, user_id: str = "alice") -> dict:
    session, _ = sessions.open_session(ctx, {"user_id": user_id, "partner_id": partner_id})
    return session


def test_each_partner_gets_a_number_of_its_own_and_reopening_returns_it(users):
    placed = [open_(users, partner) for partner in ("p1", "p2", "p3")]
    assert sorted(s["pool_number"] for s in placed) == sorted(POOL)
    assert sessions.open_session(users, {"user_id": "alice", "partner_id": "p1"}) == (placed[0], False)
    assert sum(n.open_sessions for n in users.store.pool.numbers()) == 3


def test_an_expired_session_is_closed_by_the_step_that_settles_it(users, queues):
    session = open_(users, "p1")
    users.clock.advance(TTL)
    assert sessions.get(users, session["session_id"]).status == "open", "a read is a read"
    assert queues.of_type("session.closed") == []
    settled = sessions.settle_expired(users, sessions.get(users, session["session_id"]))
    assert (settled.status, settled.close_reason) == ("closed", "expired")
    assert [e["reason"] for e in queues.of_type("session.closed")] == ["expired"]
    with pytest.raises(BridgeError) as caught:
        sessions.get_open(users, session["session_id"])
    assert caught.value.code == "session_closed"
    again = open_(users, "p1")
    assert again["session_id"] != session["session_id"] and again["pool_number"] == session["pool_number"]


def test_a_close_is_told_once(users, queues):
    session = open_(users, "p1")
    assert sessions.end(users, session["session_id"]).status == "closed"
    assert sessions.close(users, sessions.get(users, session["session_id"])) is False
    assert sessions.close_pair(users, "alice", "p1") is False
    assert len(queues.of_type("session.closed")) == 1
    assert sessions.list_open(users, "alice") == {"sessions": []}


def test_only_the_phones_verified_owner_is_routed_to(users):
    session = open_(users, "p1")
    number, now = session["pool_number"], users.now()
    assert sessions.open_on_route(users, ALICE, number, now).session_id == session["session_id"]
    assert sessions.open_on_route(users, BOB_PHONE, number, now) is None
    assert sessions.open_on_route(users, ALICE, number, now + TTL) is None
    users.store.phones.release(ALICE, "alice", int(now))  # the phone left alice
    assert sessions.open_on_route(users, ALICE, number, now) is None


def test_the_sweep_closes_the_expired_and_counts_the_open(users):
    old = open_(users, "p1")
    users.clock.advance(TTL / 2)
    young = open_(users, "p2")
    users.clock.advance(TTL / 2)
    closed, per_user, per_number = sessions.sweep_expired(users, users.now())
    assert (closed, per_user, per_number) == (1, {"alice": 1}, {young["pool_number"]: 1})
    assert users.store.sessions.get(old["session_id"]).close_reason == "expired"
