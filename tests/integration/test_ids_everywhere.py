"""Issue 12, part 3: one id rule in paths, bodies and the requests queue; an odd
or percent-encoded id is refused (400 invalid_id) before anything is stored,
so two distinct ids never share a user, a session or a phone."""

import json

import boto3
import pytest
from conftest import API_TOKEN, POOL

import app as app_module

ALICE = "+14155550100"
ODD_PATH_IDS = ["a%23b", "p%2Fq", "a%20b", "%61lice", "a+b", "a,b", "a;b", "a:b", "a@b", "a!b", "a$b", "a*b", "a'b"]
ODD_BODY_IDS = ["p/q", "a#b", "a%23b", "a b", "alice/", "ali\u0441e", "a\u200bb", "a" * 129, "", "..%2F"]


def _stored():
    from chalicelib.store.models import Pair, Phone, Session, User

    return [sum(1 for _ in model.scan()) for model in (User, Phone, Session, Pair)]


@pytest.mark.parametrize("user_id", ODD_PATH_IDS)
def test_an_odd_or_encoded_path_segment_is_refused_on_every_user_route(bridge, user_id):
    before = _stored()
    for method, suffix, body in (
        ("PUT", "phone", {"phone": ALICE}),
        ("POST", "phone/verify", {"code": "123456"}),
        ("GET", "phone", None),
        ("DELETE", "phone", None),
        ("PUT", "presence", {"away": True}),
        ("GET", "sessions", None),
    ):
        response = bridge.api.call(method, f"/users/{user_id}/{suffix}", body)
        assert response.status_code == 400, (method, suffix, response.body)
        assert response.json["error"]["code"] == "invalid_id"
    assert _stored() == before
    assert bridge.twilio.rest_requests() == []


def test_an_odd_body_id_is_refused_before_anything_is_stored(bridge):
    bridge.add_pool(POOL[0])
    bridge.verified_user("alice", ALICE)
    before = _stored()
    for field in ("user_id", "partner_id"):
        for bad in ODD_BODY_IDS:
            body = {"user_id": "alice", "partner_id": "bob", field: bad}
            response = bridge.api.post("/sessions", body)
            assert response.status_code == 400 and response.json["error"]["code"] == "invalid_id", (bad, response.body)
            assert field in response.json["error"]["message"]
    assert _stored() == before


def test_the_body_user_p_slash_q_and_the_path_user_p_2f_q_never_meet(bridge):
    """The collision of the issue: `p%2Fq` in a path and `p/q` in a body both refused."""
    bridge.add_pool(POOL[0])
    path = bridge.api.put("/users/p%2Fq/phone", {"phone": ALICE})
    body = bridge.api.post("/sessions", {"user_id": "p/q", "partner_id": "bob"})
    assert path.status_code == body.status_code == 400
    assert path.json["error"]["code"] == body.json["error"]["code"] == "invalid_id"


def _gateway_event(method: str, path_template: str, params: dict, body: dict | None) -> dict:
    """An API Gateway (REST, proxy) event as Lambda hands it over, path parameters decoded."""
    resource = path_template
    path = path_template.format(**params)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": "api", "path": path},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize("decoded", ["p/q", "a#b", "a b", "a?b", "ali\u0441e"])
def test_decoded_path_parameters_in_the_deployed_event_shape_are_refused(api, decoded):
    """Whether API Gateway decodes path parameters or not, the handler refuses the odd id."""
    event = _gateway_event("PUT", "/users/{user_id}/phone", {"user_id": decoded}, {"phone": ALICE})
    answer = app_module.app(event, None)
    assert answer["statusCode"] == 400, answer
    assert json.loads(answer["body"])["error"]["code"] == "invalid_id"
    from chalicelib.store.models import User

    assert list(User.scan()) == []


@pytest.mark.parametrize("bad", ["p/q", "a%23b"])
def test_the_requests_queue_refuses_an_odd_id_with_its_reason(bridge, bad):
    bridge.add_pool(POOL[0])
    bridge.verified_user("alice", ALICE)
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="sms-bridge-dev-requests")["QueueUrl"]
    for request in (
        {"type": "message.send", "user_id": bad, "partner_id": "bob", "text": "hi"},
        {"type": "message.send", "user_id": "alice", "partner_id": bad, "text": "hi"},
        {"type": "session.close", "user_id": "alice", "partner_id": bad},
    ):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(request))
    before = _stored()
    bridge.queues.drain()
    assert _stored() == before
    rejected = bridge.queues.messages_in("sms-bridge-dev-requests-dlq")
    assert len(rejected) == 3
    assert all(m["MessageAttributes"]["reason"]["StringValue"].startswith("invalid_id") for m in rejected)
