"""moto, in-process, with its costs that grow with the run taken out: the same
answers and the same state, for a run of thousands of messages.

The fault run (bench/service_faults.py) keeps everything real: boto3 and
PynamoDB call moto through botocore as they would call AWS. What is patched
here is only how moto finds things in its own memory:

- SQS keeps a queue's messages in a list and walks it, reading the clock
  through datetime arithmetic for each message, on every receive, send (it
  computes all the queue's attributes, the three message counts included, to
  read ContentBasedDeduplication and the retention period; here a send's look
  at the attributes leaves the counts out), visibility change and delete. A chat outage leaves thousands of events on the delivery queue
  and the sender's retries a backlog on the outbound one, so a round cost
  O(messages^2) clock reads. Here: the clock is read once per walk (time.time(),
  which moto's datetime arithmetic equals), and a receipt handle leads straight
  to its message (handles are unique; a handle not known here, or whose message
  is no longer on that queue, takes moto's own path); a receipt handle's 185
  letters are drawn in one call.
- Every moto call looked up the handler class's methods with inspect; they do
  not change: looked up once per class.
- DynamoDB re-measured a whole item on every attribute it set (its 400 KB
  check, quadratic in the attributes); no item of this service comes near
  400 KB, so it is not measured (bench/sim.py does the same).

`install(setattr)` applies them through a monkeypatch-like setattr, so the
caller undoes them. tests/fuzz/test_quicker_moto.py runs one script of SQS
calls with and without them and compares every answer.
"""

from __future__ import annotations

import functools
import string
import threading
import time


def install(setattr) -> None:
    _sqs(setattr)
    _handler_methods(setattr)
    _dynamodb(setattr)


def _sqs(setattr) -> None:
    from moto.moto_api._internal import mock_random
    from moto.sqs import models
    from moto.sqs.exceptions import InvalidParameterValue
    from moto.sqs.models import Message, Queue, SQSBackend

    real_unix_time = models.unix_time

    def unix_time(dt=None) -> float:
        return time.time() if dt is None else real_unix_time(dt)

    def unix_time_millis(dt=None) -> float:
        return time.time() * 1000.0 if dt is None else real_unix_time(dt) * 1000.0

    setattr(models, "unix_time", unix_time)
    setattr(models, "unix_time_millis", unix_time_millis)

    # -- the walks over a queue's messages, one clock read each (moto's, as set above or by a
    # run whose SQS follows its own clock: service_faults.FaultRun.sqs_follows_the_run_clock) --

    def messages(self) -> list:  # visible and not delayed
        now = models.unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self) -> int:
        now = models.unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self) -> int:
        now = models.unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    setattr(Queue, "messages", property(messages))
    setattr(Queue, "approximate_number_of_messages_delayed", property(delayed))
    setattr(Queue, "approximate_number_of_messages_not_visible", property(not_visible))

    # -- a send reads one attribute of the queue: not all three message counts for it ---

    sending = threading.local()
    without_counts = [name for name in Queue.BASE_ATTRIBUTES if not name.startswith("ApproximateNumberOfMessages")]
    real_attributes = Queue.attributes.fget

    def attributes(self) -> dict:
        if not getattr(sending, "depth", 0):
            return real_attributes(self)
        # Inside SendMessage(Batch) and a redrive's add_message, moto reads only
        # ContentBasedDeduplication: the same dict less the three counts (each a walk).
        self.BASE_ATTRIBUTES = without_counts
        try:
            return real_attributes(self)
        finally:
            del self.BASE_ATTRIBUTES

    setattr(Queue, "attributes", property(attributes))

    def in_a_send(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            sending.depth = getattr(sending, "depth", 0) + 1
            try:
                return function(*args, **kwargs)
            finally:
                sending.depth -= 1

        return wrapper

    setattr(SQSBackend, "send_message", in_a_send(SQSBackend.send_message))
    setattr(SQSBackend, "send_message_batch", in_a_send(SQSBackend.send_message_batch))
    setattr(Queue, "add_message", in_a_send(Queue.add_message))

    def is_message_valid_based_on_retention_period(self, queue_name, message) -> bool:
        # moto builds every attribute of the queue for the one it reads.
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > models.unix_time()

    setattr(SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)

    # -- receipt handles: straight to the message --------------------------------------

    holders: dict[str, Message] = {}  # every receipt handle handed out -> its message
    real_mark_received = Message.mark_received

    def mark_received(self, visibility_timeout=None) -> None:
        real_mark_received(self, visibility_timeout)
        holders[self.receipt_handle] = self

    setattr(Message, "mark_received", mark_received)

    def had_receipt_handle(self, receipt_handle: str) -> bool:
        return receipt_handle == self.receipt_handle or receipt_handle in self._old_receipt_handles

    setattr(Message, "had_receipt_handle", had_receipt_handle)

    def generate_receipt_handle() -> str:
        # moto's: 185 lowercase letters from its seedable random, drawn in one call, not 185.
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    setattr(models, "generate_receipt_handle", generate_receipt_handle)

    def holder(queue, receipt_handle: str):
        """The message of `queue` that had this handle, or None when moto should look."""
        message = holders.get(receipt_handle)
        if message is not None and message in queue._messages:  # identity: moto's Message has no __eq__
            return message
        return None

    real_change_visibility = SQSBackend.change_message_visibility

    def change_message_visibility(self, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        message = holder(queue, receipt_handle)
        if message is None:
            return real_change_visibility(self, queue_name, receipt_handle, visibility_timeout)
        # moto's own steps, for the one message that had the handle.
        given_visibility_timeout = models.unix_time_millis() + int(visibility_timeout) * 1000
        if given_visibility_timeout - message.sent_timestamp > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    setattr(SQSBackend, "change_message_visibility", change_message_visibility)

    real_delete = Queue.delete_message

    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # moto: already deleted, nothing to do
        message = holder(self, receipt_handle)
        if message is None:
            return real_delete(self, receipt_handle)
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages = [m for m in self._messages if m is not message]

    setattr(Queue, "delete_message", delete_message)


def _handler_methods(setattr) -> None:
    from moto.core import responses

    setattr(responses, "method_names_from_class", functools.lru_cache(maxsize=None)(responses.method_names_from_class))


def _dynamodb(setattr) -> None:
    from moto.dynamodb.models import dynamo_type

    setattr(dynamo_type.LimitedSizeDict, "__setitem__", dict.__setitem__)
