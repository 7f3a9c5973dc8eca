"""What becomes of a message of the batch in this invocation (the steps answer it; the
batch acts on it): done with it, wait for its limit, or give it back to be retried."""

from __future__ import annotations

from dataclasses import dataclass

DONE, WAIT, RETRY = "done", "wait", "retry"


@dataclass(frozen=True)
class Outcome:
    kind: str  # DONE, WAIT (the limiter refused after all), RETRY (give back with backoff)
    seconds: float = 0.0
    reason: str = ""
    sent: bool = False  # DONE after a request to Twilio (its slot used), whatever the answer
    uncount: bool = False  # the send was counted when booked but did not go: take the count back
