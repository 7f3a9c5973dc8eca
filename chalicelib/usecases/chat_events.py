"""Events owed to the chat backend: built (core/events.py) with the context's
time and queued for delivery (the context's queues; usecases/delivery.py POSTs them)."""

from __future__ import annotations

from chalicelib.core import events
from chalicelib.usecases.context import Context


def emit(ctx: Context, event_type: str, cause: str, usage_in: tuple[str, int] | None = None, **fields: object) -> dict:
    """Queue one event; raises if SQS refuses (callers let it propagate so their
    own trigger is retried, and the retry yields the same event id). `usage_in`:
    the (pool number, segments) of the SMS received that caused it, counted by
    the delivery consumer (off the webhook's path)."""
    return ctx.queues.queue_event(events.build(event_type, cause, ctx.now(), **fields), usage_in)
