"""store/phones.py's contract (one phone, one verified owner) on both implementations."""

from __future__ import annotations

import pytest

from chalicelib.core.line_types import LookupFacts
from chalicelib.store.dynamodb.phones import DynamoPhones
from chalicelib.store.phones import PENDING, VERIFIED, MemoryPhones, User

PHONE = "+14155550123"


@pytest.fixture
def phones(impl):
    return MemoryPhones() if impl == "memory" else DynamoPhones()


def pending(user_id: str, salt: str, phone: str = PHONE) -> User:
    return User(user_id, phone, PENDING, code_salt=salt, code_hash="h" + salt, code_expires_at=600, updated_at=1)


def test_a_free_phone_is_claimed_with_the_users_code(phones):
    assert phones.claim(pending("alice", "s1"), take_over=None)
    held = phones.phone(PHONE)
    assert (held.user_id, held.verified, held.claim) == ("alice", False, "s1")
    assert phones.user("alice") == pending("alice", "s1")
    assert phones.claim(pending("alice", "s2"), take_over=None), "the holder claims it again (a new code)"
    assert phones.phone(PHONE).claim == "s2"


def test_a_pending_claim_is_taken_over_only_as_it_was_read(phones):
    phones.claim(pending("alice", "s1"), take_over=None)
    assert not phones.claim(pending("bob", "s2"), take_over=None), "held by another"
    assert not phones.claim(pending("bob", "s2"), take_over="carol"), "not carol's"
    assert phones.claim(pending("bob", "s2"), take_over="alice")
    assert phones.phone(PHONE).user_id == "bob"


def test_a_verified_phone_is_not_taken_over_and_an_opted_out_one_not_claimed(phones):
    phones.claim(pending("alice", "s1"), take_over=None)
    assert phones.verify(pending("alice", "s1"), now=5)
    assert not phones.claim(pending("bob", "s2"), take_over="alice"), "verified: no take-over"
    other = "+14155550124"
    phones.set_opted_out(other, True, now=5)
    assert not phones.claim(pending("carol", "s3", other), take_over=None)
    assert phones.user("carol") is None, "nothing of a refused claim is stored"


def test_verify_needs_the_claim_the_code_came_with(phones):
    phones.claim(pending("alice", "s1"), take_over=None)
    phones.claim(pending("alice", "s2"), take_over=None)  # a newer code
    assert not phones.verify(pending("alice", "s1"), now=5)
    assert phones.verify(pending("alice", "s2"), now=5)
    user, held = phones.user("alice"), phones.phone(PHONE)
    assert (user.phone_status, user.code_hash, user.code_salt) == (VERIFIED, None, None)
    assert held.verified and held.owned_by("alice") and not held.owned_by("bob")


def test_verifying_again_makes_an_unreachable_phone_reachable(phones):
    phones.claim(pending("alice", "s1"), take_over=None)
    for _ in range(3):
        phones.count_failure(PHONE, now=2)
    assert phones.mark_unreachable(PHONE) and not phones.mark_unreachable(PHONE), "marked once"
    assert (phones.phone(PHONE).delivery_failures, phones.phone(PHONE).unreachable) == (3, True)
    phones.verify(pending("alice", "s1"), now=5)
    assert (phones.phone(PHONE).delivery_failures, phones.phone(PHONE).unreachable) == (0, False)


def test_a_delivery_clears_the_failures_in_a_row(phones):
    assert phones.count_failure(PHONE, now=1).delivery_failures == 1
    assert phones.count_failure(PHONE, now=2).delivery_failures == 2
    phones.clear_failures(PHONE, now=3)
    assert phones.phone(PHONE).delivery_failures == 0
    phones.clear_failures("+14155550199", now=3)  # a phone never failed: nothing to clear
    assert phones.phone("+14155550199") is None


def test_release_and_removal_only_by_their_owner(phones):
    phones.claim(pending("alice", "s1"), take_over=None)
    assert not phones.release(PHONE, "bob", now=2)
    assert phones.release(PHONE, "alice", now=2)
    assert (phones.phone(PHONE).user_id, phones.phone(PHONE).claim) == (None, None)
    assert not phones.remove_user("alice", "+14155550100"), "the user has another phone now"
    assert phones.remove_user("alice", PHONE) and phones.user("alice") is None


def test_opting_out_outlives_the_owner_and_presence_is_kept(phones):
    phones.claim(pending("alice", "s1"), take_over=None)
    phones.set_away("alice", False, now=3)
    assert phones.user("alice").away is False
    assert phones.set_opted_out(PHONE, True, now=4).user_id == "alice"
    phones.release(PHONE, "alice", now=5)
    assert phones.phone(PHONE).opted_out is True


def test_a_lookup_is_kept_with_the_phone_and_leaves_its_owner_alone(phones):
    phones.claim(pending("alice", "s1"), take_over=None)
    phones.keep_lookup(PHONE, LookupFacts("mobile", "T-Mobile USA, Inc.", 12), looked_up_at=1000.0)
    held = phones.phone(PHONE)
    assert (held.line_type, held.carrier, held.pumping_risk, held.looked_up_at) == (
        "mobile",
        "T-Mobile USA, Inc.",
        12,
        1000.0,
    )
    assert (held.user_id, held.claim) == ("alice", "s1")
    phones.keep_lookup(PHONE, LookupFacts(None, None, None), looked_up_at=2000.0)
    again = phones.phone(PHONE)
    assert (again.line_type, again.carrier, again.pumping_risk, again.looked_up_at) == (None, None, None, 2000.0)


def test_a_refused_phone_nobody_holds_keeps_its_lookup_too(phones):
    phones.keep_lookup("+14155550199", LookupFacts("landline", "AT&T", None), looked_up_at=5.0)
    kept = phones.phone("+14155550199")
    assert (kept.user_id, kept.line_type, kept.looked_up_at) == (None, "landline", 5.0)
    assert phones.claim(pending("bob", "s9", "+14155550199"), take_over=None), "a kept lookup holds no claim"


def test_a_carrier_is_learned_only_while_none_is_known(phones):
    assert not phones.learn_carrier(PHONE, "T-Mobile USA, Inc.", 5), "no such phone"
    phones.claim(pending("alice", "s1"), take_over=None)
    assert phones.learn_carrier(PHONE, "T-Mobile USA, Inc.", 5)
    assert not phones.learn_carrier(PHONE, "Verizon Wireless", 6), "known already"
    assert phones.phone(PHONE).carrier == "T-Mobile USA, Inc."
