"""Messages as the API shows them: one, or a session's page by page (reads only)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from chalicelib.core.errors import bad_request, not_found
from chalicelib.store.messages import Message
from chalicelib.usecases import media
from chalicelib.usecases.context import Context

PAGE_LIMIT_MAX = 100


def get(ctx: Context, message_id: str) -> Message:
    message = ctx.store.messages.get(message_id)
    if message is None:
        raise not_found("message", message_id)
    return message


def describe(ctx: Context, message: Message) -> dict:
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
        **_media(ctx, message.media),
        **({"media_delivery": message.media_delivery} if message.media_delivery else {}),
    }


def _media(ctx: Context, stored: str | None) -> dict:
    """The message's pictures, each as a fresh presigned GET (and media_urls, the same URLs)."""
    if not stored:
        return {}
    described = media.described(ctx, stored)
    return {"media": described, "media_urls": [item["url"] for item in described]}


def list_for_session(ctx: Context, session_id: str, limit: str | int | None = None, cursor: str | None = None) -> dict:
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
    page = ctx.store.messages.page(session_id, page_size, start)
    items = [describe(ctx, message) for message in page.messages]
    next_key = page.next_key
    next_cursor = base64.urlsafe_b64encode(json.dumps(next_key).encode()).decode() if next_key else None
    return {"messages": items, "next_cursor": next_cursor}


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
