"""The outbound sender (`process_batch`), fed by the FIFO queue (one group per pool
number): the invocation's loop over a batch. Its steps are the modules beside it:

1. limits (limits.py): a pool number (and the campaign, when configured) allows a send
   once `now >= TAT - burst`. A short wait is slept out inside the invocation while it
   has time left; a longer one defers the message with a visibility timeout of that many
   (whole) seconds. It stays 'queued' while it waits (`PUT presence away=false` can
   still cancel it). Waits end BOOKING_LEAD_SECONDS before the slot, for steps 2-4.
2. claim (claim.py): queued -> sending, a conditional write that returns the message, so
   no read is needed; or nothing to send (a duplicate delivery, a cancelled or final
   message), or one left 'sending' by a sender that died or never learnt Twilio's
   answer, looked up at Twilio (reconcile.py) before anything is sent again.
3. expired? (older than MESSAGE_VALIDITY_SECONDS) -> failed, 'expired'.
4. slots (slots.py): book the slot (a conditional write on the TAT read), with the
   slots of the group's next messages, and sleep until it: the request leaves exactly
   when charged.
5. send (send.py): one request to Twilio; its answer as a value.
6. record (record.py): what the answer does to the message (sent with its sid; back to
   'queued' after a 429; left 'sending' to be reconciled; or failed with Twilio's code).

Handing back (hand_back.py): when a group's next slot is more than
SENDER_MAX_IDLE_SECONDS after its first message's (a long code at 1 segment/s), the
invocation sends that one and hands the rest back to SQS, asking for their visibility
timeout at the moment that brings them back just before the next slot: the invocation
ends after its send instead of idling a second a message (bench/README.md, "The
deferral choice"; not with a campaign limit). Once a message of a group must wait
outside the invocation or be retried, the rest of its group is given back with the
same visibility timeout (one ChangeMessageVisibilityBatch, and batchItemFailures): a
number's messages never overtake each other, nor wait out the queue's timeout.

Per message, outside faults: one write to claim, one to record; the limiter's
write (two with a campaign) books a message and, without a campaign, the slots
of its group's next messages in the batch, adding them to the number's cumulative
sent counters (the usage report's source; a slot not used is taken back) and storing
them on the number, so the invocations they are handed back to send on them without a
write. Reads: a group's limiter state once per invocation (so once per message when a
number's messages are handed back one by one).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from chalicelib.adapters.logs import correlated, logger, mask
from chalicelib.adapters.twilio import HTTP_TIMEOUT_SECONDS
from chalicelib.core.gcra import EPSILON
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.core.send_timing import backoff, receive_count
from chalicelib.store.messages import Message
from chalicelib.usecases import messages, messaging_service, pool_usage, tmobile_cap
from chalicelib.usecases.context import Context
from chalicelib.usecases.sending.claim import claim, unsendable
from chalicelib.usecases.sending.hand_back import GiveBacks
from chalicelib.usecases.sending.limits import Booking, Limiter
from chalicelib.usecases.sending.outcomes import DONE, RETRY, WAIT, Outcome
from chalicelib.usecases.sending.record import give_up, record, record_sent
from chalicelib.usecases.sending.send import Outgoing, send
from chalicelib.usecases.sending.slots import SlotsAhead, Window, book

# Without a Lambda context (tests, scripts): the outbound function's timeout.
DEFAULT_BUDGET_SECONDS = 30.0
# Twilio can take its whole HTTP timeout; keep that and the record write in hand.
SEND_RESERVE_SECONDS = HTTP_TIMEOUT_SECONDS + 2.0
# A send is booked up to this long before its slot (room for the claim and the limiter's
# writes), and at least BOOKING_MARGIN_SECONDS ahead (room for the writes).
BOOKING_LEAD_SECONDS = 0.1
BOOKING_MARGIN_SECONDS = 0.05
# A claimed message may be booked (and wait, keeping its claim) this far ahead.
HOLD_CLAIM_SECONDS = 1.0

# Metric name (chalicelib/adapters/metrics.py publishes it as EMF lines); SendRetries: record.py.
SEND_DEFERRALS = "SendDeferrals"  # messages given back to the queue to wait (dimension Reason)


def process_batch(ctx: Context, records: list[dict], lambda_context=None) -> list[str]:
    """Handle one SQS batch; returns the messageIds to leave on the queue."""
    return Batch(ctx, records, lambda_context).run()


def _group(record: dict) -> str:
    return record.get("attributes", {}).get("MessageGroupId", "")


def _job(record: dict) -> OutboundJob:
    return OutboundJob.decode(record["body"])


@dataclass(frozen=True)
class Timing:
    """How long the invocation may wait, and for what."""

    deadline: float  # when the invocation must be done (its Lambda timeout)
    max_wait_seconds: float  # the longest limiter wait slept out inside it (SENDER_MAX_WAIT_SECONDS)
    max_idle_seconds: float  # a group's next slot further off is handed back (SENDER_MAX_IDLE_SECONDS)


class Batch:
    """One invocation's batch: its groups' records still to handle, in order, and what the
    steps share while it runs (the limiter's state, the slots booked ahead, what was handed
    or given back)."""

    def __init__(self, ctx: Context, records: list[dict], lambda_context=None, max_wait_seconds: float | None = None):
        self.ctx, self.clock = ctx, ctx.clock
        config = ctx.settings
        self.limiter = Limiter(
            ctx.store.limits,
            messaging_service.limits_with_campaign(ctx, config.limits),
            config.default_segments_per_second,
            lead=BOOKING_LEAD_SECONDS,
            margin=BOOKING_MARGIN_SECONDS,
        )
        remaining = DEFAULT_BUDGET_SECONDS
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            remaining = lambda_context.get_remaining_time_in_millis() / 1000.0
        self.timing = Timing(
            self.clock.now() + remaining,
            config.sender_max_wait_seconds if max_wait_seconds is None else max_wait_seconds,
            config.sender_max_idle_seconds,
        )
        self.pending: dict[str, deque] = {}
        for item in records:
            self.pending.setdefault(_group(item), deque()).append(item)
        self.not_before: dict[str, float] = {}  # a group that may not be booked before then
        self.backs = GiveBacks(self.clock, ctx.queues)
        self.slots = SlotsAhead(ctx)  # booked ahead for a group's next messages

    def run(self) -> list[str]:
        try:
            return self._run()
        finally:
            self._release_unused()
            self._flush_late()

    def _flush_late(self) -> None:
        """A late send's TAT left unwritten costs at most FLUSH_LATE_SECONDS of early sending next
        time; a fault here must not fail a batch whose messages were all sent and recorded."""
        try:
            self.limiter.flush_late()
        except Exception:
            logger.exception("late sends' limits not moved on")

    def _release_unused(self) -> None:
        """Take back the slots booked ahead that no message here used, but those of the
        messages back on the queue to be sent on them."""
        for number, slots in self.slots.unused(self.backs.waiting()).items():
            try:
                self.limiter.release(number, slots)
            except Exception:
                logger.exception("slots booked ahead not taken back", extra={"pool_number": mask(number)})

    def _run(self) -> list[str]:
        while self.pending:
            now = self.clock.now()
            group, wait = min(((g, self._ready_in(g, now)) for g in self.pending), key=lambda gw: gw[1])
            self._hand_back(group, now, wait)
            ask = self.backs.next_ask()
            if ask is not None and ask <= now + wait:
                if ask > now:
                    self.clock.sleep(ask - now)
                self.backs.ask_due(self.clock.now())
                continue
            if wait > 0:
                if wait <= self.timing.max_wait_seconds and now + wait + SEND_RESERVE_SECONDS <= self.timing.deadline:
                    self.clock.sleep(wait)
                    continue
                self._give_back_all(now, "limit")
                break
            if self.timing.deadline - now < SEND_RESERVE_SECONDS:
                self._give_back_all(now, "time")
                break
            self._took(group, now, self._handle_first(group, now))
        return self.backs.finish()

    def _handle_first(self, group: str, now: float) -> Outcome:
        item = self.pending[group][0]
        try:
            job = _job(item)
            with correlated(message_id=job.message_id):
                return self.handle(job, item, now)
        except Exception:
            logger.exception("sender failed; the message stays queued", extra={"sqs_message_id": item["messageId"]})
            return Outcome(RETRY, backoff(receive_count(item), 1.0), "error")

    def _took(self, group: str, now: float, outcome: Outcome) -> None:
        """What the group's first message's outcome does to the group."""
        if outcome.kind == DONE:
            self.pending[group].popleft()
            if outcome.sent:
                self.backs.sent(group)
            else:  # nothing sent (cancelled, expired...): the next one may go at once
                self.pending[group].extend(self.backs.take_back(group))
            if not self.pending[group]:
                del self.pending[group]
        elif outcome.kind == WAIT:
            self.not_before[group] = now + outcome.seconds
        else:
            self._give_back(group, outcome.seconds, outcome.reason)

    def _ready_in(self, group: str, now: float) -> float:
        # The group is the pool number; a record without one (not from the FIFO queue)
        # is limited once its claim has told which number it goes from.
        if group and not self.slots.loaded(group):
            booked = self.limiter.booked_slots(group)
            self.slots.load(group, [_job(item).message_id for item in self.pending[group]], booked)
        slot = self.slots.slot_of(_job(self.pending[group][0]).message_id) if group else None
        if slot is not None:
            limit = max(0.0, slot - self.limiter.lead - now)
        else:
            limit = self.limiter.ready_in(group, now) if group else 0.0
        return max(limit, self.not_before.get(group, 0.0) - now)

    def _give_back(self, group: str, seconds: float, reason: str) -> None:
        records = list(self.pending.pop(group))
        # A limiter wait may come back a little early and wait out the rest; a retry not.
        early = reason in ("limit", "time") and self.timing.max_wait_seconds > 0
        self.backs.give_back(group, records, seconds, early)
        self.ctx.metrics.count(SEND_DEFERRALS, len(records), Reason=reason)

    def _give_back_all(self, now: float, reason: str) -> None:
        for group in list(self.pending):
            self._give_back(group, self._ready_in(group, now), reason)

    def _hand_back(self, group: str, now: float, wait: float) -> None:
        """Hand the group's messages after its first back to SQS, timed to come back just
        before their slot, when that slot is more than SENDER_MAX_IDLE_SECONDS after the
        first's: the invocation then ends after the send instead of idling until it."""
        records = self.pending[group]
        if len(records) < 2 or not group or group in self.backs or self.timing.max_wait_seconds <= 0:
            return
        if not self.limiter.books_ahead:  # a campaign's slots, shared by every number: not foreseeable
            return
        job = _job(records[0])
        if job.segments is None or group in self.not_before:
            return
        cost = self.limiter.cost(group, job.segments)
        if cost <= self.timing.max_idle_seconds:
            return
        slot = self.slots.slot_of(job.message_id)
        if slot is None:
            slot = max(self.limiter.earliest(group), now + self.limiter.margin)
        followers = list(records)[1:]
        self.pending[group] = deque([records[0]])
        self.backs.hand_back(group, followers, slot + cost, now, max(now, now + wait))

    # --- one message: the steps ----------------------------------------------------

    def handle(self, job: OutboundJob, item: dict, now: float) -> Outcome:
        claimed = claim(self.ctx, job, now)
        if claimed.slot_spent:
            self.slots.forget(job.message_id)  # used by an earlier attempt, or taken back
        message = claimed.message
        if message is None:
            return Outcome(DONE)
        if claimed.found is not None:
            record_sent(self.ctx, message, claimed.found.sid, self.clock.now())
            return Outcome(DONE)
        body = job.secret_text or message.body
        why = unsendable(self.ctx, message, body, now)
        if why is None:  # T-Mobile's daily cap, held before Twilio (usecases/tmobile_cap.py)
            why = tmobile_cap.hold(self.ctx, message, now)
        else:  # an earlier attempt may have counted it; it never goes
            tmobile_cap.give_back(self.ctx, message, now)
        if why is not None:
            give_up(self.ctx, message, why)
            if claimed.reconciling:  # the attempt that may have gone counted it; Twilio has nothing
                self.slots.forget(job.message_id)
                pool_usage.uncount_sent(self.ctx, message.from_number, message.segments)
            return Outcome(DONE)
        booking = self._book(item, message, claimed.reconciling)
        if booking.at is None:
            if not claimed.reconciling:
                messages.unclaim(self.ctx, message)
            return Outcome(WAIT, booking.wait_seconds)
        return self._send_at(booking, Outgoing(message, body or ""), claimed.reconciling, item)

    def _send_at(self, booking: Booking, outgoing: Outgoing, reconciling: bool, item: dict) -> Outcome:
        """Sleep until the booked slot, send, record, and settle the limit with the time it left."""
        clock, message = self.clock, outgoing.message
        at = booking.at or 0.0
        missed = at < clock.now() - EPSILON  # a slot booked ahead, its message back late
        if at > clock.now():
            clock.sleep(at - clock.now())
        sent_at = clock.now()
        attempt = receive_count(item) if reconciling else message.attempts or 1
        outcome = record(self.ctx, message, send(self.ctx, outgoing), attempt, sent_at)
        if outcome.uncount:
            self._uncount(message)
        self.limiter.settle(message.from_number, at, sent_at, missed)
        if sent_at > at:
            self.slots.shift(message.from_number, sent_at - at)
        return outcome

    def _book(self, item: dict, message: Message, reconciling: bool) -> Booking:
        """The send's slot, booked with those of the group's next messages the invocation
        (or, handed back, the ones after it) can wait for."""
        group, now = _group(item), self.clock.now()
        following = [_job(later) for later in list(self.pending.get(group, ()))[1:] + self.backs.handed(group)]
        # A TAT another writer moved (the campaign's): a slot a little later is booked at once.
        horizon = HOLD_CLAIM_SECONDS if now + HOLD_CLAIM_SECONDS + SEND_RESERVE_SECONDS <= self.timing.deadline else 0
        until = now + self.timing.max_wait_seconds  # handed back: sent by the invocations after this one
        if group not in self.backs:
            until = min(until, self.timing.deadline - SEND_RESERVE_SECONDS)
        return book(self.limiter, self.slots, message, reconciling, following, Window(now, horizon, until))

    def _uncount(self, message: Message) -> None:
        """A send that did not go: take back its count, and its slot if an earlier invocation
        booked it (so that the message, tried again, does not take it for its own)."""
        segments = message.segments
        tmobile_cap.give_back(self.ctx, message, self.clock.now())
        if not (
            self.slots.was_loaded(message.message_id)
            and self.limiter.release(message.from_number, {message.message_id: segments})
        ):
            pool_usage.uncount_sent(self.ctx, message.from_number, segments)
