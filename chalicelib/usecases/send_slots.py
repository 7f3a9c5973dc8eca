"""The slots booked ahead for a FIFO group's
next messages in the limiter's write that booked the message before them
(usecases/rate_limits.py: `then`), so a number's backlog costs one limiter write
per batch rather than one per message. The write stores them on the number
(`Limiter.booked_slots`), so the invocations its messages are handed back to
(usecases/give_backs.py) send them on those slots without a write of their own.

A slot is counted as sent when booked (the number's cumulative counters); one that
is not used (its message cancelled, given back to retry, not the size it was booked
for) leaves the number idle that long and is taken back, once, at the end of the
batch; one whose message went back to the queue to be sent on it is kept."""

from __future__ import annotations

from chalicelib.usecases import pool_usage
from chalicelib.usecases.context import Context
from chalicelib.usecases.rate_limits import Booking


class SlotsAhead:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._slots: dict[str, list] = {}  # message id -> [slot, pool number, segments, loaded]
        self._loaded_taken: set[str] = set()

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
        if ahead[3]:
            self._loaded_taken.add(message_id)
        if reconciling and not ahead[3]:  # the attempt that may have gone counted it already
            pool_usage.uncount_sent(self.ctx, ahead[1], ahead[2])  # (a slot booked earlier: that attempt's)
        return Booking(ahead[0], 0.0)

    def keep(self, message_id: str, slot: float, number: str, segments: int, loaded: bool = False) -> None:
        """Remember a slot booked ahead: by this invocation, or `loaded` from the number's item."""
        self._slots[message_id] = [slot, number, max(1, int(segments or 1)), loaded]

    def was_loaded(self, message_id: str) -> bool:
        """Whether the slot the message took was booked by an earlier invocation."""
        return message_id in self._loaded_taken

    def drop(self, number: str) -> dict[str, int]:
        """Forget the number's slots; what they were (message id -> segments)."""
        dropped = {message_id: slot[2] for message_id, slot in self._slots.items() if slot[1] == number}
        for message_id in dropped:
            del self._slots[message_id]
        return dropped

    def forget(self, message_id: str) -> None:
        """Not this invocation's to use or take back (an earlier attempt used it)."""
        self._slots.pop(message_id, None)

    def shift(self, number: str, seconds: float) -> None:
        """A send left `seconds` late: the number's later slots move on with it."""
        for slot in self._slots.values():
            if slot[1] == number:
                slot[0] += seconds

    def unused(self, keep: set[str]) -> dict[str, dict[str, int]]:
        """The slots not used, but those of the messages in `keep` (back on the queue to be
        sent on them), by number: message id -> segments. Forgets them all."""
        unused: dict[str, dict[str, int]] = {}
        for message_id, (_, number, segments, _) in self._slots.items():
            if message_id not in keep:
                unused.setdefault(number, {})[message_id] = segments
        self._slots.clear()
        return unused
