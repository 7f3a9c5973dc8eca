"""MMS in the Twilio stand-in: fetching a message's MediaUrls as Twilio does, and the
Media resource of a message (list, fetch, delete; the content behind basic auth).

Twilio GETs each MediaUrl when it accepts an outbound message; a URL it cannot fetch
(11200), a type it does not send (12300) or media over 5 MB in all (30019) fail the
message, told by its status callback. Inbound media stay at Twilio until the Media
resource is deleted; their content is served to the account's credentials only.
"""

from __future__ import annotations

import dataclasses
import uuid

import requests

ERR_MEDIA_FETCH = 11200  # HTTP retrieval failure
ERR_MEDIA_TYPE = 12300  # Invalid Content-Type
ERR_MEDIA_SIZE = 30019  # Content size exceeds carrier limit
ERR_TOO_MANY_MEDIA = 21623  # Number of media files exceeds allowed limit
MAX_MEDIA = 10
MAX_BYTES = 5 * 1000 * 1000
FETCH_TIMEOUT = 10
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


@dataclasses.dataclass
class StoredMedia:
    sid: str
    content_type: str
    content: bytes

    def to_twilio(self, account_sid: str, message_sid: str, date: str | None) -> dict:
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{self.sid}.json"
        return {
            "account_sid": account_sid,
            "content_type": self.content_type,
            "date_created": date,
            "date_updated": date,
            "parent_sid": message_sid,
            "sid": self.sid,
            "uri": uri,
        }


def new_media(content_type: str, content: bytes) -> StoredMedia:
    return StoredMedia("ME" + uuid.uuid4().hex, content_type, content)


def fetch_all(urls: list[str]) -> tuple[list[StoredMedia], tuple[int, str] | None]:
    """Each URL fetched as Twilio does; the first failure as (error code, message)."""
    fetched: list[StoredMedia] = []
    total = 0
    for url in urls:
        try:
            # Twilio checks the Content-Type with a HEAD, then GETs (following redirects).
            # A HEAD has no body to read (stream: moto's in-process S3 announces one anyway).
            head = requests.head(url, timeout=FETCH_TIMEOUT, allow_redirects=True, stream=True)
            head.close()
            response = requests.get(url, timeout=FETCH_TIMEOUT) if head.status_code == 200 else head
        except requests.RequestException as error:
            return fetched, (ERR_MEDIA_FETCH, f"HTTP retrieval failure: {type(error).__name__}")
        if response.status_code != 200:
            return fetched, (
                ERR_MEDIA_FETCH,
                f"HTTP retrieval failure: {url.split('?')[0]} answered {response.status_code}",
            )
        kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind not in ACCEPTED_TYPES:
            return fetched, (ERR_MEDIA_TYPE, f"Invalid Content-Type: {kind or '(none)'}")
        total += len(response.content)
        if total > MAX_BYTES:
            return fetched, (ERR_MEDIA_SIZE, "Content size exceeds carrier limit")
        fetched.append(new_media(kind, response.content))
    return fetched, None


def media_url(account_sid: str, message_sid: str, media: StoredMedia) -> str:
    """What Twilio puts in MediaUrl{i} of an inbound webhook (its content, without .json)."""
    return f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media.sid}"
