"""Messages as the API shows them: one, or a session's page by page (reads only)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from chalicelib.core.errors import bad_request, not_found
from chalicelib.store.conditional import get_or_none, get_together
from chalicelib.store.models import Message
from chalicelib.usecases import media

PAGE_LIMIT_MAX = 100


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
        **_media(message.media),
        **({"media_delivery": message.media_delivery} if message.media_delivery else {}),
    }


def _media(stored: str | None) -> dict:
    """The message's pictures, each as a fresh presigned GET (and media_urls, the same URLs)."""
    if not stored:
        return {}
    described = media.described(stored)
    return {"media": described, "media_urls": [item["url"] for item in described]}


def list_for_session(session_id: str, limit: str | int | None = None, cursor: str | None = None) -> dict:
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
        except Exception:
            start = None
        if not isinstance(start, dict):
            raise bad_request("invalid_cursor", "cursor must be a next_cursor value from a previous page")
    page = Message.by_session.query(session_id, limit=page_size, last_evaluated_key=start, scan_index_forward=True)
    keys = [(Message, key.message_id, None) for key in page]  # the index holds keys only
    items = [describe(message) for message in (get_together(keys) if keys else []) if message is not None]
    next_key = page.last_evaluated_key
    next_cursor = base64.urlsafe_b64encode(json.dumps(next_key).encode()).decode() if next_key else None
    return {"messages": items, "next_cursor": next_cursor}


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
