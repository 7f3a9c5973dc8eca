"""The sender, one batch at a time, against moto and a Twilio that answers
over twilio-python's real HTTP layer: every request is checked against
Twilio's OpenAPI description (devstack/twilio_spec.py). The clock is moved by
hand: nothing here sleeps on real time."""

from __future__ import annotations

import dataclasses
import itertools
import json
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import boto3
import pytest
import requests

from chalicelib.adapters import aws
from chalicelib.adapters.clock import ManualClock
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.core import send_timing
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.store.dynamodb.limits import DynamoLimitStore
from chalicelib.store.dynamodb.store import dynamodb_store
from chalicelib.store.models import POOL, Message, Phone, PoolNumber
from chalicelib.usecases import messages
from chalicelib.usecases.context import Context
from chalicelib.usecases.sending import batch as sender
from chalicelib.wiring import production_context
from devstack.twilio_spec import recording_http_client

T0 = 1_800_000_000.0
NUMBER = "+14155550100"
ALICE = "+14155550123"
OUTBOUND = "sms-bridge-dev-outbound.fifo"


@dataclass
class SessionStub:
    session_id: str = "ses_1"
    user_id: str = "alice"
    partner_id: str = "bob"
    partner_name: str = "Bob"
    pool_number: str = NUMBER
    user_phone: str = ALICE


class FakeTwilio:
    """Answers twilio-python's requests: Messages create and list. `answers` is a
    list of what the next creates get: 'ok', an (HTTP status, Twilio code) pair,
    'timeout' (no answer; Twilio never got it) or 'accept-timeout' (Twilio took
    it, the answer was lost)."""

    def __init__(self, clock_now):
        self.now = clock_now
        self.answers: list = []
        self.created: list[dict] = []
        self.posts = 0
        self.lists = 0

    def respond(self, prepared):
        url = urllib.parse.urlsplit(prepared.url)
        if prepared.method == "POST" and url.path.endswith("/Messages.json"):
            self.posts += 1
            form = dict(urllib.parse.parse_qsl(prepared.body))
            answer = self.answers.pop(0) if self.answers else "ok"
            if answer == "timeout":
                raise requests.exceptions.ReadTimeout("no answer")
            if isinstance(answer, tuple):
                status, code = answer
                return status, json.dumps(
                    {
                        "code": code,
                        "message": "refused",
                        "status": status,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    }
                )
            created = {
                "sid": "SM%032x" % (len(self.created) + 1),
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "date_created": format_datetime(datetime.fromtimestamp(int(self.now()), tz=UTC)),
                "date_sent": format_datetime(datetime.fromtimestamp(int(self.now()), tz=UTC)),
            }
            self.created.append(created)
            if answer == "accept-timeout":
                raise requests.exceptions.ReadTimeout("answer lost")
            return 201, json.dumps(created)
        if prepared.method == "GET" and url.path.endswith("/Messages.json"):
            self.lists += 1
            query = dict(urllib.parse.parse_qsl(url.query))
            found = [m for m in reversed(self.created) if m["to"] == query.get("To") and m["from"] == query.get("From")]
            return 200, json.dumps({"messages": found, "next_page_uri": None, "page": 0, "page_size": 50})
        return 404, json.dumps({"code": 20404, "message": "not here", "status": 404})

    def bodies(self) -> list[str]:
        return [m["body"] for m in self.created]


class CrashingGateway(TwilioGateway):
    """The process dies around a send: before Twilio sees it, or after Twilio took it."""

    def __init__(self, http_client, when: str):
        super().__init__(http_client)
        self.when = when

    def send_sms(self, **kwargs):
        if self.when == "after":
            super().send_sms(**kwargs)
        raise Crash()


class Crash(BaseException):
    pass


class TimedGateway(TwilioGateway):
    """Records the (virtual) time each send leaves."""

    def __init__(self, http_client, clock):
        super().__init__(http_client)
        self.clock, self.times = clock, []

    def send_sms(self, **kwargs):
        self.times.append(self.clock.now())
        return super().send_sms(**kwargs)


@pytest.fixture
def now():
    """The clock, moved by hand; the sender's in-invocation sleeps move it too."""
    return ManualClock(T0)


@pytest.fixture
def twilio(now):
    fake = FakeTwilio(now.now)
    fake.http = recording_http_client(validate=True, respond=fake.respond)
    return fake


class CountedLimits(DynamoLimitStore):
    """The limiter's state in DynamoDB, its writes (charges and moves of a TAT) counted."""

    def __init__(self):
        self.writes: list[tuple] = []

    def write(self, *args, **kwargs):
        self.writes.append(args)
        return super().write(*args, **kwargs)


@pytest.fixture
def world(aws_backend, twilio, now):
    PoolNumber(POOL, NUMBER, segments_per_second=1, created_at=int(T0), open_sessions=1, limiter_tat=0).save()
    Phone(phone=ALICE, user_id="alice", verified=True, updated_at=int(T0)).save()
    twilio.store = dataclasses.replace(dynamodb_store(), limits=CountedLimits())
    twilio.ctx = production_context(clock=now, twilio=TwilioGateway(twilio.http), store=twilio.store)
    return twilio


def crashing(world, when: str) -> Context:
    return production_context(clock=world.ctx.clock, twilio=CrashingGateway(world.http, when), store=world.store)


def submit(world, text: str, session: SessionStub | None = None) -> str:
    return messages.submit(world.ctx, session or SessionStub(), text)["message_id"]


def receive() -> list[dict]:
    """The outbound queue's messages as Lambda hands them over (see devstack/poller.py)."""
    from devstack.poller import _record

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=OUTBOUND)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    return [_record(m, arn, "us-east-1") for m in got]


def record_for(message_id: str, receive_count: int = 1) -> dict:
    """A record for a message without the queue (no receipt: nothing to give back)."""
    return {
        "messageId": f"sqs-{message_id}",
        "body": OutboundJob(message_id).encode(),
        "attributes": {"MessageGroupId": NUMBER, "ApproximateReceiveCount": str(receive_count)},
    }


def status(message_id: str) -> tuple[str, str | None]:
    message = Message.get(message_id, consistent_read=True)
    return message.status, message.error_code


def sent_counted() -> tuple[int, int]:
    """The pool number's cumulative sent counters: (segments, messages)."""
    number = PoolNumber.get(POOL, NUMBER, consistent_read=True)
    return int(number.segments_out or 0), int(number.messages_out or 0)


def test_a_message_is_sent_once_and_recorded(world):
    message_id = submit(world, "hello")
    assert sender.process_batch(world.ctx, receive()) == []
    assert status(message_id) == ("sent", None)
    assert world.bodies() == ["Bob: hello"]
    assert Message.get(message_id).twilio_sid == world.created[0]["sid"]
    assert sent_counted() == (1, 1)  # in the limiter's write: no usage write of its own
    # The same SQS message delivered again changes nothing.
    assert sender.process_batch(world.ctx, [record_for(message_id)]) == []
    assert world.posts == 1 and sent_counted() == (1, 1)


@pytest.mark.parametrize(
    "answer, expected_status, expected_code, retried, opted_out",
    [
        ((429, 20429), "queued", None, True, False),  # refused before accepting: back to the queue
        ((500, 20500), "sending", None, True, False),  # may have been accepted: reconciled first
        ((503, 20503), "sending", None, True, False),
        ("timeout", "sending", None, True, False),
        ((400, 21211), "failed", "21211", False, False),  # final, with Twilio's code
        ((400, 21610), "failed", "21610", False, True),  # the phone opted out
    ],
)
def test_twilio_outcomes(world, answer, expected_status, expected_code, retried, opted_out):
    message_id = submit(world, "hello")
    world.answers.append(answer)
    records = receive()
    failed = sender.process_batch(world.ctx, records)
    assert failed == ([records[0]["messageId"]] if retried else [])
    assert status(message_id) == (expected_status, expected_code)
    assert Phone.get(ALICE).opted_out is opted_out
    # Counted as sent (the usage report's source) only while it may have gone.
    assert sent_counted() == ((1, 1) if expected_status == "sending" else (0, 0))


def test_retries_come_back_after_a_backoff_and_are_sent_once(world, now):
    message_id = submit(world, "hello")
    world.answers += [(500, 20500), (429, 20429)]
    calls = []

    def seen(params, **_):
        calls.append([e["VisibilityTimeout"] for e in params["Entries"]])

    events = aws.client("sqs").meta.events
    events.register("provide-client-params.sqs.ChangeMessageVisibilityBatch", seen)
    try:
        assert sender.process_batch(world.ctx, receive()) != []  # 500: unknown outcome
        now.advance(600)
        assert sender.process_batch(world.ctx, [record_for(message_id, 2)]) != []  # reconciled (nothing), then 429
        now.advance(600)
        assert sender.process_batch(world.ctx, [record_for(message_id, 3)]) == []
    finally:
        events.unregister("provide-client-params.sqs.ChangeMessageVisibilityBatch", seen)
    assert status(message_id) == ("sent", None)
    assert world.bodies() == ["Bob: hello"]
    assert sent_counted() == (1, 1)  # counted once, however many attempts
    assert world.lists == 1  # the 500 was looked up at Twilio before the next send
    assert calls and all(0 < seconds <= send_timing.BACKOFF_CAP_SECONDS for batch in calls for seconds in batch)


def test_crash_after_twilio_accepted_is_reconciled_without_a_second_send(world, now):
    message_id = submit(world, "hello")
    records = receive()
    with pytest.raises(Crash):
        sender.process_batch(crashing(world, "after"), records)
    assert status(message_id) == ("sending", None)
    assert world.posts == 1
    now.advance(180)  # the queue's visibility timeout: SQS delivers it again
    assert sender.process_batch(world.ctx, [record_for(message_id, 2)]) == []
    assert status(message_id) == ("sent", None)
    assert world.posts == 1 and world.lists == 1
    assert Message.get(message_id).twilio_sid == world.created[0]["sid"]
    assert sent_counted() == (1, 1)


def test_a_lost_answer_is_reconciled_without_a_second_send(world, now):
    message_id = submit(world, "hello")
    world.answers.append("accept-timeout")
    assert sender.process_batch(world.ctx, receive()) != []
    now.advance(60)
    assert sender.process_batch(world.ctx, [record_for(message_id, 2)]) == []
    assert status(message_id) == ("sent", None)
    assert world.bodies() == ["Bob: hello"]
    assert sent_counted() == (1, 1)


def test_a_crash_before_twilio_saw_it_sends_it_once_after_looking(world, now):
    message_id = submit(world, "hello")
    records = receive()
    with pytest.raises(Crash):
        sender.process_batch(crashing(world, "before"), records)
    now.advance(180)
    assert sender.process_batch(world.ctx, [record_for(message_id, 2)]) == []
    assert status(message_id) == ("sent", None)
    assert world.posts == 1 and world.lists == 1
    assert sent_counted() == (1, 1)  # the booking before the crash counted it; the retry did not again


def test_an_earlier_identical_text_is_not_taken_for_the_lost_one(world, now):
    first = submit(world, "ok")
    sender.process_batch(world.ctx, receive())
    second = submit(world, "ok")
    records = [record_for(second)]  # (the first is still in flight on the queue: no receive)
    with pytest.raises(Crash):
        sender.process_batch(crashing(world, "before"), records)
    now.advance(180)
    sender.process_batch(world.ctx, [record_for(second, 2)])
    assert world.bodies() == ["Bob: ok", "Bob: ok"]
    assert Message.get(first).twilio_sid != Message.get(second).twilio_sid


def test_a_cancelled_message_is_never_sent(world):
    kept_for_later = submit(world, "are you there?")
    assert messages.cancel_queued_for_user(world.ctx, "alice") == 1  # PUT presence away=false does this
    assert sender.process_batch(world.ctx, receive()) == []
    assert status(kept_for_later) == ("cancelled", None)
    assert world.posts == 0


def test_a_message_older_than_its_validity_fails_as_expired(world, now, monkeypatch):
    monkeypatch.setenv("MESSAGE_VALIDITY_SECONDS", "60")
    world.ctx.refresh()  # the next invocation's settings
    message_id = submit(world, "too late")
    now.advance(61)
    assert sender.process_batch(world.ctx, receive()) == []
    assert status(message_id) == ("failed", "expired")
    assert world.posts == 0


@pytest.fixture
def sent_at(world, now) -> list[float]:
    """The virtual time of each request to Twilio, in order."""
    timed = TimedGateway(world.http, now)
    world.ctx = production_context(clock=now, twilio=timed, store=world.store)
    return timed.times


@pytest.fixture
def in_one_invocation(world, monkeypatch):
    """A number's backlog in a batch sent by the invocation, idling between its slots (as
    for numbers whose slots are closer than SENDER_MAX_IDLE_SECONDS)."""
    monkeypatch.setenv("SENDER_MAX_IDLE_SECONDS", "15")
    world.ctx.refresh()


@pytest.mark.usefixtures("in_one_invocation")
def test_messages_of_a_number_are_spaced_by_their_segments(world, now, sent_at):
    long_text = "x" * 300  # with "Bob: " 305 GSM-7 characters: 2 segments
    ids = [submit(world, long_text), submit(world, "short"), submit(world, "after")]
    assert sender.process_batch(world.ctx, receive()) == []
    assert [status(i)[0] for i in ids] == ["sent"] * 3
    assert sent_at[1] - sent_at[0] == pytest.approx(2.0)
    assert sent_at[2] - sent_at[1] == pytest.approx(1.0)
    # The number's TAT is the end of the last send: what placement reads as backlog.
    assert PoolNumber.get(POOL, NUMBER).limiter_tat == pytest.approx(sent_at[2] + 1.0)


@pytest.mark.usefixtures("in_one_invocation")
def test_a_numbers_backlog_in_a_batch_costs_one_limiter_write(world, now, sent_at):
    writes = world.store.limits.writes
    ids = [submit(world, "x" * 300), submit(world, "short"), submit(world, "after")]
    assert sender.process_batch(world.ctx, receive()) == []
    assert [status(i)[0] for i in ids] == ["sent"] * 3
    assert len(writes) == 1  # the first send's write booked the two after it
    assert [b - a for a, b in itertools.pairwise(sent_at)] == [pytest.approx(2.0), pytest.approx(1.0)]
    assert sent_counted() == (4, 3)


@pytest.mark.usefixtures("in_one_invocation")
def test_slots_booked_ahead_and_not_used_are_taken_back_from_the_counters(world, now):
    class CancellingGateway(TwilioGateway):  # the user comes back while the first one goes out
        def send_sms(self, **kwargs):
            sent = super().send_sms(**kwargs)
            messages.cancel_queued_for_user(world.ctx, "alice")
            return sent

    ids = [submit(world, "first"), submit(world, "second"), submit(world, "third")]
    ctx = production_context(clock=now, twilio=CancellingGateway(world.http), store=world.store)
    assert sender.process_batch(ctx, receive()) == []
    assert [status(i)[0] for i in ids] == ["sent", "cancelled", "cancelled"]
    assert sent_counted() == (1, 1)  # booked and counted for three, two taken back


def test_a_wait_the_invocation_cannot_afford_goes_back_to_the_queue_in_order(world, now, monkeypatch):
    monkeypatch.setenv("SENDER_MAX_WAIT_SECONDS", "0")  # every wait by visibility timeout
    world.ctx.refresh()
    ids = [submit(world, f"message {i}") for i in range(3)]
    records = receive()
    failed = sender.process_batch(world.ctx, records)
    assert failed == [r["messageId"] for r in records[1:]]  # the first went; the rest wait, in order
    assert [status(i)[0] for i in ids] == ["sent", "queued", "queued"]
    now.advance(1)
    assert sender.process_batch(world.ctx, records[1:]) == [records[2]["messageId"]]
    assert [status(i)[0] for i in ids] == ["sent", "sent", "queued"]


def test_requests_to_twilio_match_its_spec(world, now):
    """recording_http_client validates each request; a create and a list went through."""
    message_id = submit(world, "hello")
    world.answers.append("accept-timeout")
    sender.process_batch(world.ctx, receive())
    now.advance(60)
    sender.process_batch(world.ctx, [record_for(message_id, 2)])
    methods = [(r.method, urllib.parse.urlsplit(r.url).path.rsplit("/", 1)[-1]) for r in world.http.requests]
    assert methods == [("POST", "Messages.json"), ("GET", "Messages.json")]


def test_a_record_without_a_group_is_still_limited_by_its_number(world, now, sent_at):
    ids = [submit(world, "one"), submit(world, "two")]
    records = [dict(record_for(i), attributes={}) for i in ids]
    assert sender.process_batch(world.ctx, records) == []
    assert [status(i)[0] for i in ids] == ["sent", "sent"]
    assert sent_at[1] - sent_at[0] >= 1.0 - 1e-6


@pytest.fixture
def asked(world, now):
    """Every visibility timeout the sender asks of SQS: (when, receipt handle, seconds)."""
    calls: list[tuple[float, str, int]] = []

    def seen(params, **_):
        calls.extend((now.now(), e["ReceiptHandle"], e["VisibilityTimeout"]) for e in params["Entries"])

    events = aws.client("sqs").meta.events
    events.register("provide-client-params.sqs.ChangeMessageVisibilityBatch", seen)
    yield calls
    events.unregister("provide-client-params.sqs.ChangeMessageVisibilityBatch", seen)


def comes_back(asked: list, record: dict) -> float:
    """When SQS shows a message again: its last visibility timeout asked, from when asked."""
    when, _, seconds = [call for call in asked if call[1] == record["receiptHandle"]][-1]
    return when + seconds


def test_a_numbers_backlog_is_handed_back_to_come_back_just_before_each_slot(world, now, sent_at, asked):
    texts = ["x" * 300, "short", "after", "and", "more"]  # the first is 2 segments
    ids = [submit(world, text) for text in texts]
    records = receive()
    backs = []
    while records:
        failed = sender.process_batch(world.ctx, records)
        # One message sent; the invocation ends with its send instead of idling until the next slot.
        assert failed == [r["messageId"] for r in records[1:]]
        assert now.now() == sent_at[-1]
        records = records[1:]
        if records:
            backs.append(comes_back(asked, records[0]))
            now.set(backs[-1])  # SQS shows the rest of the group again: the next invocation
    assert [status(i)[0] for i in ids] == ["sent"] * 5
    assert world.bodies() == [f"Bob: {text}" for text in texts]
    assert [b - a for a, b in itertools.pairwise(sent_at)] == [pytest.approx(g) for g in (2.0, 1.0, 1.0, 1.0)]
    # Each came back before its slot, in time to book it; after the first (handed back after
    # its send, as an invocation that started late must), the longest lead early.
    leads = [slot - back for slot, back in zip(sent_at[1:], backs, strict=True)]
    assert all(lead >= send_timing.RETURN_LEAD_MIN for lead in leads)
    assert leads[1:] == [pytest.approx(send_timing.RETURN_LEAD_MAX)] * 3
    assert sent_counted() == (6, 5)


def test_handed_back_messages_follow_a_retried_one_in_order(world, now, asked):
    ids = [submit(world, f"message {i}") for i in range(3)]
    world.answers.append((429, 20429))
    records = receive()
    assert sender.process_batch(world.ctx, records) == [r["messageId"] for r in records]
    assert [status(i)[0] for i in ids] == ["queued"] * 3
    # All back after the first's backoff together: none can come back before it.
    backs = [comes_back(asked, record) for record in records]
    assert backs[1:] == [backs[0]] * 2 and backs[0] - now.now() >= 1
    now.set(backs[0])
    for _ in range(3):
        records = [r for r in records if r["messageId"] in sender.process_batch(world.ctx, records)]
        if records:
            now.set(comes_back(asked, records[0]))
    assert [status(i)[0] for i in ids] == ["sent"] * 3
    assert world.bodies() == [f"Bob: message {i}" for i in range(3)]


@pytest.fixture
def limiter_writes(world):
    """The limiter's writes to DynamoDB (charges and moves of a number's TAT)."""
    return world.store.limits.writes


def hand_over(world, now, asked, records: list[dict], ctx: Context | None = None) -> list[dict]:
    """One invocation; what it left on the queue, once SQS shows it again."""
    failed = sender.process_batch(ctx or world.ctx, records)
    left = [r for r in records if r["messageId"] in failed]
    if left:
        now.set(max(now.now(), comes_back(asked, left[0])))
    return left


def test_a_handed_back_backlog_costs_one_limiter_write(world, now, sent_at, asked, limiter_writes):
    ids = [submit(world, text) for text in ("one", "two", "three", "four")]
    records = receive()
    while records:
        records = hand_over(world, now, asked, records)
    assert [status(i)[0] for i in ids] == ["sent"] * 4
    assert [b - a for a, b in itertools.pairwise(sent_at)] == [pytest.approx(1.0)] * 3
    # The first invocation's write booked the slots of the three after it, on the number:
    # the invocations they were handed back to sent on them without a write of their own.
    assert len(limiter_writes) == 1
    assert sent_counted() == (4, 4)


def test_a_handed_back_message_cancelled_gives_its_slot_back_once(world, now, asked):
    ids = [submit(world, "first"), submit(world, "second"), submit(world, "third")]
    records = hand_over(world, now, asked, receive())
    assert sent_counted() == (3, 3)  # the first, and the slots booked for the two after it
    assert messages.cancel_queued_for_user(world.ctx, "alice") == 2  # the user came back
    again = list(records)
    while records:
        records = hand_over(world, now, asked, records)
    assert [status(i)[0] for i in ids] == ["sent", "cancelled", "cancelled"]
    assert sent_counted() == (1, 1)
    while again:  # SQS delivers them again: nothing more is sent or taken back
        again = hand_over(world, now, asked, again)
    assert sent_counted() == (1, 1) and world.posts == 1


def test_a_handed_back_message_refused_with_429_is_counted_once_when_it_goes(world, now, sent_at, asked):
    ids = [submit(world, "first"), submit(world, "second")]
    records = hand_over(world, now, asked, receive())
    world.answers.append((429, 20429))
    records = hand_over(world, now, asked, records)  # its booked slot, refused: taken back
    assert [status(i)[0] for i in ids] == ["sent", "queued"] and sent_counted() == (1, 1)
    assert hand_over(world, now, asked, records) == []
    assert [status(i)[0] for i in ids] == ["sent", "sent"] and sent_counted() == (2, 2)
    assert sent_at[2] - sent_at[0] >= 1.0  # the try refused by Twilio, and the one that went


@pytest.mark.parametrize("when", ["before", "after"])
def test_after_a_crash_the_next_messages_go_after_the_retried_one_and_are_counted_once(
    world, now, sent_at, asked, when
):
    ids = [submit(world, "first"), submit(world, "second"), submit(world, "third")]
    records = receive()
    with pytest.raises(Crash):  # the first's charge booked the two after it, then the process died
        sender.process_batch(
            production_context(clock=now, twilio=CrashingGateway(world.http, when), store=world.store), records
        )
    now.advance(180)  # the queue's visibility timeout: SQS delivers the batch again
    while records:
        records = hand_over(world, now, asked, records)
    assert [status(i)[0] for i in ids] == ["sent"] * 3
    assert world.bodies() == ["Bob: first", "Bob: second", "Bob: third"]  # each once
    assert all(b - a >= 1.0 - 1e-6 for a, b in itertools.pairwise(sent_at))
    assert sent_counted() == (3, 3)


def test_messages_handed_back_after_one_that_is_not_sent_go_in_the_same_invocation(world, now, monkeypatch):
    monkeypatch.setenv("MESSAGE_VALIDITY_SECONDS", "60")
    world.ctx.refresh()  # the next invocation's settings
    expired = submit(world, "too late")
    now.advance(61)
    ids = [submit(world, "second"), submit(world, "third")]
    records = receive()
    # The first fails as expired before any send: the second goes now, the third is handed back.
    assert sender.process_batch(world.ctx, records) == [records[2]["messageId"]]
    assert status(expired) == ("failed", "expired")
    assert [status(i)[0] for i in ids] == ["sent", "queued"]
    assert world.bodies() == ["Bob: second"]


def test_a_message_back_after_its_slot_moves_the_next_ones_on_with_it(world, now, sent_at, asked):
    ids = [submit(world, text) for text in ("one", "two", "three")]
    records = hand_over(world, now, asked, receive())
    now.set(sent_at[0] + 1.005)  # SQS (or Lambda) was 5 ms late: its booked slot has passed
    while records:
        records = hand_over(world, now, asked, records)
    assert [status(i)[0] for i in ids] == ["sent"] * 3
    # It went at once, 5 ms late; the next invocation knew, and kept the rate after it.
    assert sent_at[1] - sent_at[0] == pytest.approx(1.005)
    assert sent_at[2] - sent_at[1] == pytest.approx(1.0) and sent_at[2] - sent_at[1] >= 1.0 - 1e-9
