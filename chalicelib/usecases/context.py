"""What the use cases work with, passed in rather than patched: the clock (and
its sleep), the Twilio gateway, and the store of the send limits.

app.py builds the production context once; tests and simulations build their
own (a ManualClock, a gateway over a fake HTTP client, an in-memory limit store).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.adapters.clock import Clock, SystemClock
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.store.limit_states import DynamoLimitStore, LimitStore


@dataclass
class Context:
    clock: Clock = field(default_factory=SystemClock)
    twilio: TwilioGateway = field(default_factory=TwilioGateway)
    limit_store: LimitStore = field(default_factory=DynamoLimitStore)

    def now(self) -> float:
        return self.clock.now()
