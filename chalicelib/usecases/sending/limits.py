"""Steps 1 and 4 of the sender (batch.py): send-rate limits per pool number (and
optionally per campaign), over GCRA. The batch asks a `Limiter` only what its public
methods answer (ready_in, earliest, cost, books_ahead, reserve -> Booking, settle,
booked_slots, release, flush_late), so another limiter with them (a campaign's that
leases runs of slots, limits per class of sender) takes its place without the batch
changing.

The arithmetic is core/gcra.py; the state is in a LimitStore
(store/limit_states.py, passed in): every charge is a conditional write on the
TAT that was read, so two senders can never both spend the same slot: the
loser re-reads and decides again. A `Limiter` caches the state it has read or
written for the life of one invocation: a FIFO group (one pool number) is
handled by one consumer at a time, so for consecutive messages of a group the
cache is normally exact, and when it is not (another writer, a stale read)
the condition fails and the cost is one more read.

Booking ahead: the sender may book a slot up to `lead` seconds before it is
due, and books it at least `margin` ahead (the conditional writes take a few
milliseconds), then sleeps until the slot and sends. So the moment a request
leaves is exactly the time the TAT was charged for, and the writes cost no idle
time on the number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.adapters.logs import logger, mask
from chalicelib.config import LimitSettings
from chalicelib.core.gcra import EPSILON, cost_seconds, decide
from chalicelib.store.limit_states import CAMPAIGN, NUMBER, Booked, LimitKey, LimitStore

# How often a booking re-reads and retries after losing a race before giving up for now.
MAX_CHARGE_TRIES = 5
# A send this little late (a sleep's overshoot, a slow write: nearly every send by a little)
# moves the TAT the invocation knows, and so its next charge, without a write of its own.
SETTLE_WRITE_SECONDS = 0.02
# What is still unwritten at the end of an invocation is written once it adds up to this: the
# next invocation (with a number's messages handed back, the next send) knows only what is
# written, and may send that much early. A sleep's overshoot (a fraction of a millisecond) is
# left; a message that came back after its slot had passed, however little, is not.
FLUSH_LATE_SECONDS = 0.001


@dataclass(frozen=True)
class Booking:
    at: float | None  # when the send may leave (now or within the lead); None: not booked
    wait_seconds: float  # when not booked: until it may be
    then: tuple[float, ...] = ()  # the slots booked in the same write for the sends after it


@dataclass
class _KeyState:
    key: LimitKey
    rate: float  # segments per second
    tat: float  # what this invocation decides on: the stored TAT, plus lateness not written yet
    exists: bool  # a pool number's item exists (a missing campaign item is created on first charge)
    stored: float = 0.0  # the TAT the store holds, as last read or written (the writes' condition)
    booked: Booked = field(default_factory=dict)  # a number's slots booked ahead, relative to its TAT


def campaign_key(campaign_id: str) -> str:
    return f"campaign#{campaign_id}"


class Limiter:
    """The limits one invocation applies: a pool number's, and the campaign's on top."""

    def __init__(
        self,
        store: LimitStore,
        limits: LimitSettings,
        default_segments_per_second: float,
        lead: float = 0.0,
        margin: float = 0.0,
    ):
        self.store = store
        self.limits = limits
        self.default_segments_per_second = default_segments_per_second
        self.lead = lead  # how far ahead of its slot a send may be booked
        self.margin = min(margin, lead)  # how far ahead it is booked at least: time for the writes
        self._states: dict[LimitKey, _KeyState] = {}
        self.reads = 0
        self.conflicts = 0

    def ready_in(self, number: str, now: float) -> float:
        """Seconds until a send from `number` may be booked (its slot no more than
        `lead` ahead); 0 when it may be booked now."""
        return max(0.0, self.earliest(number) - self.lead - now)

    def reserve(
        self,
        number: str,
        segments: int,
        now: float,
        horizon: float | None = None,
        count: bool = True,
        then: tuple[int, ...] = (),
        until: float = 0.0,
        then_ids: tuple[str, ...] = (),
    ) -> Booking:
        """Book the slot of a send of `segments` from `number`: the earliest time
        every key allows, if it is within `horizon` (default: `lead`) of now. The caller sends at
        `Booking.at` (sleeping until then), so the time a request leaves is the
        time the limiter charged, whatever the writes before it took.

        The campaign, shared by every number and so contended, is charged first;
        a number refusing after it leaves a campaign slot unused, never an excess.

        With `count`, the number's write also adds the send to its cumulative sent
        counters (the usage report's source), so counting costs no write of its own.

        `then`: the segments of the sends that follow on the number (its FIFO group's next
        messages); each whose slot, back to back after this one, is no later than `until` is
        booked (and counted) in the same write, its slot in `Booking.then`. A slot booked and
        not used leaves the number idle that long, never sends closer. Only without a
        campaign or burst (a campaign's slots are shared by every number). With `then_ids`
        (their message ids) the write stores them on the number (`booked_slots`), replacing
        what its last charge stored, for the invocations that will send them."""
        ahead = max(self.lead, horizon or 0.0)
        if not self.books_ahead:
            then = ()
        for _ in range(MAX_CHARGE_TRIES):
            keys = self._keys(number)
            at = max(now + self.margin, self.earliest(number))
            if at - now > ahead + EPSILON:
                return Booking(None, at - now - self.lead)
            slots = self._slots(keys[0], at, segments, then, until)
            if all(self._charge(state, segments, at, count, slots, then_ids) for state in reversed(keys)):
                return Booking(at, 0.0, tuple(slot for slot, _ in slots))
        # Lost every race: come back shortly rather than spin here.
        return Booking(None, self.lead or EPSILON)

    def settle(self, number: str, booked_at: float, sent_at: float, missed: bool = False) -> None:
        """A send that left later than its slot occupies the number that much
        longer: move the TATs on by the delay. A delay under SETTLE_WRITE_SECONDS
        (nearly every send is a little late) moves only what this invocation knows,
        so it is written with the next charge; a longer one (rare: the writes before
        it took longer than `lead`), or one whose slot had `missed` before the send
        (a slot booked ahead, its message back too late), is written at once."""
        late = sent_at - booked_at
        if late <= EPSILON:
            return
        for state in self._keys(number):
            if late < SETTLE_WRITE_SECONDS and not missed:
                state.tat += late
            elif not self._write(state, state.tat + late):
                logger.warning("a late send could not move its limit on", extra={"late_seconds": late})

    @property
    def books_ahead(self) -> bool:
        """A number's slots are its own to book ahead: no campaign shares them, no burst."""
        return not (self.limits.campaign_id or self.limits.burst_seconds)

    def cost(self, number: str, segments: int) -> float:
        """Seconds of the number's rate a send of `segments` takes."""
        return cost_seconds(segments, self._keys(number)[0].rate)

    def earliest(self, number: str) -> float:
        """When the next send from `number` may go, as far as this invocation knows."""
        return max(state.tat - self.limits.burst_seconds for state in self._keys(number))

    @staticmethod
    def _slots(state: _KeyState, at: float, segments: int, then: tuple[int, ...], until: float) -> list:
        """(slot, segments) of the sends after the first, back to back, up to `until`."""
        slots, slot = [], at + cost_seconds(segments, state.rate)
        for following in then:
            if slot > until + EPSILON:
                break
            slots.append((slot, max(1, int(following or 1))))
            slot += cost_seconds(following, state.rate)
        return slots

    def _charge(
        self,
        state: _KeyState,
        segments: int,
        at: float,
        count: bool = False,
        slots: Sequence[tuple[float, int]] = (),
        ids: Sequence[str] = (),
    ) -> bool:
        number = state.key.kind == NUMBER  # a campaign's key books no slots and counts nothing
        cost = cost_seconds(segments, state.rate)
        if number:
            cost += sum(cost_seconds(s, state.rate) for _, s in slots)
        decision = decide(state.tat, at, cost, self.limits.burst_seconds)
        booked, sent, sends = None, 0, 0
        if number:
            booked = {i: (decision.new_tat - slot, s) for i, (slot, s) in zip(ids, slots, strict=False)}
            # Counted: the send unless told not to (a retry of one that may have gone), the slots after it.
            sent, sends = (max(1, int(segments or 1)), 1) if count else (0, 0)
            sent, sends = sent + sum(s for _, s in slots), sends + len(slots)
        if decision.allowed and self._write(state, decision.new_tat, sent, sends, booked):
            return True
        self.conflicts += 1
        self._state(state.key, refresh=True)
        return False

    def _keys(self, number: str) -> list[_KeyState]:
        keys = [self._state(LimitKey(NUMBER, number))]
        if self.limits.campaign_id:
            keys.append(self._state(LimitKey(CAMPAIGN, campaign_key(self.limits.campaign_id))))
        return keys

    def _state(self, key: LimitKey, refresh: bool = False) -> _KeyState:
        known = self._states.get(key)
        if known is not None and not refresh:
            return known
        state = self._read(key)
        self._states[key] = state
        return state

    def _read(self, key: LimitKey) -> _KeyState:
        self.reads += 1
        stored = self.store.read(key)
        if key.kind == CAMPAIGN:
            rate = self.limits.campaign_segments_per_second or 1.0
        else:
            rate = float((stored.segments_per_second if stored else None) or self.default_segments_per_second)
            if stored is None:
                logger.warning(
                    "sending from a number not in the pool; its limit is kept in memory only",
                    extra={"pool_number": mask(key.name)},
                )
        tat = stored.tat if stored else 0.0
        booked = dict(stored.booked) if stored else {}
        return _KeyState(key=key, rate=rate, tat=tat, exists=stored is not None, stored=tat, booked=booked)

    def flush_late(self) -> None:
        """At the end of an invocation: write what small delays moved the TATs on since their
        last write (settle), when no later charge carried it (a slot booked ahead is used
        without a write) and it adds up to FLUSH_LATE_SECONDS; less is left unwritten, so
        the next invocation's first send may come that much early."""
        for state in self._states.values():
            if state.tat >= state.stored + FLUSH_LATE_SECONDS and not self._write(state, state.tat):
                logger.warning(
                    "a late send could not move its limit on", extra={"late_seconds": state.tat - state.stored}
                )

    def _write(
        self, state: _KeyState, new_tat: float, sent: int = 0, messages: int = 1, booked: Booked | None = None
    ) -> bool:
        """Store `new_tat` if the key still holds the TAT it held when we read or wrote it."""
        if state.exists and not self.store.write(state.key, state.stored, new_tat, state.rate, sent, messages, booked):
            return False
        state.tat = state.stored = new_tat
        if booked is not None:
            state.booked = dict(booked)
        return True

    def booked_slots(self, number: str) -> dict[str, tuple[float, int]]:
        """The slots the number's last charge booked ahead: message id -> (slot, segments).
        They move on with the TAT: a late send this invocation has not written yet too."""
        state = self._keys(number)[0]
        return {message_id: (state.tat - offset, segments) for message_id, (offset, segments) in state.booked.items()}

    def release(self, number: str, slots: dict[str, int]) -> bool:
        """Take back slots booked ahead and not used (message id -> segments): from the number's
        slots and its sent counters, in one write; each one once, whoever else tries. False
        when some were not (no longer) among the number's slots booked ahead."""
        state = self._keys(number)[0]
        if not state.exists or not slots:
            return False
        released = self.store.release(number, slots)
        if not released and len(slots) > 1:
            for message_id, segments in slots.items():  # some were taken back already
                self.store.release(number, {message_id: segments})
        for message_id in slots:
            state.booked.pop(message_id, None)
        return released
