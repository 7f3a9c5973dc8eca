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
