"""Deliver events to the chat backend: POST signed JSON (the context's chat_webhook),
retry with a backoff growing to 15 minutes for the queue's retention, dead-letter after the
last try (the queue's redrive policy does that; core/delivery_retry.py sizes both).
The SMS received that events carry are counted on the way, each once."""

from __future__ import annotations

import json
import random

from chalicelib.adapters import queues
from chalicelib.adapters.logs import correlated, logger
from chalicelib.core import delivery_retry, event_signing
from chalicelib.store.pool import Received
from chalicelib.usecases import pool_usage
from chalicelib.usecases.context import Context

_JITTER = random.Random()  # the backoff's default source of jitter, one per container


def backoff_seconds(attempt: int, rng: random.Random = _JITTER) -> int:
    """How long a failed event is hidden after its `attempt`-th receive."""
    return delivery_retry.retry_delay(attempt, rng)


def deliver(ctx: Context, body: str) -> None:
    """POST one event; raises when the chat backend did not take it."""
    url = ctx.settings.chat_webhook_url
    if not url:
        raise RuntimeError("CHAT_WEBHOOK_URL is not set: events wait in the delivery queue")
    payload = body.encode()
    # Every listed secret signs, so receivers on the old or the new one accept during a rotation.
    signature = event_signing.sign_all(payload, ctx.secrets.get_list("CHAT_WEBHOOK_SECRET"), int(ctx.now()))
    status = ctx.chat_webhook.post(url, payload, signature)
    if status >= 300:
        raise RuntimeError(f"chat webhook answered {status}")
    logger.debug("event delivered")


def process_batch(ctx: Context, records: list[dict]) -> list[str]:
    """Deliver each event; the failed ones stay queued, hidden for their backoff. An event
    whose SMS could not be counted is not delivered yet: it waits for its retry with them."""
    uncounted = count_received(ctx, records)
    failures = []
    for record in records:
        with correlated(**_event_keys(record["body"])):
            if record["messageId"] in uncounted:
                _delay(ctx, record, backoff_seconds(_attempt(record)))
                failures.append(record["messageId"])
            elif not _deliver_or_delay(ctx, record):
                failures.append(record["messageId"])
    return failures


def _attempt(record: dict) -> int:
    return int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))


def _deliver_or_delay(ctx: Context, record: dict) -> bool:
    """True when delivered; else the event is hidden for its backoff."""
    try:
        deliver(ctx, record["body"])
        return True
    except Exception as error:
        attempt = _attempt(record)
        delay = backoff_seconds(attempt)
        logger.warning(
            "event delivery failed; will retry",
            extra={"sqs_message_id": record["messageId"], "attempt": attempt, "retry_in": delay, "error": str(error)},
        )
        _delay(ctx, record, delay)
        return False


def _event_keys(body: str) -> dict:
    """The ids an event names, for its log lines."""
    try:
        event = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(event, dict):
        return {}
    return {name: event.get(name) for name in ("event_id", "message_id", "session_id")}


def count_received(ctx: Context, records: list[dict]) -> set[str]:
    """Count the SMS received that the batch's events carry (usage_in), each once under its
    event's id whatever the deliveries (one write for the batch). Returns the messageIds of
    those not counted (a fault): they stay queued, and their retry counts them."""
    received = {}
    for record in records:
        usage = queues.usage_in(record)
        if usage is not None:
            key = _event_keys(record["body"]).get("event_id") or record["messageId"]
            received[record["messageId"]] = Received(key, usage[0], usage[1], mms=usage[1] == 0)  # an MMS: no segment
    try:
        pool_usage.count_received(ctx, list(received.values()))
    except Exception:
        logger.exception("received SMS not counted; their events wait for a retry")
        return set(received)
    return set()


def _delay(ctx: Context, record: dict, seconds: int) -> None:
    try:
        ctx.queues.delay_event(record["receiptHandle"], seconds)
    except Exception:
        logger.exception("could not set the retry delay; the queue's visibility timeout applies")
