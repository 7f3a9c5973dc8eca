"""The sender's timing arithmetic (pure): how long SQS hides a message given back,
when to ask so that it comes back just before its slot, and how long a retried
send backs off."""

from __future__ import annotations

import math
import random

from chalicelib.core.gcra import EPSILON

MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit
# Backoff of retried sends: base * 2^(attempt-1), capped, with jitter (half to full).
BACKOFF_BASE_RATE_LIMITED = 2.0
BACKOFF_BASE_UNKNOWN = 5.0  # gives Twilio's list time to show a message it did accept
BACKOFF_CAP_SECONDS = 120.0
# A message given back to wait comes back this much before it may go (SQS counts
# whole seconds, and a receive and a start take a while); it waits out the rest.
PICKUP_SECONDS = 0.5


# A FIFO group's next message handed back to SQS while its invocation sends the one before
# it comes back between these two leads before its slot: time for Lambda to start the next
# invocation, for its reads and the booking write (usecases/sending/batch.py: BOOKING_MARGIN_SECONDS).
RETURN_LEAD_MIN = 0.1
RETURN_LEAD_MAX = 0.25


def visibility_timeout(seconds: float, early: bool = False, pickup: float = PICKUP_SECONDS) -> int:
    """Whole seconds for SQS: rounded up when the message must not come back before
    `seconds`; rounded down, less `pickup`, when the next invocation may wait
    out the rest (it is then on time)."""
    if early:
        return min(MAX_VISIBILITY_SECONDS, max(0, math.floor(seconds - pickup)))
    return min(MAX_VISIBILITY_SECONDS, max(0, math.ceil(seconds - EPSILON)))


def hand_back_at(now: float, last: float, due: float) -> tuple[float, int] | None:
    """When to hide a message handed back, and for how many whole seconds, so that it comes
    back between RETURN_LEAD_MAX and RETURN_LEAD_MIN before `due`, asking at a moment in
    [now, last]; None when no moment there does.

    SQS counts whole seconds from the request, so the request's moment sets the fraction.
    The message comes back RETURN_LEAD_MAX early when a moment in the window gives that;
    else as little earlier as the window allows (asking at once). Each invocation starts a
    little after its message came back, so asking at once brings the next one back a little
    later than this one: the lead shrinks by that much a send until none is left in the
    window, and the caller hands back after its send instead (visibility_timeout with
    pickup RETURN_LEAD_MIN), which starts the round again from nearly a second early."""
    target = due - RETURN_LEAD_MAX
    seconds = math.floor(target - now)
    if seconds >= 1 and target - seconds <= last:
        return target - seconds, seconds
    seconds += 1  # asked now: back after the target, before the slot if the lead allows
    if seconds >= 1 and now + seconds <= due - RETURN_LEAD_MIN:
        return now, min(MAX_VISIBILITY_SECONDS, seconds)
    return None


def receive_count(record: dict[str, object]) -> int:
    """ApproximateReceiveCount of an SQS record (1 when absent or odd)."""
    attributes = record.get("attributes")
    try:
        return int(attributes.get("ApproximateReceiveCount", 1) if isinstance(attributes, dict) else 1)
    except (TypeError, ValueError):
        return 1


def backoff(attempt: int, base: float) -> float:
    """Seconds before the `attempt`th retry: base * 2^(attempt-1), capped, with jitter."""
    ceiling = min(BACKOFF_CAP_SECONDS, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)
