"""Helpers of the use-case tests. Each test calls a use case directly with a
Context of its own (conftest.py: a ManualClock, so time moves only when the
test advances it, and a TwilioGateway pointed at the Twilio stand-in on
loopback, which checks every request against Twilio's OpenAPI description),
on moto. Events queued for the chat backend are seen through the
`queued_events` fixture of tests/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from chalicelib.core import phone_numbers
from chalicelib.store.models import Phone, User
from chalicelib.usecases import phones, pool_numbers
from chalicelib.usecases.context import Context
from chalicelib.usecases.sending import batch as sender
from devstack.poller import _record

T0 = 1_800_000_000.0
ACCOUNT_SID = "AC" + "1" * 32  # the account of the stand-in (tests/conftest.py)
POOL = ("+14155550101", "+14155550102", "+14155550103")
ALICE = "+14155550123"
BOB_PHONE = "+14155550124"
OUTBOUND = "sms-bridge-dev-outbound.fifo"


@dataclass
class SessionStub:
    """What messages.submit and store_inbound read of a session."""

    session_id: str = "ses_1"
    user_id: str = "alice"
    partner_id: str = "bob"
    partner_name: str | None = "Bob"
    pool_number: str = POOL[0]
    user_phone: str = ALICE


def add_pool(ctx: Context, twilio, *numbers: str) -> None:
    """Numbers the stand-in's account owns, straight into the pool's table."""
    for number in numbers:
        twilio.own(number)
        pool_numbers.record(ctx, phone_numbers.parse(number, "US"), "PN" + number[1:].rjust(32, "0"), 1.0)


def receive(queue_name: str, max_messages: int = 10) -> list[dict]:
    """Messages on a queue, as Lambda hands them to a handler."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    return [_record(m, arn, "us-east-1") for m in got]


def delete(queue_name: str, records: list[dict]) -> None:
    if not records:
        return
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)]
    )


def send_outbound(ctx: Context) -> int:
    """Run the sender over what the outbound queue holds, as Lambda would; returns how many it sent."""
    done = 0
    while records := receive(OUTBOUND):
        failed = set(sender.process_batch(ctx, records))
        delete(OUTBOUND, [r for r in records if r["messageId"] not in failed])
        done += len(records) - len(failed)
        if failed:
            break
    return done


def verified_user(ctx: Context, twilio, user_id: str, phone: str) -> None:
    phones.hook_up(ctx, user_id, phone)
    send_outbound(ctx)
    assert phones.verify(ctx, user_id, twilio.last_code(phone)) == {"status": "verified"}


def seed_verified_user(ctx: Context, user_id: str, phone: str) -> None:
    """A user whose phone is verified, straight into the tables (the hook-up
    itself is tested in test_phones.py; this spares the other tests a send)."""
    now = int(ctx.now())
    User(user_id=user_id, phone=phone, phone_status="verified", away=True, updated_at=now).save()
    Phone(phone=phone, user_id=user_id, verified=True, updated_at=now).save()


def of_type(queued_events: list[dict], event_type: str) -> list[dict]:
    return [e for e in queued_events if e["type"] == event_type]
