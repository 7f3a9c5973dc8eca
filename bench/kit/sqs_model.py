"""SQS FIFO in the kernel's virtual time, as the sender's simulation models it: a group with
a message in flight returns nothing more until that message is deleted or visible again;
receives take the groups' heads oldest first, up to 10 messages; visibility timeouts in
whole seconds, redelivery, a dead-letter queue after maxReceiveCount, deduplication by id.
Pollers that found nothing wait on `waiters` and are woken when something may be there."""

from __future__ import annotations

import collections
import heapq
from dataclasses import dataclass

from bench.kit.environment import ACCOUNT, REGION
from bench.kit.kernel import Kernel, Process


@dataclass(eq=False)
class SimMessage:
    message_id: str
    body: str
    group: str
    seq: int
    sent_at: float
    receive_count: int = 0
    handle: str | None = None
    visible_at: float = 0.0


class FifoQueue:
    """One SQS FIFO queue: a group with a message in flight returns nothing more
    until that message is deleted or visible again; receives take the groups'
    heads oldest first, up to 10 messages."""

    def __init__(self, kernel: Kernel, name: str, visibility_timeout: int, max_receives: int):
        self.kernel = kernel
        self.name = name
        self.arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        self.visibility_timeout = visibility_timeout
        self.max_receives = max_receives
        self.groups: dict[str, collections.deque] = {}
        self.in_flight: dict[str, set] = collections.defaultdict(set)
        self.by_id: dict[str, SimMessage] = {}
        self.dedup: dict[str, tuple[str, float]] = {}
        self.dead: list[SimMessage] = []
        self.waiters: collections.deque = collections.deque()
        self.timer: Process | None = None
        self.timer_target: float | None = None
        self._expiries: list = []
        self._seq = 0
        self._receipts = 0

    # the API -----------------------------------------------------------------

    def send(self, body: str, group: str, dedup_id: str) -> str:
        now = self.kernel.now
        seen = self.dedup.get(dedup_id)
        if seen and seen[1] > now:
            return seen[0]
        self._seq += 1
        message = SimMessage(f"sqs-{self._seq:07d}", body, group, self._seq, now)
        self.dedup[dedup_id] = (message.message_id, now + 300)
        self.groups.setdefault(group, collections.deque()).append(message)
        self.by_id[message.message_id] = message
        self.notify()
        return message.message_id

    def receive(self, max_messages: int = 10) -> list[SimMessage]:
        now = self.kernel.now
        taken: list[SimMessage] = []
        for group in sorted(self.groups, key=lambda g: self.groups[g][0].seq):
            if self._blocked(group, now):
                continue
            queue = self.groups[group]
            for message in list(queue):
                if len(taken) == max_messages:
                    break
                message.receive_count += 1
                if message.receive_count > self.max_receives:
                    self._remove(message)
                    self.dead.append(message)
                    continue
                self._receipts += 1
                message.handle = f"{message.message_id}#{self._receipts}"
                self._set_invisible(message, now + self.visibility_timeout)
                taken.append(message)
            if len(taken) == max_messages:
                break
        return taken

    def delete(self, handle: str) -> bool:
        message = self.by_id.get(handle.split("#", 1)[0])
        if message is None or message.handle != handle:
            return False
        self._remove(message)
        self.notify()
        return True

    def change_visibility(self, handle: str, seconds: int) -> bool:
        message = self.by_id.get(handle.split("#", 1)[0])
        if message is None or message.handle != handle or not 0 <= seconds <= 43200:
            return False
        self._set_invisible(message, self.kernel.now + seconds)
        if seconds == 0:
            self.notify()
        return True

    def lambda_record(self, message: SimMessage) -> dict:
        """The record of `message` in the event Lambda's event source mapping hands the function."""
        return {
            "messageId": message.message_id,
            "receiptHandle": message.handle,
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": str(int(message.sent_at * 1000)),
                "MessageGroupId": message.group,
                "MessageDeduplicationId": message.message_id,
                "SequenceNumber": str(message.seq),
            },
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": REGION,
        }

    # state -------------------------------------------------------------------

    def empty(self) -> bool:
        return not self.by_id

    def receivable(self) -> bool:
        now = self.kernel.now
        return any(not self._blocked(group, now) for group in self.groups)

    def _blocked(self, group: str, now: float) -> bool:
        flying = self.in_flight.get(group)
        if not flying:
            return False
        for message in list(flying):
            if message.visible_at <= now:
                flying.discard(message)
        return bool(flying)

    def _set_invisible(self, message: SimMessage, until: float) -> None:
        message.visible_at = until
        if until > self.kernel.now:
            self.in_flight[message.group].add(message)
            self._add_expiry(until)
        else:
            self.in_flight[message.group].discard(message)

    def _remove(self, message: SimMessage) -> None:
        queue = self.groups[message.group]
        queue.remove(message)
        if not queue:
            del self.groups[message.group]
        self.in_flight[message.group].discard(message)
        self.by_id.pop(message.message_id, None)

    # waking pollers ------------------------------------------------------------

    def notify(self) -> None:
        """Something may have become receivable: wake one long-polling poller."""
        while self.waiters:
            if self.kernel.wake(self.waiters.popleft()):
                return

    def _add_expiry(self, at: float) -> None:
        heapq.heappush(self._expiries, at)
        if self.timer is not None and (self.timer_target is None or at < self.timer_target):
            self.kernel.wake(self.timer)

    def run_timer(self) -> None:
        """A process: when a visibility timeout ends, wake a poller."""
        while True:
            now = self.kernel.now
            while self._expiries and self._expiries[0] <= now:
                heapq.heappop(self._expiries)
                self.notify()
            self.timer_target = self._expiries[0] if self._expiries else None
            self.kernel.wait(None if self.timer_target is None else self.timer_target - now)
