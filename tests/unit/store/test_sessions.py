"""store/sessions.py's contract (one open session per pair and per route; an expired
holder counts as free; a close is one write, its finish another) on both implementations."""

from __future__ import annotations

import pytest

from chalicelib.store.dynamodb.sessions import DynamoSessions
from chalicelib.store.sessions import CLOSED, MemorySessions, Route, Session

PHONE, NUMBER, OTHER = "+14155550123", "+14155550101", "+14155550102"


@pytest.fixture
def sessions(impl):
    return MemorySessions() if impl == "memory" else DynamoSessions()


def session(session_id: str = "ses_1", number: str = NUMBER, expires_at: int = 100) -> Session:
    return Session(session_id, "alice", "bob", PHONE, number, created_at=0, expires_at=expires_at, partner_name="Bob")


def test_a_pair_holds_one_session_until_it_expires_or_is_released(sessions):
    assert sessions.claim_pair("alice", "bob", "ses_1", expires_at=100, now=0) == (True, None)
    assert sessions.claim_pair("alice", "bob", "ses_2", expires_at=100, now=99) == (False, None)
    assert sessions.pair_holder("alice", "bob") == "ses_1"
    assert sessions.claim_pair("alice", "bob", "ses_2", expires_at=200, now=100)[0], "an expired holder is free"
    assert not sessions.release_pair("alice", "bob", "ses_1"), "not the holder any more"
    assert sessions.release_pair("alice", "bob", "ses_2") and sessions.pair_holder("alice", "bob") is None


def test_the_pairs_last_number_is_what_its_next_claim_prefers(sessions):
    sessions.claim_pair("alice", "bob", "ses_1", expires_at=100, now=0)
    sessions.open(session())
    sessions.release_pair("alice", "bob", "ses_1")
    assert sessions.claim_pair("alice", "bob", "ses_2", expires_at=200, now=10) == (True, NUMBER)


def test_a_route_holds_one_session_until_it_expires(sessions):
    assert sessions.claim_route(Route(PHONE, NUMBER, "ses_1", "alice", 100), now=0)
    assert not sessions.claim_route(Route(PHONE, NUMBER, "ses_2", "alice", 200), now=50)
    assert sessions.claim_route(Route(PHONE, OTHER, "ses_2", "alice", 200), now=50), "another number is free"
    assert sessions.claim_route(Route(PHONE, NUMBER, "ses_3", "alice", 300), now=100), "expired: free"
    assert {(r.pool_number, r.session_id) for r in sessions.routes_of(PHONE)} == {(NUMBER, "ses_3"), (OTHER, "ses_2")}


def test_a_close_marks_the_session_closing_until_it_is_finished(sessions):
    sessions.open(session())
    sessions.claim_route(Route(PHONE, NUMBER, "ses_1", "alice", 100), now=0)
    closed = sessions.close("ses_1", "expired")
    assert (closed.status, closed.close_reason, closed.closing) == (CLOSED, "expired", True)
    assert sessions.close("ses_1", "closed") is None, "closed once"
    assert [s.session_id for s in sessions.open_of_user("alice")] == ["ses_1"], "a closing one is still found"
    assert sessions.release_route(closed) and sessions.routes_of(PHONE) == []
    assert sessions.finish_close("ses_1") and not sessions.finish_close("ses_1")
    assert sessions.open_of_user("alice") == [] and list(sessions.all_open()) == []
    assert sessions.get("ses_1").status == CLOSED


def test_extending_moves_the_session_its_route_and_its_pair_on(sessions):
    sessions.claim_pair("alice", "bob", "ses_1", expires_at=100, now=0)
    sessions.claim_route(Route(PHONE, NUMBER, "ses_1", "alice", 100), now=0)
    sessions.open(session())
    sessions.extend(session(), expires_at=500)
    assert sessions.get("ses_1").expires_at == 500
    assert sessions.routes_of(PHONE)[0].expires_at == 500
    assert not sessions.claim_pair("alice", "bob", "ses_2", expires_at=900, now=200)[0], "the pair moved on too"
    sessions.close("ses_1", "closed")
    sessions.extend(session(), expires_at=900)
    assert sessions.get("ses_1").expires_at == 500, "a closed session is not extended"
