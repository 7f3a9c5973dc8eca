"""The production context: every dependency of the use cases, made from the settings
(app.py builds its context here; tests and simulations too, passing what they replace).

Nothing here holds a rule: it only chooses the implementations (DynamoDB, SQS, S3,
Twilio, EMF)."""

from __future__ import annotations

from chalicelib import config
from chalicelib.adapters.chat_webhook import ChatWebhook
from chalicelib.adapters.clock import Clock, SystemClock
from chalicelib.adapters.media_store import MediaStore
from chalicelib.adapters.metrics import EmfSink, Metrics
from chalicelib.adapters.queues import Queues
from chalicelib.adapters.secrets import Secrets
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.config import Settings
from chalicelib.store.dynamodb.store import dynamodb_store
from chalicelib.store.repositories import Store
from chalicelib.usecases.context import Context
from chalicelib.usecases.service_cache import ServiceCache


def production_context(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    twilio: TwilioGateway | None = None,
    secrets: Secrets | None = None,
    queues: Queues | None = None,
    metrics: Metrics | None = None,
    media_store: MediaStore | None = None,
    chat_webhook: ChatWebhook | None = None,
    service_cache: ServiceCache | None = None,
    store: Store | None = None,
) -> Context:
    """The context of the deployed service; each argument given replaces its part."""
    settings = config.load() if settings is None else settings
    clock = clock or SystemClock()
    return Context(
        settings=settings,
        clock=clock,
        twilio=twilio or TwilioGateway(),
        secrets=secrets or Secrets(clock, settings.secrets_max_age_seconds),
        queues=queues or Queues(settings.queues),
        metrics=metrics or Metrics(EmfSink(settings.metrics)),
        media_store=media_store or MediaStore(settings.media.bucket),
        chat_webhook=chat_webhook or ChatWebhook(),
        service_cache=service_cache or ServiceCache(),
        store=store or dynamodb_store(),
    )
