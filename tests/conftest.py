"""Shared fixtures: moto's in-process AWS, the Twilio stand-in on loopback,
the chat receiver, and a Chalice test client with a bearer token.

Environment is set before any boto3 or PynamoDB client exists (moto needs it)."""

from __future__ import annotations

import contextlib
import dataclasses
import os

from devstack.offline import fake_aws_environment  # imports nothing: safe before boto3

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-twilio-auth-token"
API_TOKEN = "test-api-token"
WEBHOOK_SECRET = "test-webhook-secret"
PUBLIC_BASE_URL = "https://bridge.example.test/api"
# The dev stage of .chalice/config.json, which chalice.test.Client applies during calls.
PREFIX = "sms-bridge-dev-"

os.environ.update(
    {
        **fake_aws_environment(),
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
from hypothesis import HealthCheck, settings  # noqa: E402
from moto import mock_aws  # noqa: E402

import app as app_module  # noqa: E402
from chalicelib.adapters.clock import ManualClock  # noqa: E402
from chalicelib.wiring import production_context  # noqa: E402
from devstack import moto_sqs_fifo, moto_sqs_visibility, poller  # noqa: E402
from devstack.chat_receiver import ChatReceiver  # noqa: E402
from infra.resources import create_all  # noqa: E402

moto_sqs_fifo.install()  # SQS FIFO group order as AWS keeps it (moto 5.2.5 does not; devstack/moto_sqs_fifo.py)
moto_sqs_visibility.install()  # 12 h of visibility from each receive, as SQS counts (devstack/moto_sqs_visibility.py)

# The hypothesis settings of the fuzz tests: repeatable, and the app's fixtures are reused.
FUZZ_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


_REAL_ENVIRON = os.environ


@pytest.fixture(autouse=True)
def _environ_stays_real():
    """chalice.test puts a dict copy in place of os.environ for each call and puts back what
    it found; calls from several threads at once can leave a copy in place (a thread puts
    back another's copy), which would carry one test's settings into every later test."""
    yield
    if os.environ is not _REAL_ENVIRON:
        os.environ = _REAL_ENVIRON  # noqa: B003 -- putting back the real one is the point


@pytest.fixture
def aws_backend():
    """A fresh moto account with every table and queue of the deployment."""
    with mock_aws():
        # Clients made under an earlier mock stay mocked (moto's stubber is
        # process-wide); keeping them saves creating them again every test.
        create_all(PREFIX, boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("s3"))
        yield


@pytest.fixture
def queued_events(aws_backend):
    """Every event the app queues for the chat backend, seen on its SQS client as it goes."""
    import json

    from chalicelib.adapters import aws

    seen = []

    def record(params, **_):
        if params["QueueUrl"].endswith("delivery"):
            seen.append(json.loads(params["MessageBody"]))

    hooks = aws.client("sqs").meta.events
    hooks.register("provide-client-params.sqs.SendMessage", record)
    yield seen
    hooks.unregister("provide-client-params.sqs.SendMessage", record)


@pytest.fixture
def codes(aws_backend):
    """Every verification code put on the outbound queue, in order (the SMS that would go out)."""
    from chalicelib.adapters import aws
    from chalicelib.core.outbound_job import OutboundJob

    seen = []

    def record(params, **_):
        if params["QueueUrl"].endswith("outbound.fifo"):
            job = OutboundJob.decode(params["MessageBody"])
            if job.secret_text:
                seen.append(job.secret_text.split("code is ")[1][:6])

    hooks = aws.client("sqs").meta.events
    hooks.register("provide-client-params.sqs.SendMessage", record)
    yield seen
    hooks.unregister("provide-client-params.sqs.SendMessage", record)


@pytest.fixture
def atomic_moto(monkeypatch):
    """DynamoDB applies each request atomically; moto's in-process backend is
    not thread-safe, so serialise its requests (not the app's logic) to match."""
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    process = BotocoreStubber.process_request

    def one_at_a_time(self, request):
        with lock:
            return process(self, request)

    # moto's in-process backend is no seam of ours: its request handling is what is wrapped.
    monkeypatch.setattr(BotocoreStubber, "process_request", one_at_a_time)


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
    app_module.configure(production_context())
    with Client(app_module.app) as client:
        yield Api(client)


@pytest.fixture
def clock(api):
    """The app's clock from now on, moved by hand (`clock.set`, `clock.advance`)."""
    import time

    manual = ManualClock(time.time())
    app_module.configure(production_context(clock=manual))
    return manual


class Queues:
    """Feeds the queues to the app's handlers, as Lambda would."""

    def __init__(self):
        self.sqs = boto3.client("sqs")
        self.feeds = poller.feeds_for(app_module)

    def drain(self) -> int:
        return poller.drain(self.feeds, self.sqs)

    def end_waits(self, queue_name: str) -> None:
        """Make messages hidden by a retry backoff visible now (SQS keeps
        real time; tests do not wait for it)."""
        from moto.backends import get_backend

        queue = get_backend("sqs")["123456789012"]["us-east-1"].queues[queue_name]
        for message in queue._messages:
            message.change_visibility(0)

    def messages_in(self, queue_name: str) -> list[dict]:
        url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        return self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])


@pytest.fixture
def queues(aws_backend):
    return Queues()


class Twilio:
    """The Twilio stand-in on loopback, as the in-process tests use it: the
    app's REST calls reach it over real HTTP and are checked against Twilio's
    OpenAPI description there; its status callbacks stay off (tests post
    signed callbacks themselves through the Chalice client)."""

    def __init__(self, server):
        self.server = server
        self.state = server.state

    def own(self, *phones: str) -> None:
        for phone in phones:
            self.state.add_number(phone)

    def sms_to(self, phone: str) -> list:
        with self.state.lock:
            return [m for m in self.state.messages.values() if m.to == phone and m.direction.startswith("outbound")]

    def last_code(self, phone: str) -> str:
        import re

        bodies = [m.body for m in self.sms_to(phone) if "code" in m.body]
        assert bodies, f"no verification SMS reached {phone}"
        return re.search(r"\b(\d{6})\b", bodies[-1]).group(1)

    def rest_requests(self) -> list[dict]:
        with self.state.lock:
            return list(self.state.requests)


@contextlib.contextmanager
def standin_twilio(**options):
    """The Twilio stand-in on a free port, the app's TWILIO_API_BASE_URL pointing at it."""
    from devstack.twilio.server import serve

    server = serve(port=0, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, **options)
    previous = os.environ.get("TWILIO_API_BASE_URL")
    os.environ["TWILIO_API_BASE_URL"] = server.url
    try:
        yield Twilio(server)
    finally:
        server.shutdown()
        if previous is None:
            os.environ.pop("TWILIO_API_BASE_URL", None)
        else:
            os.environ["TWILIO_API_BASE_URL"] = previous


@pytest.fixture
def twilio():
    # Callbacks would go to PUBLIC_BASE_URL, which is not served in-process.
    with standin_twilio(callback_delay=3600) as twilio:
        yield twilio


def sign_webhook(path: str, params: dict, token: str = AUTH_TOKEN, url: str | None = None) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url or PUBLIC_BASE_URL + path, params)


def post_webhook(api: Api, path: str, params: dict, signature: str | None = "sign", **kw):
    from urllib.parse import urlencode

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        signature = sign_webhook(path, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = api.client.http.post(path, headers=headers, body=urlencode(params))
    response.text = response.body.decode() if isinstance(response.body, bytes) else response.body
    return response


POOL = ("+14155550101", "+14155550102", "+14155550103")


class Bridge:
    """The whole service in-process: API, queues fed to handlers, Twilio
    stand-in, chat receiver. Steps read like the scenario they play."""

    def __init__(self, api: Api, queues: Queues, twilio: Twilio, chat: ChatReceiver):
        self.api, self.queues, self.twilio, self.chat = api, queues, twilio, chat

    def add_pool(self, *numbers: str) -> None:
        for number in numbers:
            self.twilio.own(number)
            response = self.api.post("/numbers", {"phone_number": number})
            assert response.status_code == 201, response.body

    def seed_pool(self, *numbers: str) -> None:
        """Many numbers at once, straight into the table (adoption is tested on its own)."""
        from chalicelib.core import phone_numbers
        from chalicelib.usecases import pool_numbers

        for number in numbers:
            self.twilio.own(number)
            parsed = phone_numbers.parse(number, "US")
            pool_numbers.record(app_module.context, parsed, "PN" + number[1:].rjust(32, "0"), 1.0)

    def verified_user(self, user_id: str, phone: str) -> None:
        response = self.api.put(f"/users/{user_id}/phone", {"phone": phone})
        assert response.status_code == 202, response.body
        self.queues.drain()
        response = self.api.post(f"/users/{user_id}/phone/verify", {"code": self.twilio.last_code(phone)})
        assert response.json == {"status": "verified"}, response.body

    def open_session(self, user_id: str, partner_id: str, partner_name: str | None = None) -> dict:
        body = {"user_id": user_id, "partner_id": partner_id}
        if partner_name:
            body["partner_name"] = partner_name
        response = self.api.post("/sessions", body)
        assert response.status_code in (200, 201), response.body
        return response.json

    def send(self, session_id: str, text: str, **extra) -> dict:
        response = self.api.post(f"/sessions/{session_id}/messages", {"text": text, **extra})
        assert response.status_code == 202, response.body
        return response.json

    def sms_from_phone(self, phone: str, pool_number: str, body: str, sid: str | None = None):
        import uuid

        params = {
            "From": phone,
            "To": pool_number,
            "Body": body,
            "MessageSid": sid or "SM" + uuid.uuid4().hex,
            "AccountSid": ACCOUNT_SID,
            "NumMedia": "0",
        }
        return post_webhook(self.api, "/twilio/sms", params)


def _serve_public_links(api: Api) -> None:
    """PUBLIC_BASE_URL's /l/ links (the MediaUrls Twilio fetches) answered by the app
    in-process, for the stand-in's HEAD and GET (moto's `responses` mock sees them)."""
    import re

    from moto.core.models import responses_mock

    def answer(request):
        path = request.url.removeprefix(PUBLIC_BASE_URL)
        response = api.client.http.request(request.method, path, headers={})
        return response.status_code, dict(response.headers), response.body or b""

    pattern = re.compile(re.escape(PUBLIC_BASE_URL + "/l/") + ".*")
    for method in ("GET", "HEAD"):
        responses_mock.add_callback(method, pattern, callback=answer)


@pytest.fixture
def bridge(api, queues, twilio, chat):
    _serve_public_links(api)
    return Bridge(api, queues, twilio, chat)


class Failing:
    """A part of the context (a repository, a gateway) whose method `name` raises `error()`
    (the rest is the part itself): how tests meet a fault in AWS or Twilio without patching."""

    def __init__(self, part, name: str, error):
        self._part, self._name, self._error = part, name, error

    def __getattr__(self, attribute):
        if attribute == self._name:

            def fail(*args, **kwargs):
                raise self._error()

            return fail
        return getattr(self._part, attribute)


def throttled(operation: str, wrap):
    """A throttled DynamoDB once botocore's retries are spent, as PynamoDB raises it (`wrap`:
    its error class for the operation)."""
    from botocore.exceptions import ClientError

    cause = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, operation)
    return lambda: wrap(f"Failed to {operation}", cause)


@contextlib.contextmanager
def app_store(**parts):
    """The app's context with these repositories in place of its own, for the block."""
    original = app_module.context
    app_module.configure(dataclasses.replace(original, store=dataclasses.replace(original.store, **parts)))
    try:
        yield
    finally:
        app_module.configure(original)
