"""Send-rate limits per pool number (and optionally per campaign): GCRA.

The pure core is `decide`, the generic cell rate algorithm in its "virtual
scheduling" form, as redis-cell uses it: each key keeps one number, its
theoretical arrival time (TAT, epoch seconds). A send is allowed when
`now >= TAT - burst`; it moves the TAT to `max(TAT, now) + cost`, where cost
is segments / rate. Whether a send is allowed depends only on the TAT, not on
the send's own cost, so the sender can ask before it knows the segments (it
learns them from the claim) and charge the cost once it has them.

Booking ahead: the sender may book a slot up to `lead` seconds before it is
due, and books it at least `margin` ahead (the conditional writes take a few
milliseconds), then sleeps until the slot and sends. So the moment a request leaves is exactly the
time the TAT was charged for, and the writes cost no idle time on the number.

State lives in DynamoDB: `limiter_tat` on the pool number's item (placement
reads it as the number's backlog), and for a campaign on an item in the
numbers table's LIMITS partition. Every charge is a conditional write on the
TAT that was read, so two senders can never both spend the same slot: the
loser re-reads and decides again. A `Limiter` caches the state it has read or
written for the life of one invocation: a FIFO group (one pool number) is
handled by one consumer at a time, so for consecutive messages of a group the
cache is normally exact, and when it is not (another writer, a stale read)
the condition fails and the cost is one more read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from chalicelib.config import settings
from chalicelib.db import condition_failed
from chalicelib.logs import logger, mask
from chalicelib.models import LIMITS, POOL, PoolNumber

# Float sums of costs such as 1/3 drift by ulps; a send this close to its slot is on time.
EPSILON = 1e-6
# How often a booking re-reads and retries after losing a race before giving up for now.
MAX_CHARGE_TRIES = 5


@dataclass(frozen=True)
class Decision:
    allowed: bool
    new_tat: float  # the TAT to store when allowed; the unchanged TAT when not
    wait_seconds: float  # 0 when allowed, else how long until the key allows a send


def decide(tat: float, now: float, cost_seconds: float, burst_seconds: float = 0.0) -> Decision:
    """GCRA: may a send costing `cost_seconds` go at `now` on a key whose TAT is `tat`?"""
    if cost_seconds < 0 or burst_seconds < 0:
        raise ValueError("cost and burst must not be negative")
    allow_at = tat - burst_seconds
    if now + EPSILON < allow_at:
        return Decision(False, tat, allow_at - now)
    return Decision(True, max(tat, now) + cost_seconds, 0.0)


def cost_seconds(segments: int, segments_per_second: float) -> float:
    return max(1, int(segments or 1)) / segments_per_second


@dataclass(frozen=True)
class Booking:
    at: float | None  # when the send may leave (now or within the lead); None: not booked
    wait_seconds: float  # when not booked: until it may be


@dataclass(frozen=True)
class LimitSettings:
    burst_seconds: float
    campaign_id: str | None
    campaign_segments_per_second: float | None

    @classmethod
    def from_environment(cls) -> "LimitSettings":
        env = os.environ
        campaign_rate = float(env.get("CAMPAIGN_SEGMENTS_PER_SECOND") or 0)
        return cls(
            burst_seconds=float(env.get("LIMITER_BURST_SECONDS") or 0),
            campaign_id=(env.get("CAMPAIGN_ID") or "default") if campaign_rate > 0 else None,
            campaign_segments_per_second=campaign_rate if campaign_rate > 0 else None,
        )


@dataclass
class _KeyState:
    hash_key: str
    range_key: str
    rate: float  # segments per second
    tat: float
    exists: bool  # a pool number's item exists (a missing campaign item is created on first charge)


def campaign_key(campaign_id: str) -> str:
    return f"campaign#{campaign_id}"


class Limiter:
    """The limits one invocation applies: a pool number's, and the campaign's on top."""

    def __init__(self, limits: LimitSettings | None = None, lead: float = 0.0, margin: float = 0.0):
        self.limits = limits or LimitSettings.from_environment()
        self.lead = lead  # how far ahead of its slot a send may be booked
        self.margin = min(margin, lead)  # how far ahead it is booked at least: time for the writes
        self._states: dict[tuple[str, str], _KeyState] = {}
        self.reads = 0
        self.conflicts = 0

    def ready_in(self, number: str, now: float) -> float:
        """Seconds until a send from `number` may be booked (its slot no more than
        `lead` ahead); 0 when it may be booked now."""
        return max(0.0, self._earliest(number) - self.lead - now)

    def reserve(self, number: str, segments: int, now: float, horizon: float | None = None) -> Booking:
        """Book the slot of a send of `segments` from `number`: the earliest time
        every key allows, if it is within `horizon` (default: `lead`) of now. The caller sends at
        `Booking.at` (sleeping until then), so the time a request leaves is the
        time the limiter charged, whatever the writes before it took.

        The campaign, shared by every number and so contended, is charged first;
        a number refusing after it leaves a campaign slot unused, never an excess."""
        ahead = max(self.lead, horizon or 0.0)
        for _ in range(MAX_CHARGE_TRIES):
            keys = self._keys(number)
            at = max(now + self.margin, self._earliest(number))
            if at - now > ahead + EPSILON:
                return Booking(None, at - now - self.lead)
            if all(self._charge(state, segments, at) for state in reversed(keys)):
                return Booking(at, 0.0)
        # Lost every race: come back shortly rather than spin here.
        return Booking(None, self.lead or EPSILON)

    def settle(self, number: str, booked_at: float, sent_at: float) -> None:
        """A send that left later than its slot occupies the number that much
        longer: move the TATs on by the delay (rare: the writes before it took
        longer than `lead`)."""
        late = sent_at - booked_at
        if late <= EPSILON:
            return
        for state in self._keys(number):
            if not self._write(state, state.tat + late):
                logger.warning("a late send could not move its limit on", extra={"late_seconds": late})

    def _earliest(self, number: str) -> float:
        return max(state.tat - self.limits.burst_seconds for state in self._keys(number))

    def _charge(self, state: _KeyState, segments: int, at: float) -> bool:
        decision = decide(state.tat, at, cost_seconds(segments, state.rate), self.limits.burst_seconds)
        if decision.allowed and self._write(state, decision.new_tat):
            return True
        self.conflicts += 1
        self._state(state.hash_key, state.range_key, refresh=True)
        return False

    def _keys(self, number: str) -> list[_KeyState]:
        keys = [self._state(POOL, number)]
        if self.limits.campaign_id:
            keys.append(self._state(LIMITS, campaign_key(self.limits.campaign_id)))
        return keys

    def _state(self, hash_key: str, range_key: str, refresh: bool = False) -> _KeyState:
        known = self._states.get((hash_key, range_key))
        if known is not None and not refresh:
            return known
        state = self._read(hash_key, range_key)
        self._states[(hash_key, range_key)] = state
        return state

    def _read(self, hash_key: str, range_key: str) -> _KeyState:
        self.reads += 1
        item = None
        try:
            item = PoolNumber.get(
                hash_key, range_key, consistent_read=True, attributes_to_get=["limiter_tat", "segments_per_second"]
            )
        except PoolNumber.DoesNotExist:
            pass
        if hash_key == LIMITS:
            rate = self.limits.campaign_segments_per_second or 1.0
        else:
            rate = float((item.segments_per_second if item else None) or settings().default_segments_per_second)
            if item is None:
                logger.warning("sending from a number not in the pool; its limit is kept in memory only",
                               extra={"pool_number": mask(range_key)})
        return _KeyState(
            hash_key=hash_key,
            range_key=range_key,
            rate=rate,
            tat=float((item.limiter_tat if item else 0) or 0),
            exists=item is not None or hash_key == LIMITS,
        )

    def _write(self, state: _KeyState, new_tat: float) -> bool:
        """Store `new_tat` if the key still holds the TAT we decided on."""
        if not state.exists:
            state.tat = new_tat
            return True
        item = PoolNumber(state.hash_key, state.range_key)
        condition = PoolNumber.limiter_tat == state.tat
        if not state.tat:
            # Never charged: the attribute may be missing (PynamoDB reads its default, 0).
            condition = condition | PoolNumber.limiter_tat.does_not_exist()
        actions = [PoolNumber.limiter_tat.set(new_tat)]
        if state.hash_key == POOL:
            condition = condition & PoolNumber.phone_number.exists()
        else:
            actions.append(PoolNumber.segments_per_second.set(state.rate))
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        state.tat = new_tat
        return True

