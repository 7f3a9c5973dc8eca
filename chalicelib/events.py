"""Events for the chat backend: built here, queued on the delivery queue,
POSTed by delivery.py. Event ids are derived from what caused the event, so a
retried cause yields the same id and receivers dedupe on it."""
from __future__ import annotations

import hashlib
import json

from chalicelib import aws, clock
from chalicelib.config import settings

MESSAGE_RECEIVED = "message.received"
MESSAGE_STATUS = "message.status"
SESSION_CLOSED = "session.closed"
PHONE_OPTED_OUT = "phone.opted_out"
PHONE_OPTED_IN = "phone.opted_in"
SMS_UNROUTED = "sms.unrouted"
REQUEST_REJECTED = "request.rejected"


def event_id(event_type: str, cause: str) -> str:
    digest = hashlib.sha256(f"{event_type}\x1f{cause}".encode()).hexdigest()
    return "evt_" + digest[:32]


def build(event_type: str, cause: str, **fields) -> dict:
    return {
        "type": event_type,
        "event_id": event_id(event_type, cause),
        "created_at": int(clock.now()),
        **fields,
    }


def emit(event_type: str, cause: str, **fields) -> dict:
    """Queue one event for delivery; raises if SQS refuses (callers let it
    propagate so their own trigger is retried)."""
    event = build(event_type, cause, **fields)
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(settings().queue_name("delivery")),
        MessageBody=json.dumps(event, separators=(",", ":")),
    )
    return event
