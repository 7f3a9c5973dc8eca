"""MMS media as Twilio keeps them, and its rules for what a message may carry.

Twilio GETs each MediaUrl when it accepts an outbound message (media_fetch.py); a URL it
cannot fetch (11200), a type it does not send (12300) or media over 5 MB in all (30019) fail
the message, told by its status callback. Inbound media stay at Twilio until the Media
resource is deleted; their content is served to the account's credentials only.
"""

from __future__ import annotations

import dataclasses
import uuid

ERR_MEDIA_FETCH = 11200  # HTTP retrieval failure
ERR_MEDIA_TYPE = 12300  # Invalid Content-Type
ERR_MEDIA_SIZE = 30019  # Content size exceeds carrier limit
ERR_TOO_MANY_MEDIA = 21623  # Number of media files exceeds allowed limit
MAX_MEDIA = 10
MAX_BYTES = 5 * 1000 * 1000
# Twilio's accepted content types for MMS (docs: accepted-mime-types), images first.
ACCEPTED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/jpg",
        "image/png",
        "image/gif",
        "image/bmp",
        "image/tiff",
        "image/webp",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/amr",
        "audio/3gpp",
        "audio/webm",
        "video/mp4",
        "video/mpeg",
        "video/quicktime",
        "video/3gpp",
        "video/webm",
        "video/h264",
        "text/vcard",
        "text/x-vcard",
        "text/csv",
        "text/rtf",
        "text/calendar",
        "application/pdf",
    }
)

# (Twilio error code, message): why a message's media could not go
MediaError = tuple[int, str]


@dataclasses.dataclass
class StoredMedia:
    sid: str
    content_type: str
    content: bytes


def new_media(content_type: str, content: bytes) -> StoredMedia:
    return StoredMedia("ME" + uuid.uuid4().hex, content_type, content)


def refusal(content_type: str, total_bytes: int) -> MediaError | None:
    """Why Twilio would not send a fetched medium (its type, or the message's media so far
    past the carriers' size), or None."""
    if content_type not in ACCEPTED_TYPES:
        return ERR_MEDIA_TYPE, f"Invalid Content-Type: {content_type or '(none)'}"
    if total_bytes > MAX_BYTES:
        return ERR_MEDIA_SIZE, "Content size exceeds carrier limit"
    return None


def media_url(account_sid: str, message_sid: str, media: StoredMedia) -> str:
    """What Twilio puts in MediaUrl{i} of an inbound webhook (its content, without .json)."""
    return f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media.sid}"
