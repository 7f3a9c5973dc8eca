"""What Twilio tells us: incoming SMS (keywords, routing) and delivery statuses.

Twilio retries a webhook it thinks failed, so every step is idempotent: the
inbound message's id is derived from its MessageSid (stored once, and a stored
one is not handled again), and events carry ids derived from their cause.
"""
from __future__ import annotations

import hashlib
import json
from xml.sax.saxutils import escape

from chalicelib import beside, clock, events, messages, phones, pool, segments, sessions
from chalicelib.db import get_or_none, save_if
from chalicelib import metrics
from chalicelib.logs import logger, mask
from chalicelib.models import Message, Route, Session

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
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


def inbound_message_id(message_sid: str) -> str:
    return "msg_in_" + hashlib.sha256(message_sid.encode()).hexdigest()[:32]


def receive_sms(params: dict) -> str:
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
    # Twilio bills every SMS in, routed or not: counted while the message is handled.
    with beside.running(pool.count_received, pool_number, _segments(params, text)):
        return _handle(params, sender, pool_number, sid, text)


def _handle(params: dict, sender: str, pool_number: str, sid: str, text: str) -> str:
    keyword = text.strip().upper()
    if keyword in OPT_OUT_WORDS or keyword in OPT_IN_WORDS:
        opted_out = keyword in OPT_OUT_WORDS
        user_id = phones.set_opted_out(sender, opted_out)
        event_type = events.PHONE_OPTED_OUT if opted_out else events.PHONE_OPTED_IN
        events.emit(event_type, sid, user_id=user_id, pool_number=pool_number)
        # Twilio's own opt-out handling answers STOP/START on long codes.
        return twiml()
    if keyword in HELP_WORDS:
        return twiml(HELP_TEXT)

    now = clock.now()
    message_id = inbound_message_id(sid)
    # Whether this MessageSid was taken before is read beside the route and session.
    with beside.running(get_or_none, Message, message_id) as taken_before:
        route = get_or_none(Route, sender, pool_number)
        session = get_or_none(Session, route.session_id) if route and route.expires_at > now else None
        if taken_before.result() is not None:
            return twiml()  # Twilio retried, or someone replays it: it was stored and reported once
    if session is None or not sessions.is_open(session, now):
        owner = phones.phone_state(sender)
        events.emit(
            events.SMS_UNROUTED,
            sid,
            user_id=owner.user_id if owner else None,
            pool_number=pool_number,
            received_at=int(now),
        )
        logger.info("inbound sms unrouted", extra={"from": mask(sender), "pool_number": mask(pool_number)})
        return twiml(ENDED_TEXT)

    media = [params[f"MediaUrl{i}"] for i in range(MAX_MEDIA) if params.get(f"MediaUrl{i}")]
    # The event goes first and the store last: a failure in between answers 5xx and the retry
    # finds nothing stored, so it reports again under the same event id (receivers dedupe on
    # it); once stored, a retry or replay does nothing.
    events.emit(
        events.MESSAGE_RECEIVED,
        message_id,
        session_id=session.session_id,
        user_id=session.user_id,
        partner_id=session.partner_id,
        message_id=message_id,
        text=text,
        media_urls=media,
        received_at=int(now),
    )
    _store(message_id, sid, session, text, media, now)
    sessions.touch(session, now)
    logger.info("inbound sms routed", extra={"session_id": session.session_id, "message_id": message_id})
    return twiml()


def _segments(params: dict, text: str) -> int:
    reported = params.get("NumSegments", "")
    return int(reported) if reported.isdigit() and int(reported) > 0 else segments.segment(text).segments


def _store(message_id: str, sid: str, session: Session, text: str, media: list[str], now: float) -> None:
    """Stored once: when the same SMS races itself here, the first store wins."""
    message = Message(
        message_id=message_id,
        session_id=session.session_id,
        user_id=session.user_id,
        direction="inbound",
        text=text,
        status=messages.RECEIVED,
        from_number=session.user_phone,
        to_number=session.pool_number,
        twilio_sid=sid,
        media_urls=json.dumps(media) if media else None,
        created_at=now,
        order_key=messages.order_key(now, message_id),
        ttl=messages.retention(now),
    )
    save_if(message, Message.message_id.does_not_exist())


def delivery_status(message_id: str | None, params: dict) -> None:
    """POST /twilio/status: move the message forward and tell the chat backend."""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not message_id or len(message_id) > MAX_ADDRESS:
        logger.warning("status callback without a valid message_id", extra={"status": status})
        return
    if status in ("accepted", "queued", "sending", "scheduled"):
        status = messages.SENT  # at Twilio, not yet at the carrier: 'sent' is our word for it
    error_code = params.get("ErrorCode") or None
    moved = messages.apply_status(message_id, status, error_code)
    if moved is not None:
        # Final outcomes feed the dashboard: delivery latency, failures by Twilio error code.
        metrics.message_final(moved.status, error_code, clock.now() - moved.created_at if moved.created_at else None)
        if error_code == "21610":
            phones.set_opted_out(moved.to_number, True)
        messages.notify_status(moved)
