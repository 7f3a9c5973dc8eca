"""Section 1 of the service bench: handler time against its floor, against one moto server
(over HTTP) in this process. The route through Chalice (routing, middleware, the domain,
PynamoDB) against the least the route has to do, measured alone with plain boto3 calls
right after, interleaved so both see the same machine load:

- POST /twilio/sms (a routed reply): the signature check, read the route, read the session,
  write the message (conditional), one SQS send;
- POST /sessions/{id}/messages: the bearer check, read the session, the user and the phone
  (opted out?), write the message (conditional), one SQS send.

The floors' Message items are built by the store's model (`Message(...).serialize()`), as
the route's are; only the calls around them are spelled out. p50 and p99 of each (one
percentile definition: bench/kit/stats.py); goal: handler p50 <= 1.2 x floor p50.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import time
import uuid
from urllib.parse import urlencode

import boto3
from twilio.request_validator import RequestValidator

from bench.kit.environment import PREFIX, PUBLIC_BASE_URL
from bench.kit.stats import percentiles
from bench.service.aws_hooks import HOOKS
from bench.service.local_service import LocalService
from bench.service.settings import API_TOKEN, AUTH_TOKEN
from chalicelib.core import phone_numbers
from chalicelib.core.message_rules import INBOUND, OUTBOUND, QUEUED, RECEIVED, order_key
from chalicelib.store.models import Message
from chalicelib.usecases import pool_numbers
from devstack import poller

RATIO_GOAL = 1.2


def _json_call(client, method, path, body, token=API_TOKEN):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    response = getattr(client.http, method.lower())(path, headers=headers, body=json.dumps(body))
    return response.status_code, (json.loads(response.body) if response.body else None)


def _timing(values: list[float]) -> dict:
    p50, p99 = percentiles(values, 50, 99)
    return {"p50_ms": round(p50 * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def one_open_session(service: LocalService) -> tuple[dict, str]:
    """A pool number, a verified user who is away, and an open session."""
    number, phone = "+14155550101", "+14155550100"
    service.standin.state.add_number(number)
    parsed = phone_numbers.parse(number, "US")
    pool_numbers.record(service.app_module.context, parsed, "PN" + number[1:].rjust(32, "0"), 1000.0)
    client, sqs = service.client, boto3.client("sqs")
    assert _json_call(client, "PUT", "/users/alice/phone", {"phone": phone})[0] == 202
    poller.drain(poller.feeds_for(service.app_module), sqs)
    with service.standin.state.lock:
        body = [m.body for m in service.standin.state.messages.values() if m.to == phone][-1]
    code = re.search(r"\b(\d{6})\b", body).group(1)
    assert _json_call(client, "POST", "/users/alice/phone/verify", {"code": code})[0] == 200
    assert _json_call(client, "PUT", "/users/alice/presence", {"away": True})[0] == 200
    status, session = _json_call(
        client, "POST", "/sessions", {"user_id": "alice", "partner_id": "bob", "partner_name": "Bob"}
    )
    assert status == 201, session
    return session, phone


class Routes:
    """The two routes and their floors, on one open session."""

    def __init__(self, service: LocalService):
        self.client = service.client
        self.session, self.phone = one_open_session(service)
        self.validator = RequestValidator(AUTH_TOKEN)
        self.dynamodb, self.sqs = boto3.client("dynamodb"), boto3.client("sqs")
        self.delivery_url = self.sqs.get_queue_url(QueueName=f"{PREFIX}delivery")["QueueUrl"]
        self.outbound_url = self.sqs.get_queue_url(QueueName=f"{PREFIX}outbound.fifo")["QueueUrl"]

    def _put_new(self, message: Message) -> None:
        """The message's item, written unless its id exists (the route's one conditional write)."""
        self.dynamodb.put_item(
            TableName=f"{PREFIX}messages",
            ConditionExpression="attribute_not_exists(message_id)",
            Item=message.serialize(),
        )

    def _inbound_params(self) -> dict:
        return {
            "From": self.phone,
            "To": self.session["pool_number"],
            "Body": "on my way " + uuid.uuid4().hex[:6],
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": os.environ["TWILIO_ACCOUNT_SID"],
            "NumMedia": "0",
        }

    def handler_inbound(self) -> float:
        params = self._inbound_params()
        signature = self.validator.compute_signature(PUBLIC_BASE_URL + "/twilio/sms", params)
        started = time.perf_counter()
        response = self.client.http.post(
            "/twilio/sms",
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
            body=urlencode(params),
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and b"<Message>" not in response.body, response.body
        return elapsed

    def floor_inbound(self) -> float:
        params = self._inbound_params()
        signature = self.validator.compute_signature(PUBLIC_BASE_URL + "/twilio/sms", params)
        started = time.perf_counter()
        assert RequestValidator(AUTH_TOKEN).validate(PUBLIC_BASE_URL + "/twilio/sms", params, signature)
        route = self.dynamodb.get_item(
            TableName=f"{PREFIX}routes",
            ConsistentRead=True,
            Key={"phone": {"S": self.phone}, "pool_number": {"S": self.session["pool_number"]}},
        )["Item"]
        self.dynamodb.get_item(
            TableName=f"{PREFIX}sessions", ConsistentRead=True, Key={"session_id": route["session_id"]}
        )
        message_id, now = "msg_in_" + uuid.uuid4().hex, time.time()
        message = Message(
            message_id=message_id,
            session_id=route["session_id"]["S"],
            direction=INBOUND,
            text=params["Body"],
            status=RECEIVED,
            from_number=self.phone,
            to_number=self.session["pool_number"],
            created_at=now,
            order_key=order_key(now, message_id),
        )
        self._put_new(message)
        self.sqs.send_message(
            QueueUrl=self.delivery_url,
            MessageBody=json.dumps({"type": "message.received", "message_id": message_id, "text": params["Body"]}),
        )
        return time.perf_counter() - started

    def handler_send(self) -> float:
        started = time.perf_counter()
        status, body = _json_call(
            self.client,
            "POST",
            f"/sessions/{self.session['session_id']}/messages",
            {"text": "see you at noon", "client_message_id": uuid.uuid4().hex},
        )
        elapsed = time.perf_counter() - started
        assert status == 202, body
        return elapsed

    def floor_send(self) -> float:
        started = time.perf_counter()
        assert any(hmac.compare_digest(API_TOKEN.encode(), t.encode()) for t in os.environ["API_TOKENS"].split(","))
        item = self.dynamodb.get_item(
            TableName=f"{PREFIX}sessions",
            ConsistentRead=True,
            Key={"session_id": {"S": self.session["session_id"]}},
        )["Item"]
        user = self.dynamodb.get_item(
            TableName=f"{PREFIX}users", ConsistentRead=True, Key={"user_id": item["user_id"]}
        )["Item"]
        self.dynamodb.get_item(TableName=f"{PREFIX}phones", ConsistentRead=True, Key={"phone": user["phone"]})
        message_id, now = "msg_" + uuid.uuid4().hex, time.time()
        message = Message(
            message_id=message_id,
            session_id=item["session_id"]["S"],
            direction=OUTBOUND,
            text="see you at noon",
            body="Bob: see you at noon",
            status=QUEUED,
            from_number=item["pool_number"]["S"],
            to_number=item["user_phone"]["S"],
            created_at=now,
            order_key=order_key(now, message_id),
            queued_user_id=item["user_id"]["S"],
        )
        self._put_new(message)
        self.sqs.send_message(
            QueueUrl=self.outbound_url,
            MessageBody=json.dumps({"message_id": message_id}),
            MessageGroupId=message.from_number,
            MessageDeduplicationId=message_id,
        )
        return time.perf_counter() - started


def handler_benchmarks(service: LocalService, requests: int) -> dict:
    routes = Routes(service)
    results = {}
    for name, handler, floor in (
        ("POST /twilio/sms", routes.handler_inbound, routes.floor_inbound),
        ("POST /sessions/{id}/messages", routes.handler_send, routes.floor_send),
    ):
        for _ in range(20):  # warm up both (clients, connections, caches)
            handler()
            floor()
        HOOKS.reset_counts()
        HOOKS.counting = True
        handler()
        calls = dict(HOOKS.calls)
        HOOKS.reset_counts()
        floor()
        floor_calls = dict(HOOKS.calls)
        HOOKS.counting = False
        handler_times, floor_times = [], []
        for _ in range(requests):  # interleaved, so both see the same machine load
            handler_times.append(handler())
            floor_times.append(floor())
        ratio = percentiles(handler_times, 50)[0] / percentiles(floor_times, 50)[0]
        results[name] = {
            "handler": _timing(handler_times),
            "floor": _timing(floor_times),
            "ratio_p50": round(ratio, 2),
            "goal": f"<= {RATIO_GOAL}",
            "met": ratio <= RATIO_GOAL,
            "aws_calls_handler": calls,
            "aws_calls_floor": floor_calls,
        }
    return results
