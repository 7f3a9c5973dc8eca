"""Messages in both directions: submit, look up, list, cancel, status changes."""
from __future__ import annotations

import base64
import hashlib
import json
import uuid

from chalicelib import clock, events, outbox, segments
from chalicelib.config import settings
from chalicelib.db import get_or_none, save_if, update_if
from chalicelib.errors import BridgeError, bad_request, not_found
from chalicelib.logs import logger
from chalicelib.models import Message

QUEUED, SENDING, SENT, DELIVERED = "queued", "sending", "sent", "delivered"
UNDELIVERED, FAILED, CANCELLED, RECEIVED = "undelivered", "failed", "cancelled", "received"
FINAL = frozenset({DELIVERED, UNDELIVERED, FAILED, CANCELLED, RECEIVED})

# Later states never give way to earlier ones (Twilio's callbacks can arrive out of order).
_RANK = {QUEUED: 0, SENDING: 1, SENT: 2, DELIVERED: 3, UNDELIVERED: 3, FAILED: 3, CANCELLED: 3}

MAX_TEXT = 1600  # Twilio's limit on a message body, in characters
MAX_CLIENT_ID = 128
PAGE_LIMIT_MAX = 100


def message_id_for(session_id: str, client_message_id: str | None) -> str:
    if client_message_id is None:
        return "msg_" + uuid.uuid4().hex
    digest = hashlib.sha256(f"{session_id}\x1f{client_message_id}".encode()).hexdigest()
    return "msg_" + digest[:32]


def order_key(created_at: float, message_id: str) -> str:
    return f"{int(created_at * 1_000_000):020d}:{message_id}"


def compose_body(partner_name: str, text: str) -> str:
    """The SMS as the user's phone shows it: who is writing, then the text."""
    prefix = settings().sender_prefix_template.format(name=partner_name)
    return segments.smart_encode(prefix + text)


def validate_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise bad_request("invalid_text", "text must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise bad_request("text_too_long", f"text has {len(text)} characters; the most an SMS can carry is {MAX_TEXT}")
    return text


def submit(session, text: object, client_message_id: object = None) -> dict:
    """Store an outbound chat message 'queued' and put it on the outbound queue.

    The same client_message_id returns the stored message and queues nothing
    new (it re-queues a message still 'queued', in case the first call's queue
    write failed: the FIFO dedupe and the sender's claim make that harmless)."""
    text = validate_text(text)
    if client_message_id is not None and (
        not isinstance(client_message_id, str) or not 0 < len(client_message_id) <= MAX_CLIENT_ID
    ):
        raise bad_request("invalid_client_message_id", f"client_message_id must be a string of 1 to {MAX_CLIENT_ID} characters")
    body = compose_body(session.partner_name or session.partner_id, text)
    if len(body) > MAX_TEXT:
        raise bad_request(
            "text_too_long",
            f"with the sender's name the SMS has {len(body)} characters; the most is {MAX_TEXT}: shorten the text",
        )
    counted = segments.segment(body)
    now = clock.now()
    message_id = message_id_for(session.session_id, client_message_id)
    message = Message(
        message_id=message_id,
        session_id=session.session_id,
        user_id=session.user_id,
        direction="outbound",
        text=text,
        body=body,
        status=QUEUED,
        segments=counted.segments,
        encoding=counted.encoding,
        from_number=session.pool_number,
        to_number=session.user_phone,
        created_at=now,
        order_key=order_key(now, message_id),
        queued_user_id=session.user_id,
        ttl=retention(now),
    )
    if not save_if(message, Message.message_id.does_not_exist()):
        message = Message.get(message_id, consistent_read=True)
        if message.session_id != session.session_id or message.text != text:
            raise BridgeError(
                "client_message_id_reused",
                "this client_message_id was already used for a different message; use a new one",
                409,
            ) from None
        if message.status != QUEUED:
            return summary(message)
    outbox.enqueue(message.message_id, message.from_number)
    return summary(message)


def send_verification_code(user_id: str, number, code: str) -> None:
    """The one-time code SMS, through the same outbound queue as chat messages.

    The code itself rides only in the queue message, never in the table."""
    from chalicelib import pool

    pool_number = pool.pick_for_notice(number)
    now = clock.now()
    message_id = "msg_" + uuid.uuid4().hex
    text = f"Your verification code is {code}. It expires in {settings().code_ttl_seconds // 60} minutes."
    counted = segments.segment(text)
    Message(
        message_id=message_id,
        user_id=user_id,
        direction="outbound",
        kind="verification",
        text="(verification code)",
        status=QUEUED,
        segments=counted.segments,
        encoding=counted.encoding,
        from_number=pool_number,
        to_number=number.e164,
        created_at=now,
        order_key=order_key(now, message_id),
        ttl=retention(now),
    ).save()
    outbox.enqueue(message_id, pool_number, secret_text=text)


def get(message_id: str) -> Message:
    message = get_or_none(Message, message_id)
    if message is None:
        raise not_found("message", message_id)
    return message


def describe(message: Message) -> dict:
    return {
        "message_id": message.message_id,
        "session_id": message.session_id,
        "direction": message.direction,
        "text": message.text,
        "status": message.status,
        "error_code": message.error_code,
        "segments": message.segments,
        "created_at": _iso(message.created_at),
        "sent_at": _iso(message.sent_at),
        **({"media_urls": json.loads(message.media_urls)} if message.media_urls else {}),
    }


def summary(message: Message) -> dict:
    return {
        "message_id": message.message_id,
        "status": message.status,
        "segments": message.segments,
        "encoding": message.encoding,
    }


def list_for_session(session_id: str, limit: object = None, cursor: object = None) -> dict:
    try:
        page_size = int(limit) if limit not in (None, "") else 50
    except (TypeError, ValueError):
        page_size = 0
    if not 1 <= page_size <= PAGE_LIMIT_MAX:
        raise bad_request("invalid_limit", f"limit must be a whole number from 1 to {PAGE_LIMIT_MAX}")
    start = None
    if cursor:
        try:
            start = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
            assert isinstance(start, dict)
        except Exception:
            raise bad_request("invalid_cursor", "cursor must be a next_cursor value from a previous page") from None
    page = Message.by_session.query(session_id, limit=page_size, last_evaluated_key=start, scan_index_forward=True)
    items = [describe(message) for message in page]
    next_key = page.last_evaluated_key
    next_cursor = base64.urlsafe_b64encode(json.dumps(next_key).encode()).decode() if next_key else None
    return {"messages": items, "next_cursor": next_cursor}


def cancel_queued_for_user(user_id: str, status: str = CANCELLED, error_code: str | None = None) -> int:
    """Stop every message still waiting to be sent to this user; tell the chat backend."""
    cancelled = 0
    for key in Message.queued_by_user.query(user_id):
        message = Message(message_id=key.message_id)
        stopped = update_if(
            message,
            [Message.status.set(status), Message.error_code.set(error_code), Message.queued_user_id.remove()],
            Message.status == QUEUED,
        )
        if not stopped:
            continue  # already being sent, or final
        cancelled += 1
        notify_status(message)
    if cancelled:
        logger.info("queued messages stopped", extra={"user_id": user_id, "count": cancelled, "status": status})
    return cancelled


def apply_status(message_id: str, status: str, error_code: str | None = None) -> Message | None:
    """Move a message forward to `status` (never back); returns it if it moved."""
    if status not in _RANK:
        return None
    earlier = [s for s, rank in _RANK.items() if rank < _RANK[status]]
    message = Message(message_id=message_id)
    actions = [Message.status.set(status), Message.queued_user_id.remove()]
    if error_code:
        actions.append(Message.error_code.set(str(error_code)))
    moved = update_if(message, actions, Message.message_id.exists() & Message.status.is_in(*earlier))
    return message if moved else None


def notify_status(message: Message) -> None:
    if message.kind == "verification":
        return
    events.emit(
        events.MESSAGE_STATUS,
        f"{message.message_id}:{message.status}",
        message_id=message.message_id,
        session_id=message.session_id,
        status=message.status,
        error_code=message.error_code,
    )


def retention(now: float) -> int:
    return int(now) + settings().message_retention_days * 86400


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
