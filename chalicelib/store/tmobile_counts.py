"""What T-Mobile's daily cap remembers (usecases/tmobile_cap.py): per Pacific day, the SMS
segments and MMS sent to T-Mobile phones, each message counted once under a mark of its own,
so a retried send adds nothing and a send Twilio refused gives its count back. An admission
is conditional on the day's count staying within the cap, so racing senders never pass it
together. `TMobileCounts` is the contract; store/dynamodb/tmobile_counts.py keeps it in
DynamoDB (RateCounter items, removed by TTL), `MemoryTMobileCounts` in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Admission:
    admitted: bool  # counted now, or already counted for this message (a retry)
    count: int  # the day's count after it (what it was, when refused)


class TMobileCounts(Protocol):
    """`day`: the Pacific date (ISO); `expires_at`: when the day's items may be forgotten."""

    def admit(self, day: str, message_id: str, units: int, cap: int, expires_at: int) -> Admission:
        """Count the message's `units` in the day's count while it stays within `cap`;
        admitted without counting again when the message is counted already."""

    def give_back(self, day: str, message_id: str) -> bool:
        """Take the message's count back (it did not go); False when it was not counted."""

    def fill(self, day: str, cap: int, expires_at: int) -> None:
        """T-Mobile says the day's cap is reached (30023): the count is at least `cap`."""

    def count(self, day: str) -> int:
        """The day's count (0 before the first)."""


class MemoryTMobileCounts:
    """TMobileCounts in memory, for use-case tests and simulations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.marks: dict[tuple[str, str], int] = {}  # (day, message id) -> units counted

    def admit(self, day: str, message_id: str, units: int, cap: int, expires_at: int) -> Admission:
        with self._lock:
            count = self.counts.get(day, 0)
            if self.marks.get((day, message_id)):
                return Admission(True, count)
            if count + units > cap:
                return Admission(False, count)
            self.marks[(day, message_id)] = units
            self.counts[day] = count + units
            return Admission(True, count + units)

    def give_back(self, day: str, message_id: str) -> bool:
        with self._lock:
            counted = self.marks.get((day, message_id))
            if not counted:
                return False
            self.marks[(day, message_id)] = 0
            self.counts[day] = self.counts.get(day, 0) - counted
            return True

    def fill(self, day: str, cap: int, expires_at: int) -> None:
        with self._lock:
            self.counts[day] = max(self.counts.get(day, 0), cap)

    def count(self, day: str) -> int:
        return self.counts.get(day, 0)
