"""Twilio's webhooks under attack: a request that is unsigned, signed with
another account's token, signed for another URL or tampered with is refused
(403, in the error shape) and changes nothing; a genuine request replayed does
its work once (one message stored, one event)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from conftest import ACCOUNT_SID, AUTH_TOKEN, POOL, PUBLIC_BASE_URL, post_webhook, sign_webhook

from chalicelib.core import events
from chalicelib.store.models import Message, Phone

ALICE = "+14155550100"
SMS_SID = "SM" + "5ec" * 10 + "ab"


@pytest.fixture
def ready(bridge):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    bridge.queues.drain()
    return bridge, session


def _inbound(session, body="meet at 5", sid=SMS_SID) -> dict:
    return {
        "From": ALICE,
        "To": session["pool_number"],
        "Body": body,
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "NumMedia": "0",
    }


def _state(bridge):
    """Everything a forged webhook could change."""
    messages = sorted((m.message_id, m.status) for m in Message.scan())
    phones = sorted((p.phone, p.opted_out) for p in Phone.scan())
    return messages, phones, len(bridge.twilio.rest_requests())


def _forgeries(path: str, params: dict) -> dict:
    """name -> (params posted, signature sent, query string)."""
    good = sign_webhook(path, params)
    other_path = "/twilio/status" if path == "/twilio/sms" else "/twilio/sms"
    return {
        "unsigned": (params, None, ""),
        "empty signature": (params, "", ""),
        "garbage signature": (params, "not-a-signature", ""),
        "wrong auth token": (params, sign_webhook(path, params, token="another-accounts-token"), ""),
        "signed for another host": (params, sign_webhook(path, params, url="https://evil.example" + path), ""),
        "signed for another path": (params, sign_webhook(other_path, params), ""),
        "signed for http, not https": (
            params,
            sign_webhook(path, params, url=PUBLIC_BASE_URL.replace("https", "http") + path),
            "",
        ),
        "query string added": (params, good, "message_id=msg_x"),
        "tampered Body": ({**params, "Body": params.get("Body", "") + "!"}, good, ""),
        "tampered From": ({**params, "From": "+14155550199"}, good, ""),
        "parameter added": ({**params, "MediaUrl0": "https://evil.example/x.png"}, good, ""),
        "parameter removed": ({k: v for k, v in params.items() if k != "AccountSid"}, good, ""),
        "signature of an empty form": (params, sign_webhook(path, {}), ""),
    }


def _post(bridge, path, params, signature, query=""):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return bridge.api.client.http.post(path + ("?" + query if query else ""), headers=headers, body=urlencode(params))


def _assert_refused(response, name):
    import json

    assert response.status_code == 403, (name, response.status_code, response.body)
    body = json.loads(response.body)
    assert set(body) == {"error"} and body["error"]["code"] == "invalid_signature", (name, body)
    assert body["error"]["message"]


@pytest.mark.parametrize("text", ["meet at 5", "STOP"])
def test_forged_inbound_sms_is_refused_and_changes_nothing(ready, text):
    bridge, session = ready
    params = _inbound(session, body=text)
    before = _state(bridge)
    for name, (posted, signature, query) in _forgeries("/twilio/sms", params).items():
        _assert_refused(_post(bridge, "/twilio/sms", posted, signature, query), name)
    bridge.queues.drain()
    assert _state(bridge) == before
    assert bridge.chat.events == [], "no forged webhook reached the chat backend"
    # The genuine request still works afterwards.
    assert post_webhook(bridge.api, "/twilio/sms", params).status_code == 200


def test_forged_status_callback_is_refused_and_changes_nothing(ready):
    bridge, session = ready
    sent = bridge.send(session["session_id"], "are you there?")
    bridge.queues.drain()
    events_before = list(bridge.chat.events)
    path = "/twilio/status"
    params = {
        "MessageSid": "SM" + "f" * 32,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "AccountSid": ACCOUNT_SID,
    }
    before = _state(bridge)
    for name, (posted, signature, query) in _forgeries(path, params).items():
        # The status route carries our message id in its query string, signed with the rest.
        query = "&".join(q for q in (f"message_id={sent['message_id']}", query) if q)
        _assert_refused(_post(bridge, path, posted, signature, query), name)
    bridge.queues.drain()
    assert _state(bridge) == before
    assert bridge.chat.events == events_before
    assert bridge.api.get(f"/messages/{sent['message_id']}").json["status"] == "sent"


def test_a_signature_for_one_message_id_does_not_move_another(ready):
    bridge, session = ready
    first = bridge.send(session["session_id"], "one")
    second = bridge.send(session["session_id"], "two")
    bridge.queues.drain()
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "failed", "ErrorCode": "30007"}
    signature = sign_webhook(f"/twilio/status?message_id={first['message_id']}", params)
    response = _post(bridge, "/twilio/status", params, signature, f"message_id={second['message_id']}")
    _assert_refused(response, "message id swapped")
    assert bridge.api.get(f"/messages/{second['message_id']}").json["status"] == "sent"


def test_a_replayed_inbound_sms_is_stored_once_and_reported_once(ready, queued_events):
    bridge, session = ready
    params = _inbound(session, body="only once please")
    answers = [post_webhook(bridge.api, "/twilio/sms", params) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("<Message>" not in a.text for a in answers)
    bridge.queues.drain()
    stored = [m for m in Message.scan() if m.twilio_sid == SMS_SID]
    assert len(stored) == 1 and stored[0].text == "only once please"
    emitted = [event["type"] for event in queued_events]
    assert emitted.count(events.MESSAGE_RECEIVED) == 1, "the replays emitted nothing"
    assert [e["text"] for e in bridge.chat.of_type("message.received")] == ["only once please"]


def test_an_inbound_sms_whose_store_fails_is_reported_once_when_twilio_retries(ready, queued_events):
    """The event is queued before the message is stored: a store that fails after it
    answers 503, and the retry stores the message once and reports it under the
    same event id, so the chat backend sees it once."""
    from conftest import Failing, app_store, throttled
    from pynamodb.exceptions import PutError

    import app as app_module

    bridge, session = ready
    params = _inbound(session, body="did you get this?")
    with app_store(messages=Failing(app_module.context.store.messages, "add", throttled("PutItem", PutError))):
        assert post_webhook(bridge.api, "/twilio/sms", params).status_code == 503
    assert post_webhook(bridge.api, "/twilio/sms", params).status_code == 200
    assert post_webhook(bridge.api, "/twilio/sms", params).status_code == 200  # stored now: nothing more
    bridge.queues.drain()
    queued = [event["event_id"] for event in queued_events if event["type"] == events.MESSAGE_RECEIVED]
    assert len(queued) == 2 and queued[0] == queued[1], "queued again on the retry, under the same event id"
    assert [m.text for m in Message.scan() if m.twilio_sid == SMS_SID] == ["did you get this?"]
    assert [e["text"] for e in bridge.chat.of_type("message.received")] == ["did you get this?"]


def test_a_replayed_stop_opts_out_once_with_one_event(ready):
    bridge, session = ready
    params = _inbound(session, body="STOP", sid="SM" + "0" * 31 + "9")
    for _ in range(2):
        assert post_webhook(bridge.api, "/twilio/sms", params).status_code == 200
    bridge.queues.drain()
    assert bridge.api.get("/users/alice/phone").json["status"] == "opted_out"
    assert len(bridge.chat.of_type("phone.opted_out")) == 1


def test_replayed_and_stale_status_callbacks_never_move_a_message_back(ready):
    bridge, session = ready
    sent = bridge.send(session["session_id"], "status please")
    bridge.queues.drain()
    path = f"/twilio/status?message_id={sent['message_id']}"
    delivered = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
    stale = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "sent"}
    for params in (delivered, delivered, stale, delivered):
        response = _post(
            bridge, "/twilio/status", params, sign_webhook(path, params), f"message_id={sent['message_id']}"
        )
        assert response.status_code == 204
    bridge.queues.drain()
    assert bridge.api.get(f"/messages/{sent['message_id']}").json["status"] == "delivered"
    statuses = [e["status"] for e in bridge.chat.of_type("message.status") if e["message_id"] == sent["message_id"]]
    assert statuses == ["sent", "delivered"]


def test_webhooks_need_no_bearer_token_and_ignore_one(ready):
    """Twilio cannot send our bearer token: the signature alone decides, and a
    valid bearer token does not stand in for a missing signature."""
    bridge, session = ready
    params = _inbound(session)
    from conftest import API_TOKEN

    response = bridge.api.client.http.post(
        "/twilio/sms",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {API_TOKEN}"},
        body=urlencode(params),
    )
    _assert_refused(response, "bearer token instead of a signature")


def test_during_a_token_rotation_a_webhook_signed_by_either_token_is_accepted(api, monkeypatch):
    """TWILIO_AUTH_TOKEN lists the secondary, then the primary, while Twilio promotes
    the secondary: what Twilio signs with either is accepted, anything else is not."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", f"secondary-token,{AUTH_TOKEN}")
    path, params = "/twilio/status?message_id=msg_none", {"MessageSid": "SM" + "7" * 32, "MessageStatus": "sent"}
    for token, expected in ((AUTH_TOKEN, 204), ("secondary-token", 204), ("someone-elses", 403)):
        response = post_webhook(api, path, params, signature=sign_webhook(path, params, token=token))
        assert response.status_code == expected, token


def test_webhooks_served_on_their_own_endpoint_are_signed_against_it(ready, monkeypatch):
    """TWILIO_WEBHOOK_BASE_URL (the cheaper endpoint infra/template.py serves Twilio's webhooks
    on): signatures are checked against it, the REST API's URL no longer passes."""
    bridge, session = ready
    webhooks = "https://abc123.execute-api.us-east-1.amazonaws.com"
    monkeypatch.setenv("TWILIO_WEBHOOK_BASE_URL", webhooks)
    params = _inbound(session, body="on the other endpoint")
    _assert_refused(_post(bridge, "/twilio/sms", params, sign_webhook("/twilio/sms", params)), "REST API's URL")
    signature = sign_webhook("/twilio/sms", params, url=webhooks + "/twilio/sms")
    assert _post(bridge, "/twilio/sms", params, signature).status_code == 200
    from chalicelib import config

    assert (
        config.load().webhook_url("/twilio/status") == webhooks + "/twilio/status"
    )  # numbers and callbacks point there
