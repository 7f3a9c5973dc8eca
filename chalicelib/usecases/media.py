"""Pictures of MMS: uploads of the chat backend, the media of an outbound message,
the URLs Twilio and the chat backend are given. The bytes live in the media bucket
(adapters/media_store.py); a Message keeps only their keys, types and sizes (`media`).
"""
from __future__ import annotations

import json

from chalicelib.adapters import media_store
from chalicelib.config import media_settings
from chalicelib.core import media_rules
from chalicelib.core.media_rules import Media
from chalicelib.usecases.context import Context


def create_upload(ctx: Context, content_type: object, size: object) -> dict:
    """POST /media: where to PUT one file, for how long, and the largest it may be."""
    kind, size = media_rules.validate_upload(content_type, size)
    media_id = media_rules.new_media_id()
    ttl = media_settings().upload_ttl_seconds
    return {
        "media_id": media_id,
        "upload_url": media_store.presign_put(media_rules.outbound_key(media_id), kind, size, ttl),
        "upload_headers": {"Content-Type": kind},
        "expires_at": int(ctx.now() + ttl),
        "max_bytes": media_rules.MAX_TOTAL_BYTES,
    }


def resolve(media_ids: object) -> list[Media]:
    """The uploaded media of a message, as S3 has them; `invalid_media` when any is
    missing, not an MMS type, or the set is too large (then nothing is stored or sent)."""
    ids = media_rules.validate_media_ids(media_ids)
    found: dict[str, Media | None] = {}
    for media_id in ids:
        stored = media_store.head(media_rules.outbound_key(media_id))
        found[media_id] = Media(stored.key, stored.content_type, stored.size) if stored else None
    return media_rules.check_set(found)


def encode(media: list[Media]) -> str | None:
    """How a Message item keeps its media (None when it has none)."""
    if not media:
        return None
    return json.dumps([{"key": m.key, "content_type": m.content_type, "size": m.size} for m in media])


def decode(stored: str | None) -> list[Media]:
    return [Media(**item) for item in json.loads(stored)] if stored else []


def urls_for_twilio(stored: str | None) -> list[str]:
    """Presigned GETs Twilio fetches the media from, valid for MEDIA_SEND_TTL_SECONDS
    (Twilio fetches them as it accepts the message)."""
    ttl = media_settings().send_ttl_seconds
    return [media_store.presign_get(m.key, ttl) for m in decode(stored)]


def described(stored: str | None, ttl_seconds: int | None = None) -> list[dict]:
    """The media as the chat backend sees them: a presigned GET, the type, the size."""
    ttl = ttl_seconds or media_settings().url_ttl_seconds
    return [
        {"url": media_store.presign_get(m.key, ttl), "content_type": m.content_type, "size": m.size}
        for m in decode(stored)
    ]


def send_arguments(stored: str | None, to_number: str) -> dict:
    """What TwilioGateway.send_sms takes beyond the text: the MediaUrls of an MMS."""
    return {"media_urls": urls_for_twilio(stored)} if stored else {}
