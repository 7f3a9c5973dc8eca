"""How long an event the chat backend does not take waits on the delivery queue (pure).

A failed delivery is hidden for `retry_delay(attempt)`: 2^attempt seconds, capped at
`CAP_SECONDS`, less up to a fifth of jitter. SQS dead-letters by receive count, so the
queue's maxReceiveCount (`max_receives`) turns the retention into receives: enough that
the wait lasts most of the retention, few enough that the last receive comes before SQS
deletes the event (deletion would lose it; the dead-letter queue keeps it for
`make replay-dlq`). That needs a floor under each delay, hence jitter over the top fifth
only, not full jitter: full jitter's delays may all be near 0 and the receives run out
in minutes. SQS allows at most 1,000 receives, and the dead-letter queue (14 days, SQS's
most) counts an event's age from its first enqueue, so the retention is 4 to 10 days
(`RETENTION_DAYS`): 10 days leave 4 in the dead-letter queue."""

from __future__ import annotations

import math
import random

CAP_SECONDS = 900  # 15 minutes: once the backend is back, every waiting event is retried within this
JITTER = 0.2  # a delay is drawn from the top fifth of its ceiling
# What one receive may add besides the delay: the handler runs before it hides the event
# (at most the delivery function's timeout, infra/resources.FUNCTION_TIMEOUTS; a handler that
# times out leaves the queue's 360 s visibility, under the cap) and Lambda's poll of it.
HANDLER_SECONDS = 60
POLL_SECONDS = 20
MARGIN_SECONDS = 3600  # the last receive comes at least this long before SQS would delete the event
SQS_MAX_RECEIVES = 1000  # the most a redrive policy's maxReceiveCount may be
RETENTION_DAYS = range(4, 11)  # the template's DeliveryRetentionDays may be any of these
DEFAULT_RETENTION_DAYS = 4  # SQS's own default; a chat event days late is of little use, and the DLQ keeps it 10 more


def ceiling(attempt: int) -> int:
    """The longest delay after the `attempt`-th failed receive."""
    return min(CAP_SECONDS, 1 << max(1, min(attempt, 20)))  # 2^attempt


def retry_delay(attempt: int, rng: random.Random) -> int:
    """Seconds to hide an event after its `attempt`-th failed receive: at least a second,
    within the top fifth of `ceiling(attempt)`."""
    top = ceiling(attempt)
    return max(1, math.ceil(rng.uniform((1 - JITTER) * top, top)))


def longest_wait(receives: int) -> int:
    """The latest the `receives`+1-th receive (which dead-letters) can come after the first."""
    return sum(ceiling(a) + HANDLER_SECONDS + POLL_SECONDS for a in range(1, receives + 1))


def shortest_wait(receives: int) -> int:
    """The earliest the `receives`+1-th receive can come: every delay at its floor."""
    return sum(max(1, math.ceil((1 - JITTER) * ceiling(a))) for a in range(1, receives + 1))


def max_receives(retention_seconds: int) -> int:
    """The delivery queue's maxReceiveCount for a retention: the most receives (at most
    SQS's 1,000) whose longest wait still ends `MARGIN_SECONDS` before the retention does."""
    budget = retention_seconds - MARGIN_SECONDS
    receives, wait = 0, 0
    while receives < SQS_MAX_RECEIVES:
        wait += ceiling(receives + 1) + HANDLER_SECONDS + POLL_SECONDS
        if wait > budget:
            break
        receives += 1
    return max(1, receives)
