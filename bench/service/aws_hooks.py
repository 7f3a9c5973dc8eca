"""botocore event hooks for the service's own benchmarks and the fault run.

One handler on 'before-call' (every AWS API call, before it is signed and
sent) does two things, each off until asked for:
- counts calls by service and operation (AWS bills per request);
- makes DynamoDB throttle: it answers ProvisionedThroughputExceededException
  instead of calling, whenever `throttles()` says so. Answering at before-call skips
  botocore's own retries, so the error reaches the service's code every time
  (harsher than AWS, whose SDK retries throttles a few times first).

A second handler, on DynamoDB's 'after-call', bills each counted write its
request units (bench/service/write_units.py). `install(seams)` puts both in
botocore.handlers.BUILTIN_HANDLERS (moto's mock does the same), so every botocore
session created afterwards carries them, and has the service's cached clients
made again with them (bench/kit/seams.py, `aws_hooks`).
"""

from __future__ import annotations

import collections
import json
import threading
import traceback
from collections.abc import Callable

from botocore.awsrequest import AWSResponse

from bench.kit.environment import REGION
from bench.kit.seams import Seams
from bench.service import write_units

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


class AwsHooks:
    def __init__(self):
        self.lock = threading.Lock()
        self.counting = False
        self.calls: collections.Counter = collections.Counter()  # "dynamodb.GetItem" -> n
        # "dynamodb.UpdateItem <- usecases.module.function" -> n (the innermost use case that made it)
        self.callers: collections.Counter = collections.Counter()
        # Whether this DynamoDB call is throttled (the fault run's dice); None: never.
        self.throttles: Callable[[], bool] | None = None
        self.throttled: collections.Counter = collections.Counter()
        # "dynamodb.UpdateItem" -> write request units billed (bench/service/write_units.py)
        self.write_units: collections.Counter = collections.Counter()
        # "sqs.SendMessage" -> n of them to a FIFO queue (priced above a standard queue's)
        self.fifo_calls: collections.Counter = collections.Counter()

    # -- the handlers ------------------------------------------------------------------

    def before_call(self, event_name: str, model=None, params=None, context=None, **_):
        # event_name: before-call.<service id>.<operation>
        _, service, operation = event_name.split(".", 2)
        service = service.lower()
        if self.counting and service == "dynamodb" and operation in WRITES and context is not None:
            request = json.loads((params or {}).get("body") or b"{}")  # the serialized request's JSON
            items = len(request.get("TransactItems") or ()) or sum(
                len(v) for v in (request.get("RequestItems") or {}).values()
            )
            context["bench_write"] = (operation, write_units.before(operation, request, REGION), items or 1)
        with self.lock:
            if self.counting:
                self.calls[f"{service}.{operation}"] += 1
                if service == "dynamodb":
                    self.callers[f"{service}.{operation} <- {_use_case()}"] += 1
                if service == "sqs" and b".fifo" in _body(params):
                    self.fifo_calls[f"{service}.{operation}"] += 1
            if service == "dynamodb" and self.throttles is not None and self.throttles():
                self.throttled[operation] += 1
                return _throttled(operation)
        return None

    # -- control -----------------------------------------------------------------------

    def after_call(self, event_name: str, parsed=None, context=None, **_):
        """Bill a counted write its units, now that its outcome is known."""
        write = (context or {}).pop("bench_write", None)
        if write is None:
            return
        operation, snapshot, items = write
        error = (parsed or {}).get("Error", {}).get("Code")
        billed = write_units.units(operation, snapshot, error, items)
        with self.lock:
            self.write_units[f"dynamodb.{operation}"] += billed

    def reset_counts(self) -> None:
        with self.lock:
            self.write_units.clear()
            self.fifo_calls.clear()
            self.calls.clear()
            self.callers.clear()
            self.throttled.clear()

    def total(self, service: str | None = None) -> int:
        with self.lock:
            return sum(n for name, n in self.calls.items() if service is None or name.startswith(service + "."))


def _body(params) -> bytes:
    """The serialized request's body (SQS's JSON protocol names the QueueUrl there)."""
    body = (params or {}).get("body") or b""
    return body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else b""


def _use_case() -> str:
    for frame in reversed(traceback.extract_stack()):
        if "/chalicelib/usecases/" in frame.filename:
            return frame.filename.rsplit("/", 1)[-1][:-3] + "." + frame.name
    return "?"


def _throttled(operation: str):
    response = AWSResponse("https://dynamodb.local/", 400, {}, None)
    parsed = {
        "Error": {
            "Code": "ProvisionedThroughputExceededException",
            "Message": "The level of configured provisioned throughput for the table was exceeded (injected)",
        },
        "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 0},
    }
    return response, parsed


HOOKS = AwsHooks()


def install(seams: Seams) -> AwsHooks:
    """The hooks on every AWS call made through a botocore session made from now on, until
    `seams` closes."""
    seams.aws_hooks(HOOKS.before_call, HOOKS.after_call)
    return HOOKS
