"""store/messages.py's contract (each move conditional on the status; stops owe their
event until it is struck off) on both implementations."""

from __future__ import annotations

import pytest

from chalicelib.store.dynamodb.messages import DynamoMessages
from chalicelib.store.messages import MemoryMessages, Message


@pytest.fixture
def messages(impl):
    return MemoryMessages() if impl == "memory" else DynamoMessages()


def queued(message_id: str = "msg_1", order: str = "0001") -> Message:
    return Message(
        message_id, "outbound", "queued", "+14155550101", "+14155550123", created_at=1.0, order_key=order,
        retain_until=1000, session_id="ses_1", user_id="alice", text="hi", body="Bob: hi", queued_user_id="alice",
    )  # fmt: skip


def test_a_message_is_added_once(messages):
    assert messages.add(queued()) and not messages.add(queued())
    assert messages.get("msg_1") == queued()


def test_a_claim_wins_once_and_goes_back_to_queued(messages):
    messages.add(queued())
    claimed = messages.claim("msg_1", now=5.0)
    assert (claimed.status, claimed.attempts, claimed.claimed_at, claimed.queued_user_id) == ("sending", 1, 5.0, None)
    assert messages.claim("msg_1", now=6.0) is None
    assert messages.queued_of_user("alice") == [], "a message being sent is no longer among the queued"
    assert messages.unclaim(claimed)
    assert messages.queued_of_user("alice") == ["msg_1"] and messages.claim("msg_1", 7.0).attempts == 2


def test_recording_the_sid_keeps_a_status_that_moved_on(messages):
    messages.add(queued())
    messages.claim("msg_1", now=5.0)
    assert messages.move("msg_1", "delivered", ("queued", "sending", "sent"), None)
    assert not messages.record_sent("msg_1", "SM1", now=6.0)
    stored = messages.get("msg_1")
    assert (stored.status, stored.twilio_sid, stored.sent_at) == ("delivered", "SM1", 6.0)
    assert not messages.move("msg_1", "sent", ("queued", "sending"), None), "never back"


def test_a_stop_owes_its_event_until_it_is_struck_off(messages):
    messages.add(queued())
    messages.add(queued("msg_2", "0002"))
    messages.claim("msg_2", now=1.0)
    stopped = messages.stop("msg_1", "failed", "21610")
    assert (stopped.status, stopped.error_code, stopped.events_owed) == ("failed", "21610", {"failed"})
    assert messages.stop("msg_2", "cancelled", None) is None, "being sent: not stopped"
    assert messages.queued_of_user("alice") == ["msg_1"], "kept among the queued until its event is queued"
    messages.strike_owed(stopped, frozenset({"failed"}))
    assert messages.get("msg_1").events_owed == frozenset() and messages.queued_of_user("alice") == []
    finished = messages.finish("msg_2", "failed", "expired")
    assert (finished.status, finished.events_owed) == ("failed", {"failed"})
    assert messages.finish("msg_2", "failed", "expired") is None


def test_a_sessions_messages_page_in_order_and_earlier_sids_are_known(messages):
    for index in range(5):
        messages.add(queued(f"msg_{index}", f"{index:04d}"))
    for index in (1, 3):
        messages.claim(f"msg_{index}", now=1.0)
        messages.record_sent(f"msg_{index}", f"SM{index}", now=2.0)
    seen, start = [], None
    while True:
        page = messages.page("ses_1", 2, start)
        seen += [m.message_id for m in page.messages]
        start = page.next_key
        if start is None:
            break
    assert seen == [f"msg_{i}" for i in range(5)]
    assert messages.earlier_sids("ses_1", "0003") == {"SM1"}
