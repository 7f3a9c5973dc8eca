"""Where the send limiter keeps its TATs (usecases/rate_limits.py): a pool
number's on its PoolNumber item (placement reads it as the number's backlog),
a campaign's on a CampaignLimit item. Every write is conditional on the TAT
that was read, so two senders can never both spend the same slot.

`MemoryLimitStore` keeps the same contract in memory, for tests and simulations.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from pynamodb.expressions.update import Action

from chalicelib.store.conditional import update_if
from chalicelib.store.models import LIMITS, POOL, CampaignLimit, PoolNumber

NUMBER, CAMPAIGN = "number", "campaign"


@dataclass(frozen=True)
class LimitKey:
    kind: str  # NUMBER (a pool number's E.164) or CAMPAIGN ("campaign#<id>")
    name: str


@dataclass(frozen=True)
class StoredLimit:
    tat: float
    segments_per_second: float | None  # a number's own rate; None: not stored


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
    ) -> bool:
        """Store `new_tat` if the key still holds `expected_tat`; False if it does not.
        `sent` segments (a number's, of `messages` messages) are added to its cumulative
        counters in the same write."""


class DynamoLimitStore:
    def read(self, key: LimitKey) -> StoredLimit | None:
        model = PoolNumber if key.kind == NUMBER else CampaignLimit
        try:
            item = model.get(
                POOL if key.kind == NUMBER else LIMITS,
                key.name,
                consistent_read=True,
                attributes_to_get=["limiter_tat", "segments_per_second"],
            )
        except model.DoesNotExist:
            return None if key.kind == NUMBER else StoredLimit(0.0, None)
        return StoredLimit(float(item.limiter_tat or 0), item.segments_per_second)

    def write(
        self,
        key: LimitKey,
        expected_tat: float,
        new_tat: float,
        segments_per_second: float,
        sent: int = 0,
        messages: int = 1,
    ) -> bool:
        model = PoolNumber if key.kind == NUMBER else CampaignLimit
        condition = model.limiter_tat == expected_tat
        if not expected_tat:
            # Never charged: the attribute may be missing (PynamoDB reads its default, 0).
            condition = condition | model.limiter_tat.does_not_exist()
        actions: list[Action] = [model.limiter_tat.set(new_tat)]
        item: PoolNumber | CampaignLimit
        if key.kind == NUMBER:
            item = PoolNumber(POOL, key.name)
            condition = condition & PoolNumber.phone_number.exists()  # never create a number
            if sent:
                actions += [PoolNumber.segments_out.add(sent), PoolNumber.messages_out.add(messages)]
        else:
            item = CampaignLimit(LIMITS, key.name)
            actions.append(CampaignLimit.segments_per_second.set(segments_per_second))
        return update_if(item, actions, condition)


class MemoryLimitStore:
    """The same contract in memory. `numbers` maps a pool number to its rate."""

    def __init__(self, numbers: dict[str, float] | None = None):
        self._lock = threading.Lock()
        self.tats: dict[LimitKey, float] = {}
        self.rates = dict(numbers or {})
        self.writes = 0
        self.sent: dict[str, list[int]] = {}  # a number's cumulative [segments, messages]

    def read(self, key: LimitKey) -> StoredLimit | None:
        if key.kind == NUMBER and key.name not in self.rates:
            return None
        return StoredLimit(self.tats.get(key, 0.0), self.rates.get(key.name))

    def write(
        self,
        key: LimitKey,
        expected_tat: float,
        new_tat: float,
        segments_per_second: float,
        sent: int = 0,
        messages: int = 1,
    ) -> bool:
        with self._lock:
            if self.tats.get(key, 0.0) != expected_tat or (key.kind == NUMBER and key.name not in self.rates):
                return False
            self.tats[key] = new_tat
            if sent and key.kind == NUMBER:
                totals = self.sent.setdefault(key.name, [0, 0])
                totals[0] += sent
                totals[1] += messages
            self.writes += 1
            return True
