"""The stage's IAM policy (.chalice/policy-<stage>.json) against what the code does.

A representative flow runs through the app under moto, with secrets read from
SSM as on Lambda, while a botocore `before-parameter-build` hook records every AWS call
made from app.py or chalicelib/. Each call becomes (IAM action, resource ARN)
and must be allowed by the dev policy; so must the calls Lambda itself makes
with the function's role (polling the queues, writing the logs). The other
way round, the policy grants no action the code does not use, and names only
the stage's own tables, queues, parameters and log groups.

When this fails after a code change: add the action (on the narrowest ARN) to
both .chalice/policy-dev.json and .chalice/policy-prod.json.
"""

from __future__ import annotations

import fnmatch
import json
import traceback
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import botocore.handlers
import pytest
import requests
from conftest import API_TOKEN, AUTH_TOKEN, POOL, WEBHOOK_SECRET, post_webhook
from packaged import ROOT, of_type, policy, stage_environment, template

from infra.security import with_kms_key

ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's
APP_SOURCES = (str(ROOT / "app.py"), str(ROOT / "chalicelib") + "/")
ALICE = "+14155550100"


class Recorder:
    """Every botocore call made while recording, with the code that made it."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self.recording = False

    def __call__(self, model, params, **_):
        if not self.recording:
            return
        stack = traceback.extract_stack()
        if any(frame.filename.startswith(APP_SOURCES) for frame in stack):
            self.calls.append((model.service_model.service_name, model.name, params))


def _forget_clients() -> None:
    """Drop the app's cached boto3 clients and PynamoDB connections: a client
    takes its event hooks when made, and the tests keep clients between tests."""
    from pynamodb.models import Model

    from chalicelib.adapters import aws

    aws.reset()
    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        model._connection = None


@pytest.fixture
def recorder():
    """Every client and PynamoDB connection the app makes during the test carries the hook."""
    hook = Recorder()
    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", hook))
    _forget_clients()
    yield hook
    botocore.handlers.BUILTIN_HANDLERS.remove(("before-parameter-build", hook))
    _forget_clients()


@pytest.fixture
def lambda_environment(monkeypatch):
    """The dev stage's environment as Lambda sets it, secrets only in SSM."""
    from chalicelib.adapters import secrets

    for name, value in stage_environment("dev").items():
        monkeypatch.setenv(name, value)
    for name in ("API_TOKENS", "TWILIO_AUTH_TOKEN", "CHAT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    secrets.forget()
    yield
    secrets.forget()


def _put_secrets() -> None:
    env = stage_environment("dev")
    ssm = boto3.client("ssm")
    for name, value in (
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("API_TOKENS", API_TOKEN),
        ("CHAT_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ):
        ssm.put_parameter(Name=env[f"{name}_PARAM"], Value=value, Type="SecureString")


def _run_representative_flow(bridge, monkeypatch) -> None:
    """Every kind of work the service does: pool, phones, sessions, messages out
    and in, status callbacks, presence, producers' requests (good and rejected),
    failed event delivery (retry delay), scheduled handlers, closing and removal."""
    bridge.add_pool(*POOL[:2])
    bridge.verified_user("alice", ALICE)
    bob = bridge.open_session("alice", "bob", "Bob")
    carol = bridge.open_session("alice", "carol", "Carol")
    sent = bridge.send(bob["session_id"], "Lunch at noon?")
    upload = bridge.api.post("/media", {"content_type": "image/png", "size": 4}).json
    assert requests.put(upload["upload_url"], data=b"\x89PNG", headers=upload["upload_headers"]).status_code == 200
    bridge.send(bob["session_id"], "A picture", media_ids=[upload["media_id"]])
    bridge.queues.drain()
    assert bridge.api.get(f"/messages/{sent['message_id']}").json["status"] == "sent"

    path = f"/twilio/status?message_id={sent['message_id']}"
    assert post_webhook(bridge.api, path, {"MessageSid": "SM1", "MessageStatus": "delivered"}).status_code == 204
    reply = bridge.sms_from_phone(ALICE, carol["pool_number"], "On my way")
    assert reply.status_code == 200
    bridge.queues.drain()
    assert bridge.chat.of_type("message.received")

    sqs = boto3.client("sqs")
    requests_url = sqs.get_queue_url(QueueName="sms-bridge-dev-requests")["QueueUrl"]
    send = {"type": "message.send", "user_id": "alice", "partner_id": "dave", "partner_name": "Dave", "text": "hi"}
    sqs.send_message(QueueUrl=requests_url, MessageBody=json.dumps(send))
    sqs.send_message(QueueUrl=requests_url, MessageBody="{not json")  # rejected to the DLQ
    bridge.queues.drain()

    # The chat backend is down: delivery fails and delays its retry.
    monkeypatch.setenv("CHAT_WEBHOOK_URL", "http://127.0.0.1:9/unreachable")
    bridge.api.put("/users/alice/presence", {"away": False})
    bridge.api.delete(f"/sessions/{bob['session_id']}")
    bridge.queues.drain()
    monkeypatch.setenv("CHAT_WEBHOOK_URL", bridge.chat.url)
    assert bridge.api.put("/users/alice/presence", {"away": True}).status_code == 200

    # Scheduled handlers, as EventBridge invokes them.
    import app as app_module

    client = bridge.api.client
    for source in app_module.app.event_sources:
        if type(source).__name__ == "ScheduledEventConfig":
            client.lambda_.invoke(
                source.name,
                client.events.generate_cw_event(
                    source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
                ),
            )
    bridge.queues.drain()
    assert bridge.api.delete("/users/alice/phone").status_code == 204


# --- calls -> (action, resource) --------------------------------------------------

# Batch operations IAM authorizes as their single counterparts.
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_S3_OBJECT_ACTIONS = {"HeadObject": "GetObject", "GetObject": "GetObject", "PutObject": "PutObject"}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _table(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _queue(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def authorizations(service: str, operation: str, params: dict) -> list[tuple[str, str]]:
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            return [
                (f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table(body["TableName"]))
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", _table(item["Get"]["TableName"])) for item in params["TransactItems"]]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _table(name)) for name in params["RequestItems"]]
        arn = _table(params["TableName"])
        if params.get("IndexName"):
            arn += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", arn)]
    if service == "sqs":
        name = (
            params["QueueName"] if operation == "GetQueueUrl" else urlsplit(params["QueueUrl"]).path.rsplit("/", 1)[-1]
        )
        return [(f"sqs:{_SQS_BATCH.get(operation, operation)}", _queue(name))]
    if service == "ssm" and operation in ("GetParameter", "GetParameters"):
        names = params.get("Names") or [params["Name"]]
        return [(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}") for name in names]
    if service == "s3" and operation in _S3_OBJECT_ACTIONS:
        # A presigned URL is signed by the code (the call recorded) and used by another
        # (an upload, Twilio): IAM authorizes it as the signer's own call.
        return [(f"s3:{_S3_OBJECT_ACTIONS[operation]}", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")]
    raise AssertionError(f"no IAM mapping for {service}.{operation}: extend authorizations() in this test")


def lambda_service_needs(stage: str) -> list[tuple[str, str]]:
    """What Lambda does with each function's role: poll its queue, write its logs, send an
    asynchronous invocation that failed every attempt to the function's dead-letter queue."""
    t = template(stage)
    needs = []
    for function in of_type(t, "AWS::Serverless::Function").values():
        properties = function["Properties"]
        log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{properties['FunctionName']}"
        stream = f"{log_group}:log-stream:2026/01/01/[$LATEST]0123456789abcdef"
        needs += [("logs:CreateLogStream", stream), ("logs:PutLogEvents", stream)]
        if "DeadLetterQueue" in properties:
            dlq = t["Resources"][properties["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]]
            needs.append(("sqs:SendMessage", _queue(dlq["Properties"]["QueueName"])))
        for event in properties.get("Events", {}).values():
            if event["Type"] != "SQS":
                continue  # EventBridge invokes scheduled functions with its own permission
            queue = _queue(event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[-1])
            needs += [(f"sqs:{a}", queue) for a in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")]
    return needs


# --- a small IAM evaluator (Allow/Deny on Action and Resource, no conditions) --


def _listed(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def allowed(document: dict, action: str, resource: str) -> bool:
    verdict = False
    for statement in document["Statement"]:
        assert "Condition" not in statement and "NotAction" not in statement and "NotResource" not in statement
        if any(fnmatch.fnmatch(action.lower(), a.lower()) for a in _listed(statement["Action"])) and any(
            _matches(r, resource) for r in _listed(statement["Resource"])
        ):
            if statement["Effect"] == "Deny":
                return False
            verdict = True
    return verdict


# --- the tests --------------------------------------------------------------------


@pytest.fixture
def needed(recorder, lambda_environment, bridge, monkeypatch):
    _put_secrets()
    recorder.recording = True
    _run_representative_flow(bridge, monkeypatch)
    recorder.recording = False
    services = {service for service, _, _ in recorder.calls}
    assert {"dynamodb", "sqs", "ssm", "s3"} <= services, f"the hook saw too little: {services}"
    needs = {pair for call in recorder.calls for pair in authorizations(*call)}
    return needs | set(lambda_service_needs("dev"))


def test_every_call_the_code_makes_is_allowed_and_nothing_more(needed):
    document = policy("dev")
    denied = sorted(pair for pair in needed if not allowed(document, *pair))
    assert not denied, "the dev policy does not allow:\n" + "\n".join(f"  {a} on {r}" for a, r in denied)

    granted = {a for statement in document["Statement"] for a in _listed(statement["Action"])}
    unused = sorted(granted - {action for action, _ in needed})
    assert not unused, f"the dev policy grants actions nothing uses: {unused}"


def _own_resource_prefixes(stage: str) -> tuple[str, ...]:
    name = f"sms-bridge-{stage}-"
    return (
        f"arn:aws:dynamodb:*:*:table/{name}",
        f"arn:aws:sqs:*:*:{name}",
        f"arn:aws:ssm:*:*:parameter/sms-bridge/{stage}/",
        f"arn:aws:logs:*:*:log-group:/aws/lambda/{name}",
        f"arn:aws:s3:::{name}media/",
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_names_only_the_stages_own_resources(stage):
    document = policy(stage)
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, "no NotAction/NotResource/Condition"
        for action in _listed(statement["Action"]):
            assert "*" not in action, f"wildcard action {action}"
        for resource in _listed(statement["Resource"]):
            assert resource.startswith(_own_resource_prefixes(stage)), f"{resource} is not one of {stage}'s own"
    # The packaged template pins each ARN to the stack's own account and region.
    for role in of_type(template(stage), "AWS::IAM::Role").values():
        (deployed,) = role["Properties"]["Policies"]
        assert [s["Sid"] for s in deployed["PolicyDocument"]["Statement"]] == [s["Sid"] for s in document["Statement"]]
        for statement in deployed["PolicyDocument"]["Statement"]:
            for resource in statement["Resource"]:
                # S3 ARNs name neither region nor account (bucket names are global).
                assert "${AWS::Region}:${AWS::AccountId}" in resource["Fn::Sub"] or ":s3:::" in resource["Fn::Sub"]


KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_with_a_customer_managed_key_every_role_may_use_that_key_and_no_other(stage):
    """What DynamoDB, SQS and S3 ask of a caller to read and write under the key: a
    policy of its own on every role, there only when KmsKeyArn is set."""
    with_key = with_kms_key(template(stage), KEY)
    roles = of_type(with_key, "AWS::IAM::Role")
    assert len(roles) == len(of_type(template(stage), "AWS::Serverless::Function"))
    (key_policy,) = of_type(with_key, "AWS::IAM::Policy").values()
    assert sorted(r["Ref"] for r in key_policy["Properties"]["Roles"]) == sorted(roles)
    (statement,) = key_policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == KEY and statement["Effect"] == "Allow"
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
    # ...the roles' own policies do not change, and without a key there is no such policy.
    without = with_kms_key(template(stage), None)
    assert roles == of_type(without, "AWS::IAM::Role")
    assert not of_type(without, "AWS::IAM::Policy")


def test_prod_policy_is_the_dev_policy_for_prod():
    dev = (
        json.dumps(policy("dev"))
        .replace("sms-bridge-dev-", "sms-bridge-prod-")
        .replace("/sms-bridge/dev/", "/sms-bridge/prod/")
    )
    assert json.loads(dev) == policy("prod")


def test_evaluator_sanity():
    document = policy("dev")
    assert allowed(document, "dynamodb:GetItem", _table("sms-bridge-dev-users"))
    assert not allowed(document, "dynamodb:GetItem", _table("sms-bridge-prod-users"))
    assert not allowed(document, "dynamodb:Scan", _table("sms-bridge-dev-users"))
    assert not allowed(document, "sqs:SendMessage", _queue("sms-bridge-dev-requests"))
    assert Path(APP_SOURCES[0]).exists()
