"""Replayed webhooks over HTTP (issue 25, item 4): Twilio's signature carries no
timestamp, so whoever captures a webhook can post it again. Every webhook Twilio sent
for a conversation (status callbacks of a delivered and an undelivered SMS, the reply
the phone sent), taken from the stand-in's log of what it posted, is replayed exactly as
captured: one after another in shuffled order (each message's status read after every
replay), then all at once. Nothing moves back, the chat backend gets no further POST and no
new event, the reply is stored once, and the undelivered SMS's carrier failure is not counted
again (with PHONE_FAILURE_THRESHOLD 3, two dozen replays of it counted would make the phone
unreachable; it still gets the next SMS)."""

from __future__ import annotations

import random
import threading
from urllib.parse import quote

import requests
from twilio.request_validator import RequestValidator

from e2e.conftest import SETTINGS, wait_for

PHONE = "+14155557301"
REPEATS = 5


def _replay(webhook: dict) -> int:
    """Post a captured webhook again, with the signature Twilio gave it."""
    signature = RequestValidator(SETTINGS["TWILIO_AUTH_TOKEN"]).compute_signature(webhook["url"], webhook["params"])
    answer = requests.post(
        webhook["url"], data=webhook["params"], headers={"X-Twilio-Signature": signature}, timeout=15
    )
    return answer.status_code


def _message(stack, message_id: str) -> dict:
    return stack.call("GET", f"/messages/{message_id}", expect=200).json()


def _deliveries(stack) -> dict:
    return stack.http.get(stack.receiver_url, timeout=10).json()["deliveries"]


def test_every_webhook_of_a_conversation_replayed_changes_nothing(stack):
    stack.verified_user("replayed", PHONE)
    session = stack.open_session("replayed", "bob", "Bob")
    delivered = stack.send(session["session_id"], "first")["message_id"]
    wait_for(lambda: _message(stack, delivered)["status"] == "delivered", "the first SMS delivered")
    stack.http.put(f"{stack.standin_url}/_standin/phones/{quote(PHONE)}", json={"unreachable": True}, timeout=10)
    undelivered = stack.send(session["session_id"], "second")["message_id"]
    wait_for(lambda: _message(stack, undelivered)["status"] == "undelivered", "the second SMS undelivered")
    stack.http.put(f"{stack.standin_url}/_standin/phones/{quote(PHONE)}", json={"unreachable": False}, timeout=10)
    stack.send_from_phone(PHONE, session["pool_number"], "a reply")
    reply = stack.wait_for_event(lambda e: e["type"] == "message.received" and e["text"] == "a reply", "the reply")

    captured = [
        c
        for c in stack.callbacks()
        if (c["kind"] == "status" and any(f"message_id={m}" in c["url"] for m in (delivered, undelivered)))
        or (c["kind"] == "sms" and c["params"]["From"] == PHONE and c["params"]["Body"] == "a reply")
    ]
    assert sorted((c["kind"], c["params"].get("MessageStatus")) for c in captured) == [
        ("sms", None),
        ("status", "delivered"),
        ("status", "sent"),
        ("status", "sent"),
        ("status", "undelivered"),
    ]
    ids = {
        e["event_id"] for e in stack.events() if e.get("message_id") in (delivered, undelivered, reply["message_id"])
    }
    wait_for(lambda: ids <= set(_deliveries(stack)), "every event of the conversation at the chat backend")
    before = {event_id: _deliveries(stack)[event_id] for event_id in ids}
    events_before = {e["event_id"] for e in stack.events()}
    stored_before = stack.session_messages(session["session_id"])

    shuffled = captured * REPEATS
    random.shuffle(shuffled)
    for webhook in shuffled:
        assert _replay(webhook) in (200, 204)
        now = (_message(stack, delivered)["status"], _message(stack, undelivered)["status"])
        assert now == ("delivered", "undelivered"), f"moved back to {now} by {webhook['params'].get('MessageStatus')}"
    at_once = captured * 4
    start = threading.Barrier(len(at_once))
    answers: list = []

    def replay_at_once(webhook: dict) -> None:
        start.wait()
        answers.append(_replay(webhook))

    threads = [threading.Thread(target=replay_at_once, args=(webhook,)) for webhook in at_once]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert set(answers) == {200, 204} and len(answers) == len(at_once)  # the reply's TwiML, the statuses' 204

    # A later event through the same queue: once it is in, replays' events would be too.
    stack.send_from_phone(PHONE, session["pool_number"], "after the replays")
    stack.wait_for_event(lambda e: e["type"] == "message.received" and e["text"] == "after the replays", "a marker")
    assert (_message(stack, delivered)["status"], _message(stack, undelivered)["status"]) == (
        "delivered",
        "undelivered",
    )
    assert _message(stack, undelivered)["error_code"] == "30003"
    after = _deliveries(stack)
    assert {event_id: after[event_id] for event_id in ids} == before, "no event POSTed again"
    conversation = {e["event_id"] for e in stack.events() if e.get("session_id") == session["session_id"]}
    assert conversation - ids == {e["event_id"] for e in stack.events() if e.get("text") == "after the replays"}, (
        "no new event but the marker's"
    )
    new_events = [e for e in stack.events() if e["event_id"] not in events_before]
    assert [e.get("text") for e in new_events] == ["after the replays"], "no event but the marker, of any kind"
    after_replays = stack.send(session["session_id"], "still reachable")["message_id"]
    wait_for(lambda: _message(stack, after_replays)["status"] == "delivered", "an SMS after the replays delivered")
    stored = [m["message_id"] for m in stack.session_messages(session["session_id"])]
    assert stored[: len(stored_before)] == [m["message_id"] for m in stored_before]
    assert len(stored) == len(stored_before) + 2, "the reply stored once; only the marker and the last SMS are new"
