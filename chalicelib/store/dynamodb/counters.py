"""CounterStore (store/counters.py) in DynamoDB: RateCounter items (store/models.py),
written conditionally on their version (or count); DynamoDB's TTL deletes them."""

from __future__ import annotations

from typing import cast

from chalicelib.store.conditional import get_or_none, save_if, update_if
from chalicelib.store.counters import EventLog
from chalicelib.store.models import RateCounter


class DynamoCounters:
    def log(self, key: str) -> EventLog | None:
        item = get_or_none(RateCounter, key)
        if item is None:
            return None
        # PynamoDB types the list's items as NumberAttribute; stored, they are numbers.
        times = tuple(float(t) for t in cast("list[float]", item.times or []))
        return EventLog(times, int(item.version or 0))

    def replace_log(self, key: str, times: tuple[float, ...], read: EventLog | None, expires_at: int) -> bool:
        version = read.version if read else 0
        item = RateCounter(key=key, times=list(times), version=version + 1, ttl=expires_at)
        held = RateCounter.key.does_not_exist() if read is None else RateCounter.version == version
        return save_if(item, held)

    def take(self, key: str, limit: int, expires_at: int) -> int | None:
        counter = RateCounter(key=key)
        took = update_if(
            counter,
            [RateCounter.count.add(1), RateCounter.ttl.set(expires_at)],
            RateCounter.count.does_not_exist() | (RateCounter.count < limit),
        )
        return int(counter.count) if took else None

    def add(self, key: str, expires_at: int) -> None:
        RateCounter(key=key).update(actions=[RateCounter.count.add(1), RateCounter.ttl.set(expires_at)])

    def counts(self, keys: list[str]) -> dict[str, int]:
        return {item.key: int(item.count or 0) for item in RateCounter.batch_get(keys)}
