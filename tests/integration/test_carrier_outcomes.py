"""Carrier outcomes (issue 13 part 4) through the Twilio stand-in's own status callbacks:
the stand-in delivers (or fails) each SMS and its signed callbacks are fed to the app.
The phone that cannot get SMS becomes unreachable after the threshold; a pool or
account fault holds the number back (metric, alarm) until it is reactivated; every
message.status event carries error_code and error_reason."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from conftest import PUBLIC_BASE_URL, Failing, post_webhook, standin_twilio
from integration.test_pool import assert_twilio_spec_kept

import app as app_module
from chalicelib.adapters import metrics
from chalicelib.adapters.metrics import Collector, Metrics
from chalicelib.adapters.twilio import TwilioError

ALICE = "+14155552671"
NUMBERS = ("+14155550181", "+14155550182")


class StandinCallbacks:
    """The stand-in's webhook client in these tests: its status callbacks are caught as it sends
    them and replayed into the in-process app, signed as Twilio signs them."""

    def __init__(self):
        self.api = None  # the app they are replayed into, set once the bridge is built
        self.caught: list[tuple[str, dict]] = []
        self.lock = threading.Condition()

    def post(self, kind, url, params, method="POST"):
        with self.lock:
            self.caught.append((url, dict(params)))
            self.lock.notify_all()
        return {}

    def deliver(self, count: int) -> list[dict]:
        """Wait for `count` callbacks, post them to the app."""
        with self.lock:
            self.lock.wait_for(lambda: len(self.caught) >= count, timeout=10)
            batch, self.caught = self.caught[:count], self.caught[count:]
        assert len(batch) == count, batch
        for url, params in batch:
            assert url.startswith(PUBLIC_BASE_URL)
            response = post_webhook(self.api, url[len(PUBLIC_BASE_URL) :], params)
            assert response.status_code == 204, response.body
        return [params for _, params in batch]


@pytest.fixture
def twilio():
    """The conftest's stand-in, its callbacks at once and caught (they must not leave the process)."""
    with standin_twilio(callback_delay=0, webhooks=StandinCallbacks()) as twilio:
        yield twilio


@pytest.fixture
def alice(bridge):
    bridge.add_pool(*NUMBERS)
    bridge.verified_user("alice", ALICE)
    bridge.callbacks = bridge.twilio.server.webhooks
    bridge.callbacks.api = bridge.api
    bridge.callbacks.deliver(2)  # the verification SMS's own: sent, delivered
    return bridge


def send_and_settle(bridge, session_id: str, text: str, callbacks: int) -> dict:
    message = bridge.send(session_id, text)
    bridge.queues.drain()
    bridge.callbacks.deliver(callbacks)
    bridge.queues.drain()
    return message


def status_events(bridge, message_id: str) -> list[dict]:
    return [e for e in bridge.chat.of_type("message.status") if e["message_id"] == message_id]


def test_a_phone_that_cannot_get_sms_is_unreachable_after_the_threshold(alice, monkeypatch):
    monkeypatch.setenv("PHONE_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("VERIFY_PHONE_MIN_INTERVAL_SECONDS", "0")  # it is hooked up again below, at once
    session = alice.open_session("alice", "bob", "Bob")
    alice.twilio.state.unreachable.add(ALICE)

    first = send_and_settle(alice, session["session_id"], "one", callbacks=2)  # sent, undelivered 30003
    final = status_events(alice, first["message_id"])[-1]
    assert (final["status"], final["error_code"], final["error_reason"]) == (
        "undelivered",
        "30003",
        "phone unreachable (off or out of coverage)",
    )
    assert alice.send(session["session_id"], "still allowed")  # one failure is below the threshold
    alice.queues.drain()
    alice.callbacks.deliver(2)
    alice.queues.drain()

    told = alice.chat.of_type("phone.unreachable")
    assert [(e["user_id"], e["session_ids"], e["error_code"]) for e in told] == [
        ("alice", [session["session_id"]], "30003")
    ]
    assert alice.api.get("/users/alice/phone").json["status"] == "unreachable"
    refused = alice.api.post(f"/sessions/{session['session_id']}/messages", {"text": "three"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "phone_unreachable"

    # Verified again: SMS go out again.
    alice.twilio.state.unreachable.discard(ALICE)
    alice.api.put("/users/alice/phone", {"phone": ALICE})
    alice.queues.drain()
    alice.callbacks.deliver(2)
    assert alice.api.post("/users/alice/phone/verify", {"code": alice.twilio.last_code(ALICE)}).status_code == 200
    # Hooking the phone up again closed its sessions (issue 12): a new one sends again.
    again = alice.open_session("alice", "bob", "Bob")
    assert alice.api.post(f"/sessions/{again['session_id']}/messages", {"text": "back"}).status_code == 202
    assert_twilio_spec_kept(alice.twilio)


def test_a_delivered_sms_starts_the_count_again(alice, monkeypatch):
    monkeypatch.setenv("PHONE_FAILURE_THRESHOLD", "2")
    session = alice.open_session("alice", "bob", "Bob")
    for unreachable in (True, False, True):
        (alice.twilio.state.unreachable.add if unreachable else alice.twilio.state.unreachable.discard)(ALICE)
        send_and_settle(alice, session["session_id"], "hi", callbacks=2)
    assert alice.chat.of_type("phone.unreachable") == []
    assert alice.api.post(f"/sessions/{session['session_id']}/messages", {"text": "ok"}).status_code == 202


def test_an_unregistered_number_is_held_back_with_a_metric_until_reactivated(alice):
    alice.twilio.state.require_a2p = True  # the pool's numbers are in no approved campaign: 30034
    session = alice.open_session("alice", "bob", "Bob")
    figures = []
    app_module.configure(replace(app_module.context, metrics=Metrics(Collector(lambda name, *_: figures.append(name)))))
    message = send_and_settle(alice, session["session_id"], "blocked", callbacks=1)  # undelivered 30034
    faults = [name for name in figures if name == metrics.POOL_NUMBER_FAULTS]
    final = status_events(alice, message["message_id"])[-1]
    assert (final["status"], final["error_code"]) == ("undelivered", "30034")
    assert "A2P 10DLC" in final["error_reason"]
    assert faults == [metrics.POOL_NUMBER_FAULTS]
    held = session["pool_number"]
    listed = {n["phone_number"]: n for n in alice.api.get("/numbers").json["numbers"]}
    assert listed[held]["held_back"].startswith("30034")

    other = alice.open_session("alice", "carol", "Carol")  # the held number gets no new session
    assert other["pool_number"] != held
    alice.api.delete(f"/sessions/{other['session_id']}")
    alice.api.delete(f"/sessions/{session['session_id']}")

    reactivated = alice.api.post(f"/numbers/{held}/reactivate")
    assert reactivated.status_code == 200 and "held_back" not in reactivated.json
    # Both numbers are free again; the one that was held takes sessions again.
    placed = {alice.open_session("alice", partner)["pool_number"] for partner in ("dave", "erin")}
    assert placed == set(NUMBERS)


def test_without_a_service_blocked_numbers_are_not_followed_by_more_plain_ones(alice):
    alice.twilio.state.require_a2p = True
    for partner in ("bob", "carol"):  # both numbers: 30034, held back
        session = alice.open_session("alice", partner)
        send_and_settle(alice, session["session_id"], "blocked", callbacks=1)
    refused = alice.api.post("/sessions", {"user_id": "alice", "partner_id": "dave"})
    assert refused.status_code == 503 and refused.json["error"]["code"] == "pool_exhausted"
    assert "TWILIO_MESSAGING_SERVICE_SID" in refused.json["error"]["message"]
    assert len(alice.api.get("/numbers").json["numbers"]) == 2


def test_a_send_refused_for_the_region_holds_the_number_back(alice):
    session = alice.open_session("alice", "bob", "Bob")

    def refused():
        return TwilioError("Twilio answered 400 (code 21408)", status=400, code=21408, retryable=False)

    ctx = app_module.context
    app_module.configure(replace(ctx, twilio=Failing(ctx.twilio, "send_sms", refused)))
    message = alice.send(session["session_id"], "abroad")
    alice.queues.drain()
    final = status_events(alice, message["message_id"])[-1]
    assert (final["status"], final["error_code"]) == ("failed", "21408")
    assert "region" in final["error_reason"]
    held = {n["phone_number"]: n.get("held_back") for n in alice.api.get("/numbers").json["numbers"]}
    assert held[session["pool_number"]].startswith("21408")


@pytest.mark.parametrize("code, effect", [("21610", "opted_out"), ("30008", "none")])
def test_opted_out_and_unknown(alice, code, effect):
    session = alice.open_session("alice", "bob", "Bob")
    message = alice.send(session["session_id"], "hello")
    alice.queues.drain()
    path = f"/twilio/status?message_id={message['message_id']}"
    post_webhook(alice.api, path, {"MessageSid": "SMx", "MessageStatus": "undelivered", "ErrorCode": code})
    alice.queues.drain()
    final = status_events(alice, message["message_id"])[-1]
    assert final["error_code"] == code and final["error_reason"]
    expected = "opted_out" if effect == "opted_out" else "verified"
    assert alice.api.get("/users/alice/phone").json["status"] == expected
    assert all("held_back" not in n for n in alice.api.get("/numbers").json["numbers"])
