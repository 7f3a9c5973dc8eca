"""Pictures of MMS: uploads of the chat backend, the media of an outbound message,
the URLs Twilio and the chat backend are given. The bytes live in the media bucket
(the context's media_store); a Message keeps only their keys, types and sizes (`media`).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chalicelib.adapters.logs import logger
from chalicelib.adapters.twilio import TwilioError
from chalicelib.core import media_rules
from chalicelib.core.errors import BridgeError, unavailable
from chalicelib.core.media_rules import Media
from chalicelib.usecases.context import Context


def create_upload(ctx: Context, content_type: object, size: object) -> dict:
    """POST /media: where to PUT one file, for how long, and the largest it may be."""
    kind, size = media_rules.validate_upload(content_type, size)
    media_id = media_rules.new_media_id()
    ttl = ctx.settings.media.upload_ttl_seconds
    return {
        "media_id": media_id,
        "upload_url": ctx.media_store.presign_put(media_rules.outbound_key(media_id), kind, size, ttl),
        "upload_headers": {"Content-Type": kind},
        "expires_at": int(ctx.now() + ttl),
        "max_bytes": media_rules.MAX_TOTAL_BYTES,
    }


def resolve(ctx: Context, media_ids: object) -> list[Media]:
    """The uploaded media of a message, as S3 has them; `invalid_media` when any is
    missing, not an MMS type, or the set is too large (then nothing is stored or sent)."""
    ids = media_rules.validate_media_ids(media_ids)
    found: dict[str, Media | None] = {}
    for media_id in ids:
        stored = ctx.media_store.head(media_rules.outbound_key(media_id))
        found[media_id] = Media(stored.key, stored.content_type, stored.size) if stored else None
    return media_rules.check_set(found)


@dataclass(frozen=True)
class Attachment:
    """The media of an outbound message and how they reach the phone."""

    stored: str  # encode()
    delivery: str  # media_rules.MMS | media_rules.LINKS
    link_text: str  # what the SMS carries instead of the pictures ("" for an MMS)


def attach(ctx: Context, media_ids: object, to_number: str, pool_number: str) -> Attachment | None:
    """resolve(), and where MMS cannot go (outside the US and Canada, or from a number
    without MMS) the short links that go in the SMS instead, valid for MEDIA_LINK_TTL_SECONDS."""
    found = resolve(ctx, media_ids)
    if not found:
        return None
    number = ctx.store.pool.number(pool_number)
    delivery = media_rules.delivery(to_number, number is None or number.mms is not False)
    text = ""
    if delivery == media_rules.LINKS:
        expires_at = int(ctx.now()) + ctx.settings.media.link_ttl_seconds
        key = _link_keys(ctx)[0]
        text = media_rules.links_text([_link(ctx, key, m, expires_at) for m in found])
    return Attachment(encode(found) or "", delivery, text)


def open_link(ctx: Context, token: str, method: str = "GET") -> str:
    """GET or HEAD /l/{token}: a presigned GET (or HEAD) of a few minutes for a valid link."""
    media_id = media_rules.media_id_of_link(token, _link_keys(ctx), ctx.now())
    if media_id is None:
        raise BridgeError("link_expired", "this link is not valid or has expired", 404)
    return ctx.media_store.presign_get(media_rules.outbound_key(media_id), 300, method)


def _link(ctx: Context, key: bytes, media: Media, expires_at: int) -> str:
    return ctx.settings.webhook_url("/l/" + media_rules.link_token(key, _media_id(media), expires_at))


def _link_keys(ctx: Context) -> list[bytes]:
    return [secret.encode() for secret in ctx.secrets.get_list("CHAT_WEBHOOK_SECRET")]


def _media_id(media: Media) -> str:
    return media.key.rsplit("/", 1)[-1]


def encode(media: list[Media]) -> str | None:
    """How a Message item keeps its media (None when it has none)."""
    if not media:
        return None
    return json.dumps([{"key": m.key, "content_type": m.content_type, "size": m.size} for m in media])


def decode(stored: str | None) -> list[Media]:
    return [Media(**item) for item in json.loads(stored)] if stored else []


def urls_for_twilio(ctx: Context, stored: str | None) -> list[str]:
    """The bridge's signed links, valid for MEDIA_SEND_TTL_SECONDS, that Twilio fetches the
    media from (it does as it accepts the message). Not presigned S3 URLs themselves:
    Twilio sends a HEAD before its GET, and a presigned GET answers a HEAD 403 (S3 signs
    the method); a link redirects each to a presigned URL of its own method."""
    expires_at = int(ctx.now()) + ctx.settings.media.send_ttl_seconds
    key = _link_keys(ctx)[0]
    return [_link(ctx, key, m, expires_at) for m in decode(stored)]


def described(ctx: Context, stored: str | None, ttl_seconds: int | None = None) -> list[dict]:
    """The media as the chat backend sees them: a presigned GET, the type, the size."""
    ttl = ttl_seconds or ctx.settings.media.url_ttl_seconds
    return [
        {"url": ctx.media_store.presign_get(m.key, ttl), "content_type": m.content_type, "size": m.size}
        for m in decode(stored)
    ]


def send_arguments(ctx: Context, stored: str | None, delivery: str | None) -> dict:
    """What TwilioGateway.send_sms takes beyond the text: the MediaUrls of an MMS
    (none where the SMS carries links instead)."""
    return {"media_urls": urls_for_twilio(ctx, stored)} if stored and delivery != media_rules.LINKS else {}


def inbound_urls(params: dict) -> list[tuple[int, str]]:
    """(index, MediaUrl{index}) of an inbound webhook, in order."""
    return [(i, params[f"MediaUrl{i}"]) for i in range(media_rules.MAX_MEDIA) if params.get(f"MediaUrl{i}")]


def copy_inbound(ctx: Context, message_sid: str, params: dict) -> list[Media]:
    """Each MediaUrl of an inbound MMS copied into the bucket, all at once, then deleted
    at Twilio. A medium copied before (a retried webhook) is not fetched again. A copy
    that fails answers 503, so Twilio's retry of the webhook copies what is missing and
    the message is reported once, after its media; each fetch waits at most
    MEDIA_COPY_SECONDS, which bounds how long a slow picture holds the text back."""
    urls = inbound_urls(params)
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=len(urls), thread_name_prefix="media-copy") as pool:
        copied = list(pool.map(lambda item: _copy_one(ctx, message_sid, *item), urls))
    if any(media is _RETRY for media in copied):
        raise unavailable()
    for (_, url), media in zip(urls, copied, strict=True):
        if media is not None:
            _delete_at_twilio(ctx, message_sid, url)
    return [media for media in copied if isinstance(media, Media)]


_RETRY = object()  # a copy that may succeed when Twilio retries the webhook


def _copy_one(ctx: Context, message_sid: str, index: int, url: str) -> Media | object | None:
    """The medium in the bucket; None when it can never be fetched (not Twilio's, gone);
    _RETRY when Twilio was slow or failing."""
    key = media_rules.inbound_key(message_sid, index)
    stored = ctx.media_store.head(key)
    if stored is None:
        try:
            content_type, content = ctx.twilio.fetch_media(url, ctx.settings.media.copy_seconds)
        except TwilioError as error:
            logger.warning("inbound media not copied", extra={"status": error.status, "retryable": error.retryable})
            return _RETRY if error.retryable else None
        stored = ctx.media_store.put(key, content, content_type)
    return Media(stored.key, stored.content_type, stored.size)


def discard_inbound(ctx: Context, message_sid: str, params: dict) -> None:
    """The media of an MMS nobody receives (unrouted): deleted at Twilio, not kept."""
    for _, url in inbound_urls(params):
        _delete_at_twilio(ctx, message_sid, url)


def _delete_at_twilio(ctx: Context, message_sid: str, url: str) -> None:
    media_sid = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
    try:
        ctx.twilio.delete_media(message_sid, media_sid)
    except TwilioError as error:
        # The copy is ours; the one at Twilio stays until deleted by hand (logged to find).
        logger.warning("inbound media not deleted at Twilio", extra={"media_sid": media_sid, "status": error.status})
