"""The chat API and Twilio's webhooks are served by HTTP APIs (infra/template.py), which send
the API handler payload format 1.0: the REST API's event with the HTTP API's differences
(version "1.0", stage "$default", header names in lower case, no resource id). The handler
answers such an event exactly as it answers the REST API's."""

import json

import pytest
from conftest import API_TOKEN, POOL

import app as app_module

ALICE = "+14155550100"


def _http_api_event(method: str, route: str, params: dict | None = None, body=None, token: str | None = API_TOKEN):
    """An HTTP API request for `route` (its path with {parameters}) in payload format 1.0, as
    AWS's developer guide shows it ("Create AWS Lambda proxy integrations for HTTP APIs")."""
    path = route.format(**(params or {}))
    headers = {"content-type": "application/json", "host": "abc123.execute-api.us-east-1.amazonaws.com"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "1.0",
        "resource": route,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "extendedRequestId": "request-id",
            "httpMethod": method,
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "chat-backend"},
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": "id=",
            "requestTime": "02/Dec/2026:06:00:00 +0000",
            "requestTimeEpoch": 1796191200000,
            "resourceId": None,
            "resourcePath": route,
            "stage": "$default",
        },
        "pathParameters": params,
        "stageVariables": None,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _call(method: str, route: str, params: dict | None = None, body=None, **kw) -> tuple[int, dict | None]:
    answer = app_module.app(_http_api_event(method, route, params, body, **kw), None)
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None


@pytest.fixture
def alice(bridge):
    bridge.add_pool(*POOL)
    bridge.verified_user("alice", ALICE)
    return bridge


def test_a_message_submitted_through_the_http_api_is_queued_and_sent(alice):
    status, session = _call("POST", "/sessions", body={"user_id": "alice", "partner_id": "bob"})
    assert status == 201, session
    session_id = session["session_id"]

    status, sent = _call(
        "POST", "/sessions/{session_id}/messages", {"session_id": session_id}, {"text": "hi", "client_message_id": "c1"}
    )
    assert status == 202, sent
    again = _call(
        "POST", "/sessions/{session_id}/messages", {"session_id": session_id}, {"text": "hi", "client_message_id": "c1"}
    )
    assert again[1]["message_id"] == sent["message_id"], "a retried submit is the same message"

    alice.queues.drain()
    status, message = _call("GET", "/messages/{message_id}", {"message_id": sent["message_id"]})
    assert status == 200 and message["status"] == "sent", message
    assert alice.twilio.sms_to(ALICE)[-1].body.endswith("hi")
    # The same message through the REST API's event (chalice.test) reads the same.
    assert alice.api.get(f"/messages/{sent['message_id']}").json == message


def test_the_http_api_refuses_as_the_rest_api_does(alice):
    status, error = _call("POST", "/sessions", body={"user_id": "alice", "partner_id": "bob"}, token=None)
    assert status == 401 and error["error"]["code"] == "unauthorized"
    status, error = _call("GET", "/sessions/{session_id}", {"session_id": "ses_nothere"})
    assert status == 404 and error["error"]["code"] == "session_not_found"
    status, error = _call("PUT", "/users/{user_id}/phone", {"user_id": "p/q"}, {"phone": ALICE})
    assert status == 400 and error["error"]["code"] == "invalid_id"
    # The chat API's routes take any method (infra/template.py): the handler answers one a path lacks.
    status, error = _call("PATCH", "/numbers", body={})
    assert status == 405 and error["error"]["code"] == "method_not_allowed"
