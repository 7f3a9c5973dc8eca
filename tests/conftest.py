"""Shared fixtures: moto's in-process AWS, the Twilio stand-in on loopback,
the chat receiver, and a Chalice test client with a bearer token.

Environment is set before any boto3 or PynamoDB client exists (moto needs it)."""
from __future__ import annotations

import os

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-twilio-auth-token"
API_TOKEN = "test-api-token"
WEBHOOK_SECRET = "test-webhook-secret"
PUBLIC_BASE_URL = "https://bridge.example.test/api"
# The dev stage of .chalice/config.json, which chalice.test.Client applies during calls.
PREFIX = "sms-bridge-dev-"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "RESOURCE_PREFIX": PREFIX,
        "API_TOKENS": API_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "CHAT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
import pytest  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

import app as app_module  # noqa: E402
from chalicelib import aws  # noqa: E402
from chalicelib.models import ALL_MODELS  # noqa: E402
from devstack import poller  # noqa: E402
from devstack.chat_receiver import ChatReceiver  # noqa: E402
from infra.resources import create_all  # noqa: E402


def _forget_connections() -> None:
    aws.reset()
    for model in ALL_MODELS:
        model._connection = None


@pytest.fixture
def aws_backend():
    """A fresh moto account with every table and queue of the deployment."""
    with mock_aws():
        _forget_connections()
        create_all(PREFIX, boto3.client("dynamodb"), boto3.client("sqs"))
        yield
    _forget_connections()


@pytest.fixture
def chat():
    receiver = ChatReceiver([WEBHOOK_SECRET]).start()
    previous = os.environ.get("CHAT_WEBHOOK_URL")
    os.environ["CHAT_WEBHOOK_URL"] = receiver.url
    yield receiver
    receiver.stop()
    if previous is None:
        os.environ.pop("CHAT_WEBHOOK_URL", None)
    else:
        os.environ["CHAT_WEBHOOK_URL"] = previous


class Api:
    """chalice.test.Client with JSON and the bearer token filled in."""

    def __init__(self, client: Client):
        self.client = client

    def call(self, method: str, path: str, body=None, token: str | None = API_TOKEN, headers=None, raw=None):
        import json

        all_headers = {"Content-Type": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=all_headers, body=payload)
        response.json = json.loads(response.body) if response.body else None
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def api(aws_backend):
    with Client(app_module.app) as client:
        yield Api(client)


class Queues:
    """Feeds the queues to the app's handlers, as Lambda would."""

    def __init__(self):
        self.sqs = boto3.client("sqs")
        self.feeds = poller.feeds_for(app_module)

    def drain(self) -> int:
        return poller.drain(self.feeds, self.sqs)

    def messages_in(self, queue_name: str) -> list[dict]:
        url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        return self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])


@pytest.fixture
def queues(aws_backend):
    return Queues()
