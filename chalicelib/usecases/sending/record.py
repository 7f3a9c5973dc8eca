"""What a send's answer does to its message (step 6; usecases/messages.py makes each move):
taken -> 'sent' with its sid; refused before it was taken (429) -> back to 'queued',
retried with backoff; unknown (it may have gone) -> left 'sending', retried with backoff
and reconciled first; final -> failed with Twilio's code (which may hold the number back
or mark the phone, core/carrier_errors.py). A send that did not go asks for its count back."""

from __future__ import annotations

from chalicelib.adapters import metrics
from chalicelib.adapters.logs import logger, mask
from chalicelib.core.media_rules import MMS
from chalicelib.core.message_rules import FAILED
from chalicelib.core.send_timing import BACKOFF_BASE_RATE_LIMITED, BACKOFF_BASE_UNKNOWN, backoff
from chalicelib.store.messages import Message
from chalicelib.usecases import carrier_outcomes, messages, pool_usage
from chalicelib.usecases.context import Context
from chalicelib.usecases.sending.outcomes import DONE, RETRY, Outcome
from chalicelib.usecases.sending.send import FINAL, REFUSED, TAKEN, Answer

# Metric name (chalicelib/adapters/metrics.py publishes it as EMF lines).
SEND_RETRIES = "SendRetries"  # dimension Reason: rate_limited | server_error | unreachable


def record(ctx: Context, message: Message, answer: Answer, attempt: int, now: float) -> Outcome:
    """Move the message as the answer says; what becomes of it in this invocation."""
    if answer.kind == TAKEN:
        record_sent(ctx, message, answer.sid or "", now, twilio_requests=1)
        return Outcome(DONE, sent=True)
    error = answer.error
    assert error is not None
    if answer.kind == REFUSED:
        # Refused before it was accepted: give it back to the queue as it was.
        messages.unclaim(ctx, message)
        ctx.metrics.count(SEND_RETRIES, Reason="rate_limited")
        seconds = backoff(attempt, BACKOFF_BASE_RATE_LIMITED)
        return Outcome(RETRY, seconds, "rate_limited", sent=True, uncount=True)
    if answer.kind == FINAL:
        give_up(ctx, message, str(error.code or error.status))
        if error.code:  # what the code means for the phone and the pool (core/carrier_errors.py)
            carrier_outcomes.apply(
                ctx, error.code, to_number=message.to_number, from_number=message.from_number, cause=message.message_id
            )
        return Outcome(DONE, sent=True, uncount=True)
    # Twilio may have accepted it: stay 'sending' so the next try looks it up first.
    reason = "server_error" if error.status else "unreachable"
    ctx.metrics.count(SEND_RETRIES, Reason=reason)
    logger.warning(
        "twilio send outcome unknown; it will be reconciled, then retried",
        extra={"message_id": message.message_id, "status": error.status},
    )
    return Outcome(RETRY, backoff(attempt, BACKOFF_BASE_UNKNOWN), reason, sent=True)


def record_sent(ctx: Context, message: Message, twilio_sid: str, now: float, twilio_requests: int = 0) -> None:
    """Twilio has it (sent now, or found by reconciliation): 'sent', told, and its line."""
    if message.media_delivery == MMS:
        pool_usage.count_mms_sent(ctx, message.from_number, now)
    if messages.record_sent(ctx, message, twilio_sid, now):
        figures = (message.segments, now - message.created_at, twilio_requests)
        ctx.metrics.sms_sent(message.message_id, mask(message.to_number), message.from_number, *figures)
    elif twilio_requests:
        ctx.metrics.twilio_call()


def give_up(ctx: Context, message: Message, error_code: str) -> None:
    """The sender gives up on a claimed message (expired, refused by Twilio): failed, told."""
    messages.finish(ctx, message, FAILED, error_code)
    ctx.metrics.count(metrics.MESSAGE_FAILED, ErrorCode=error_code)
