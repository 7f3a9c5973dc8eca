"""Structured JSON logs. Phone numbers are masked; message text is never logged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger

logger = Logger(service="sms-bridge")


def mask(phone: str | None) -> str:
    """+14155550123 -> +1415*****23: enough to tell numbers apart, not to dial."""
    if not phone:
        return "-"
    keep_head = 5 if phone.startswith("+") else 4
    if len(phone) <= keep_head + 2:
        return "*" * len(phone)
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 2) + phone[-2:]


# The keys Powertools' formatter itself fills in; the rest are the ones `correlated` appended.
_FORMATTER_KEYS = frozenset({"level", "location", "message", "timestamp", "service", "sampling_rate", "xray_trace_id"})


def correlation_keys() -> dict:
    """The keys every log line carries now (request ids, message_id, ...): for lines written
    without the logger (metrics.emf's state-change lines)."""
    return {k: v for k, v in logger.get_current_keys().items() if k not in _FORMATTER_KEYS and v is not None}


@contextmanager
def correlated(**keys: object) -> Iterator[None]:
    """Every log line within the block carries `keys` (request ids, message_id,
    session_id), so one SMS can be followed through API, sender, callbacks and
    delivery by searching for its message_id. Keys given as None are not added, but
    every key named is gone after the block (also one added inside it)."""
    logger.append_keys(**{name: value for name, value in keys.items() if value})
    try:
        yield
    finally:
        logger.remove_keys(list(keys))
