"""Events for the chat backend: their types, ids and shape (pure).

Event ids are derived from what caused the event, so a retried cause yields the
same id and receivers dedupe on it. adapters/queues.py puts them on the
delivery queue; usecases/delivery.py POSTs them.
"""

from __future__ import annotations

import hashlib

MESSAGE_RECEIVED = "message.received"
MESSAGE_STATUS = "message.status"
SESSION_CLOSED = "session.closed"
PHONE_OPTED_OUT = "phone.opted_out"
PHONE_OPTED_IN = "phone.opted_in"
PHONE_UNREACHABLE = "phone.unreachable"
SMS_UNROUTED = "sms.unrouted"
REQUEST_REJECTED = "request.rejected"


def event_id(event_type: str, cause: str) -> str:
    digest = hashlib.sha256(f"{event_type}\x1f{cause}".encode()).hexdigest()
    return "evt_" + digest[:32]


def build(event_type: str, cause: str, now: float, **fields: object) -> dict[str, object]:
    return {"type": event_type, "event_id": event_id(event_type, cause), "created_at": int(now), **fields}
