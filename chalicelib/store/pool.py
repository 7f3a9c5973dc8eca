"""The pool's numbers and what goes with them: each number's record and lifecycle
(active -> draining -> releasing -> released; held back by a pool fault), its usage per
day, the growth lease that serialises buying, and the autoscaler's memory between runs.
`PoolStore` is the contract; store/dynamodb/pool.py keeps it in DynamoDB (the numbers
table), `MemoryPool` in memory.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import date
from typing import Protocol

ACTIVE, DRAINING, RELEASING, RELEASED = "active", "draining", "releasing", "released"
HELD = (ACTIVE, DRAINING, RELEASING)  # rented from Twilio


@dataclass(frozen=True)
class PoolNumber:
    phone_number: str
    segments_per_second: float
    created_at: int
    status: str = ACTIVE
    twilio_sid: str | None = None
    country: str | None = None
    area_code: str | None = None
    mms: bool | None = None  # Twilio's capabilities.mms; None: not known (taken as capable)
    open_sessions: int = 0
    limiter_tat: float = 0.0  # the limiter's theoretical arrival time: the number's backlog
    segments_out: int = 0  # sent since it joined the pool (cumulative; the limiter's write moves them)
    messages_out: int = 0
    last_used_at: int | None = None
    bought_at: int | None = None  # Twilio bills from here, monthly
    changed_at: int | None = None  # bought, taken back, drained or released
    drain_reason: str | None = None  # auto | requested
    held_back: str | None = None  # "<code>: <reason>" of a pool/account fault: no new sessions
    held_at: int | None = None
    released_at: int | None = None


@dataclass(frozen=True)
class DailyUsage:
    """What one number sent and received on one (UTC) day."""

    phone_number: str
    segments_out: int = 0
    messages_out: int = 0
    segments_in: int = 0
    messages_in: int = 0
    mms_out: int = 0  # MMS among the messages (each also one segment above)
    mms_in: int = 0


@dataclass(frozen=True)
class Received:
    """An SMS (or MMS: no segments) a pool number received, counted once under its key."""

    key: str  # the event it caused (or the MessageSid): a retry counts nothing again
    pool_number: str
    segments: int
    mms: bool = False


class PoolStore(Protocol):
    # --- the numbers --------------------------------------------------------------
    def numbers(self) -> list[PoolNumber]:
        """Every number the pool ever had, released ones included (strongly consistent)."""

    def number(self, phone_number: str) -> PoolNumber | None: ...

    def record(self, number: PoolNumber) -> None:
        """Store the number's record (sid, status, place, rate, capabilities, times), leaving
        what other writes move (sessions, limiter state, sent counters, hold) as it is."""

    def adjust_open_sessions(self, phone_number: str, delta: int, now: int) -> None: ...

    def correct_open_sessions(self, phone_number: str, counted: int, last_used_at: int | None, found: int) -> bool:
        """Set the counter to `found` while it is still `counted` and nothing opened or closed
        on the number since `last_used_at`."""

    def take_back(self, phone_number: str, now: int) -> bool:
        """draining (by the autoscaler) -> active."""

    def drain(self, number: PoolNumber, reason: str, now: int) -> PoolNumber | None:
        """active or draining -> draining for `reason` (its change time kept when it was
        draining already); the number after it, or None when it was neither."""

    def drain_auto(self, phone_number: str, reason: str, now: int) -> bool:
        """active -> draining for `reason`."""

    def start_release(self, phone_number: str) -> bool:
        """draining -> releasing (its DELETE at Twilio under way)."""

    def undo_release(self, phone_number: str) -> None:
        """releasing -> draining (Twilio refused the DELETE)."""

    def released(self, phone_number: str, now: int) -> None: ...

    def hold_back(self, phone_number: str, reason: str, now: int) -> bool:
        """Hold an existing number back from new sessions, if it is not held already."""

    def clear_hold(self, phone_number: str) -> bool:
        """An operator fixed the cause: it takes new sessions again (if it was held)."""

    def uncount_sent(self, phone_number: str, segments: int, messages: int) -> None:
        """Take sends the limiter counted back from the number's sent counters."""

    # --- usage per day --------------------------------------------------------------
    def folded(self) -> dict[str, tuple[int, int]]:
        """Per number, how much of its sent counters (segments, messages) the days have."""

    def fold(self, phone_number: str, day: date, before: tuple[int, int] | None, totals: tuple[int, int]) -> bool:
        """Add what the number sent since `before` (its counters then; None: never folded) up
        to `totals` to `day`, and mark `totals` folded, all or nothing; False when another
        fold moved the mark first."""

    def count_received(self, day: date, received: list[Received], now: float) -> None:
        """Add each SMS received to its number's `day`, once per key whatever the retries
        (a key is remembered long enough for every retry of its count)."""

    def count_mms_sent(self, phone_number: str, day: date) -> None: ...

    def usage(self, day: date) -> dict[str, DailyUsage]: ...

    # --- the pool's own bookkeeping ---------------------------------------------------
    def take_lease(self, owner: str, now: float, until: float) -> bool:
        """The growth lease for `owner` until `until`, if nobody holds it or its lease expired."""

    def give_back_lease(self, owner: str) -> None: ...

    def autoscaler_memory(self) -> dict:
        """What the autoscaler kept from its last run ({} if nothing); ValueError if unreadable."""

    def keep_autoscaler_memory(self, memory: dict) -> None: ...


class MemoryPool:
    """PoolStore in memory, for use-case tests and simulations."""

    def __init__(self, numbers: list[PoolNumber] | None = None):
        self._lock = threading.Lock()
        self.pool = {n.phone_number: n for n in numbers or []}
        self.days: dict[tuple[date, str], DailyUsage] = {}
        self.marks: dict[str, tuple[int, int]] = {}
        self.received: set[str] = set()
        self.lease: tuple[str, float] | None = None
        self.memory: dict = {}

    def numbers(self) -> list[PoolNumber]:
        return sorted(self.pool.values(), key=lambda n: n.phone_number)

    def number(self, phone_number: str) -> PoolNumber | None:
        return self.pool.get(phone_number)

    def _change(self, phone_number: str, when: object = None, **changes: object) -> bool:
        """Change an existing number, while `when(number)` holds (if given)."""
        with self._lock:
            number = self.pool.get(phone_number)
            if number is None or (callable(when) and not when(number)):
                return False
            self.pool[phone_number] = dataclasses.replace(number, **changes)  # type: ignore[arg-type]
            return True

    def record(self, number: PoolNumber) -> None:
        with self._lock:
            kept = self.pool.get(number.phone_number)
            if kept is not None:
                moved_elsewhere = ("open_sessions", "limiter_tat", "segments_out", "messages_out", "held_back")
                number = dataclasses.replace(number, **{name: getattr(kept, name) for name in moved_elsewhere})
            self.pool[number.phone_number] = number

    def adjust_open_sessions(self, phone_number: str, delta: int, now: int) -> None:
        number = self.pool.get(phone_number)
        if number is not None:
            self._change(phone_number, open_sessions=number.open_sessions + delta, last_used_at=now)

    def correct_open_sessions(self, phone_number: str, counted: int, last_used_at: int | None, found: int) -> bool:
        def unchanged(n: PoolNumber) -> bool:
            return n.open_sessions == counted and n.last_used_at == last_used_at

        return self._change(phone_number, unchanged, open_sessions=found)

    def take_back(self, phone_number: str, now: int) -> bool:
        def drained(n: PoolNumber) -> bool:
            return n.status == DRAINING and n.drain_reason == "auto"

        return self._change(phone_number, drained, status=ACTIVE, changed_at=now, drain_reason=None)

    def drain(self, number: PoolNumber, reason: str, now: int) -> PoolNumber | None:
        changed_at = now if number.status == ACTIVE else number.changed_at
        if not self._change(
            number.phone_number,
            lambda n: n.status in (ACTIVE, DRAINING),
            status=DRAINING,
            drain_reason=reason,
            changed_at=changed_at,
        ):
            return None
        return self.pool[number.phone_number]

    def drain_auto(self, phone_number: str, reason: str, now: int) -> bool:
        return self._change(
            phone_number, lambda n: n.status == ACTIVE, status=DRAINING, drain_reason=reason, changed_at=now
        )

    def start_release(self, phone_number: str) -> bool:
        return self._change(phone_number, lambda n: n.status == DRAINING, status=RELEASING)

    def undo_release(self, phone_number: str) -> None:
        self._change(phone_number, lambda n: n.status == RELEASING, status=DRAINING)

    def released(self, phone_number: str, now: int) -> None:
        self._change(phone_number, status=RELEASED, released_at=now, changed_at=now)

    def hold_back(self, phone_number: str, reason: str, now: int) -> bool:
        return self._change(phone_number, lambda n: n.held_back is None, held_back=reason, held_at=now)

    def clear_hold(self, phone_number: str) -> bool:
        return self._change(phone_number, lambda n: n.held_back is not None, held_back=None, held_at=None)

    def uncount_sent(self, phone_number: str, segments: int, messages: int) -> None:
        number = self.pool.get(phone_number)
        if number is not None:
            self._change(
                phone_number, segments_out=number.segments_out - segments, messages_out=number.messages_out - messages
            )

    def folded(self) -> dict[str, tuple[int, int]]:
        return dict(self.marks)

    def fold(self, phone_number: str, day: date, before: tuple[int, int] | None, totals: tuple[int, int]) -> bool:
        with self._lock:
            if self.marks.get(phone_number) != before:
                return False
            was = before or (0, 0)
            usage = self.days.get((day, phone_number)) or DailyUsage(phone_number)
            self.days[(day, phone_number)] = dataclasses.replace(
                usage,
                segments_out=usage.segments_out + totals[0] - was[0],
                messages_out=usage.messages_out + totals[1] - was[1],
            )
            self.marks[phone_number] = totals
            return True

    def count_received(self, day: date, received: list[Received], now: float) -> None:
        with self._lock:
            for item in received:
                if item.key in self.received:
                    continue
                self.received.add(item.key)
                usage = self.days.get((day, item.pool_number)) or DailyUsage(item.pool_number)
                self.days[(day, item.pool_number)] = dataclasses.replace(
                    usage,
                    segments_in=usage.segments_in + (0 if item.mms else item.segments),
                    messages_in=usage.messages_in + 1,
                    mms_in=usage.mms_in + item.mms,
                )

    def count_mms_sent(self, phone_number: str, day: date) -> None:
        with self._lock:
            usage = self.days.get((day, phone_number)) or DailyUsage(phone_number)
            self.days[(day, phone_number)] = dataclasses.replace(usage, mms_out=usage.mms_out + 1)

    def usage(self, day: date) -> dict[str, DailyUsage]:
        return {phone: usage for (when, phone), usage in self.days.items() if when == day}

    def take_lease(self, owner: str, now: float, until: float) -> bool:
        with self._lock:
            if self.lease is not None and self.lease[1] >= now:
                return False
            self.lease = (owner, until)
            return True

    def give_back_lease(self, owner: str) -> None:
        with self._lock:
            if self.lease is not None and self.lease[0] == owner:
                self.lease = None

    def autoscaler_memory(self) -> dict:
        return dict(self.memory)

    def keep_autoscaler_memory(self, memory: dict) -> None:
        self.memory = dict(memory)
