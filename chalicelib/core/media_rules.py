"""Pictures in messages, as rules over plain values (pure): which types Twilio sends
as MMS, how many and how large, media ids, object keys, where MMS can go.

Twilio's "Accepted content types for media" (docs/messaging/guides/accepted-mime-types):
JPEG, PNG and GIF are formatted for the handset; the others listed there are passed
through as they are. An MMS carries up to 10 media and at most 5 MB in all (the text
included); the bridge keeps the media to MAX_TOTAL_BYTES so a 1600-character text fits
beside them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

import phonenumbers

from chalicelib.core.errors import bad_request

MAX_MEDIA = 10
TWILIO_MMS_BYTES = 5 * 1000 * 1000
MAX_TOTAL_BYTES = TWILIO_MMS_BYTES - 8 * 1000  # room for the text and the MIME envelope
IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif"})
# Accepted by Twilio and passed through unchanged (the handset may or may not show them).
OTHER_MMS_TYPES = frozenset(
    {
        "image/bmp",
        "image/tiff",
        "image/webp",
        "audio/basic",
        "audio/l24",
        "audio/mp4",
        "audio/mpeg",
        "audio/ogg",
        "audio/vnd.rn-realaudio",
        "audio/vnd.wave",
        "audio/3gpp",
        "audio/3gpp2",
        "audio/ac3",
        "audio/webm",
        "audio/amr-nb",
        "audio/amr",
        "video/mpeg",
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "video/3gpp",
        "video/3gpp2",
        "video/3gpp-tt",
        "video/h261",
        "video/h263",
        "video/h263-1998",
        "video/h263-2000",
        "video/h264",
        "text/vcard",
        "text/x-vcard",
        "text/csv",
        "text/rtf",
        "text/richtext",
        "text/calendar",
        "text/directory",
        "application/pdf",
        "application/vcard",
    }
)
MMS_TYPES = IMAGE_TYPES | OTHER_MMS_TYPES
MMS_COUNTRIES = frozenset({"US", "CA"})  # Twilio sends MMS to US and Canadian numbers only
_MEDIA_ID = re.compile(r"^med_[0-9a-f]{32}$")
_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/gif": "gif"}


@dataclass(frozen=True)
class Media:
    """One stored picture (or other file): its object key, type and size in bytes."""

    key: str
    content_type: str
    size: int


def new_media_id() -> str:
    return "med_" + uuid.uuid4().hex


def outbound_key(media_id: str) -> str:
    return f"out/{media_id}"


def inbound_key(message_sid: str, index: int) -> str:
    return f"in/{message_sid}/{index}"


def normalized_type(content_type: object) -> str:
    """'image/JPEG; charset=x' -> 'image/jpeg'."""
    if not isinstance(content_type, str):
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def validate_upload(content_type: object, size: object) -> tuple[str, int]:
    """POST /media's body: a type Twilio sends as MMS and a size within the message's limit."""
    kind = normalized_type(content_type)
    if kind not in MMS_TYPES:
        raise bad_request(
            "invalid_media",
            f"content_type {content_type!r} is not a type Twilio sends by MMS; send image/jpeg, image/png or image/gif",
        )
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_TOTAL_BYTES:
        raise bad_request("invalid_media", f"size must be a whole number of bytes from 1 to {MAX_TOTAL_BYTES}")
    return kind, size


def validate_media_ids(media_ids: object) -> list[str]:
    if media_ids is None:
        return []
    if not isinstance(media_ids, list) or not all(isinstance(m, str) for m in media_ids):
        raise bad_request("invalid_media", "media_ids must be a list of media ids from POST /media")
    if len(media_ids) > MAX_MEDIA:
        raise bad_request("invalid_media", f"{len(media_ids)} media_ids; an MMS carries at most {MAX_MEDIA}")
    if len(set(media_ids)) != len(media_ids):
        raise bad_request("invalid_media", "media_ids names the same media twice")
    bad = [m for m in media_ids if not _MEDIA_ID.match(m)]
    if bad:
        raise bad_request("invalid_media", f"{bad[0]!r} is not a media id from POST /media")
    return list(media_ids)


def check_set(found: dict[str, Media | None]) -> list[Media]:
    """The media of one message, in the order given: each uploaded, of an MMS type,
    all together within the limit; else `invalid_media` naming what is wrong."""
    missing = [media_id for media_id, media in found.items() if media is None]
    if missing:
        raise bad_request(
            "invalid_media", f"media {', '.join(missing)} not uploaded (or expired): PUT it to its upload_url first"
        )
    media = [m for m in found.values() if m is not None]
    for media_id, item in zip(found, media, strict=True):
        if normalized_type(item.content_type) not in MMS_TYPES:
            raise bad_request(
                "invalid_media", f"media {media_id} is {item.content_type}, not a type Twilio sends by MMS"
            )
    total = sum(m.size for m in media)
    if total > MAX_TOTAL_BYTES:
        raise bad_request(
            "invalid_media", f"the media add up to {total} bytes; an MMS carries at most {MAX_TOTAL_BYTES}"
        )
    return media


def mms_reaches(phone_e164: str) -> bool:
    """Whether Twilio can send an MMS to this phone (US and Canada only)."""
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.region_code_for_number(number) in MMS_COUNTRIES


def extension(content_type: str) -> str:
    return _EXTENSIONS.get(normalized_type(content_type), "bin")


# --- links where MMS cannot go ------------------------------------------------------
# A link is short enough for an SMS: /l/<media id>.<expiry>.<signature>, signed with a
# key derived from the bridge's secret; the bridge answers it with a redirect to a
# presigned GET of a few minutes.

MMS, LINKS = "mms", "links"
_LINK = re.compile(r"^(med_[0-9a-f]{32})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})$")


def delivery(phone_e164: str, number_has_mms: bool = True) -> str:
    """How pictures reach this phone: as an MMS, or as links in an SMS."""
    return MMS if number_has_mms and mms_reaches(phone_e164) else LINKS


def _link_signature(key: bytes, media_id: str, expires_at: int) -> str:
    digest = hmac.new(
        hmac.new(key, b"sms-bridge media link", hashlib.sha256).digest(),
        f"{media_id}.{expires_at}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def link_token(key: bytes, media_id: str, expires_at: int) -> str:
    return f"{media_id}.{expires_at}.{_link_signature(key, media_id, expires_at)}"


def media_id_of_link(token: str, keys: list[bytes], now: float) -> str | None:
    """The media id a link names, if one of `keys` signed it and it has not expired."""
    match = _LINK.match(token or "")
    if not match or int(match.group(2)) < now:
        return None
    media_id, expires_at, signature = match.group(1), int(match.group(2)), match.group(3)
    if any(hmac.compare_digest(_link_signature(key, media_id, expires_at), signature) for key in keys):
        return media_id
    return None


def links_text(links: list[str]) -> str:
    """What the SMS carries instead of the pictures."""
    if len(links) == 1:
        return f"\nPicture: {links[0]}"
    return "".join(f"\nPicture {i}: {link}" for i, link in enumerate(links, 1))
