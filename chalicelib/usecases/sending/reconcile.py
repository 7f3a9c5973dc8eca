"""A message left in 'sending' (its sender died, or never learnt Twilio's
answer) is looked up at Twilio before anything is sent again.

Twilio's record carries no id of ours, so a match is: the same body, to and
from the same numbers, created since this message was claimed, and not a
message already recorded for another of ours (an earlier identical text of
the session: a number's messages are sent strictly in order, so every earlier
one is recorded by now).
"""

from __future__ import annotations

import math

from chalicelib.adapters.logs import logger
from chalicelib.adapters.twilio import SentMessage, TwilioError
from chalicelib.store.messages import Message
from chalicelib.usecases.context import Context

# Twilio stamps date_created in whole seconds, by its own clock.
RECONCILE_SKEW_SECONDS = 2.0
SENDS_RECONCILED = "SendsReconciled"  # metric: found at Twilio after an unknown outcome, not sent again


def reconcile(ctx: Context, message: Message, body: str | None) -> SentMessage | None:
    """What Twilio has of this message, if anything (then nothing more is sent)."""
    since = (message.claimed_at or message.created_at) - RECONCILE_SKEW_SECONDS
    try:
        found = ctx.twilio.find_sent(from_=message.from_number, to=message.to_number, sent_on_or_after=since)
    except TwilioError as error:
        ctx.metrics.twilio_call(error.code or error.status or "unreachable")
        raise
    ctx.metrics.twilio_call()
    candidates = [
        sent
        for sent in found
        if sent.body == body and (sent.date_created is None or sent.date_created >= math.floor(since))
    ]
    if candidates and message.session_id:
        known = ctx.store.messages.earlier_sids(message.session_id, message.order_key)
        candidates = [sent for sent in candidates if sent.sid not in known]
    if not candidates:
        return None
    ctx.metrics.count(SENDS_RECONCILED)
    logger.info("reconciled a send Twilio already had", extra={"message_id": message.message_id})
    return min(candidates, key=lambda sent: sent.date_created or 0.0)
