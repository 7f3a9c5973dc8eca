"""The SQS queues the bridge writes to, by what goes on them.

- outbound (FIFO): one group per pool number keeps a number's sends (and so
  every session's messages) in order; the message id deduplicates.
- delivery: events for the chat backend (core/events.py builds them).
- requests-dlq: requests from the requests queue that cannot be honoured.
"""

from __future__ import annotations

import json

from chalicelib import config
from chalicelib.adapters import aws
from chalicelib.adapters.logs import logger


def send_outbound(
    message_id: str, pool_number: str, secret_text: str | None = None, segments: int | None = None
) -> None:
    body: dict = {"message_id": message_id}
    if segments is not None:
        body["segments"] = segments  # the sender books a group's next slots ahead with it
    if secret_text is not None:
        # Verification codes travel only in the (encrypted) queue, never in the table.
        body["secret_text"] = secret_text
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(config.queue_name("outbound")),
        MessageBody=json.dumps(body),
        MessageGroupId=pool_number,
        MessageDeduplicationId=message_id,
    )


# The attribute of a delivery-queue message that carries an SMS received on a pool number
# ("<pool number> <segments>"): the delivery consumer counts it (usecases/delivery.py).
USAGE_IN_ATTRIBUTE = "usage_in"


def queue_event(event: dict, usage_in: tuple[str, int] | None = None) -> dict:
    """Queue one event for delivery; raises if SQS refuses (callers let it
    propagate so their own trigger is retried)."""
    extra = {}
    if usage_in is not None:
        value = f"{usage_in[0]} {int(usage_in[1])}"
        extra["MessageAttributes"] = {USAGE_IN_ATTRIBUTE: {"DataType": "String", "StringValue": value}}
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(config.queue_name("delivery")),
        MessageBody=json.dumps(event, separators=(",", ":")),
        **extra,
    )
    return event


def usage_in(record: dict) -> tuple[str, int] | None:
    """The (pool number, segments) an SQS record of the delivery queue counts, if any."""
    value = (record.get("messageAttributes") or {}).get(USAGE_IN_ATTRIBUTE, {}).get("stringValue")
    number, _, segments = (value or "").partition(" ")
    return (number, int(segments)) if number and segments.isdigit() else None


def dead_letter_request(body: str, source_message_id: str, reason: str) -> None:
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(config.queue_name("requests-dlq")),
        MessageBody=body,
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": reason},
            "source_message_id": {"DataType": "String", "StringValue": source_message_id},
        },
    )


def delay_event(receipt_handle: str, seconds: int) -> None:
    """Hide a delivery-queue message for its retry backoff."""
    aws.client("sqs").change_message_visibility(
        QueueUrl=aws.queue_url(config.queue_name("delivery")),
        ReceiptHandle=receipt_handle,
        VisibilityTimeout=seconds,
    )


def set_visibility(queue_name: str, entries: list[dict]) -> None:
    """ChangeMessageVisibilityBatch in tens; entries: Id, ReceiptHandle, VisibilityTimeout.
    A failed entry is logged: that message waits out the queue's own timeout."""
    sqs = aws.client("sqs")
    url = aws.queue_url(queue_name)
    for start in range(0, len(entries), 10):
        answer = sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries[start : start + 10])
        for failed in answer.get("Failed", []):
            logger.warning(
                "visibility not changed; the message waits out the queue's timeout", extra={"code": failed.get("Code")}
            )
