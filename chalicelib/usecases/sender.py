"""The outbound sender, fed by the FIFO queue (one group per pool number).

For each message of a batch, in its group's order:

1. wait for the limiter: a pool number (and the campaign, when configured) allows
   a send once `now >= TAT - burst` (usecases/rate_limits.py). A short wait is
   slept out inside the invocation while it has time left; a longer one defers
   the message with a visibility timeout of that many (whole) seconds. It stays
   'queued' while it waits (`PUT presence away=false` can still cancel it).
   Waits end BOOKING_LEAD_SECONDS before the slot, for steps 2-4.
2. claim it (usecases/messages.py: every move of a message is made there):
   a conditional write queued -> sending that returns the item
   (segments, numbers, body), so no read is needed. A claim that fails means a
   duplicate delivery, a cancelled or final message (nothing to do), or a
   message left in 'sending' by a sender that died or never learnt Twilio's
   answer: that one is reconciled with what Twilio has before anything is sent
   again.
3. expired? (older than MESSAGE_VALIDITY_SECONDS) -> failed, 'expired'.
4. book the slot (a conditional write on the TAT read), sleep until it: the request
   leaves exactly when charged.
5. send, and record the sid (a conditional write sending -> sent).

Handing back (usecases/give_backs.py): when a group's next slot is more than
SENDER_MAX_IDLE_SECONDS after its first message's (a long code at 1 segment/s), the
invocation sends that one and hands the rest back to SQS, asking for their visibility
timeout at the moment that brings them back just before the next slot: the invocation
ends after its send instead of idling a second a message (bench/README.md, "The
deferral choice"; not with a campaign limit). Once a message of a group must wait
outside the invocation or be retried, the rest of its group is given back with the
same visibility timeout (one ChangeMessageVisibilityBatch, and batchItemFailures): a
number's messages never overtake each other, nor wait out the queue's timeout.

Twilio outcomes (usecases/twilio_send.py): 429 -> back to 'queued', retried with backoff;
5xx, timeouts, unreachable (perhaps accepted) -> left in 'sending', retried with backoff,
reconciled first; other 4xx: final with Twilio's code (21610 also opts the phone out).

Per message, outside faults: one write to claim, one to record; the limiter's
write (two with a campaign) books a message and, without a campaign, the slots
of its group's next messages in the batch (usecases/send_slots.py), adding them to
the number's cumulative sent counters (the usage report's source; a slot not used is
taken back) and storing them on the number, so the invocations they are handed back
to send on them without a write. Reads: a group's limiter state once per invocation
(so once per message when a number's messages are handed back one by one).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from chalicelib.adapters import metrics
from chalicelib.adapters.logs import correlated, logger, mask
from chalicelib.adapters.twilio import HTTP_TIMEOUT_SECONDS
from chalicelib.core.gcra import EPSILON
from chalicelib.core.media_rules import MMS
from chalicelib.core.message_rules import CANCELLED, FAILED, SENDING
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.core.send_timing import backoff, receive_count
from chalicelib.store.messages import Message
from chalicelib.usecases import messages, messaging_service, pool_usage, twilio_send
from chalicelib.usecases.context import Context
from chalicelib.usecases.give_backs import GiveBacks
from chalicelib.usecases.rate_limits import Booking, Limiter
from chalicelib.usecases.send_reconciliation import reconcile
from chalicelib.usecases.send_slots import SlotsAhead
from chalicelib.usecases.twilio_send import DONE, RETRY, WAIT, Outcome

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

# Metric name (chalicelib/metrics.py publishes it as EMF lines); SendRetries: twilio_send.py.
SEND_DEFERRALS = "SendDeferrals"  # messages given back to the queue to wait (dimension Reason)


def process_batch(ctx: Context, records: list[dict], lambda_context=None) -> list[str]:
    """Handle one SQS batch; returns the messageIds to leave on the queue."""
    return Batch(ctx, records, lambda_context).run()


def _group(record: dict) -> str:
    return record.get("attributes", {}).get("MessageGroupId", "")


class Batch:
    def __init__(self, ctx: Context, records: list[dict], lambda_context=None, max_wait_seconds: float | None = None):
        self.ctx = ctx
        self.clock = ctx.clock
        config = ctx.settings
        self.max_wait_seconds = config.sender_max_wait_seconds if max_wait_seconds is None else max_wait_seconds
        self.max_idle_seconds = config.sender_max_idle_seconds
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
        self.deadline = self.clock.now() + remaining
        self.pending: dict[str, deque] = {}
        for record in records:
            self.pending.setdefault(_group(record), deque()).append(record)
        self.not_before: dict[str, float] = {}
        self.backs = GiveBacks(self.clock, ctx.queues)
        self.slots = SlotsAhead(ctx)  # booked ahead for a group's next messages
        self.loaded: set[str] = set()  # groups whose slots booked ahead were looked up

    def run(self) -> list[str]:
        try:
            return self._run()
        finally:
            self._release_unused()
            self.limiter.flush_late()

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
                if wait <= self.max_wait_seconds and now + wait + SEND_RESERVE_SECONDS <= self.deadline:
                    self.clock.sleep(wait)
                    continue
                self._give_back_all(now, "limit")
                break
            if self.deadline - now < SEND_RESERVE_SECONDS:
                self._give_back_all(now, "time")
                break
            record = self.pending[group][0]
            try:
                outcome = self.handle(record, now)
            except Exception:
                logger.exception(
                    "sender failed; the message stays queued", extra={"sqs_message_id": record["messageId"]}
                )
                outcome = Outcome(RETRY, backoff(receive_count(record), 1.0), "error")
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
        return self.backs.finish()

    def _ready_in(self, group: str, now: float) -> float:
        # The group is the pool number; a record without one (not from the FIFO queue)
        # is limited once its claim has told which number it goes from.
        if group and group not in self.loaded:
            self._load_booked(group)
        slot = self.slots.slot_of(OutboundJob.decode(self.pending[group][0]["body"]).message_id) if group else None
        if slot is not None:
            limit = max(0.0, slot - self.limiter.lead - now)
        else:
            limit = self.limiter.ready_in(group, now) if group else 0.0
        return max(limit, self.not_before.get(group, 0.0) - now)

    def _load_booked(self, group: str) -> None:
        """The slots an earlier invocation booked ahead for the group's messages here, in
        order from the first (or the second: the first may be the one that booked them, back)
        on; read with the number's limiter state, once per invocation."""
        self.loaded.add(group)
        booked = self.limiter.booked_slots(group)
        for index, record in enumerate(self.pending[group]):
            job = OutboundJob.decode(record["body"])
            if index == 0 and job.message_id not in booked:
                continue
            if job.message_id not in booked or job.message_id in self.slots:
                break
            slot, segments = booked[job.message_id]
            self.slots.keep(job.message_id, slot, group, segments, loaded=True)

    def _give_back(self, group: str, seconds: float, reason: str) -> None:
        records = list(self.pending.pop(group))
        # A limiter wait may come back a little early and wait out the rest; a retry not.
        early = reason in ("limit", "time") and self.max_wait_seconds > 0
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
        if len(records) < 2 or not group or group in self.backs or self.max_wait_seconds <= 0:
            return
        if not self.limiter.books_ahead:  # a campaign's slots, shared by every number: not foreseeable
            return
        job = OutboundJob.decode(records[0]["body"])
        if job.segments is None or group in self.not_before:
            return
        cost = self.limiter.cost(group, job.segments)
        if cost <= self.max_idle_seconds:
            return
        slot = self.slots.slot_of(job.message_id)
        if slot is None:
            slot = max(self.limiter.earliest(group), now + self.limiter.margin)
        followers = list(records)[1:]
        self.pending[group] = deque([records[0]])
        self.backs.hand_back(group, followers, slot + cost, now, max(now, now + wait))

    # --- one message ---------------------------------------------------------

    def handle(self, record: dict, now: float) -> Outcome:
        job = OutboundJob.decode(record["body"])
        with correlated(message_id=job.message_id):
            return self._handle(job, record, now)

    def _handle(self, job: OutboundJob, record: dict, now: float) -> Outcome:
        message = messages.claim(self.ctx, job.message_id, now)
        reconciling = False
        if message is None:
            message = self.ctx.store.messages.get(job.message_id)
            if message is None or message.status not in (SENDING, CANCELLED):
                self.slots.forget(job.message_id)  # used by an earlier attempt, or taken back
            if message is None or message.status != SENDING:
                if message is not None and message.events_owed:
                    messages.notify_owed(self.ctx, message)  # a fault came between the record and its event
                return Outcome(DONE)  # a duplicate delivery, a cancelled or a final message
            reconciling = True
            found = reconcile(self.ctx, message, job.secret_text or message.body)
            if found is not None:
                self.slots.forget(job.message_id)
                self._record_sent(message, found.sid, self.clock.now())
                return Outcome(DONE)
        body = job.secret_text or message.body
        expired = now - message.created_at > self.ctx.settings.message_validity_seconds
        if expired or not body:
            self._finish(message, "expired" if expired else "no_body")
            if reconciling:  # the attempt that may have gone counted it; Twilio has nothing
                self.slots.forget(job.message_id)
                pool_usage.uncount_sent(self.ctx, message.from_number, int(message.segments))
            return Outcome(DONE)
        clock = self.clock
        booking = self._book(record, message, reconciling)
        if booking.at is None:
            if not reconciling:
                messages.unclaim(self.ctx, message)
            return Outcome(WAIT, booking.wait_seconds)
        missed = booking.at < clock.now() - EPSILON  # a slot booked ahead, its message back late
        if booking.at > clock.now():
            clock.sleep(booking.at - clock.now())
        sent_at = clock.now()
        attempt = receive_count(record) if reconciling else int(message.attempts or 1)
        outcome = self._send(message, body, attempt, sent_at)
        self.limiter.settle(message.from_number, booking.at, sent_at, missed)
        if sent_at > booking.at:
            self.slots.shift(message.from_number, sent_at - booking.at)
        return replace(outcome, sent=True)

    def _book(self, record: dict, message: Message, reconciling: bool) -> Booking:
        """The send's slot: booked ahead with the message before it, or now, with the slots
        of the group's next messages the invocation can wait for."""
        clock = self.clock
        ahead = self.slots.take(message.message_id, int(message.segments), reconciling)
        if ahead is not None:
            return ahead
        # Slots booked for the messages after this one come before the one it books now:
        # taken back, and booked again after it.
        self.limiter.release(message.from_number, self.slots.drop(message.from_number))
        following: list[tuple[str, int]] = []  # (message id, segments); booking.then: the first ones' slots
        group = _group(record)
        for later in list(self.pending.get(group, ()))[1:] + self.backs.handed(group):
            job = OutboundJob.decode(later["body"])
            if job.segments is None or job.message_id in self.slots:
                break
            following.append((job.message_id, job.segments))
        # A TAT another writer moved (the campaign's): a slot a little later is booked at once.
        horizon = HOLD_CLAIM_SECONDS if clock.now() + HOLD_CLAIM_SECONDS + SEND_RESERVE_SECONDS <= self.deadline else 0
        until = clock.now() + self.max_wait_seconds  # handed back: sent by the invocations after this one
        if group not in self.backs:
            until = min(until, self.deadline - SEND_RESERVE_SECONDS)
        # Counted in the number's usage, unless a retry of a send that may have gone (counted).
        booking = self.limiter.reserve(
            message.from_number,
            int(message.segments),
            clock.now(),
            horizon,
            not reconciling,
            tuple(segments for _, segments in following),
            until,
            tuple(message_id for message_id, _ in following),
        )
        for (message_id, segments), slot in zip(following, booking.then, strict=False):
            self.slots.keep(message_id, slot, message.from_number, segments)
        return booking

    def _send(self, message: Message, body: str, attempt: int, now: float) -> Outcome:
        return twilio_send.send(self.ctx, message, body, attempt, now, self._record_sent, self._finish, self._uncount)

    def _uncount(self, message: Message) -> None:
        """A send that did not go: take back its count, and its slot if an earlier invocation
        booked it (so that the message, tried again, does not take it for its own)."""
        segments = int(message.segments)
        if not (
            self.slots.was_loaded(message.message_id)
            and self.limiter.release(message.from_number, {message.message_id: segments})
        ):
            pool_usage.uncount_sent(self.ctx, message.from_number, segments)

    def _record_sent(self, message: Message, twilio_sid: str, now: float, twilio_requests: int = 0) -> None:
        if message.media_delivery == MMS:
            pool_usage.count_mms_sent(self.ctx, message.from_number, now)
        if messages.record_sent(self.ctx, message, twilio_sid, now):
            figures = (int(message.segments), now - message.created_at, twilio_requests)
            self.ctx.metrics.sms_sent(message.message_id, mask(message.to_number), message.from_number, *figures)
        elif twilio_requests:
            self.ctx.metrics.twilio_call()

    def _finish(self, message: Message, error_code: str) -> None:
        messages.finish(self.ctx, message, FAILED, error_code)
        self.ctx.metrics.count(metrics.MESSAGE_FAILED, ErrorCode=error_code)
