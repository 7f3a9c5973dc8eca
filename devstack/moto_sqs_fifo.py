"""SQS FIFO group order as AWS keeps it, on moto 5.2.5 (the local stack and the tests).

What it corrects: moto 5.2.5, ``moto/sqs/models.py``, ``SQSBackend.receive_message``.
A message that was received and then became visible again (its visibility timeout
expired, or ChangeMessageVisibility set it to 0) stays in ``queue.pending_messages``
until a receive walks past it. The walk takes it out of ``pending_messages`` there and
then, and recomputes the blocked groups from what is still pending, so for a group
whose messages m1, m2, m3 all came back, m1 and m2 are skipped (m2 and m3 are still
"pending" when they are looked at) and m3, the last one, unblocks the group and is
handed out first. SQS instead hands a group out from its oldest message, and never a
later message of a group while an earlier one is in flight (received, neither deleted
nor visible again). (A related quirk of the same version: ChangeMessageVisibility 0
leaves the message in ``pending_messages`` because ``Message.visible`` compares
strictly, ``now > visible_at``, in the same millisecond.)

The replacement below is moto 5.2.5's receive_message with one change: at the start
of each pass over the queue, every message that is visible again leaves
``pending_messages`` first, and the blocked groups are those of the messages still in
flight. A message that becomes visible during a pass leaves ``pending_messages`` as in
moto, but its group stays blocked until the next pass (SQS never goes the other way).

A second correction in the same function: a long poll (WaitTimeSeconds) on a queue whose
visible messages are all in groups blocked by an in-flight message spins in moto 5.2.5
(``Queue.wait_for_messages`` returns at once while any message is visible), burning a
CPU for the whole wait; here it waits on the queue's condition (woken by a new message)
and looks again every BLOCKED_GROUP_RECHECK_SECONDS.

Only moto 5.2.5 is patched: on another version install() leaves moto alone and warns,
and tests/devstack/test_moto_sqs_fifo.py says whether that version still needs it
(if it passes without this module, drop the module and its install() calls).
"""

from __future__ import annotations

import threading
import warnings

PATCHED_VERSION = "5.2.5"
BLOCKED_GROUP_RECHECK_SECONDS = 0.05
# How many receivable messages a receive looks at to fill its batch from one group first
# (SQS looks at up to 20,000 to find groups; this bounds moto's walk, once per receive).
WALK_LIMIT = 200

_lock = threading.Lock()
_original = None  # moto's own receive_message, once install() replaced it


def install() -> bool:
    """Replace SQSBackend.receive_message (moto 5.2.5 only); safe to call again.
    Returns whether the corrected one is in place."""
    global _original
    import moto
    from moto.sqs import models

    with _lock:
        if _original is not None:
            return True
        if moto.__version__ != PATCHED_VERSION:
            warnings.warn(
                f"devstack.moto_sqs_fifo corrects moto {PATCHED_VERSION}'s FIFO group order; moto is "
                f"{moto.__version__}, left as it is. Run tests/devstack/test_moto_sqs_fifo.py to see "
                "whether it still needs the correction.",
                RuntimeWarning,
                stacklevel=2,
            )
            return False
        _original = models.SQSBackend.receive_message
        models.SQSBackend.receive_message = _receive_message  # type: ignore[method-assign]  # the patch itself
        return True


def uninstall() -> None:
    """Put moto's own receive_message back (the test shows the difference with it)."""
    global _original
    from moto.sqs import models

    with _lock:
        if _original is not None:
            models.SQSBackend.receive_message = _original  # type: ignore[method-assign]  # the patch undone
            _original = None


def installed() -> bool:
    return _original is not None


def _receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None):
    """moto 5.2.5's SQSBackend.receive_message, with the in-flight groups worked out
    before each pass instead of while walking (see the module's docstring)."""
    from copy import deepcopy

    from moto.core.utils import unix_time
    from moto.sqs.models import _filter_message_attributes

    if message_attribute_names is None:
        message_attribute_names = []
    queue = self.get_queue(queue_name)
    result = []
    previous_result_count = len(result)

    polling_end = unix_time() + wait_seconds_timeout

    while True:
        if result or (wait_seconds_timeout and unix_time() > polling_end):
            break

        # The correction: what is visible again is no longer in flight, and a group is
        # blocked by the messages still in flight, all decided before the walk.
        for message in list(queue.pending_messages):
            if message.visible:
                queue.pending_messages.discard(message)
        currently_pending_groups = set(queue.pending_message_groups)

        messages_to_dlq = []
        candidates = []
        of_first_group = 0  # candidates in the oldest group's: a full batch of it ends the walk

        for message in queue.messages:
            if not message.visible:
                continue

            if message in queue.pending_messages:
                # Visible again since the pass began: no longer in flight, but its
                # group stays blocked for this pass (computed above).
                queue.pending_messages.discard(message)

            if message.group_id and queue.fifo_queue and message.group_id in currently_pending_groups:
                # An earlier receive still holds a message of this group.
                continue

            if (
                queue.dead_letter_queue is not None
                and queue.redrive_policy
                and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]
            ):
                messages_to_dlq.append(message)
                continue
            candidates.append(message)
            of_first_group += message.group_id == candidates[0].group_id
            if len(candidates) >= WALK_LIMIT or of_first_group >= count:
                break  # a full batch of the oldest group, or enough to choose from

        # The third correction: SQS fills a batch from one group first (moto takes the
        # queue's order, so interleaved groups share every batch).
        for message in _same_group_first(candidates) if queue.fifo_queue else candidates:
            queue.pending_messages.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            # A copy, so filtering the attributes does not change the stored message.
            message_copy = deepcopy(message)
            _filter_message_attributes(message_copy, message_attribute_names)
            if not self.is_message_valid_based_on_retention_period(queue_name, message):
                break
            result.append(message_copy)
            if len(result) >= count:
                break

        for message in messages_to_dlq:
            queue._messages.remove(message)
            queue.dead_letter_queue.add_message(message)

        if previous_result_count == len(result):
            if wait_seconds_timeout == 0:
                # No wait and nothing more to hand out.
                break

            if queue.messages:
                # The second correction: every visible message is in a blocked group.
                # moto's wait_for_messages returns at once while any message is visible,
                # so this loop would spin for the whole long poll; wait for a new message
                # (add_message notifies) or a short while for an in-flight one to come back.
                with queue._messages_lock:
                    queue._messages_lock.wait(timeout=BLOCKED_GROUP_RECHECK_SECONDS)
            else:
                queue.wait_for_messages(1)
            continue

        previous_result_count = len(result)

    return result


def _same_group_first(messages: list) -> list:
    """A group's messages together, groups in the order of their oldest message: "SQS
    attempts to return as many messages with the same message group ID as possible" in one
    receive, and only fills the rest of a batch from other groups (AWS's "FIFO queue
    delivery logic in Amazon SQS")."""
    by_group: dict = {}
    for message in messages:
        by_group.setdefault(message.group_id, []).append(message)
    return [message for group in by_group.values() for message in group]
