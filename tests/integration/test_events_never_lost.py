"""Issue 12, part 5: no event is ever lost. Every transition that owes the chat
backend an event is run with a fault injected at each of its steps in turn
(each SQS send and each DynamoDB write it makes), then its trigger is retried as
Twilio (webhooks answered 5xx), SQS (a batch item reported failed) or an API
caller (503) would; the chat backend must get the owed events, each under one
event_id."""

import contextlib
import dataclasses
import uuid

import pytest
from botocore.exceptions import ClientError
from conftest import POOL, post_webhook

import app as app_module
from chalicelib.adapters import aws
from chalicelib.adapters.queues import Queues
from chalicelib.core import events
from chalicelib.store import models
from chalicelib.store.models import Message, Pair, Phone, RateCounter, Route, Session, User

# Every kind of item, each with its own PynamoDB connection (and so botocore client).
ITEM_MODELS = [
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, models.Model) and value is not models.Model
]

ALICE = "+14155550100"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}
NO_LIMITS = {
    "VERIFY_PHONE_MIN_INTERVAL_SECONDS": "0",
    "VERIFY_PHONE_MAX_PER_HOUR": "100000",
    "VERIFY_USER_MAX_PER_HOUR": "100000",
    "VERIFY_GLOBAL_MAX_PER_HOUR": "100000",
}
INJECTED = {}  # transition -> faults injected (the report's figures)


class Faults:
    """Counts the steps (SQS sends, DynamoDB writes) and fails the one armed."""

    def __init__(self):
        self.steps, self.armed, self.fired = 0, None, []

    def step(self, what: str) -> None:
        self.steps += 1
        if self.steps == self.armed:
            self.fired.append(what)
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": f"injected at {what}"}}, what)


class FlakySqs:
    def __init__(self, real, faults: Faults):
        self._real, self._faults = real, faults

    def send_message(self, **params):
        self._faults.step("sqs.SendMessage " + params["QueueUrl"].rsplit("/", 1)[-1])
        return self._real.send_message(**params)

    def __getattr__(self, name):
        return getattr(self._real, name)


@contextlib.contextmanager
def injected(faults: Faults):
    """Faults in the app's SQS (its context's queues over a flaky client) and in every
    DynamoDB write (a botocore hook on the client of each item model: PynamoDB's own)."""

    def dynamodb(model, params, **_):
        if model.name in WRITES:
            faults.step(f"dynamodb.{model.name} {params.get('TableName', '')}")

    clients = {item_model._get_connection().connection.client for item_model in ITEM_MODELS}
    for client in clients:
        client.meta.events.register("before-call.dynamodb", dynamodb)
    ctx = app_module.context
    flaky = Queues(ctx.settings.queues, sqs=FlakySqs(aws.client("sqs"), faults))
    app_module.configure(dataclasses.replace(ctx, queues=flaky))
    try:
        yield
    finally:
        app_module.configure(ctx)
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", dynamodb)


@pytest.fixture
def ready(bridge, monkeypatch, queued_events):
    for name, value in NO_LIMITS.items():
        monkeypatch.setenv(name, value)
    bridge.add_pool(*POOL)
    return bridge


def _fresh(bridge, queued_events) -> dict:
    for model in (User, Phone, Session, Pair, Route, RateCounter, Message):
        for item in model.scan():
            item.delete()
    bridge.queues.drain()
    bridge.verified_user("alice", ALICE)
    session = bridge.open_session("alice", "bob", "Bob")
    queued_events.clear()
    return {"session": session}


def _until_answered(call, tries=6):
    for _ in range(tries):
        response = call()
        if response.status_code < 500:
            return response
    raise AssertionError(f"still failing after {tries} tries: {response.body}")


def _drain_until_settled(bridge, tries=6):
    for _ in range(tries):
        bridge.queues.end_waits("sms-bridge-dev-outbound.fifo")
        bridge.queues.drain()
        bridge.queues.end_waits("sms-bridge-dev-outbound.fifo")  # a retry's backoff, over at once
        if not bridge.queues.messages_in("sms-bridge-dev-outbound.fifo"):
            return


def _send(bridge, state, text="owed"):
    state["message"] = bridge.send(state["session"]["session_id"], text)["message_id"]


def _status_delivered(bridge, state):
    mid = state["message"]
    sid = state.setdefault("sid", "SM" + uuid.uuid4().hex)
    _until_answered(
        lambda: post_webhook(
            bridge.api, f"/twilio/status?message_id={mid}", {"MessageSid": sid, "MessageStatus": "delivered"}
        )
    )
    return [(events.MESSAGE_STATUS, f"{mid}:delivered")]


def _prepare_sent(bridge, state):
    _send(bridge, state)
    bridge.queues.drain()


def _sender_records(bridge, state):
    _drain_until_settled(bridge)
    assert len([m for m in bridge.twilio.sms_to(ALICE) if state["text"] in m.body]) == 1, "sent once"
    return [(events.MESSAGE_STATUS, f"{state['message']}:sent")]


def _prepare_queued(bridge, state):
    state["text"] = "owed " + uuid.uuid4().hex[:8]
    _send(bridge, state, state["text"])


def _presence_cancels(bridge, state):
    _until_answered(lambda: bridge.api.put("/users/alice/presence", {"away": False}))
    return [(events.MESSAGE_STATUS, f"{state['message']}:cancelled")]


def _session_close(bridge, state):
    sid = state["session"]["session_id"]
    _until_answered(lambda: bridge.api.delete(f"/sessions/{sid}"))
    return [(events.SESSION_CLOSED, sid)]


def _stop(bridge, state):
    sid = state.setdefault("sid", "SM" + uuid.uuid4().hex)
    _until_answered(lambda: bridge.sms_from_phone(ALICE, state["session"]["pool_number"], "STOP", sid=sid))
    return [(events.PHONE_OPTED_OUT, sid), (events.MESSAGE_STATUS, f"{state['message']}:failed")]


def _remove_phone(bridge, state):
    _until_answered(lambda: bridge.api.delete("/users/alice/phone"))
    sid = state["session"]["session_id"]
    return [(events.SESSION_CLOSED, sid), (events.MESSAGE_STATUS, f"{state['message']}:cancelled")]


def _reply(bridge, state):
    sid = state.setdefault("sid", "SM" + uuid.uuid4().hex)
    _until_answered(lambda: bridge.sms_from_phone(ALICE, state["session"]["pool_number"], "reply", sid=sid))
    from chalicelib.core.message_rules import inbound_message_id

    return [(events.MESSAGE_RECEIVED, inbound_message_id(sid))]


TRANSITIONS = {
    "status callback (apply_status + notify)": (_prepare_sent, _status_delivered),
    "sender record_sent": (_prepare_queued, _sender_records),
    "cancel_queued_for_user (presence)": (_prepare_queued, _presence_cancels),
    "session close": (None, _session_close),
    "opt-out (STOP)": (_prepare_queued, _stop),
    "phone removal (close + cancel)": (_prepare_queued, _remove_phone),
    "inbound reply": (None, _reply),
}


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_a_fault_at_every_step_loses_no_event(ready, queued_events, name):
    prepare, trigger = TRANSITIONS[name]
    bridge = ready

    def run(armed):
        state = _fresh(bridge, queued_events)
        if prepare:
            prepare(bridge, state)
        queued_events.clear()
        faults = Faults()
        faults.armed = armed
        with injected(faults):
            owed = trigger(bridge, state)
        return faults, owed

    clean, _ = run(None)
    assert clean.steps >= 2, clean.steps
    fired = 0
    for step in range(1, clean.steps + 1):
        faults, owed = run(step)
        fired += len(faults.fired)
        by_id = {}
        for event in queued_events:
            by_id.setdefault(event["event_id"], []).append(event)
        for event_type, cause in owed:
            copies = by_id.get(events.event_id(event_type, cause))
            assert copies, f"{name}: {event_type} lost with a fault at step {step} ({faults.fired})"
            assert all(c["type"] == event_type for c in copies)
            assert len({(c.get("status"), c.get("session_id")) for c in copies}) == 1, "one event, however often queued"
    INJECTED[name] = fired
    print(f"\n{name}: {clean.steps} steps, {fired} faults injected, no event lost")
    assert fired == clean.steps, "every step had its fault"
