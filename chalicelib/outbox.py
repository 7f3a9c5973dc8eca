"""The outbound FIFO queue: one group per pool number keeps a number's sends
(and so every session's messages) in order; the message id deduplicates."""
from __future__ import annotations

import json

from chalicelib import aws
from chalicelib.config import settings


def enqueue(message_id: str, pool_number: str, secret_text: str | None = None) -> None:
    body: dict = {"message_id": message_id}
    if secret_text is not None:
        # Verification codes travel only in the (encrypted) queue, never in the table.
        body["secret_text"] = secret_text
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(settings().queue_name("outbound")),
        MessageBody=json.dumps(body),
        MessageGroupId=pool_number,
        MessageDeduplicationId=message_id,
    )
