"""Where the send limiter keeps its TATs (usecases/sending/limits.py): a pool
number's on its PoolNumber item (placement reads it as the number's backlog),
a campaign's on a CampaignLimit item. Every write is conditional on the TAT
that was read, so two senders can never both spend the same slot.

A number's charge also stores the slots it booked ahead for the messages after the
one charged (`booked`: message id -> (seconds before the TAT, segments)), replacing
what the last charge stored; they are kept relative to the TAT, so a write that moves
the TAT on for a late send moves them with it. `release` takes back booked slots not
used: it removes them and their count in one write, once.

`LimitStore` is the contract; store/dynamodb/limits.py keeps it in DynamoDB (a pool
number's on its PoolNumber item, a campaign's on a CampaignLimit item),
`MemoryLimitStore` in memory, for tests and simulations.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

NUMBER, CAMPAIGN = "number", "campaign"


@dataclass(frozen=True)
class LimitKey:
    kind: str  # NUMBER (a pool number's E.164) or CAMPAIGN ("campaign#<id>")
    name: str


# message id -> (seconds before the TAT its slot starts, segments)
Booked = dict[str, tuple[float, int]]


@dataclass(frozen=True)
class StoredLimit:
    tat: float
    segments_per_second: float | None  # a number's own rate; None: not stored
    booked: Booked = field(default_factory=dict)  # a number's slots booked ahead by its last charge


class LimitStore(Protocol):
    def read(self, key: LimitKey) -> StoredLimit | None:
        """The key's state; None for a number that is not in the pool."""

    def write(
        self,
        key: LimitKey,
        expected_tat: float,
        new_tat: float,
        segments_per_second: float,
        sent: int = 0,
        messages: int = 1,
        booked: Booked | None = None,
    ) -> bool:
        """Store `new_tat` if the key still holds `expected_tat`; False if it does not.
        `sent` segments (a number's, of `messages` messages) are added to its cumulative
        counters in the same write; `booked` (a number's charge) replaces its slots booked ahead."""

    def release(self, number: str, slots: dict[str, int]) -> bool:
        """Take back booked slots not used (message id -> segments) from the number's slots
        booked ahead and its sent counters; False (nothing done) unless all are still booked."""


class MemoryLimitStore:
    """The same contract in memory. `numbers` maps a pool number to its rate."""

    def __init__(self, numbers: dict[str, float] | None = None):
        self._lock = threading.Lock()
        self.tats: dict[LimitKey, float] = {}
        self.rates = dict(numbers or {})
        self.writes = 0
        self.sent: dict[str, list[int]] = {}  # a number's cumulative [segments, messages]
        self.booked: dict[str, Booked] = {}

    def read(self, key: LimitKey) -> StoredLimit | None:
        if key.kind == NUMBER and key.name not in self.rates:
            return None
        return StoredLimit(self.tats.get(key, 0.0), self.rates.get(key.name), dict(self.booked.get(key.name, {})))

    def write(
        self,
        key: LimitKey,
        expected_tat: float,
        new_tat: float,
        segments_per_second: float,
        sent: int = 0,
        messages: int = 1,
        booked: Booked | None = None,
    ) -> bool:
        with self._lock:
            if self.tats.get(key, 0.0) != expected_tat or (key.kind == NUMBER and key.name not in self.rates):
                return False
            self.tats[key] = new_tat
            if sent and key.kind == NUMBER:
                totals = self.sent.setdefault(key.name, [0, 0])
                totals[0] += sent
                totals[1] += messages
            if booked is not None and key.kind == NUMBER:
                self.booked[key.name] = dict(booked)
            self.writes += 1
            return True

    def release(self, number: str, slots: dict[str, int]) -> bool:
        with self._lock:
            booked = self.booked.get(number, {})
            if not all(message_id in booked for message_id in slots):
                return False
            for message_id in slots:
                del booked[message_id]
            totals = self.sent.setdefault(number, [0, 0])
            totals[0] -= sum(slots.values())
            totals[1] -= len(slots)
            self.writes += 1
            return True
