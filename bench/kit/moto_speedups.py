"""moto, in-process, with its costs that grow with a run taken out: the same answers and the
same state, for runs of thousands of messages.

The benches keep the service's calls real (boto3 and PynamoDB call moto as they would call
AWS); what changes here is only how moto finds things in its own memory. `table()` lists
every change as (where, attribute, replacement), each with why; bench/kit/seams.py applies
the table through one setattr loop and undoes it. tests/fuzz/test_quicker_moto.py runs one
script of SQS calls with and without them and compares every answer.

- SQS keeps a queue's messages in a list and walks it, reading the clock through datetime
  arithmetic for each message, on every receive, send (it computes all the queue's
  attributes, the three message counts included, to read ContentBasedDeduplication and the
  retention period), visibility change and delete. A chat outage leaves thousands of events
  on the delivery queue and the sender's retries a backlog on the outbound one, so a round
  cost O(messages^2) clock reads. Here the clock is read once per walk (time.time(), which
  moto's datetime arithmetic equals), a send's look at the attributes leaves the counts out,
  a receipt handle leads straight to its message (handles are unique; a handle not known
  here, or whose message is no longer on that queue, takes moto's own path), and a receipt
  handle's 185 letters are drawn in one call.
- Every moto call looked up the handler class's methods with inspect; they do not change:
  looked up once per class.
- DynamoDB re-measured a whole item on every attribute it set (its 400 KB check, quadratic
  in the attributes); no item of this service comes near 400 KB, so it is not measured.

`call_dynamodb` is the other speed-up, for the sender's simulation: a PynamoDB call handed
straight to moto's DynamoDB handler, without botocore's serialisation round trip (same
backend, same conditions and expressions, a third of the CPU).
"""

from __future__ import annotations

import functools
import re
import string
import threading
import time

from botocore.exceptions import ClientError
from moto.core import responses
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import dynamo_type
from moto.dynamodb.responses import DynamoHandler
from moto.moto_api._internal import mock_random
from moto.sqs import models
from moto.sqs.models import Message, Queue, SQSBackend
from pynamodb.connection.base import VerboseClientError

from bench.kit.environment import ACCOUNT, REGION
from devstack import moto_sqs_visibility

Change = tuple[object, str, object]  # (module or class, attribute, what it becomes)


def table() -> list[Change]:
    """Every speed-up, in the order they are applied (later ones read earlier ones' clock)."""
    return [*_sqs_clock(), *_sqs_sends(), *_sqs_receipt_handles(), *_handler_methods(), *_dynamodb_item_size()]


# --- SQS: one clock read per walk over a queue's messages -----------------------------------


def _sqs_clock() -> list[Change]:
    real_unix_time = models.unix_time

    def unix_time(dt=None) -> float:
        return time.time() if dt is None else real_unix_time(dt)

    def unix_time_millis(dt=None) -> float:
        return time.time() * 1000.0 if dt is None else real_unix_time(dt) * 1000.0

    # The walks read moto's clock once each: models.unix_time_millis as set here, or by a run
    # whose SQS follows its own clock (seams.Seams.moto_sqs_clock).
    def messages(self) -> list:  # visible and not delayed
        now = models.unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self) -> int:
        now = models.unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self) -> int:
        now = models.unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def is_message_valid_based_on_retention_period(self, queue_name, message) -> bool:
        # moto builds every attribute of the queue for the one it reads.
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > models.unix_time()

    return [
        (models, "unix_time", unix_time),  # datetime arithmetic for "now": the same value, cheaper
        (models, "unix_time_millis", unix_time_millis),
        (Queue, "messages", property(messages)),
        (Queue, "approximate_number_of_messages_delayed", property(delayed)),
        (Queue, "approximate_number_of_messages_not_visible", property(not_visible)),
        (SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period),
    ]


# --- SQS: a send reads one attribute of the queue, not all three message counts for it ----


def _sqs_sends() -> list[Change]:
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

    def in_a_send(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            sending.depth = getattr(sending, "depth", 0) + 1
            try:
                return function(*args, **kwargs)
            finally:
                sending.depth -= 1

        return wrapper

    return [
        (Queue, "attributes", property(attributes)),
        (SQSBackend, "send_message", in_a_send(SQSBackend.send_message)),
        (SQSBackend, "send_message_batch", in_a_send(SQSBackend.send_message_batch)),
        (Queue, "add_message", in_a_send(Queue.add_message)),
    ]


# --- SQS: a receipt handle leads straight to its message -----------------------------------


def _sqs_receipt_handles() -> list[Change]:
    holders: dict[str, Message] = {}  # every receipt handle handed out -> its message
    real_mark_received = Message.mark_received
    real_change_visibility = SQSBackend.change_message_visibility
    real_delete = Queue.delete_message

    def mark_received(self, visibility_timeout=None) -> None:
        real_mark_received(self, visibility_timeout)
        holders[self.receipt_handle] = self

    def had_receipt_handle(self, receipt_handle: str) -> bool:
        return receipt_handle == self.receipt_handle or receipt_handle in self._old_receipt_handles

    def generate_receipt_handle() -> str:
        # moto's: 185 lowercase letters from its seedable random, drawn in one call, not 185.
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    def holder(queue, receipt_handle: str):
        """The message of `queue` that had this handle, or None when moto should look."""
        message = holders.get(receipt_handle)
        if message is not None and message in queue._messages:  # identity: moto's Message has no __eq__
            return message
        return None

    def change_message_visibility(self, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        message = holder(queue, receipt_handle)
        if message is None:
            return real_change_visibility(self, queue_name, receipt_handle, visibility_timeout)
        # moto's own steps, for the one message that had the handle (the 12-hour limit as
        # SQS counts it: devstack/moto_sqs_visibility.py).
        moto_sqs_visibility.check_limit(message, visibility_timeout)
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # moto: already deleted, nothing to do
        message = holder(self, receipt_handle)
        if message is None:
            return real_delete(self, receipt_handle)
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages = [m for m in self._messages if m is not message]

    return [
        (Message, "mark_received", mark_received),  # remembers the handle it hands out
        (Message, "had_receipt_handle", had_receipt_handle),
        (models, "generate_receipt_handle", generate_receipt_handle),
        (SQSBackend, "change_message_visibility", change_message_visibility),
        (Queue, "delete_message", delete_message),
    ]


# --- every moto call: its handler's methods looked up once per class -------------------------


def _handler_methods() -> list[Change]:
    return [
        (responses, "method_names_from_class", functools.lru_cache(maxsize=None)(responses.method_names_from_class))
    ]


# --- DynamoDB: no 400 KB re-measure of the whole item at every attribute set -----------------


def _dynamodb_item_size() -> list[Change]:
    return [(dynamo_type.LimitedSizeDict, "__setitem__", dict.__setitem__)]


# --- the sender's simulation: PynamoDB straight to moto's DynamoDB handler ---------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def call_dynamodb(operation: str, kwargs: dict) -> dict:
    """What moto answers PynamoDB's `operation` with `kwargs`, without botocore between them;
    moto's errors as PynamoDB gets them from botocore."""
    handler = DynamoHandler()
    handler.current_account = ACCOUNT
    handler.region = REGION
    handler.body = kwargs
    try:
        if operation == "UpdateItem" and kwargs.get("ReturnValues", "NONE") in ("NONE", "ALL_NEW"):
            return _update_item(handler.dynamodb_backend, kwargs)
        return getattr(handler, _snake(operation))().result
    except JsonRESTError as error:
        response = {"Error": {"Code": error.relative_error_type, "Message": error.message}}
        raise VerboseClientError(response, operation, {}) from ClientError(response, operation)


def _update_item(backend, kwargs: dict) -> dict:
    """moto's UpdateItem without its response layer's second parse of the expressions and
    deep copy of the old item (only needed for ALL_OLD/UPDATED_*)."""
    item = backend.update_item(
        kwargs["TableName"],
        kwargs["Key"],
        update_expression=kwargs.get("UpdateExpression"),
        expression_attribute_names=kwargs.get("ExpressionAttributeNames", {}),
        expression_attribute_values=kwargs.get("ExpressionAttributeValues", {}),
        condition_expression=kwargs.get("ConditionExpression"),
    )
    if kwargs.get("ReturnValues", "NONE") == "ALL_NEW":
        return {"Attributes": item.to_json()["Attributes"]}
    return {}
