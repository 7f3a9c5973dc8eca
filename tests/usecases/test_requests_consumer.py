"""usecases/requests_consumer.py: requests other systems queue instead of
calling the API, carried out as the API would; what cannot be honoured goes to
the requests DLQ with its reason, and the chat backend hears request.rejected."""

from __future__ import annotations

import json

import pytest

from chalicelib.store.models import Message, Session
from chalicelib.usecases import requests_consumer, sessions
from chalicelib.wiring import production_context

from .support import ALICE, POOL, add_pool, of_type, receive, seed_verified_user, send_outbound

DLQ = "sms-bridge-dev-requests-dlq"


@pytest.fixture
def ready(ctx, twilio):
    add_pool(ctx, twilio, POOL[0])
    seed_verified_user(ctx, "alice", ALICE)
    return ctx


def record(request: object, sqs_id: str = "sqs-1", receive_count: int = 1) -> dict:
    body = request if isinstance(request, str) else json.dumps(request)
    return {"messageId": sqs_id, "body": body, "attributes": {"ApproximateReceiveCount": str(receive_count)}}


def send_request(text: str = "hello", partner_id: str = "bob", **extra) -> dict:
    return {
        "type": "message.send",
        "user_id": "alice",
        "partner_id": partner_id,
        "partner_name": "Bob",
        "text": text,
        **extra,
    }


def dead_letters() -> list[tuple[str, str, str]]:
    return [
        (
            r["body"],
            r["messageAttributes"]["reason"]["stringValue"],
            r["messageAttributes"]["source_message_id"]["stringValue"],
        )
        for r in receive(DLQ)
    ]


def test_message_send_opens_a_session_and_sends(ready, twilio, queued_events):
    assert requests_consumer.process_batch(ready, [record(send_request())]) == []
    [session] = sessions.list_open(ready, "alice")["sessions"]
    assert (session["partner_id"], session["pool_number"]) == ("bob", POOL[0])
    assert send_outbound(ready) == 1
    assert [m.body for m in twilio.sms_to(ALICE)] == ["Bob: hello"]
    assert dead_letters() == [] and of_type(queued_events, "request.rejected") == []


def test_a_redelivered_request_sends_once(ready, twilio):
    requests_consumer.process_batch(ready, [record(send_request(), "sqs-7")])
    requests_consumer.process_batch(ready, [record(send_request(), "sqs-7", receive_count=2)])
    assert Message.count() == 1
    assert send_outbound(ready) == 1
    assert len(twilio.sms_to(ALICE)) == 1


def test_session_close_closes_the_pair(ready, queued_events):
    requests_consumer.process_batch(ready, [record(send_request())])
    request = {"type": "session.close", "user_id": "alice", "partner_id": "bob"}
    assert requests_consumer.carry_out(ready, request, "sqs-2") == {"closed": True}
    assert requests_consumer.carry_out(ready, request, "sqs-3") == {"closed": False}
    assert [s.status for s in Session.scan()] == ["closed"]
    assert len(of_type(queued_events, "session.closed")) == 1


@pytest.mark.parametrize(
    "request_body, code",
    [
        ("{not json", "invalid_json"),
        ([1, 2], "invalid_request"),
        ({"type": "session.open"}, "unknown_type"),
        (send_request(text=""), "invalid_text"),
        ({**send_request(), "user_id": "nobody"}, "phone_not_verified"),
    ],
)
def test_a_bad_request_goes_to_the_dlq_with_its_reason(ready, queued_events, request_body, code):
    bad = record(request_body, "sqs-bad")
    assert requests_consumer.process_batch(ready, [bad]) == [], "handled: it must not come back"
    [(body, reason, source)] = dead_letters()
    assert (body, source) == (bad["body"], "sqs-bad")
    assert reason.startswith(f"{code}: ")
    [rejected] = of_type(queued_events, "request.rejected")
    assert (rejected["request_id"], rejected["code"], rejected["reason"]) == ("sqs-bad", code, reason)
    assert Session.count() == 0, "nothing is opened for a request that is refused"


def test_a_503_stays_queued_until_the_last_receive(ready, queued_events, monkeypatch):
    monkeypatch.setenv("POOL_MAX_SIZE", "1")
    ready.refresh()  # the next invocation's settings
    requests_consumer.process_batch(ready, [record(send_request(partner_id="bob"))])
    # The one number is alice's route to bob: a second partner has nowhere to go.
    blocked = send_request(partner_id="carol")
    for receive_count in range(1, requests_consumer.MAX_RECEIVES):
        failed = requests_consumer.process_batch(ready, [record(blocked, "sqs-9", receive_count)])
        assert failed == ["sqs-9"]
    assert dead_letters() == [] and of_type(queued_events, "request.rejected") == []
    last = requests_consumer.process_batch(ready, [record(blocked, "sqs-9", requests_consumer.MAX_RECEIVES)])
    assert last == []
    [(_, reason, _)] = dead_letters()
    assert reason.startswith("pool_exhausted: ") and "POOL_MAX_SIZE" in reason
    assert [e["code"] for e in of_type(queued_events, "request.rejected")] == ["pool_exhausted"]


class FailingClock:
    """A fault that is no BridgeError, through the clock seam."""

    def now(self) -> float:
        raise RuntimeError("fault")

    def sleep(self, seconds: float) -> None:
        raise RuntimeError("fault")


def test_an_unexpected_failure_stays_queued_even_past_max_receives(ready):
    broken = production_context(clock=FailingClock(), twilio=ready.twilio, store=ready.store)
    late = requests_consumer.MAX_RECEIVES + 1
    assert requests_consumer.process_batch(broken, [record(send_request(), "sqs-5", late)]) == ["sqs-5"]
    assert dead_letters() == [], "the queue's redrive policy, not the consumer, gives up on it"
