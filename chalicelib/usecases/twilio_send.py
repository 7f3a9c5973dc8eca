"""One request to Twilio for a booked message, and what its answer means for the message
(usecases/sender.py calls it at the message's slot): sent and recorded; refused before it
was taken (429: back to 'queued', retried); unknown (5xx, timeouts, unreachable: left in
'sending', reconciled before it is retried); or final (other 4xx, with Twilio's code)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.logs import logger
from chalicelib.adapters.twilio import TwilioError
from chalicelib.core.send_timing import BACKOFF_BASE_RATE_LIMITED, BACKOFF_BASE_UNKNOWN, backoff
from chalicelib.store.messages import Message
from chalicelib.usecases import carrier_outcomes, media, messages
from chalicelib.usecases.context import Context

DONE, WAIT, RETRY = "done", "wait", "retry"

# Metric name (chalicelib/metrics.py publishes it as EMF lines).
SEND_RETRIES = "SendRetries"  # dimension Reason: rate_limited | server_error | unreachable


@dataclass(frozen=True)
class Outcome:
    kind: str  # DONE, WAIT (the limiter refused after all), RETRY (give back with backoff)
    seconds: float = 0.0
    reason: str = ""
    sent: bool = False  # DONE after a request to Twilio (its slot used), whatever the answer


def send(ctx: Context, message: Message, body: str, attempt: int, now: float, record_sent, finish, uncount) -> Outcome:
    """Send a booked message. Its booking counted it as sent (a retry's, the attempt that
    may have gone); an answer that says it did not go takes that back (`uncount`)."""
    try:
        sent = ctx.twilio.send_sms(
            from_=message.from_number,
            to=message.to_number,
            body=body,
            status_callback=ctx.settings.webhook_url(f"/twilio/status?message_id={message.message_id}"),
            **media.send_arguments(ctx, message.media, message.media_delivery),
            messaging_service_sid=ctx.settings.twilio_messaging_service_sid,
        )
    except TwilioError as error:
        ctx.metrics.twilio_call(error.code or error.status or "unreachable")
        if error.status == 429:
            # Refused before it was accepted: give it back to the queue as it was.
            messages.unclaim(ctx, message)
            uncount(message)
            ctx.metrics.count(SEND_RETRIES, Reason="rate_limited")
            return Outcome(RETRY, backoff(attempt, BACKOFF_BASE_RATE_LIMITED), "rate_limited")
        if error.retryable:
            # Twilio may have accepted it: stay 'sending' so the next try looks it up first.
            reason = "server_error" if error.status else "unreachable"
            ctx.metrics.count(SEND_RETRIES, Reason=reason)
            logger.warning(
                "twilio send outcome unknown; it will be reconciled, then retried",
                extra={"message_id": message.message_id, "status": error.status},
            )
            return Outcome(RETRY, backoff(attempt, BACKOFF_BASE_UNKNOWN), reason)
        finish(message, str(error.code or error.status))
        uncount(message)
        if error.code:  # what the code means for the phone and the pool (core/carrier_errors.py)
            carrier_outcomes.apply(
                ctx,
                error.code,
                to_number=message.to_number,
                from_number=message.from_number,
                cause=message.message_id,
            )
        return Outcome(DONE)
    record_sent(message, sent.sid, now, twilio_requests=1)
    return Outcome(DONE)
