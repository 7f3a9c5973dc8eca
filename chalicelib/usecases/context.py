"""What the use cases work with, passed in rather than patched: one Context carries
every dependency a use case touches.

- `settings`: the typed snapshot of the configuration (config.load()), taken again at
  the start of each invocation (`refresh`, called by app.py);
- `clock`: now() and sleep() (SystemClock; ManualClock in tests and simulations);
- `twilio`: the Twilio gateway; `secrets`: secrets from the environment or SSM, cached
  by the context's clock;
- `queues`: the SQS queues; `metrics`: figures through a sink (EMF in production);
- `media_store`: the media bucket; `chat_webhook`: the chat backend's webhook;
- `service_cache`: what the process remembers of the Messaging Service;
- `store`: the repositories (store/repositories.py): phones, verification counters,
  sessions, messages, the pool, the limiter's state, and the routing reads across them.

chalicelib/wiring.py builds the production context (app.py's); tests and simulations
build theirs through it, passing fakes for what they replace.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import config
from chalicelib.adapters.chat_webhook import ChatWebhook
from chalicelib.adapters.clock import Clock
from chalicelib.adapters.media_store import MediaStore
from chalicelib.adapters.metrics import Metrics
from chalicelib.adapters.queues import Queues
from chalicelib.adapters.secrets import Secrets
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.config import Settings
from chalicelib.store.repositories import Store
from chalicelib.usecases.service_cache import ServiceCache


@dataclass(eq=False)
class Context:
    settings: Settings
    clock: Clock
    twilio: TwilioGateway
    secrets: Secrets
    queues: Queues
    metrics: Metrics
    media_store: MediaStore
    chat_webhook: ChatWebhook
    service_cache: ServiceCache
    store: Store

    def __post_init__(self) -> None:
        self._configure()

    def now(self) -> float:
        return self.clock.now()

    def refresh(self, settings: Settings | None = None) -> None:
        """Take the settings of this invocation (read now unless given): cheap when they
        did not change, as in every invocation of a deployed function."""
        settings = config.load() if settings is None else settings
        if settings != self.settings:
            self.settings = settings
            self._configure()

    def _configure(self) -> None:
        """Hand the settings to what depends on them: a part with a `configure` method (a
        test's fake without one depends on none)."""
        if hasattr(self.twilio, "configure"):
            self.twilio.configure(self.settings, self.secrets)
        for part in (self.secrets, self.queues, self.metrics, self.media_store):
            if hasattr(part, "configure"):
                part.configure(self.settings)
