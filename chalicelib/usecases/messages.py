"""A message's whole life, in both directions: the one use case that moves messages
(usecases/message_views.py only reads them; store/messages.py owns the writes).

Outbound: submit (or a verification code) -> queued -> claim: sending ->
record_sent: sent -> apply_status: delivered | undelivered | failed; or
cancelled while still queued, or finished failed by the sender. A claim that
was not used goes back to queued (unclaim). Inbound: store_inbound: received.
Every move is a conditional write (the store's), so a state only moves forward
and two writers never both move it. Each move the chat backend cares about is told as
a message.status event.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.adapters.logs import logger
from chalicelib.core import carrier_errors, events, segments
from chalicelib.core.errors import BridgeError, bad_request
from chalicelib.core.media_rules import MMS
from chalicelib.core.message_rules import (
    CANCELLED,
    INBOUND,
    MAX_TEXT,
    OUTBOUND,
    QUEUED,
    RECEIVED,
    SENT,
    VERIFICATION,
    compose_body,
    message_id_for,
    order_key,
    states_before,
    text_room,
    validate_client_message_id,
    validate_text,
)
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.core.phone_numbers import ParsedNumber
from chalicelib.store.messages import Message
from chalicelib.store.sessions import Session
from chalicelib.usecases import chat_events
from chalicelib.usecases.context import Context
from chalicelib.usecases.media import Attachment


def submit(
    ctx: Context, session: Session, text: object, client_message_id: object = None, media: Attachment | None = None
) -> dict:
    """Store an outbound chat message 'queued' and put it on the outbound queue.

    The same client_message_id returns the stored message and queues nothing
    new (it re-queues a message still 'queued', in case the first call's queue
    write failed: the FIFO dedupe and the sender's claim make that harmless).
    `media` (usecases/media.attach) makes it an MMS, text optional, counted as one
    message, not segments; where MMS cannot go, an SMS whose text carries links."""
    text = "" if media and text in (None, "") else validate_text(text)
    client_message_id = validate_client_message_id(client_message_id)
    template, name = ctx.settings.sender_prefix_template, session.partner_name or session.partner_id
    body = compose_body(template, name, text + (media.link_text if media else ""))
    if len(body) > MAX_TEXT:
        room = text_room(template, name)
        raise bad_request(
            "text_too_long",
            f"for this session the text may be {room} characters ({MAX_TEXT} less the {MAX_TEXT - room} of the "
            f"sender's name that starts the SMS); it has {len(body) - (MAX_TEXT - room)} as sent: shorten it",
        )
    counted = segments.segment(body)
    now = ctx.now()
    message_id = message_id_for(session.session_id, client_message_id)
    logger.append_keys(message_id=message_id)  # the API call's other lines name it too (app.correlate_logs)
    message = Message(
        message_id=message_id,
        session_id=session.session_id,
        user_id=session.user_id,
        direction=OUTBOUND,
        text=text,
        body=body,
        status=QUEUED,
        segments=1 if media and media.delivery == MMS else counted.segments,
        encoding=counted.encoding,
        from_number=session.pool_number,
        to_number=session.user_phone,
        media=media.stored if media else None,
        media_delivery=media.delivery if media else None,
        created_at=now,
        order_key=order_key(now, message_id),
        queued_user_id=session.user_id,
        retain_until=retention(ctx, now),
    )
    if not ctx.store.messages.add(message):
        stored = ctx.store.messages.get(message_id)
        if stored is None:  # gone meanwhile (a TTL): nothing to answer with
            raise BridgeError("client_message_id_reused", "this client_message_id was used before; use a new one", 409)
        message = stored
        if message.session_id != session.session_id or message.text != text:
            raise BridgeError(
                "client_message_id_reused",
                "this client_message_id was already used for a different message; use a new one",
                409,
            ) from None
        if message.status != QUEUED:
            return summary(message)
    ctx.queues.send_outbound(OutboundJob(message.message_id, segments=message.segments), message.from_number)
    logger.debug("sms queued", extra={"session_id": session.session_id, "segments": message.segments})
    return summary(message)


def queue_verification_code(ctx: Context, user_id: str, number: ParsedNumber, pool_number: str, code: str) -> None:
    """The one-time code SMS, through the same outbound queue as chat messages.
    The code itself rides only in the queue message, never in the table."""
    now = ctx.now()
    message_id = message_id_for("verification", None)
    text = f"Your verification code is {code}. It expires in {ctx.settings.code_ttl_seconds // 60} minutes."
    counted = segments.segment(text)
    message = Message(
        message_id=message_id,
        user_id=user_id,
        direction=OUTBOUND,
        kind=VERIFICATION,
        text="(verification code)",
        status=QUEUED,
        segments=counted.segments,
        encoding=counted.encoding,
        from_number=pool_number,
        to_number=number.e164,
        created_at=now,
        order_key=order_key(now, message_id),
        retain_until=retention(ctx, now),
    )
    ctx.store.messages.add(message)
    ctx.queues.send_outbound(OutboundJob(message_id, segments=counted.segments, secret_text=text), pool_number)


def store_inbound(
    ctx: Context,
    message_id: str,
    sid: str,
    session: Session,
    text: str,
    media_urls: str | None,
    now: float,
    media: str | None = None,
) -> None:
    """An SMS a phone sent on a session's pair. Stored once: when the same SMS
    races itself here, the first store wins."""
    message = Message(
        message_id=message_id,
        session_id=session.session_id,
        user_id=session.user_id,
        direction=INBOUND,
        text=text,
        status=RECEIVED,
        from_number=session.user_phone,
        to_number=session.pool_number,
        twilio_sid=sid,
        media_urls=media_urls,
        media=media,
        created_at=now,
        order_key=order_key(now, message_id),
        retain_until=retention(ctx, now),
    )
    ctx.store.messages.add(message)


def summary(message: Message) -> dict:
    return {
        "message_id": message.message_id,
        "status": message.status,
        "segments": message.segments,
        "encoding": message.encoding,
        **({"media_delivery": message.media_delivery} if message.media_delivery else {}),
    }


# --- the sender's moves ---------------------------------------------------------


def claim(ctx: Context, message_id: str, now: float) -> Message | None:
    """queued -> sending; returns the whole message (no read needed), or None."""
    return ctx.store.messages.claim(message_id, now)


def unclaim(ctx: Context, message: Message) -> None:
    """Give a message that was not sent back to 'queued' (and so to cancellation)."""
    ctx.store.messages.unclaim(message)


def record_sent(ctx: Context, message: Message, twilio_sid: str, now: float) -> bool:
    """Twilio took it: sending -> sent with its sid. The 'sent' event is queued first, under
    an id derived from (message, status): a fault between the two leaves the message
    'sending', and the retry (reconciled with Twilio first) queues the same event again and
    records it, so no outbox write is needed on the sender's path. False when Twilio's
    status callback got here first and moved the status on (the sid is kept)."""
    _emit_status(ctx, message, SENT)
    return ctx.store.messages.record_sent(message.message_id, twilio_sid, now)


def finish(ctx: Context, message: Message, status: str, error_code: str) -> None:
    """The sender gives up on a claimed message (expired, refused by Twilio)."""
    finished = ctx.store.messages.finish(message.message_id, status, error_code)
    logger.info("sms not sent", extra={"message_id": message.message_id, "error_code": error_code})
    if finished is not None:  # else a status callback moved it on meanwhile: nothing to tell here
        notify_owed(ctx, finished)


# --- later moves ------------------------------------------------------------------


def cancel_queued_for_user(ctx: Context, user_id: str, status: str = CANCELLED, error_code: str | None = None) -> int:
    """Stop every message still waiting to be sent to this user; tell the chat backend.

    A stopped message stays in the user's queued index until its event is queued, so a
    retry of whatever stopped it (a presence change, a STOP, a removal) tells it then."""
    cancelled = 0
    for message_id in ctx.store.messages.queued_of_user(user_id):
        message = ctx.store.messages.stop(message_id, status, error_code)
        stopped = message is not None
        if message is None:
            message = ctx.store.messages.get(message_id)  # being sent, or stopped and still owed
            if message is None or message.status == QUEUED:
                continue
        cancelled += stopped
        notify_owed(ctx, message)
    if cancelled:
        logger.info("queued messages stopped", extra={"user_id": user_id, "count": cancelled, "status": status})
    return cancelled


def apply_status(ctx: Context, message_id: str, status: str, error_code: str | None = None) -> Message | None:
    """Move a message forward to `status` (never back) and tell the chat backend; returns
    it if it moved.

    A read comes first: most callbacks move nothing (Twilio's 'sent' after the sender
    recorded it, repeats, late ones), and a read costs a fraction of a conditional write
    that fails. The event is queued before the move, under an id from (message, status),
    as the sender does for 'sent': a fault between them answers 5xx, and Twilio's retry
    finds the message not moved yet, tells the same event again and moves it. So a move
    owes nothing afterwards and costs one write. Events an earlier move still owes
    (Message.events_owed: a stop or the sender's give-up whose queueing failed) are told
    on the way."""
    earlier = states_before(status)
    if not earlier:  # not a state we track, or the first one: nothing moves back to it
        return None
    message = ctx.store.messages.get(message_id)
    if message is None:
        return None
    notify_owed(ctx, message)
    if message.status not in earlier:
        return None
    if error_code:
        message = dataclasses.replace(message, error_code=str(error_code))  # the event tells it too
    _emit_status(ctx, message, status)
    if not ctx.store.messages.move(message_id, status, tuple(earlier), message.error_code if error_code else None):
        return None
    return dataclasses.replace(message, status=status)


def notify_owed(ctx: Context, message: Message) -> None:
    """Queue the message.status events the message owes, then strike them off (and take a
    stopped message out of the queued index). Event ids come from (message, status), so an
    event queued again after a fault is the same event to the chat backend."""
    owed = sorted(message.events_owed)
    if not owed:
        return
    for status in owed:
        _emit_status(ctx, message, status)
    ctx.store.messages.strike_owed(message, frozenset(owed))


def _emit_status(ctx: Context, message: Message, status: str) -> None:
    if message.kind == VERIFICATION:
        return
    media: dict[str, Any] = {"media_delivery": message.media_delivery} if message.media_delivery else {}
    chat_events.emit(
        ctx,
        events.MESSAGE_STATUS,
        f"{message.message_id}:{status}",
        message_id=message.message_id,
        session_id=message.session_id,
        status=status,
        error_code=message.error_code,
        error_reason=carrier_errors.reason(message.error_code, message.claimed_at),
        **media,
    )


def retention(ctx: Context, now: float) -> int:
    return int(now) + ctx.settings.message_retention_days * 86400
