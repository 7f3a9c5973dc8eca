"""Issue 25, item 4: Twilio's signature carries no timestamp, so a captured webhook can
be replayed at will. Every webhook of a conversation (the stand-in's own status
callbacks of a delivered and an undelivered SMS, and a reply), played in any order, each
any number of times: no message ever moves back, each ends where Twilio's last word put
it, the chat backend gets each event once (one POST per event id, no event the
conversation did not cause, whether the delivery queue is drained between replays or
only after them), the reply is stored once, and a carrier failure counts once for the phone."""

from __future__ import annotations

import uuid

import pytest
from conftest import PUBLIC_BASE_URL, post_webhook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from integration.test_carrier_outcomes import twilio  # noqa: F401 (the stand-in whose callbacks are caught)

from chalicelib.core.message_rules import inbound_message_id
from chalicelib.store.models import Message, Phone

ALICE = "+14155552672"
NUMBERS = ("+14155550191",)
RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}


@pytest.fixture
def alice(bridge, clock, monkeypatch):
    monkeypatch.setenv("PHONE_FAILURE_THRESHOLD", "1000")  # each example fails one SMS to alice
    bridge.add_pool(*NUMBERS)
    bridge.verified_user("alice", ALICE)
    bridge.callbacks = bridge.twilio.server.webhooks
    bridge.callbacks.api = bridge.api
    bridge.callbacks.deliver(2)  # the verification SMS's own: sent, delivered
    bridge.session = bridge.open_session("alice", "bob", "Bob")
    return bridge


def _caught(bridge, count: int) -> list[tuple[str, dict]]:
    """The stand-in's next `count` status callbacks, caught and not yet posted."""
    callbacks = bridge.callbacks
    with callbacks.lock:
        callbacks.lock.wait_for(lambda: len(callbacks.caught) >= count, timeout=10)
        batch, callbacks.caught = callbacks.caught[:count], callbacks.caught[count:]
    assert len(batch) == count, batch
    return [(url.removeprefix(PUBLIC_BASE_URL), params) for url, params in batch]


def _conversation(bridge) -> tuple[dict, list[tuple[str, dict]]]:
    """Two SMS out (one delivered, one undelivered 30003) and a reply in; returns their
    message ids and every webhook Twilio sent for them, none of them posted yet."""
    session_id = bridge.session["session_id"]
    delivered = bridge.send(session_id, "one")["message_id"]
    bridge.queues.drain()
    webhooks = _caught(bridge, 2)  # sent, delivered
    bridge.twilio.state.unreachable.add(ALICE)
    undelivered = bridge.send(session_id, "two")["message_id"]
    bridge.queues.drain()
    webhooks += _caught(bridge, 2)  # sent, undelivered 30003
    bridge.twilio.state.unreachable.discard(ALICE)
    sid = "SM" + uuid.uuid4().hex
    reply = {"From": ALICE, "To": NUMBERS[0], "Body": "reply", "MessageSid": sid, "AccountSid": "AC", "NumMedia": "0"}
    webhooks.append(("/twilio/sms", reply))
    return {"delivered": delivered, "undelivered": undelivered, "reply": inbound_message_id(sid)}, webhooks


def _status(message_id: str) -> str:
    return Message.get(message_id, consistent_read=True).status


@st.composite
def replays(draw, count: int) -> list[int]:
    """Every webhook index at least once, in any order, any of them again."""
    order = draw(st.permutations(range(count)))
    for _ in range(draw(st.integers(0, 12))):
        order.insert(draw(st.integers(0, len(order))), draw(st.integers(0, count - 1)))
    return order


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_webhook_of_a_conversation_replayed_in_any_order_any_number_of_times(alice, queued_events, data):
    ids, webhooks = _conversation(alice)
    failures_before = Phone.get(ALICE).delivery_failures or 0
    queued_before = len(queued_events)
    seen = {"delivered": "sent", "undelivered": "sent"}  # the sender recorded both as sent

    order = data.draw(replays(len(webhooks)), label="order")
    # After which replays the delivery queue's consumer runs: events already POSTed when a
    # replay comes in, as on AWS, or all of them still queued.
    drains = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)), label="drains")
    for index, drain in zip(order, drains, strict=True):
        path, params = webhooks[index]
        answer = post_webhook(alice.api, path, params)
        assert answer.status_code in (200, 204), answer.body
        if drain:
            alice.queues.drain()
        for name, status in seen.items():
            now = _status(ids[name])
            assert RANK[now] >= RANK[status], f"{name} moved back from {status} to {now}"
            seen[name] = now

    alice.queues.drain()
    assert seen == {"delivered": "delivered", "undelivered": "undelivered"}
    assert alice.api.get(f"/messages/{ids['undelivered']}").json["error_code"] == "30003"

    queued = queued_events[queued_before:]
    mine = [e for e in queued if e.get("message_id") in ids.values()]
    assert queued == mine, "no event of any other kind (phone.unreachable, sms.unrouted, ...)"
    assert len({e["event_id"] for e in mine}) == len(mine), "an event queued twice"
    assert sorted((e["type"], e["message_id"], e.get("status")) for e in mine) == sorted(
        [
            ("message.status", ids["delivered"], "delivered"),
            ("message.status", ids["undelivered"], "undelivered"),
            ("message.received", ids["reply"], None),
        ]
    ), "only the events the conversation caused"
    assert all(alice.chat.deliveries[e["event_id"]] == 1 for e in mine), "one POST per event"
    stored = alice.api.get(f"/sessions/{alice.session['session_id']}/messages?limit=100").json["messages"]
    assert [m["message_id"] for m in stored].count(ids["reply"]) == 1
    assert (Phone.get(ALICE).delivery_failures or 0) <= failures_before + 1, "the carrier failure counted once"
