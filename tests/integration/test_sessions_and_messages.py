"""Sessions and messages through the API: reuse, stickiness, listing, Twilio's
answers, status callbacks and the requests queue."""

import json

import pytest
from conftest import POOL, post_webhook

from devstack.twilio.faults import Fault

ALICE = "+14155550100"


@pytest.fixture
def alice(bridge):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    return bridge


def test_open_pair_returns_the_same_session_until_closed(alice):
    first = alice.api.post("/sessions", {"user_id": "alice", "partner_id": "bob", "partner_name": "Bob"})
    again = alice.api.post("/sessions", {"user_id": "alice", "partner_id": "bob"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["session_id"] == first.json["session_id"]

    alice.api.delete(f"/sessions/{first.json['session_id']}")
    reopened = alice.api.post("/sessions", {"user_id": "alice", "partner_id": "bob"})
    assert reopened.status_code == 201 and reopened.json["session_id"] != first.json["session_id"]


def test_a_closed_pairs_number_goes_to_whoever_asks_first(alice):
    bob = alice.open_session("alice", "bob")
    alice.api.delete(f"/sessions/{bob['session_id']}")
    carol = alice.open_session("alice", "carol")
    assert carol["pool_number"] == bob["pool_number"], "the route was freed at once"
    assert alice.open_session("alice", "bob")["pool_number"] != carol["pool_number"]


def test_sticky_number_wins_over_a_less_loaded_one(alice):
    bob = alice.open_session("alice", "bob")
    alice.api.delete(f"/sessions/{bob['session_id']}")
    assert alice.open_session("alice", "bob")["pool_number"] == bob["pool_number"]


def test_sessions_expire_after_inactivity_and_free_their_number(alice, clock):
    bob = alice.open_session("alice", "bob", "Bob")
    clock.advance(12 * 3600 + 1)
    assert alice.api.get("/users/alice/sessions").json["sessions"] == []
    assert alice.api.get(f"/sessions/{bob['session_id']}").json["status"] == "closed"
    reply = alice.sms_from_phone(ALICE, bob["pool_number"], "late reply")
    assert "conversation has ended" in reply.text
    sent = alice.api.post(f"/sessions/{bob['session_id']}/messages", {"text": "hi"})
    assert sent.status_code == 409 and sent.json["error"]["code"] == "session_closed"


def test_segments_count_the_sender_name_and_unicode(alice):
    session = alice.open_session("alice", "bob", "Bob")
    exactly = alice.send(session["session_id"], "x" * (160 - len("Bob: ")))
    over = alice.send(session["session_id"], "x" * (161 - len("Bob: ")))
    emoji = alice.send(session["session_id"], "see you \N{GRINNING FACE}")
    smart = alice.send(session["session_id"], "\u201cquoted\u201d \u2014 fine")
    assert (exactly["segments"], exactly["encoding"]) == (1, "GSM-7")
    assert (over["segments"], over["encoding"]) == (2, "GSM-7")
    assert emoji["encoding"] == "UCS-2"
    assert smart["encoding"] == "GSM-7", "curly quotes and dashes are smart-encoded"


def test_messages_list_oldest_first_with_cursor(alice):
    session = alice.open_session("alice", "bob", "Bob")
    ids = [alice.send(session["session_id"], f"message {i}")["message_id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = alice.api.get(f"/sessions/{session['session_id']}/messages{query}").json
        seen += [m["message_id"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


@pytest.mark.parametrize(
    "phone_state, expected_status, expected_code, opted_out",
    [({"opted_out": True}, "failed", "21610", True)],
)
def test_twilio_refusals_are_final_with_their_code(alice, phone_state, expected_status, expected_code, opted_out):
    session = alice.open_session("alice", "bob", "Bob")
    with alice.twilio.state.lock:
        alice.twilio.state.opted_out.add(ALICE)
    message = alice.send(session["session_id"], "hello")
    alice.queues.drain()
    stored = alice.api.get(f"/messages/{message['message_id']}").json
    assert (stored["status"], stored["error_code"]) == (expected_status, expected_code)
    assert (alice.api.get("/users/alice/phone").json["status"] == "opted_out") is opted_out


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_faults_are_retried_never_dropped(alice, status):
    session = alice.open_session("alice", "bob", "Bob")
    with alice.twilio.state.lock:
        alice.twilio.server.faults.add(Fault(operation="CreateMessage", status=status, count=1))
    message = alice.send(session["session_id"], "try again")
    alice.queues.drain()
    assert alice.api.get(f"/messages/{message['message_id']}").json["status"] in ("queued", "sending")
    alice.queues.end_waits("sms-bridge-dev-outbound.fifo")
    alice.queues.drain()
    assert alice.api.get(f"/messages/{message['message_id']}").json["status"] == "sent"
    assert len([m for m in alice.twilio.sms_to(ALICE) if "try again" in m.body]) == 1


def test_status_callbacks_move_messages_forward_only(alice):
    session = alice.open_session("alice", "bob", "Bob")
    message = alice.send(session["session_id"], "status please")
    alice.queues.drain()
    path = f"/twilio/status?message_id={message['message_id']}"
    sid = alice.api.get(f"/messages/{message['message_id']}").json
    for status in ("delivered", "sent"):  # out of order: 'sent' arrives late
        response = post_webhook(alice.api, path, {"MessageSid": "SMx", "MessageStatus": status})
        assert response.status_code == 204
    assert sid["status"] == "sent"
    assert alice.api.get(f"/messages/{message['message_id']}").json["status"] == "delivered"
    alice.queues.drain()
    statuses = [e["status"] for e in alice.chat.of_type("message.status") if e["message_id"] == message["message_id"]]
    assert statuses == ["sent", "delivered"]


def test_requests_queue_sends_like_the_api_and_rejects_with_a_reason(alice):
    sqs = alice.queues.sqs
    url = sqs.get_queue_url(QueueName="sms-bridge-dev-requests")["QueueUrl"]
    good = {"type": "message.send", "user_id": "alice", "partner_id": "bob", "partner_name": "Bob", "text": "via SQS"}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(good))
    sqs.send_message(QueueUrl=url, MessageBody="{not json")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({**good, "user_id": "stranger"}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"type": "message.fly"}))
    alice.queues.drain()

    assert [m.body for m in alice.twilio.sms_to(ALICE) if "via SQS" in m.body] == ["Bob: via SQS"]
    dead = alice.queues.messages_in("sms-bridge-dev-requests-dlq")
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"].split(":")[0] for m in dead)
    assert reasons == ["invalid_json", "phone_not_verified", "unknown_type"]
    assert sorted(e["code"] for e in alice.chat.of_type("request.rejected")) == reasons
    assert alice.queues.messages_in("sms-bridge-dev-requests") == []

    close = {"type": "session.close", "user_id": "alice", "partner_id": "bob"}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(close))
    alice.queues.drain()
    assert alice.api.get("/users/alice/sessions").json["sessions"] == []


def test_messages_keep_a_session_open(alice, clock):
    bob = alice.open_session("alice", "bob", "Bob")
    start = clock.now()
    clock.set(start + 8 * 3600)
    alice.send(bob["session_id"], "still here")
    clock.set(start + 16 * 3600)  # past the first expiry
    reply = alice.sms_from_phone(ALICE, bob["pool_number"], "me too")
    assert "conversation has ended" not in reply.text
    assert alice.api.get(f"/sessions/{bob['session_id']}").json["status"] == "open"
