"""The 2010 API's Messages and their Media: create (Twilio's rules in outbound.py), fetch,
list with Twilio's filters, and a message's Media list, fetch, delete and content."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, jsonify, request
from werkzeug.datastructures import MultiDict

from devstack.twilio import outbound
from devstack.twilio.api.envelope import created, page_2010
from devstack.twilio.context import Standin
from devstack.twilio.errors import not_found
from devstack.twilio.media import StoredMedia
from devstack.twilio.render import media_json, message_json
from devstack.twilio.resources import Message


def create_message(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    message = outbound.send_message(
        ctx.backend,
        to=form.get("To", ""),
        from_=form.get("From"),
        messaging_service_sid=form.get("MessagingServiceSid"),
        body=form.get("Body", ""),
        smart_encoded=form.get("SmartEncoded", "").lower() == "true",
        status_callback=form.get("StatusCallback"),
        media_urls=form.getlist("MediaUrl"),
        fetch_media=ctx.fetch_media,
    )
    ctx.delivery.start(message)
    return created(message_json(ctx.backend.account_sid, message))


def fetch_message(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    message = ctx.backend.messages.get(params["Sid"])
    if message is None:
        raise not_found(request.path)
    return jsonify(message_json(ctx.backend.account_sid, message))


def list_messages(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    filters = [(k, args[k]) for k in ("To", "From", "DateSent", "DateSent<", "DateSent>") if k in args]
    with ctx.backend.lock:
        messages = list(ctx.backend.messages.values())
    selected = [m for m in reversed(messages) if _matches(m, dict(filters))]  # Twilio lists newest first
    items = [message_json(ctx.backend.account_sid, m) for m in selected]
    return jsonify(page_2010("messages", items, args, request.path, filters))


def _matches(message: Message, filters: dict) -> bool:
    if "To" in filters and message.to != filters["To"]:
        return False
    if "From" in filters and message.from_ != filters["From"]:
        return False
    for key, compare in (("DateSent", "eq"), ("DateSent<", "le"), ("DateSent>", "ge")):
        if key not in filters:
            continue
        if message.date_sent is None:
            return False
        moment, has_time = _datetime_filter(filters[key])
        sent = message.date_sent.astimezone(UTC)
        if compare == "eq":
            # Twilio matches the whole day named by DateSent.
            if sent.date() != moment.date():
                return False
        else:
            left, right = (sent, moment) if has_time else (sent.date(), moment.date())
            if compare == "le" and not left <= right:
                return False
            if compare == "ge" and not left >= right:
                return False
    return True


def _datetime_filter(value: str) -> tuple[datetime, bool]:
    """A DateSent filter value -> (moment, has_time). Twilio takes YYYY-MM-DD; twilio-python
    sends YYYY-MM-DDTHH:MM:SSZ."""
    if "T" in value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC), True
    return datetime.fromisoformat(value).replace(tzinfo=UTC), False


def _message_and_media(ctx: Standin, params: dict) -> tuple[Message, StoredMedia | None]:
    message = ctx.backend.messages.get(params["MessageSid"])
    if message is None:
        raise not_found(request.path)
    return message, next((m for m in message.media if m.sid == params.get("Sid")), None)


def list_media(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    message, _ = _message_and_media(ctx, params)
    items = [media_json(ctx.backend.account_sid, message, m) for m in message.media]
    return jsonify(page_2010("media_list", items, args, request.path, []))


def fetch_media(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    message, found = _message_and_media(ctx, params)
    if found is None:
        raise not_found(request.path)
    return jsonify(media_json(ctx.backend.account_sid, message, found))


def delete_media(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    message, found = _message_and_media(ctx, params)
    if found is None or not ctx.backend.delete_media(message, found.sid):
        raise not_found(request.path)
    return Response(status=204)


def media_content(ctx: Standin, message_sid: str, media_sid: str) -> StoredMedia | None:
    """A medium Twilio still holds, whose bytes it serves at MediaUrl{i} (to the account's
    credentials only: the server checks them)."""
    message = ctx.backend.messages.get(message_sid)
    return next((m for m in message.media if m.sid == media_sid), None) if message else None


OPERATIONS = {
    "CreateMessage": create_message,
    "FetchMessage": fetch_message,
    "ListMedia": list_media,
    "FetchMedia": fetch_media,
    "DeleteMedia": delete_media,
    "ListMessage": list_messages,
}
