"""What the sender reads from an outbound queue message (Job: the message id, the
segments it was submitted with), and the slots it booked ahead for a FIFO group's
next messages in the limiter's write that booked the message before them
(usecases/rate_limits.py: `then`), so a number's backlog costs one limiter write
per batch rather than one per message.

A slot is counted as sent when booked (the number's cumulative counters); one that
is not used (its message cancelled, given back, not the size it was booked for)
leaves the number idle that long and is taken back from the counters at the end of
the batch."""

from __future__ import annotations

import json
from dataclasses import dataclass

from chalicelib.usecases import pool_usage
from chalicelib.usecases.rate_limits import Booking


@dataclass(frozen=True)
class Job:
    message_id: str
    secret_text: str | None = None
    segments: int | None = None  # as submitted (older bodies have none)

    @classmethod
    def parse(cls, body: str) -> Job:
        data = json.loads(body)
        segments = data.get("segments")
        return cls(
            message_id=data["message_id"],
            secret_text=data.get("secret_text"),
            segments=segments if isinstance(segments, int) and segments > 0 else None,
        )


class SlotsAhead:
    def __init__(self):
        self._slots: dict[str, list] = {}  # message id -> [slot, pool number, segments]

    def slot_of(self, message_id: str) -> float | None:
        slot = self._slots.get(message_id)
        return slot[0] if slot is not None else None

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._slots

    def take(self, message_id: str, segments: int, reconciling: bool) -> Booking | None:
        """The message's slot, if one was booked for it and it fits the send."""
        ahead = self._slots.get(message_id)
        if ahead is None or max(1, int(segments or 1)) > ahead[2]:
            return None  # none, or not this send's size (left unused)
        del self._slots[message_id]
        if reconciling:  # the attempt that may have gone counted it already
            pool_usage.uncount_sent(ahead[1], ahead[2])
        return Booking(ahead[0], 0.0)

    def keep(self, message_id: str, slot: float, number: str, segments: int) -> None:
        self._slots[message_id] = [slot, number, max(1, int(segments or 1))]

    def shift(self, number: str, seconds: float) -> None:
        """A send left `seconds` late: the number's later slots move on with it."""
        for slot in self._slots.values():
            if slot[1] == number:
                slot[0] += seconds

    def release(self) -> None:
        """Take the slots not used back from the sent counters, one write per number."""
        unused: dict[str, list[int]] = {}
        for _, number, segments in self._slots.values():
            totals = unused.setdefault(number, [0, 0])
            totals[0] += segments
            totals[1] += 1
        self._slots.clear()
        for number, (segments, count) in unused.items():
            pool_usage.uncount_sent(number, segments, count)
