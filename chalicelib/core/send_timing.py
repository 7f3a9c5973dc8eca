"""The sender's timing arithmetic (pure): how long SQS hides a message given back,
and how long a retried send backs off."""

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


def visibility_timeout(seconds: float, early: bool = False) -> int:
    """Whole seconds for SQS: rounded up when the message must not come back before
    `seconds`; rounded down, less PICKUP_SECONDS, when the next invocation may wait
    out the rest (it is then on time)."""
    if early:
        return min(MAX_VISIBILITY_SECONDS, max(0, math.floor(seconds - PICKUP_SECONDS)))
    return min(MAX_VISIBILITY_SECONDS, max(0, math.ceil(seconds - EPSILON)))


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
