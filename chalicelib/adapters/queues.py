"""The SQS queues the bridge writes to, by what goes on them (`Queues`, the context's `queues`).

- outbound (FIFO): one group per pool number keeps a number's sends (and so
  every session's messages) in order; the message id deduplicates; the body is an
  OutboundJob (core/outbound_job.py).
- delivery: events for the chat backend (core/events.py builds them).
- requests-dlq: requests from the requests queue that cannot be honoured.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters import aws
from chalicelib.adapters.logs import logger
from chalicelib.config import QueueNames, Settings
from chalicelib.core.outbound_job import OutboundJob

# The attribute of a delivery-queue message that carries an SMS received on a pool number
# ("<pool number> <segments>"): the delivery consumer counts it (usecases/delivery.py).
USAGE_IN_ATTRIBUTE = "usage_in"


def usage_in(record: dict) -> tuple[str, int] | None:
    """The (pool number, segments) an SQS record of the delivery queue counts, if any."""
    value = (record.get("messageAttributes") or {}).get(USAGE_IN_ATTRIBUTE, {}).get("stringValue")
    number, _, segments = (value or "").partition(" ")
    return (number, int(segments)) if number and segments.isdigit() else None


class Queues:
    """The stage's queues over an SQS client: `sqs` (a simulation's), or (None) the process's
    own (adapters/aws.py), looked up at each call, as tests make it again for a new backend."""

    def __init__(self, names: QueueNames, sqs: Any = None):
        self.names = names
        self._sqs = sqs
        self._urls: dict[str, str] = {}

    def configure(self, settings: Settings) -> None:
        self.names = settings.queues

    @property
    def sqs(self) -> Any:
        return self._sqs if self._sqs is not None else aws.client("sqs")

    def url(self, name: str) -> str:
        if self._sqs is None:
            return aws.queue_url(name)
        if name not in self._urls:
            self._urls[name] = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    def send_outbound(self, job: OutboundJob, pool_number: str) -> None:
        self.sqs.send_message(
            QueueUrl=self.url(self.names.outbound),
            MessageBody=job.encode(),
            MessageGroupId=pool_number,
            MessageDeduplicationId=job.message_id,
        )

    def queue_event(self, event: dict, usage_in: tuple[str, int] | None = None) -> dict:
        """Queue one event for delivery; raises if SQS refuses (callers let it
        propagate so their own trigger is retried)."""
        extra = {}
        if usage_in is not None:
            value = f"{usage_in[0]} {int(usage_in[1])}"
            extra["MessageAttributes"] = {USAGE_IN_ATTRIBUTE: {"DataType": "String", "StringValue": value}}
        self.sqs.send_message(
            QueueUrl=self.url(self.names.delivery),
            MessageBody=json.dumps(event, separators=(",", ":")),
            **extra,
        )
        return event

    def dead_letter_request(self, body: str, source_message_id: str, reason: str) -> None:
        self.sqs.send_message(
            QueueUrl=self.url(self.names.requests_dlq),
            MessageBody=body,
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason},
                "source_message_id": {"DataType": "String", "StringValue": source_message_id},
            },
        )

    def delay_event(self, receipt_handle: str, seconds: int) -> None:
        """Hide a delivery-queue message for its retry backoff."""
        self.sqs.change_message_visibility(
            QueueUrl=self.url(self.names.delivery), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )

    def set_visibility(self, queue_name: str, entries: list[dict]) -> None:
        """ChangeMessageVisibilityBatch in tens; entries: Id, ReceiptHandle, VisibilityTimeout.
        A failed entry is logged: that message waits out the queue's own timeout."""
        sqs, url = self.sqs, self.url(queue_name)
        for start in range(0, len(entries), 10):
            answer = sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries[start : start + 10])
            for failed in answer.get("Failed", []):
                logger.warning(
                    "visibility not changed; the message waits out the queue's timeout",
                    extra={"code": failed.get("Code")},
                )
