"""Steps 2 and 3: take a message to send (queued -> sending), or learn that there is
nothing to send: a duplicate delivery, a cancelled or final message, or one left in
'sending' by a sender that died or never learnt Twilio's answer, looked up at Twilio
first (reconcile.py). A claimed message too old to go (MESSAGE_VALIDITY_SECONDS) fails."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.twilio import SentMessage
from chalicelib.core.message_rules import CANCELLED, SENDING
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.store.messages import Message
from chalicelib.usecases import messages
from chalicelib.usecases.context import Context
from chalicelib.usecases.sending.reconcile import reconcile


@dataclass(frozen=True)
class Claim:
    message: Message | None  # to send; None: nothing to send
    reconciling: bool = False  # left 'sending' by an attempt that may have gone, and not found at Twilio
    found: SentMessage | None = None  # that attempt had gone: Twilio's record of it
    slot_spent: bool = False  # a slot booked for it is not this invocation's to use or take back


def claim(ctx: Context, job: OutboundJob, now: float) -> Claim:
    message = messages.claim(ctx, job.message_id, now)
    if message is not None:
        return Claim(message)
    message = ctx.store.messages.get(job.message_id)
    spent = message is None or message.status not in (SENDING, CANCELLED)  # used by an earlier attempt
    if message is None or message.status != SENDING:
        if message is not None and message.events_owed:
            messages.notify_owed(ctx, message)  # a fault came between the record and its event
        return Claim(None, slot_spent=spent)
    found = reconcile(ctx, message, job.secret_text or message.body)
    if found is not None:
        return Claim(message, found=found, slot_spent=True)
    return Claim(message, reconciling=True)


def unsendable(ctx: Context, message: Message, body: str | None, now: float) -> str | None:
    """Why a claimed message cannot go at all ('expired', 'no_body'), or None."""
    if now - message.created_at > ctx.settings.message_validity_seconds:
        return "expired"
    return None if body else "no_body"
