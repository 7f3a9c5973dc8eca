"""What Twilio tells us: incoming SMS (keywords, routing) and delivery statuses.

Twilio retries a webhook it thinks failed, so every step is idempotent: the
inbound message's id is derived from its MessageSid (stored once, and a stored
one is not handled again), and events carry ids derived from their cause.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from chalicelib.adapters.logs import correlated, logger, mask
from chalicelib.core import events, segments
from chalicelib.core.message_rules import DELIVERED, FAILED, SENT, UNDELIVERED, inbound_message_id
from chalicelib.store.pool import Received
from chalicelib.usecases import carrier_outcomes, chat_events, media, messages, opt_out, pool_usage, sessions
from chalicelib.usecases.context import Context

HELP_WORDS = frozenset({"HELP", "INFO"})

HELP_TEXT = "Replies to this number reach the person who wrote to you. Reply STOP to opt out, START to opt back in."
ENDED_TEXT = "This conversation has ended. Your message was not delivered."
MAX_MEDIA = 10
# Longer than any phone number, short code, channel address (whatsapp:+1...) or MessageSid.
MAX_ADDRESS = 128


def twiml(text: str | None = None) -> str:
    if text is None:
        return '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'


def receive_sms(ctx: Context, params: dict) -> str:
    """POST /twilio/sms: returns the TwiML to answer Twilio with."""
    sender, pool_number, sid = params.get("From", ""), params.get("To", ""), params.get("MessageSid", "")
    if not (sender and pool_number and sid):
        logger.warning("inbound webhook without From, To or MessageSid")
        return twiml()
    if max(len(sender), len(pool_number), len(sid)) > MAX_ADDRESS:
        # No Twilio address is this long; as a DynamoDB key it could be refused (over 2 KB).
        logger.warning("inbound webhook with an over-long From, To or MessageSid")
        return twiml()
    text = params.get("Body", "")
    with correlated(message_id=inbound_message_id(sid)):
        return _handle(ctx, params, sender, pool_number, sid, text)


def _handle(ctx: Context, params: dict, sender: str, pool_number: str, sid: str, text: str) -> str:
    # Twilio bills every SMS in, routed or not. The event it causes carries it to the delivery
    # consumer, which counts it (one write per number and batch, none on this path); a HELP,
    # which causes no event, is counted here (rare).
    mms = params.get("NumMedia", "0") not in ("", "0")
    usage_in = (pool_number, 0 if mms else _segments(params, text))  # an MMS: one message, no segment
    keyword_answer = _answer_keyword(ctx, params, sender, sid, text, usage_in)
    if keyword_answer is not None:
        return keyword_answer

    now = ctx.now()
    message_id = inbound_message_id(sid)
    # The route, the sending phone's owner and whether this MessageSid was taken before, in
    # one read (store/routing.py).
    routing = ctx.store.routing.lookup(sender, pool_number, message_id)
    if routing.seen:
        return twiml()  # Twilio retried, or someone replays it: it was stored and reported once
    owner = routing.owner
    session = sessions.routed_session(ctx, routing, now)
    if session is None:
        media.discard_inbound(ctx, sid, params)  # no copy stays with Twilio
        chat_events.emit(
            ctx,
            events.SMS_UNROUTED,
            sid,
            usage_in,
            user_id=owner.user_id if owner else None,
            pool_number=pool_number,
            received_at=int(now),
        )
        logger.info("inbound sms unrouted", extra={"from": mask(sender), "pool_number": mask(pool_number)})
        return twiml(ENDED_TEXT)

    copied = media.copy_inbound(ctx, sid, params)  # into the bucket, and gone at Twilio
    described = media.described(ctx, media.encode(copied))
    # The event goes first and the store last: a failure in between answers 5xx and the retry
    # finds nothing stored, so it reports again under the same event id (receivers dedupe on
    # it); once stored, a retry or replay does nothing.
    chat_events.emit(
        ctx,
        events.MESSAGE_RECEIVED,
        message_id,
        usage_in,
        session_id=session.session_id,
        user_id=session.user_id,
        partner_id=session.partner_id,
        message_id=message_id,
        text=text,
        media=described,
        media_urls=[item["url"] for item in described],
        received_at=int(now),
    )
    messages.store_inbound(ctx, message_id, sid, session, text, None, now, media=media.encode(copied))
    sessions.touch(ctx, session, now)
    logger.info("inbound sms routed", extra={"session_id": session.session_id, "message_id": message_id})
    return twiml()


def _answer_keyword(ctx: Context, params: dict, sender: str, sid: str, text: str, usage_in: tuple) -> str | None:
    """STOP/START (and synonyms) change the phone's opt-out; HELP is answered; None: no keyword."""
    pool_number = usage_in[0]
    opt_out_type = params.get("OptOutType") or None
    choice = opt_out.keyword_choice(text, opt_out_type)
    if choice is not None:
        user_id = opt_out.set_opted_out(ctx, sender, choice)
        event_type = events.PHONE_OPTED_OUT if choice else events.PHONE_OPTED_IN
        chat_events.emit(ctx, event_type, sid, usage_in, user_id=user_id, pool_number=pool_number)
        # Twilio's own opt-out handling answers STOP/START on long codes: never a second answer.
        return twiml()
    if (opt_out_type or "").upper() == "HELP" or text.strip().upper() in HELP_WORDS:
        pool_usage.count_received(ctx, [Received(sid, pool_number, usage_in[1])])  # once, whatever the retries
        # Twilio answers HELP itself too, unless the operator turned it off (TWILIO_ANSWERS_HELP=false).
        return twiml() if ctx.settings.twilio_answers_help else twiml(HELP_TEXT)
    return None


def _segments(params: dict, text: str) -> int:
    reported = params.get("NumSegments", "")
    return int(reported) if reported.isdigit() and int(reported) > 0 else segments.segment(text).segments


def delivery_status(ctx: Context, message_id: str | None, params: dict) -> None:
    """POST /twilio/status: move the message forward and tell the chat backend."""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not message_id or len(message_id) > MAX_ADDRESS:
        logger.warning("status callback without a valid message_id", extra={"status": status})
        return
    if status in ("accepted", "queued", "sending", "scheduled"):
        status = SENT  # at Twilio, not yet at the carrier: 'sent' is our word for it
    error_code = params.get("ErrorCode") or None
    moved = messages.apply_status(ctx, message_id, status, error_code)
    if moved is not None:
        # Final outcomes feed the dashboard: delivery latency, failures by Twilio error code.
        ctx.metrics.message_final(
            moved.status,
            error_code,
            ctx.now() - moved.created_at if moved.created_at else None,
            message_id=moved.message_id,
        )
        if error_code and moved.status in (FAILED, UNDELIVERED):
            # What the code means for the phone and the pool (core/carrier_errors.py); 21610 opts out.
            carrier_outcomes.apply(
                ctx, error_code, to_number=moved.to_number, from_number=moved.from_number, cause=message_id
            )
        elif moved.status == DELIVERED and moved.to_number:
            carrier_outcomes.delivered(ctx, moved.to_number)
