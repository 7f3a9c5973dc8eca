"""Issue 12, part 4: no body gets a 5xx. Bodies too large (413) or nested too deep
(400) are refused before parsing; control characters in text are refused; the
text limit is the documented one, stated for the session."""

import json

import boto3
import pytest
from conftest import POOL

from chalicelib.core.request_body import MAX_BODY_BYTES, MAX_JSON_DEPTH

ALICE = "+14155550100"
JSON_ROUTES = [
    ("PUT", "/users/alice/phone"),
    ("POST", "/users/alice/phone/verify"),
    ("PUT", "/users/alice/presence"),
    ("POST", "/sessions"),
    ("POST", "/sessions/{session}/messages"),
    ("POST", "/numbers"),
]


@pytest.fixture
def ready(bridge):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    return bridge, session["session_id"]


def _bodies():
    yield "deep array", "[" * 5000 + "]" * 5000, 400, "invalid_json"
    yield "deep object", '{"a":' * 3000 + "1" + "}" * 3000, 400, "invalid_json"
    yield "unclosed deep", "[" * 100_00, 400, "invalid_json"
    yield "just too deep", '{"text":' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}", 400, "invalid_json"
    yield "too large", json.dumps({"text": "x" * MAX_BODY_BYTES}), 413, "payload_too_large"


def test_no_body_gets_a_5xx_on_any_json_route(ready):
    bridge, session_id = ready
    for method, path in JSON_ROUTES:
        for name, raw, status, code in _bodies():
            response = bridge.api.call(method, path.format(session=session_id), raw=raw)
            assert response.status_code == status, (method, path, name, response.body[:200])
            assert response.json["error"]["code"] == code


def test_a_deep_request_on_the_queue_is_dead_lettered_not_retried(ready):
    bridge, _ = ready
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="sms-bridge-dev-requests")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="[" * 15000 + "]" * 15000)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"type": "message.send", "text": "x" * MAX_BODY_BYTES}))
    bridge.queues.drain()
    reasons = sorted(
        m["MessageAttributes"]["reason"]["StringValue"].split(":")[0]
        for m in bridge.queues.messages_in("sms-bridge-dev-requests-dlq")
    )
    assert reasons == ["invalid_json", "payload_too_large"]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b"])
def test_control_characters_in_text_are_refused(ready, char):
    bridge, session_id = ready
    response = bridge.api.post(f"/sessions/{session_id}/messages", {"text": f"hi{char}there"})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_text"
    assert f"U+{ord(char):04X} at position 2" in response.json["error"]["message"]


def test_line_breaks_and_tabs_are_text(ready):
    bridge, session_id = ready
    assert bridge.api.post(f"/sessions/{session_id}/messages", {"text": "one\r\ntwo\tthree"}).status_code == 202


def test_a_partner_name_with_a_control_character_is_refused(ready):
    bridge, _ = ready
    response = bridge.api.post("/sessions", {"user_id": "alice", "partner_id": "eve", "partner_name": "Bob\nPolice"})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_partner_name"


def test_the_text_limit_is_1600_less_the_name_and_the_error_says_so(ready):
    bridge, session_id = ready  # partner_name "Bob": every SMS starts "Bob: " (5 characters)
    room = 1600 - len("Bob: ")
    at_limit = bridge.api.post(f"/sessions/{session_id}/messages", {"text": "x" * room})
    assert at_limit.status_code == 202, at_limit.body
    over = bridge.api.post(f"/sessions/{session_id}/messages", {"text": "x" * (room + 1)})
    assert over.status_code == 400 and over.json["error"]["code"] == "text_too_long"
    assert f"for this session the text may be {room} characters" in over.json["error"]["message"]
    nameless = bridge.open_session("alice", "a-partner-id")  # no name: the id is the prefix
    room = 1600 - len("a-partner-id: ")
    assert bridge.api.post(f"/sessions/{nameless['session_id']}/messages", {"text": "y" * room}).status_code == 202
    over = bridge.api.post(f"/sessions/{nameless['session_id']}/messages", {"text": "y" * (room + 1)})
    assert f"the text may be {room} characters" in over.json["error"]["message"]
    bridge.queues.drain()
    assert max(len(m.body) for m in bridge.twilio.sms_to(ALICE)) == 1600


# Not JSON, though Python's json module reads them: an otherwise good request carrying one.
NOT_JSON = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity", "lone surrogate": '"\\ud800"'}


@pytest.mark.parametrize("value", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_the_api_and_the_requests_queue_refuse_what_is_not_json_alike(ready, value):
    bridge, _ = ready
    request = '{"type": "message.send", "user_id": "alice", "partner_id": "carol", "text": "hi", "note": %s}'
    response = bridge.api.call("POST", "/sessions", raw=request % value)
    assert (response.status_code, response.json["error"]["code"]) == (400, "invalid_json")
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName="sms-bridge-dev-requests")["QueueUrl"], MessageBody=request % value
    )
    bridge.queues.drain()
    [dead] = bridge.queues.messages_in("sms-bridge-dev-requests-dlq")
    assert dead["MessageAttributes"]["reason"]["StringValue"].startswith("invalid_json: ")
    assert bridge.api.get("/users/alice/sessions").json["sessions"][0]["partner_id"] == "bob", (
        "nothing opened for carol"
    )
