"""Step 4: a send's slot, and the slots booked ahead for its FIFO group's next messages in
the same limiter write (limits.py: `then`), so a number's backlog costs one limiter write
per batch rather than one per message. The write stores them on the number
(`Limiter.booked_slots`), so the invocations its messages are handed back to
(hand_back.py) send them on those slots without a write of their own.

A slot is counted as sent when booked (the number's cumulative counters); one that
is not used (its message cancelled, given back to retry, not the size it was booked
for) leaves the number idle that long and is taken back, once, at the end of the
batch; one whose message went back to the queue to be sent on it is kept."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.outbound_job import OutboundJob
from chalicelib.store.messages import Message
from chalicelib.usecases import pool_usage
from chalicelib.usecases.context import Context
from chalicelib.usecases.sending.limits import Booking, Limiter


@dataclass
class Slot:
    """A slot booked ahead for a message (moved on when a send before it leaves late)."""

    at: float
    number: str
    segments: int
    loaded: bool  # booked by an earlier invocation (read with the number's limiter state)


@dataclass(frozen=True)
class Window:
    """When a booking is made and how far it may reach: the send's own slot within `horizon`
    of `now`, the following ones up to `until`."""

    now: float
    horizon: float
    until: float


class SlotsAhead:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._slots: dict[str, Slot] = {}  # message id -> its slot
        self._loaded_taken: set[str] = set()
        self._loaded_groups: set[str] = set()

    def slot_of(self, message_id: str) -> float | None:
        slot = self._slots.get(message_id)
        return slot.at if slot is not None else None

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._slots

    def loaded(self, group: str) -> bool:
        """Whether the group's slots booked ahead were looked up in this invocation."""
        return group in self._loaded_groups

    def load(self, group: str, message_ids: list[str], booked: dict[str, tuple[float, int]]) -> None:
        """The slots an earlier invocation booked ahead (`booked`: the number's, message id ->
        (slot, segments)) for the group's messages here, in order from the first (or the
        second: the first may be the one that booked them, back) on; once per invocation."""
        self._loaded_groups.add(group)
        for index, message_id in enumerate(message_ids):
            if index == 0 and message_id not in booked:
                continue
            if message_id not in booked or message_id in self._slots:
                break
            at, segments = booked[message_id]
            self.keep(message_id, at, group, segments, loaded=True)

    def take(self, message_id: str, segments: int, reconciling: bool) -> Booking | None:
        """The message's slot, if one was booked for it and it fits the send."""
        ahead = self._slots.get(message_id)
        if ahead is None or max(1, int(segments or 1)) > ahead.segments:
            return None  # none, or not this send's size (left unused)
        del self._slots[message_id]
        if ahead.loaded:
            self._loaded_taken.add(message_id)
        if reconciling and not ahead.loaded:  # the attempt that may have gone counted it already
            pool_usage.uncount_sent(self.ctx, ahead.number, ahead.segments)  # (a slot booked earlier: that attempt's)
        return Booking(ahead.at, 0.0)

    def keep(self, message_id: str, at: float, number: str, segments: int, loaded: bool = False) -> None:
        """Remember a slot booked ahead: by this invocation, or `loaded` from the number's item."""
        self._slots[message_id] = Slot(at, number, max(1, int(segments or 1)), loaded)

    def was_loaded(self, message_id: str) -> bool:
        """Whether the slot the message took was booked by an earlier invocation."""
        return message_id in self._loaded_taken

    def drop(self, number: str) -> dict[str, int]:
        """Forget the number's slots; what they were (message id -> segments)."""
        dropped = {message_id: slot.segments for message_id, slot in self._slots.items() if slot.number == number}
        for message_id in dropped:
            del self._slots[message_id]
        return dropped

    def forget(self, message_id: str) -> None:
        """Not this invocation's to use or take back (an earlier attempt used it)."""
        self._slots.pop(message_id, None)

    def shift(self, number: str, seconds: float) -> None:
        """A send left `seconds` late: the number's later slots move on with it."""
        for slot in self._slots.values():
            if slot.number == number:
                slot.at += seconds

    def unused(self, keep: set[str]) -> dict[str, dict[str, int]]:
        """The slots not used, but those of the messages in `keep` (back on the queue to be
        sent on them), by number: message id -> segments. Forgets them all."""
        unused: dict[str, dict[str, int]] = {}
        for message_id, slot in self._slots.items():
            if message_id not in keep:
                unused.setdefault(slot.number, {})[message_id] = slot.segments
        self._slots.clear()
        return unused


def book(
    limiter: Limiter,
    slots: SlotsAhead,
    message: Message,
    reconciling: bool,
    following: list[OutboundJob],
    window: Window,
) -> Booking:
    """The send's slot: booked ahead with the message before it, or now, with the slots of
    the `following` messages of its group (in order) that the window reaches."""
    ahead = slots.take(message.message_id, message.segments, reconciling)
    if ahead is not None:
        return ahead
    # Slots booked for the messages after this one come before the one it books now:
    # taken back, and booked again after it.
    limiter.release(message.from_number, slots.drop(message.from_number))
    then: list[OutboundJob] = []
    for job in following:
        if job.segments is None or job.message_id in slots:
            break
        then.append(job)
    # Counted in the number's usage, unless a retry of a send that may have gone (counted).
    booking = limiter.reserve(
        message.from_number,
        message.segments,
        window.now,
        window.horizon,
        not reconciling,
        tuple(job.segments or 1 for job in then),
        window.until,
        tuple(job.message_id for job in then),
    )
    for job, at in zip(then, booking.then, strict=False):
        slots.keep(job.message_id, at, message.from_number, job.segments or 1)
    return booking
