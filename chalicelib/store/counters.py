"""What the verification limits remember (usecases/verification_limits.py): per key, the
times of recent events (a phone's or a user's code SMS, a phone's code tries), or one
fixed window's count (the global budget). Every write is conditional on what was read,
so racing requests cannot together pass a limit. `CounterStore` is the contract;
store/dynamodb/counters.py keeps it in DynamoDB (RateCounter items, removed by TTL once
their window has passed), `MemoryCounters` in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EventLog:
    times: tuple[float, ...]
    version: int  # what a write of the next log is conditional on


class CounterStore(Protocol):
    """`expires_at`: when the stored counter may be forgotten (epoch seconds)."""

    def log(self, key: str) -> EventLog | None:
        """The key's log; None when it has none."""

    def replace_log(self, key: str, times: tuple[float, ...], read: EventLog | None, expires_at: int) -> bool:
        """Store the key's new log if it is still the one `read` (None: still none). False if not."""

    def take(self, key: str, limit: int, expires_at: int) -> int | None:
        """One more in the key's count, while it is below `limit`: the count after it, or None."""

    def add(self, key: str, expires_at: int) -> None:
        """One more in the key's count, without a limit (what is counted for the cost report)."""

    def counts(self, keys: list[str]) -> dict[str, int]:
        """The counts of those keys that have one."""


class MemoryCounters:
    """CounterStore in memory, for use-case tests and simulations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.logs: dict[str, EventLog] = {}
        self.counts_by_key: dict[str, int] = {}

    def log(self, key: str) -> EventLog | None:
        return self.logs.get(key)

    def replace_log(self, key: str, times: tuple[float, ...], read: EventLog | None, expires_at: int) -> bool:
        with self._lock:
            if self.logs.get(key) != read:
                return False
            self.logs[key] = EventLog(tuple(times), (read.version if read else 0) + 1)
            return True

    def take(self, key: str, limit: int, expires_at: int) -> int | None:
        with self._lock:
            count = self.counts_by_key.get(key, 0)
            if count >= limit:
                return None
            self.counts_by_key[key] = count + 1
            return count + 1

    def add(self, key: str, expires_at: int) -> None:
        with self._lock:
            self.counts_by_key[key] = self.counts_by_key.get(key, 0) + 1

    def counts(self, keys: list[str]) -> dict[str, int]:
        return {key: self.counts_by_key[key] for key in keys if key in self.counts_by_key}
