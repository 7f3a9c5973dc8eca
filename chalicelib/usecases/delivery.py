"""Deliver events to the chat backend: POST signed JSON, retry with backoff,
dead-letter after the last try (the queue's redrive policy does that)."""

from __future__ import annotations

import functools
import json
import random

import requests

from chalicelib.adapters import queues
from chalicelib.adapters.logs import correlated, logger
from chalicelib.adapters.secrets import secret_list
from chalicelib.config import settings
from chalicelib.core import event_signing
from chalicelib.usecases import pool_usage
from chalicelib.usecases.context import Context

TIMEOUT_SECONDS = 5
MAX_BACKOFF_SECONDS = 900
_JITTER = random.Random()  # the backoff's default source of jitter, one per container


def backoff_seconds(attempt: int, rng: random.Random = _JITTER) -> int:
    """Exponential backoff with full jitter, capped at SQS's 15-minute delay; at
    least a second, so a failed delivery is never retried at once."""
    return max(1, int(rng.uniform(0, min(MAX_BACKOFF_SECONDS, 2 ** min(attempt, 12)))))


@functools.cache
def _http() -> requests.Session:
    """One session per container: events reuse its connection to the chat backend
    instead of a new TCP and TLS handshake each."""
    return requests.Session()


def deliver(ctx: Context, body: str) -> None:
    """POST one event; raises when the chat backend did not take it."""
    url = settings().chat_webhook_url
    if not url:
        raise RuntimeError("CHAT_WEBHOOK_URL is not set: events wait in the delivery queue")
    payload = body.encode()
    # Every listed secret signs, so receivers on the old or the new one accept during a rotation.
    signature = event_signing.sign_all(payload, secret_list("CHAT_WEBHOOK_SECRET"), int(ctx.now()))
    response = _http().post(
        url,
        data=payload,
        headers={"Content-Type": "application/json", "X-Bridge-Signature": signature},
        timeout=TIMEOUT_SECONDS,
    )
    if response.status_code >= 300:
        raise RuntimeError(f"chat webhook answered {response.status_code}")
    logger.debug("event delivered")


def process_batch(ctx: Context, records: list[dict]) -> list[str]:
    """Deliver each event; the failed ones stay queued, hidden for their backoff."""
    count_received(ctx, records)
    failures = []
    for record in records:
        with correlated(**_event_keys(record["body"])):
            if not _deliver_or_delay(ctx, record):
                failures.append(record["messageId"])
    return failures


def _deliver_or_delay(ctx: Context, record: dict) -> bool:
    """True when delivered; else the event is hidden for its backoff."""
    try:
        deliver(ctx, record["body"])
        return True
    except Exception as error:
        attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        delay = backoff_seconds(attempt)
        logger.warning(
            "event delivery failed; will retry",
            extra={"sqs_message_id": record["messageId"], "attempt": attempt, "retry_in": delay, "error": str(error)},
        )
        _delay(record, delay)
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


def count_received(ctx: Context, records: list[dict]) -> None:
    """Count the SMS received that the batch's events carry (usage_in), at their first
    delivery only (a retried event was counted), one write per pool number."""
    received: dict[str, list[int]] = {}
    for record in records:
        usage = queues.usage_in(record)
        if usage is None or record.get("attributes", {}).get("ApproximateReceiveCount", "1") != "1":
            continue
        totals = received.setdefault(usage[0], [0, 0, 0])
        totals[0] += usage[1]  # an MMS carries 0: one message, no segment
        totals[1] += 1
        totals[2] += usage[1] == 0
    for number, (segments, messages, mms) in received.items():
        pool_usage.count_received(number, segments, ctx.now(), messages, mms)


def _delay(record: dict, seconds: int) -> None:
    try:
        queues.delay_event(record["receiptHandle"], seconds)
    except Exception:
        logger.exception("could not set the retry delay; the queue's visibility timeout applies")
