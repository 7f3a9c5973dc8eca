"""One request to Twilio for a booked message (step 5), and what Twilio's answer is as far
as the message goes: taken (its sid), refused before it was taken (429), unknown (5xx,
timeouts, unreachable: it may have gone), or final (any other 4xx, with Twilio's code).
record.py acts on the answer."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.twilio import TwilioError
from chalicelib.store.messages import Message
from chalicelib.usecases import media
from chalicelib.usecases.context import Context

TAKEN, REFUSED, UNKNOWN, FINAL = "taken", "refused", "unknown", "final"


@dataclass(frozen=True)
class Outgoing:
    """A booked send: the message and exactly the text that goes (a verification code's
    rides only in the queue)."""

    message: Message
    body: str


@dataclass(frozen=True)
class Answer:
    kind: str  # TAKEN, REFUSED, UNKNOWN, FINAL
    sid: str | None = None  # TAKEN: Twilio's message sid
    error: TwilioError | None = None  # otherwise: what Twilio (or the network) said


def send(ctx: Context, outgoing: Outgoing) -> Answer:
    """Send it; every request counts in TwilioRequests, a failed one in TwilioErrors (the
    'sms sent' line carries a taken one's)."""
    message = outgoing.message
    try:
        sent = ctx.twilio.send_sms(
            from_=message.from_number,
            to=message.to_number,
            body=outgoing.body,
            status_callback=ctx.settings.webhook_url(f"/twilio/status?message_id={message.message_id}"),
            **media.send_arguments(ctx, message.media, message.media_delivery),
            messaging_service_sid=ctx.settings.twilio_messaging_service_sid,
        )
    except TwilioError as error:
        ctx.metrics.twilio_call(error.code or error.status or "unreachable")
        if error.status == 429:
            return Answer(REFUSED, error=error)
        return Answer(UNKNOWN if error.retryable else FINAL, error=error)
    return Answer(TAKEN, sid=sent.sid)
