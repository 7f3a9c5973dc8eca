"""What a sender invocation leaves on the outbound queue, and when it asks SQS to hide it.

Given back (`give_back`): a message that must wait longer than the invocation will, or a
retry; its visibility timeout is asked at the end of the batch (one
ChangeMessageVisibilityBatch per queue), and it is left out of the batch's deletes.

Handed back (`hand_back`): a FIFO group's messages after the one the invocation is about to
send, when the group's next slot is further off than the invocation idles for
(SENDER_MAX_IDLE_SECONDS). SQS holds the group back while the message being sent is in
flight, and brings the rest back when their visibility timeout ends; the request is timed
(core/send_timing.hand_back_at) so that they come back just before the next slot, so the
invocation ends after its send instead of sleeping until that slot. What cannot be timed
before the send is asked right after it, to come back RETURN_LEAD_MIN or more early.

A group's messages never overtake each other: the handed-back ones follow the one before
them if it is given back after all (a retry), with its timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.logs import logger
from chalicelib.adapters.queues import Queues
from chalicelib.core.gcra import EPSILON
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.core.send_timing import RETURN_LEAD_MIN, hand_back_at, visibility_timeout


@dataclass
class _Handed:
    records: list[dict]
    due: float  # the slot of the first of them
    ask_at: float | None  # when to ask SQS, before the send; None: right after it
    seconds: int = 0


def job_id(record: dict) -> str:
    return OutboundJob.decode(record["body"]).message_id


class GiveBacks:
    def __init__(self, clock: Clock, queues: Queues):
        self.clock = clock
        self.queues = queues
        self._given: dict[str, tuple[dict, float, bool]] = {}  # messageId -> (record, seconds, early)
        self._handed: dict[str, list[dict]] = {}  # group -> its handed-back records, in order
        self._unasked: dict[str, _Handed] = {}  # group -> handed back, visibility not asked yet

    def __contains__(self, group: str) -> bool:
        return group in self._handed

    def handed(self, group: str) -> list[dict]:
        return list(self._handed.get(group, ()))

    def waiting(self) -> set[str]:
        """The message ids back on the queue to be sent on the slots booked for them: handed
        back, or given back to wait (not to retry)."""
        waiting = {job_id(r) for records in self._handed.values() for r in records}
        waiting |= {job_id(r) for r, _, early in self._given.values() if early}
        return waiting - {job_id(r) for r, _, early in self._given.values() if not early}

    def give_back(self, group: str, records: list[dict], seconds: float, early: bool) -> None:
        """Leave `records` (a group's, in order) on the queue for `seconds` (rounded up; or, if
        `early`, down less the pickup time), the group's handed-back ones after them."""
        self._unasked.pop(group, None)
        for record in records + self._handed.pop(group, []):
            self._given[record["messageId"]] = (record, seconds, early)

    def hand_back(self, group: str, records: list[dict], due: float, now: float, last: float) -> None:
        """Hand back a group's `records` after the one about to be sent; the first is due at `due`.
        The request may be made from `now` to `last` (before the send), or right after it."""
        self._handed[group] = records
        when = hand_back_at(now, last, due)
        self._unasked[group] = _Handed(records, due, *(when or (None, 0)))

    def take_back(self, group: str) -> list[dict]:
        """The group's handed-back records, if their visibility was not asked yet (the one
        before them was not sent after all: they may go now); else none."""
        if self._unasked.pop(group, None) is None:
            return []
        return self._handed.pop(group)

    def next_ask(self) -> float | None:
        """When the next timed request is due (None: none before a send)."""
        times = [handed.ask_at for handed in self._unasked.values() if handed.ask_at is not None]
        return min(times) if times else None

    def ask_due(self, now: float) -> None:
        due = [g for g, handed in self._unasked.items() if handed.ask_at is not None and handed.ask_at <= now + EPSILON]
        self._ask([(record, handed.seconds) for handed in map(self._unasked.pop, due) for record in handed.records])

    def sent(self, group: str) -> None:
        """The group's message before its handed-back ones is done: ask for them if not yet."""
        handed = self._unasked.pop(group, None)
        if handed is not None:
            seconds = visibility_timeout(handed.due - self.clock.now(), True, RETURN_LEAD_MIN)
            self._ask([(record, seconds) for record in handed.records])

    def finish(self) -> list[str]:
        """At the end of the batch: ask what is left; the messageIds to leave on the queue."""
        for group in list(self._unasked):
            self.sent(group)
        self._ask([(record, visibility_timeout(seconds, early)) for record, seconds, early in self._given.values()])
        left = list(self._given)
        left += [
            r["messageId"] for records in self._handed.values() for r in records if r["messageId"] not in self._given
        ]
        return left

    def _ask(self, timeouts: list[tuple[dict, int]]) -> None:
        """Make the messages visible again in so many seconds; without this they would wait
        out the queue's visibility timeout."""
        by_queue: dict[str, list[dict]] = {}
        for record, seconds in timeouts:
            arn = record.get("eventSourceARN")
            if not arn or not record.get("receiptHandle"):
                continue
            entries = by_queue.setdefault(arn.rsplit(":", 1)[-1], [])
            entries.append(
                {"Id": str(len(entries)), "ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": seconds}
            )
        for queue_name, entries in by_queue.items():
            try:
                self.queues.set_visibility(queue_name, entries)
            except Exception:
                logger.exception("visibility not changed; the messages wait out the queue's timeout")
