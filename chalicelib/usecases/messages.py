"""A message's whole life, in both directions: the one module that creates or
changes Message items (usecases/message_views.py only reads them).

Outbound: submit (or a verification code) -> queued -> claim: sending ->
record_sent: sent -> apply_status: delivered | undelivered | failed; or
cancelled while still queued, or finished failed by the sender. A claim that
was not used goes back to queued (unclaim). Inbound: store_inbound: received.
Every move is a conditional write, so a state only moves forward and two
writers never both move it. Each move the chat backend cares about is told as
a message.status event.
"""

from __future__ import annotations

from typing import Any, cast

from pynamodb.expressions.update import Action

from chalicelib.adapters import queues
from chalicelib.adapters.logs import logger
from chalicelib.config import settings
from chalicelib.core import carrier_errors, events, segments
from chalicelib.core.errors import BridgeError, bad_request
from chalicelib.core.media_rules import MMS
from chalicelib.core.message_rules import (
    CANCELLED,
    CHAT,
    INBOUND,
    MAX_TEXT,
    OUTBOUND,
    QUEUED,
    RECEIVED,
    SENDING,
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
from chalicelib.core.phone_numbers import ParsedNumber
from chalicelib.store.conditional import get_or_none, save_if, update_if
from chalicelib.store.models import Message, Session
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
    template, name = settings().sender_prefix_template, session.partner_name or session.partner_id
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
    queues.send_outbound(message.message_id, message.from_number, segments=int(message.segments))
    logger.debug("sms queued", extra={"session_id": session.session_id, "segments": message.segments})
    return summary(message)


def queue_verification_code(ctx: Context, user_id: str, number: ParsedNumber, pool_number: str, code: str) -> None:
    """The one-time code SMS, through the same outbound queue as chat messages.
    The code itself rides only in the queue message, never in the table."""
    now = ctx.now()
    message_id = message_id_for("verification", None)
    text = f"Your verification code is {code}. It expires in {settings().code_ttl_seconds // 60} minutes."
    counted = segments.segment(text)
    Message(
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
        ttl=retention(now),
    ).save()
    queues.send_outbound(message_id, pool_number, secret_text=text, segments=counted.segments)


def store_inbound(
    message_id: str, sid: str, session: Session, text: str, media_urls: str | None, now: float, media: str | None = None
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
        ttl=retention(now),
    )
    save_if(message, Message.message_id.does_not_exist())


def summary(message: Message) -> dict:
    return {
        "message_id": message.message_id,
        "status": message.status,
        "segments": message.segments,
        "encoding": message.encoding,
        **({"media_delivery": message.media_delivery} if message.media_delivery else {}),
    }


# --- the sender's moves ---------------------------------------------------------


def claim(message_id: str, now: float) -> Message | None:
    """queued -> sending; returns the whole item (UpdateItem's ALL_NEW), or None."""
    message = Message(message_id=message_id)
    actions = [
        Message.status.set(SENDING),
        Message.claimed_at.set(now),
        Message.attempts.add(1),
        Message.queued_user_id.remove(),
    ]
    return message if update_if(message, actions, Message.status == QUEUED) else None


def unclaim(message: Message) -> None:
    """Give a message that was not sent back to 'queued' (and so to cancellation)."""
    actions = [Message.status.set(QUEUED)]
    if message.user_id and message.kind == CHAT:
        actions.append(Message.queued_user_id.set(message.user_id))
    update_if(message, actions, Message.status == SENDING)


def record_sent(ctx: Context, message: Message, twilio_sid: str, now: float) -> bool:
    """Twilio took it: sending -> sent with its sid. The 'sent' event is queued first, under
    an id derived from (message, status): a fault between the two leaves the message
    'sending', and the retry (reconciled with Twilio first) queues the same event again and
    records it, so no outbox write is needed on the sender's path. False when Twilio's
    status callback got here first and moved the status on (the sid is kept)."""
    _emit_status(ctx, message, SENT)
    recorded: list[Action] = [Message.twilio_sid.set(twilio_sid), Message.sent_at.set(now)]
    if not update_if(message, [Message.status.set(SENT), *recorded], Message.status == SENDING):
        message.update(actions=recorded)
        return False
    return True


def finish(ctx: Context, message: Message, status: str, error_code: str) -> None:
    """The sender gives up on a claimed message (expired, refused by Twilio)."""
    message.update(
        actions=[Message.status.set(status), Message.error_code.set(error_code), Message.events_owed.add({status})],
        condition=Message.status == SENDING,
    )
    logger.info("sms not sent", extra={"message_id": message.message_id, "error_code": error_code})
    notify_owed(ctx, message)


# --- later moves ------------------------------------------------------------------


def cancel_queued_for_user(ctx: Context, user_id: str, status: str = CANCELLED, error_code: str | None = None) -> int:
    """Stop every message still waiting to be sent to this user; tell the chat backend.

    A stopped message stays in the user's queued index until its event is queued, so a
    retry of whatever stopped it (a presence change, a STOP, a removal) tells it then."""
    cancelled = 0
    for key in Message.queued_by_user.query(user_id):
        message = Message(message_id=key.message_id)
        stopped = update_if(
            message,
            [Message.status.set(status), _set_error_code(error_code), Message.events_owed.add({status})],
            Message.status == QUEUED,
        )
        if not stopped:
            message = get_or_none(Message, key.message_id)  # being sent, or stopped and still owed
            if message is None or message.status == QUEUED:
                continue
        cancelled += stopped
        notify_owed(ctx, message)
    if cancelled:
        logger.info("queued messages stopped", extra={"user_id": user_id, "count": cancelled, "status": status})
    return cancelled


def _set_error_code(error_code: str | None) -> Action:
    """Set the error code; None is stored as DynamoDB's NULL (PynamoDB's set(None), which
    its type hints leave out)."""
    return Message.error_code.set(cast("str", error_code))


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
    message = get_or_none(Message, message_id)
    if message is None:
        return None
    notify_owed(ctx, message)
    if message.status not in earlier:
        return None
    actions: list[Action] = [Message.status.set(status), Message.queued_user_id.remove()]
    if error_code:
        message.error_code = str(error_code)  # the event tells it too
        actions.append(_set_error_code(message.error_code))
    _emit_status(ctx, message, status)
    moved = update_if(message, actions, Message.status.is_in(*earlier))
    return message if moved else None


def notify_owed(ctx: Context, message: Message) -> None:
    """Queue the message.status events the message owes, then strike them off (and take a
    stopped message out of the queued index). Event ids come from (message, status), so an
    event queued again after a fault is the same event to the chat backend."""
    owed = sorted(message.events_owed or ())
    if not owed:
        return
    for status in owed:
        _emit_status(ctx, message, status)
    done: list[Action] = [Message.events_owed.delete(set(owed))]
    if message.status != QUEUED and message.queued_user_id:
        done.append(Message.queued_user_id.remove())
    update_if(message, done, Message.message_id.exists())


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
        error_reason=carrier_errors.reason(message.error_code),
        **media,
    )


def retention(now: float) -> int:
    return int(now) + settings().message_retention_days * 86400
