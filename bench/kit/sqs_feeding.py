"""Feeding moto's SQS queues to the service's handlers as Lambda does, in a played run
(bench/service/): what a receive could return, when the next hidden message shows, the
Lambda event of a batch, and an invocation played in a lane of its own.

moto's SQS state is read in place (its backend, in this process); its clock is the one
moto's models read, the run's when its SQS follows the run's clock
(bench/kit/seams.py, `moto_sqs_clock`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from moto.backends import get_backend
from moto.sqs import models

from bench.kit.clocks import PlayedClock
from bench.kit.environment import ACCOUNT, REGION
from devstack import poller


def _queues() -> dict:
    return get_backend("sqs")[ACCOUNT][REGION].queues


def in_flight(message, now_ms: float) -> bool:
    """Received and not visible yet: SQS holds the message's FIFO group back meanwhile."""
    return bool(message.approximate_receive_count) and not now_ms > message.visible_at


def any_visible(queue_name: str) -> bool:
    """Whether a receive on `queue_name` could return anything (True if moto has no such queue)."""
    queue = _queues().get(queue_name)
    if queue is None:
        return True
    now = models.unix_time_millis()
    held = {m.group_id for m in queue._messages if in_flight(m, now)}  # its FIFO group gives nothing
    return any(
        now > m.visible_at and not now < m.delayed_until and (m.group_id is None or m.group_id not in held)
        for m in queue._messages
    )


def next_visible_in(queue_names: Iterable[str]) -> float | None:
    """Seconds of moto's time until the next hidden message of these queues shows; None if none."""
    queues = _queues()
    now = models.unix_time_millis()
    # Only what is still hidden: a visible message that a receive does not return (its
    # FIFO group has one in flight) comes back when that one does.
    hidden = [
        at
        for name in queue_names
        if name in queues
        for m in queues[name]._messages
        if (at := max(m.visible_at, m.delayed_until)) > now
    ]
    return (min(hidden) - now) / 1000.0 if hidden else None


def make_visible(queue_names: Iterable[str]) -> None:
    """Every hidden message of these queues shows now: their waits (backoffs, deferrals, a
    crashed batch's visibility timeout) are over, as if that time had passed."""
    queues = _queues()
    for name in queue_names:
        queue = queues.get(name)
        for message in list(queue._messages if queue is not None else ()):
            message.change_visibility(0)


def lambda_event(received: list[dict], queue_name: str) -> dict:
    """The event Lambda's event source mapping hands the function for a batch received."""
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    return {"Records": [poller._record(message, arn, REGION) for message in received]}


@contextlib.contextmanager
def invocation_lane(clock: PlayedClock, queue_name: str) -> Iterator[None]:
    """An invocation fed from `queue_name`, played in a lane of its own (PlayedClock.lane).
    What it made visible again in its own time (a visibility timeout of 0 once its slot came)
    is still in flight when the played time is the run's again: moto's FIFO queue, which
    counts a group held only while a message of it is in its pending set, is told so, or it
    would hand out the group's later messages meanwhile."""
    try:
        with clock.lane():
            yield
    finally:
        queue = _queues().get(queue_name)
        if queue is not None and queue.fifo_queue:
            now = models.unix_time_millis()  # moto's clock: the run's, when it follows it
            queue.pending_messages.update(m for m in queue._messages if in_flight(m, now))
