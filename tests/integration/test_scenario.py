"""The core story of the README's first paragraph, in-process: verified phones, sessions on
distinct pool numbers, outbound SMS, replies routed to the right partner."""

from conftest import POOL

ALICE, ERIN = "+14155550100", "+14155550199"


def test_hipchat_scenario(bridge):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)

    bob = bridge.open_session("alice", "bob", "Bob")
    carol = bridge.open_session("alice", "carol", "Carol")
    dave = bridge.open_session("alice", "dave", "Dave")
    numbers = [bob["pool_number"], carol["pool_number"], dave["pool_number"]]
    assert sorted(numbers) == sorted(POOL), "each of alice's chats gets its own number"

    # Numbers are shared across users: erin gets one of alice's numbers.
    bridge.verified_user("erin", ERIN)
    erin_bob = bridge.open_session("erin", "bob", "Bob")
    assert erin_bob["pool_number"] in POOL

    # Bob's message reaches alice's phone from bob's pool number, named.
    sent = bridge.send(bob["session_id"], "Lunch at noon?")
    assert sent["status"] == "queued" and sent["segments"] == 1 and sent["encoding"] == "GSM-7"
    bridge.queues.drain()
    chat_sms = [m for m in bridge.twilio.sms_to(ALICE) if "Lunch" in m.body]
    assert [(m.from_, m.body) for m in chat_sms] == [(bob["pool_number"], "Bob: Lunch at noon?")]
    assert bridge.api.get(f"/messages/{sent['message_id']}").json["status"] == "sent"

    # Alice's reply to carol's number reaches carol's session as a signed event.
    reply = bridge.sms_from_phone(ALICE, carol["pool_number"], "On my way, Carol")
    assert reply.status_code == 200 and "<Message>" not in reply.text
    bridge.queues.drain()
    received = bridge.chat.of_type("message.received")
    assert [(e["session_id"], e["partner_id"], e["text"]) for e in received] == [
        (carol["session_id"], "carol", "On my way, Carol")
    ]
    stored = bridge.api.get(f"/messages/{received[0]['message_id']}").json
    assert stored["direction"] == "inbound" and stored["status"] == "received"

    # A reply on a number with no open session of hers reaches nobody.
    bridge.api.delete(f"/sessions/{dave['session_id']}")
    unrouted = bridge.sms_from_phone(ALICE, dave["pool_number"], "Dave, you there?")
    assert "conversation has ended" in unrouted.text
    bridge.queues.drain()
    assert [e["text"] for e in bridge.chat.of_type("message.received")] == ["On my way, Carol"]
    events = bridge.chat.of_type("sms.unrouted")
    assert len(events) == 1 and events[0]["user_id"] == "alice" and "text" not in events[0]


def test_every_twilio_request_was_valid_against_the_spec(bridge):
    """The stand-in validates each request against Twilio's OpenAPI document
    and answers 400 to an invalid one; none of the project's was refused."""
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    bridge.send(session["session_id"], "hello")
    bridge.queues.drain()
    requests = bridge.twilio.rest_requests()
    assert {r["operation"] for r in requests} >= {
        "CreateMessage",
        "ListIncomingPhoneNumber",
        "UpdateIncomingPhoneNumber",
    }
    assert all(r["status"] < 400 for r in requests), [r for r in requests if r["status"] >= 400]
