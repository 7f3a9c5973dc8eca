"""Bad input gets its documented status and error code: never a 5xx, never a
stack trace, nothing stored twice, nothing lost."""

import pytest
from conftest import API_TOKEN, POOL, post_webhook, sign_webhook

ALICE = "+14155550100"


@pytest.fixture
def ready(bridge):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    closed = bridge.open_session("alice", "carol", "Carol")
    bridge.api.delete(f"/sessions/{closed['session_id']}")
    return bridge, session["session_id"], closed["session_id"]


CASES = [
    # (id, method, path, body, raw, headers, token, status, code)
    ("invalid phone", "PUT", "/users/zed/phone", {"phone": "12345"}, None, None, API_TOKEN, 400, "invalid_phone"),
    (
        "phone not a string",
        "PUT",
        "/users/zed/phone",
        {"phone": 14155550100},
        None,
        None,
        API_TOKEN,
        400,
        "invalid_phone",
    ),
    ("empty text", "POST", "/sessions/{open}/messages", {"text": ""}, None, None, API_TOKEN, 400, "invalid_text"),
    ("blank text", "POST", "/sessions/{open}/messages", {"text": "   "}, None, None, API_TOKEN, 400, "invalid_text"),
    (
        "1601 characters",
        "POST",
        "/sessions/{open}/messages",
        {"text": "x" * 1601},
        None,
        None,
        API_TOKEN,
        400,
        "text_too_long",
    ),
    ("malformed JSON", "POST", "/sessions", None, "{not json", None, API_TOKEN, 400, "invalid_json"),
    ("JSON not an object", "POST", "/sessions", None, "[1, 2]", None, API_TOKEN, 400, "invalid_json"),
    (
        "wrong content type",
        "POST",
        "/sessions",
        None,
        "user_id=alice",
        {"Content-Type": "text/plain"},
        API_TOKEN,
        415,
        "unsupported_media_type",
    ),
    ("missing user_id", "POST", "/sessions", {"partner_id": "bob"}, None, None, API_TOKEN, 400, "invalid_id"),
    (
        "unknown user",
        "POST",
        "/sessions",
        {"user_id": "nobody", "partner_id": "bob"},
        None,
        None,
        API_TOKEN,
        409,
        "phone_not_verified",
    ),
    ("unknown session", "GET", "/sessions/ses_missing", None, None, None, API_TOKEN, 404, "session_not_found"),
    (
        "unknown session send",
        "POST",
        "/sessions/ses_missing/messages",
        {"text": "hi"},
        None,
        None,
        API_TOKEN,
        404,
        "session_not_found",
    ),
    ("unknown message", "GET", "/messages/msg_missing", None, None, None, API_TOKEN, 404, "message_not_found"),
    ("unknown user phone", "GET", "/users/nobody/phone", None, None, None, API_TOKEN, 404, "phone_not_found"),
    (
        "closed session",
        "POST",
        "/sessions/{closed}/messages",
        {"text": "hi"},
        None,
        None,
        API_TOKEN,
        409,
        "session_closed",
    ),
    ("missing token", "GET", "/numbers", None, None, None, None, 401, "unauthorized"),
    ("wrong token", "GET", "/numbers", None, None, None, "not-the-token", 401, "unauthorized"),
    ("wrong scheme", "GET", "/numbers", None, None, {"Authorization": f"Basic {API_TOKEN}"}, None, 401, "unauthorized"),
    ("bad verify code", "POST", "/users/alice/phone/verify", {"code": "12ab56"}, None, None, API_TOKEN, 200, None),
    ("bad limit", "GET", "/sessions/{open}/messages?limit=0", None, None, None, API_TOKEN, 400, "invalid_limit"),
    ("bad cursor", "GET", "/sessions/{open}/messages?cursor=%%%", None, None, None, API_TOKEN, 400, "invalid_cursor"),
    ("bad presence", "PUT", "/users/alice/presence", {"away": "yes"}, None, None, API_TOKEN, 400, "invalid_presence"),
    ("bad area code", "POST", "/numbers", {"area_code": "SF"}, None, None, API_TOKEN, 400, "invalid_area_code"),
    ("unknown pool number", "DELETE", "/numbers/+14155550188", None, None, None, API_TOKEN, 404, "number_not_found"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(ready, case):
    bridge, open_id, closed_id = ready
    _, method, path, body, raw, headers, token, status, code = case
    path = path.format(open=open_id, closed=closed_id)
    before = _stored(bridge)
    response = bridge.api.call(method, path, body, token=token, headers=headers, raw=raw)
    if code is None:  # alice is already verified: a late verify is harmless
        assert response.status_code == status
        return
    assert response.status_code == status, response.body
    assert set(response.json) == {"error"} and response.json["error"]["code"] == code
    assert response.json["error"]["message"] and "Traceback" not in response.json["error"]["message"]
    assert _stored(bridge) == before, "a refused request stored nothing"


def _stored(bridge):
    from chalicelib.store.models import Message, Session

    return (sum(1 for _ in Message.scan()), sum(1 for _ in Session.scan()))


def test_unsigned_and_tampered_webhooks_are_refused(ready):
    bridge, _, _ = ready
    params = {"From": ALICE, "To": POOL[0], "Body": "hi", "MessageSid": "SM" + "a" * 32}
    unsigned = post_webhook(bridge.api, "/twilio/sms", params, signature=None)
    tampered = post_webhook(
        bridge.api, "/twilio/sms", {**params, "Body": "changed"}, signature=sign_webhook("/twilio/sms", params)
    )
    other_url = post_webhook(
        bridge.api, "/twilio/sms", params, signature=sign_webhook("", params, url="https://evil.test/twilio/sms")
    )
    wrong_token = post_webhook(
        bridge.api, "/twilio/sms", params, signature=sign_webhook("/twilio/sms", params, token="wrong")
    )
    for response in (unsigned, tampered, other_url, wrong_token):
        assert response.status_code == 403
    bridge.queues.drain()
    assert bridge.chat.of_type("message.received") == bridge.chat.of_type("sms.unrouted") == []


def test_duplicate_message_sid_is_delivered_once(ready):
    bridge, open_id, _ = ready
    pool_number = bridge.api.get(f"/sessions/{open_id}").json["pool_number"]
    first = bridge.sms_from_phone(ALICE, pool_number, "once", sid="SM" + "d" * 32)
    again = bridge.sms_from_phone(ALICE, pool_number, "once", sid="SM" + "d" * 32)
    assert first.status_code == again.status_code == 200
    bridge.queues.drain()
    assert [e["text"] for e in bridge.chat.of_type("message.received")] == ["once"]
    listed = bridge.api.get(f"/sessions/{open_id}/messages").json["messages"]
    assert [m["text"] for m in listed if m["direction"] == "inbound"] == ["once"]


def test_same_client_message_id_sends_once(ready):
    bridge, open_id, _ = ready
    first = bridge.send(open_id, "only once", client_message_id="c-1")
    again = bridge.send(open_id, "only once", client_message_id="c-1")
    assert first["message_id"] == again["message_id"]
    bridge.queues.drain()
    assert len([m for m in bridge.twilio.sms_to(ALICE) if "only once" in m.body]) == 1
    reused = bridge.api.post(f"/sessions/{open_id}/messages", {"text": "different", "client_message_id": "c-1"})
    assert reused.status_code == 409 and reused.json["error"]["code"] == "client_message_id_reused"


def test_aws_throttling_answers_503_with_retry_after_and_loses_nothing(ready):
    """Once botocore's retries are spent, a throttled DynamoDB is the caller's
    cue to retry (503), not a server bug (500)."""
    from conftest import Failing, app_store, throttled
    from pynamodb.exceptions import GetError

    import app as app_module

    bridge, open_id, _ = ready
    with app_store(sessions=Failing(app_module.context.store.sessions, "get", throttled("GetItem", GetError))):
        response = bridge.api.post(f"/sessions/{open_id}/messages", {"text": "hello", "client_message_id": "retry-1"})
    assert response.status_code == 503 and response.json["error"]["code"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "1"
    retried = bridge.api.post(f"/sessions/{open_id}/messages", {"text": "hello", "client_message_id": "retry-1"})
    assert retried.status_code == 202
