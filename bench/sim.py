"""A simulation of the outbound path in virtual time, around the real code.

Real: app.py's SQS handler, usecases/sending/ (the sender), messages.submit,
PynamoDB, and moto's DynamoDB backend (in-process). Modelled here, in virtual
time (bench/kernel.py): the SQS FIFO queue (groups, whole-second visibility
timeouts, batches of up to 10, redelivery, a dead-letter queue after
maxReceiveCount), Lambda's event source mapping (pollers up to a concurrency
cap, start latency, a 30 s timeout, deletes of what did not fail) and Twilio
(latency, faults, and the ground truth of what it accepted and when).

The simulation's clock (the kernel's virtual time, which the sender's
in-invocation sleeps move on) and its Twilio are passed to the service in a
Context; its SQS client stands in through `aws.substituted` and metrics are
collected through `metrics.collected`, for the duration of a `Harness`; every
DynamoDB call takes a few virtual milliseconds and is counted by who made it.

By default DynamoDB calls go straight to moto's DynamoDB handler, skipping the
botocore <-> HTTP <-> moto serialisation round trip (same backend, same
conditions and expressions, a third of the CPU); `wire=True` keeps the round
trip. moto's 400 KB item-size check, which re-measures the whole item for every
attribute it sets, is skipped: no item here comes near 400 KB.
"""

from __future__ import annotations

import collections
import itertools
import math
import os
import random
import re
import statistics
import time
from dataclasses import dataclass, field

from bench.kernel import Kernel, Process
from bench.partitions import touched

EPOCH = 1_800_000_000.0
REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "sms-bridge-dev-"
READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
SPACING_TOLERANCE = 1e-6


class SimulatedCrash(BaseException):
    """The function dies (timeout, out of memory) after Twilio accepted a message
    and before the sender recorded it."""


# --- latency and faults ------------------------------------------------------------


@dataclass(frozen=True)
class Latencies:
    dynamodb: tuple = (0.003, 0.008)  # uniform, seconds
    sqs_call: tuple = (0.008, 0.020)
    long_poll_return: tuple = (0.005, 0.020)
    lambda_warm_start: tuple = (0.010, 0.040)
    lambda_cold_start: tuple = (0.300, 0.700)
    twilio_median: float = 0.180  # log-normal
    twilio_sigma: float = 0.35
    twilio_timeout: float = 10.0  # twilio_gateway.HTTP_TIMEOUT_SECONDS


@dataclass(frozen=True)
class FaultMix:
    """Probabilities per Twilio send (they add up to the fault rate)."""

    rate_limited: float = 0.0  # 429, not accepted
    server_error: float = 0.0  # 500/503; half of them after Twilio accepted the message
    timeout: float = 0.0  # no answer within the HTTP timeout; half accepted
    crash: float = 0.0  # accepted, then the function dies before recording
    refused: float = 0.0  # 400 with code 21211 (invalid To): final

    @classmethod
    def total(cls, rate: float) -> FaultMix:
        return cls(rate * 0.25, rate * 0.25, rate * 0.2, rate * 0.2, rate * 0.1)

    def draw(self, rng: random.Random) -> str | None:
        x = rng.random()
        for name in ("rate_limited", "server_error", "timeout", "crash", "refused"):
            x -= getattr(self, name)
            if x < 0:
                return name
        return None


# --- SQS FIFO -------------------------------------------------------------------------


@dataclass(eq=False)
class SimMessage:
    message_id: str
    body: str
    group: str
    seq: int
    sent_at: float
    receive_count: int = 0
    handle: str | None = None
    visible_at: float = 0.0


class FifoQueue:
    """One SQS FIFO queue: a group with a message in flight returns nothing more
    until that message is deleted or visible again; receives take the groups'
    heads oldest first, up to 10 messages."""

    def __init__(self, sim: Harness, name: str, visibility_timeout: int, max_receives: int):
        self.sim = sim
        self.kernel = sim.kernel
        self.name = name
        self.arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        self.visibility_timeout = visibility_timeout
        self.max_receives = max_receives
        self.groups: dict[str, collections.deque] = {}
        self.in_flight: dict[str, set] = collections.defaultdict(set)
        self.by_id: dict[str, SimMessage] = {}
        self.dedup: dict[str, tuple[str, float]] = {}
        self.dead: list[SimMessage] = []
        self.waiters: collections.deque = collections.deque()
        self.timer: Process | None = None
        self.timer_target: float | None = None
        self._expiries: list = []
        self._seq = 0
        self._receipts = 0

    # the API -----------------------------------------------------------------

    def send(self, body: str, group: str, dedup_id: str) -> str:
        now = self.kernel.now
        seen = self.dedup.get(dedup_id)
        if seen and seen[1] > now:
            return seen[0]
        self._seq += 1
        message = SimMessage(f"sqs-{self._seq:07d}", body, group, self._seq, now)
        self.dedup[dedup_id] = (message.message_id, now + 300)
        self.groups.setdefault(group, collections.deque()).append(message)
        self.by_id[message.message_id] = message
        self.notify()
        return message.message_id

    def receive(self, max_messages: int = 10) -> list[SimMessage]:
        now = self.kernel.now
        taken: list[SimMessage] = []
        for group in sorted(self.groups, key=lambda g: self.groups[g][0].seq):
            if self._blocked(group, now):
                continue
            queue = self.groups[group]
            for message in list(queue):
                if len(taken) == max_messages:
                    break
                message.receive_count += 1
                if message.receive_count > self.max_receives:
                    self._remove(message)
                    self.dead.append(message)
                    continue
                self._receipts += 1
                message.handle = f"{message.message_id}#{self._receipts}"
                self._set_invisible(message, now + self.visibility_timeout)
                taken.append(message)
            if len(taken) == max_messages:
                break
        return taken

    def delete(self, handle: str) -> bool:
        message = self.by_id.get(handle.split("#", 1)[0])
        if message is None or message.handle != handle:
            return False
        self._remove(message)
        self.notify()
        return True

    def change_visibility(self, handle: str, seconds: int) -> bool:
        message = self.by_id.get(handle.split("#", 1)[0])
        if message is None or message.handle != handle or not 0 <= seconds <= 43200:
            return False
        self._set_invisible(message, self.kernel.now + seconds)
        if seconds == 0:
            self.notify()
        return True

    # state -------------------------------------------------------------------

    def empty(self) -> bool:
        return not self.by_id

    def receivable(self) -> bool:
        now = self.kernel.now
        return any(not self._blocked(group, now) for group in self.groups)

    def _blocked(self, group: str, now: float) -> bool:
        flying = self.in_flight.get(group)
        if not flying:
            return False
        for message in list(flying):
            if message.visible_at <= now:
                flying.discard(message)
        return bool(flying)

    def _set_invisible(self, message: SimMessage, until: float) -> None:
        message.visible_at = until
        if until > self.kernel.now:
            self.in_flight[message.group].add(message)
            self._add_expiry(until)
        else:
            self.in_flight[message.group].discard(message)

    def _remove(self, message: SimMessage) -> None:
        queue = self.groups[message.group]
        queue.remove(message)
        if not queue:
            del self.groups[message.group]
        self.in_flight[message.group].discard(message)
        self.by_id.pop(message.message_id, None)

    # waking pollers ------------------------------------------------------------

    def notify(self) -> None:
        """Something may have become receivable: wake one long-polling poller."""
        while self.waiters:
            if self.kernel.wake(self.waiters.popleft()):
                return

    def _add_expiry(self, at: float) -> None:
        import heapq

        heapq.heappush(self._expiries, at)
        if self.timer is not None and (self.timer_target is None or at < self.timer_target):
            self.kernel.wake(self.timer)

    def run_timer(self) -> None:
        """A process: when a visibility timeout ends, wake a poller."""
        import heapq

        while True:
            now = self.kernel.now
            while self._expiries and self._expiries[0] <= now:
                heapq.heappop(self._expiries)
                self.notify()
            self.timer_target = self._expiries[0] if self._expiries else None
            self.kernel.wait(None if self.timer_target is None else self.timer_target - now)


class VirtualClock:
    """The service's clock inside the simulation: the kernel's virtual time; a
    sleep yields to the other processes until then."""

    def __init__(self, kernel):
        self.kernel = kernel

    def now(self) -> float:
        return self.kernel.now

    def sleep(self, seconds: float) -> None:
        self.kernel.sleep(seconds)


# --- the SQS client the application gets ----------------------------------------------------


class SqsClient:
    """What adapters/aws.client('sqs') returns inside the simulation."""

    def __init__(self, sim: Harness):
        self.sim = sim

    def _call(self, operation: str) -> None:
        self.sim.count_sqs(operation)
        if self.sim.kernel.in_process:
            self.sim.kernel.sleep(self.sim.uniform(self.sim.latencies.sqs_call))

    def get_queue_url(self, QueueName: str, **_) -> dict:
        self._call("GetQueueUrl")
        return {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QueueName}"}

    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        MessageGroupId: str | None = None,
        MessageDeduplicationId: str | None = None,
        **_,
    ) -> dict:
        self._call("SendMessage")
        name = QueueUrl.rsplit("/", 1)[-1]
        if name == self.sim.outbound.name:
            message_id = self.sim.outbound.send(MessageBody, MessageGroupId, MessageDeduplicationId)
        else:
            self.sim.events_sent[name] += 1
            message_id = f"other-{sum(self.sim.events_sent.values())}"
        return {"MessageId": message_id}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict], **_) -> dict:
        self._call("ChangeMessageVisibilityBatch")
        ok, failed = [], []
        for entry in Entries:
            if self.sim.outbound.change_visibility(entry["ReceiptHandle"], int(entry["VisibilityTimeout"])):
                ok.append({"Id": entry["Id"]})
            else:
                failed.append({"Id": entry["Id"], "Code": "ReceiptHandleIsInvalid", "SenderFault": True})
        return {"Successful": ok, "Failed": failed}

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int, **_) -> dict:
        self._call("ChangeMessageVisibility")
        self.sim.outbound.change_visibility(ReceiptHandle, int(VisibilityTimeout))
        return {}


# --- Twilio ---------------------------------------------------------------------------------


@dataclass
class Accepted:
    at: float
    from_: str
    to: str
    body: str
    sid: str
    message_id: str
    segments: int


class Twilio:
    """Twilio at the level of twilio_gateway's two calls, with latency and faults.
    `accepted` is the ground truth: every message Twilio took, when."""

    def __init__(self, sim: Harness, faults: FaultMix):
        self.sim = sim
        self.faults = faults
        self.accepted: list[Accepted] = []
        self.by_pair: dict[tuple[str, str], list[Accepted]] = collections.defaultdict(list)
        self.calls = collections.Counter()

    def _latency(self) -> float:
        lat = self.sim.latencies
        return self.sim.rng.lognormvariate(math.log(lat.twilio_median), lat.twilio_sigma)

    def _accept(self, from_: str, to: str, body: str, status_callback: str) -> Accepted:
        from chalicelib.core import segments

        message_id = re.search(r"message_id=([^&]+)", status_callback).group(1)
        sid = f"SM{self.sim.rng.getrandbits(128):032x}"
        record = Accepted(self.sim.kernel.now, from_, to, body, sid, message_id, segments.segment(body).segments)
        self.accepted.append(record)
        self.by_pair[(from_, to)].append(record)
        self.sim.on_accepted(record)
        return record

    def send_sms(
        self, *, from_: str, to: str, body: str, status_callback: str, messaging_service_sid: str | None = None
    ):
        from chalicelib.adapters.twilio import SentMessage, TwilioError

        kernel = self.sim.kernel
        self.calls["send"] += 1
        fault = self.faults.draw(self.sim.rng)
        self.calls[fault or "ok"] += 1
        if fault == "rate_limited":
            kernel.sleep(self._latency())
            raise TwilioError("Twilio answered 429 (code 20429)", status=429, code=20429, retryable=True)
        if fault == "refused":
            kernel.sleep(self._latency())
            raise TwilioError("Twilio answered 400 (code 21211)", status=400, code=21211, retryable=False)
        if fault == "server_error":
            if self.sim.rng.random() < 0.5:
                self._accept(from_, to, body, status_callback)
            kernel.sleep(self._latency())
            raise TwilioError("Twilio answered 500", status=500, code=20500, retryable=True)
        if fault == "timeout":
            if self.sim.rng.random() < 0.5:
                self._accept(from_, to, body, status_callback)
            kernel.sleep(self.sim.latencies.twilio_timeout)
            raise TwilioError("Twilio unreachable: ReadTimeout", status=None, code=None, retryable=True)
        record = self._accept(from_, to, body, status_callback)
        kernel.sleep(self._latency())
        if fault == "crash":
            raise SimulatedCrash()
        return SentMessage(
            sid=record.sid,
            status="queued",
            segments=record.segments,
            body=body,
            date_created=float(math.floor(record.at)),
        )

    def find_sent(self, *, from_: str, to: str, sent_on_or_after: float):
        from chalicelib.adapters.twilio import SentMessage

        self.calls["list"] += 1
        self.sim.kernel.sleep(self._latency())
        day = math.floor(sent_on_or_after / 86400) * 86400
        found = [a for a in self.by_pair.get((from_, to), []) if a.at >= day]
        return [
            SentMessage(
                sid=a.sid, status="sent", segments=a.segments, body=a.body, date_created=float(math.floor(a.at))
            )
            for a in reversed(found[-50:])
        ]


# --- DynamoDB: moto's backend, with virtual latency and counts --------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class DynamoCalls:
    def __init__(self, sim: Harness, wire: bool):
        self.sim = sim
        self.wire = wire
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.conditional_failures = collections.Counter()
        # (role, kind, table, partition-key value) -> request units (bench/partitions.py)
        self.partitions: collections.Counter = collections.Counter()
        self._hash_keys: dict[str, str] = {}

    def install(self):
        from pynamodb.connection import base

        self._original = base.Connection._make_api_call
        calls = self

        def make_api_call(connection, operation_name, operation_kwargs):
            return calls.call(connection, operation_name, operation_kwargs)

        base.Connection._make_api_call = make_api_call

    def uninstall(self):
        from pynamodb.connection import base

        base.Connection._make_api_call = self._original

    def call(self, connection, operation: str, kwargs: dict):
        kernel = self.sim.kernel
        role = kernel.current.role if kernel.in_process else "setup"
        self.counts[role][operation] += 1
        if role != "setup":
            for kind, table, partition, units in touched(operation, kwargs, self._hash_key):
                self.partitions[(role, kind, table.removeprefix(PREFIX), partition)] += units
        if kernel.in_process:
            kernel.sleep(self.sim.uniform(self.sim.latencies.dynamodb))
        try:
            if self.wire:
                return self._original(connection, operation, kwargs)
            return self._direct(operation, kwargs)
        except Exception as error:
            if "ConditionalCheckFailed" in str(getattr(error, "response", {}).get("Error", {}).get("Code", "")):
                self.conditional_failures[role] += 1
            raise

    def _hash_key(self, table: str) -> str:
        if table not in self._hash_keys:
            from moto.dynamodb.models import dynamodb_backends

            self._hash_keys[table] = dynamodb_backends[ACCOUNT][REGION].get_table(table).hash_key_attr
        return self._hash_keys[table]

    def _direct(self, operation: str, kwargs: dict):
        from botocore.exceptions import ClientError
        from moto.core.exceptions import JsonRESTError
        from moto.dynamodb.responses import DynamoHandler
        from pynamodb.connection.base import VerboseClientError

        handler = DynamoHandler()
        handler.current_account = ACCOUNT
        handler.region = REGION
        handler.body = kwargs
        try:
            if operation == "UpdateItem" and kwargs.get("ReturnValues", "NONE") in ("NONE", "ALL_NEW"):
                return self._update_item(handler.dynamodb_backend, kwargs)
            return getattr(handler, _snake(operation))().result
        except JsonRESTError as error:
            response = {"Error": {"Code": error.relative_error_type, "Message": error.message}}
            raise VerboseClientError(response, operation, {}) from ClientError(response, operation)

    @staticmethod
    def _update_item(backend, kwargs: dict) -> dict:
        """moto's UpdateItem without its response layer's second parse of the
        expressions and deep copy of the old item (only needed for ALL_OLD/UPDATED_*)."""
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

    def per_role(self, role: str) -> tuple[int, int]:
        counts = self.counts.get(role, collections.Counter())
        reads = sum(n for op, n in counts.items() if op in READ_OPERATIONS)
        writes = sum(n for op, n in counts.items() if op in WRITE_OPERATIONS)
        return reads, writes


# --- Lambda -------------------------------------------------------------------------------------


class LambdaContext:
    function_name = "sms-bridge-dev-send_outbound"
    aws_request_id = "sim"

    def __init__(self, kernel: Kernel, deadline: float):
        self.kernel = kernel
        self.deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.kernel.now) * 1000))


@dataclass
class Submitted:
    message_id: str
    session_id: str
    number: str
    seq: int  # order of submission within the session
    submitted_at: float
    segments: int
    idle_at_submit: bool = False
    first_accept: float | None = None


@dataclass
class SessionStub:
    """The fields of a Session that messages.submit reads."""

    session_id: str
    user_id: str
    partner_id: str
    partner_name: str
    pool_number: str
    user_phone: str


@dataclass
class Config:
    seed: int = 1
    concurrency: int = 60  # the event source mapping's maximum concurrency (pollers)
    function_timeout: float = 30.0
    visibility_timeout: int = 180  # infra/resources.py: six times the function timeout
    max_receives: int = 20
    max_wait_seconds: float | None = None  # the sender's SENDER_MAX_WAIT_SECONDS; None: its default
    max_idle_seconds: float | None = None  # the sender's SENDER_MAX_IDLE_SECONDS; None: its default
    faults: FaultMix = field(default_factory=FaultMix)
    latencies: Latencies = field(default_factory=Latencies)
    wire: bool = False
    campaign_segments_per_second: float | None = None


class Harness:
    """Set up with `with Harness(config) as sim:`; add numbers and sessions,
    submit, `run()`, then read `figures()`."""

    def __init__(self, config: Config | None = None):
        self.config = config or Config()
        self.rng = random.Random(self.config.seed)
        self.latencies = self.config.latencies
        self.kernel = Kernel(EPOCH)
        self.sqs_calls = collections.Counter()
        self.events_sent = collections.Counter()
        self.metrics = collections.Counter()
        self.numbers: dict[str, float] = {}
        self.sessions: list[SessionStub] = []
        self.submitted: dict[str, Submitted] = {}
        self.session_seq = collections.Counter()
        self.outstanding = collections.Counter()  # per number: submitted, not yet accepted
        self.number_free_at: dict[str, float] = collections.defaultdict(float)
        self.invocations = 0
        self.invocation_seconds = 0.0
        self.crashes = 0
        self.overruns = 0
        self.running = 0
        self.idle_environments = 0  # Lambda execution environments warm and free
        self.cold_starts = 0
        self.peak_running = 0
        self.empty_receives = 0
        self.arrivals_pending = 0
        self.wall_seconds = 0.0

    # --- patches ----------------------------------------------------------------

    def __enter__(self) -> Harness:
        from moto import mock_aws

        self._saved_env = {
            k: os.environ.get(k)
            for k in (
                "SENDER_MAX_WAIT_SECONDS",
                "SENDER_MAX_IDLE_SECONDS",
                "CAMPAIGN_SEGMENTS_PER_SECOND",
                "RESOURCE_PREFIX",
            )
        }
        os.environ["RESOURCE_PREFIX"] = PREFIX
        if self.config.max_wait_seconds is not None:
            os.environ["SENDER_MAX_WAIT_SECONDS"] = str(self.config.max_wait_seconds)
        else:
            os.environ.pop("SENDER_MAX_WAIT_SECONDS", None)
        if self.config.max_idle_seconds is not None:
            os.environ["SENDER_MAX_IDLE_SECONDS"] = str(self.config.max_idle_seconds)
        else:
            os.environ.pop("SENDER_MAX_IDLE_SECONDS", None)
        if self.config.campaign_segments_per_second:
            os.environ["CAMPAIGN_SEGMENTS_PER_SECOND"] = str(self.config.campaign_segments_per_second)
        else:
            os.environ.pop("CAMPAIGN_SEGMENTS_PER_SECOND", None)
        self._mock = mock_aws()
        self._mock.start()
        self._forget_connections()
        import boto3

        from infra.resources import create_all

        create_all(PREFIX, boto3.client("dynamodb", region_name=REGION), boto3.client("sqs", region_name=REGION))
        from chalicelib import config

        self.outbound = FifoQueue(
            self, config.load().queues.outbound, self.config.visibility_timeout, self.config.max_receives
        )
        self.twilio = Twilio(self, self.config.faults)
        self._patch()
        self.dynamo = DynamoCalls(self, self.config.wire)
        self.dynamo.install()
        random.seed(self.config.seed)  # the sender's backoff jitter
        return self

    def __exit__(self, *exc) -> None:
        self.kernel.shutdown()
        self.dynamo.uninstall()
        self._seams.close()
        for target, name, original in reversed(self._patched):
            setattr(target, name, original)
        import app as app_module

        app_module.configure(self._app_context)
        from chalicelib.adapters.logs import logger

        logger.setLevel(self._log_level)
        self._forget_connections()
        self._mock.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _forget_connections(self) -> None:
        from chalicelib.adapters import aws
        from chalicelib.store.models import TABLE_MODELS as ALL_MODELS

        aws.reset()
        for model in ALL_MODELS:
            model._connection = None

    def _patch(self) -> None:
        """The service's seams get the simulation's clock, Twilio, SQS and metrics."""
        import contextlib

        import app as app_module
        from chalicelib.adapters import aws, metrics
        from chalicelib.adapters.logs import logger
        from chalicelib.wiring import production_context

        aws.reset()

        def collect(name, value, dimensions):
            key = name + "".join(f"[{k}={v}]" for k, v in sorted(dimensions.items()) if k != "PoolNumber")
            self.metrics[key] += value

        self.ctx = production_context(clock=VirtualClock(self.kernel), twilio=self.twilio)
        self._app_context = app_module.context
        app_module.configure(self.ctx)
        self._seams = contextlib.ExitStack()
        self._seams.enter_context(aws.substituted("sqs", SqsClient(self)))
        self._seams.enter_context(metrics.collected(collect))

        from moto.dynamodb.models import dynamo_type

        self._patched = []
        # moto checks the 400 KB item limit by re-measuring the whole item on every
        # attribute it sets (quadratic); no item here comes near it.
        for target, name, value in ((dynamo_type.LimitedSizeDict, "__setitem__", dict.__setitem__),):
            self._patched.append((target, name, getattr(target, name)))
            setattr(target, name, value)
        self._log_level = logger.log_level
        logger.setLevel("ERROR")

    # --- helpers -------------------------------------------------------------------

    def uniform(self, bounds: tuple) -> float:
        return self.rng.uniform(*bounds)

    def count_sqs(self, operation: str) -> None:
        self.sqs_calls[operation] += 1

    # --- the world -------------------------------------------------------------------

    def add_number(self, phone: str, segments_per_second: float = 1.0) -> None:
        from chalicelib.store.models import PoolNumber

        PoolNumber(
            phone_number=phone,
            segments_per_second=segments_per_second,
            created_at=int(EPOCH),
            open_sessions=0,
            limiter_tat=0,
            status="active",
            country="US",
            area_code=phone[2:5],
        ).save()
        self.numbers[phone] = segments_per_second

    def add_session(self, number: str) -> SessionStub:
        index = len(self.sessions)
        session = SessionStub(
            session_id=f"ses_{number[-4:]}_{index:05d}",
            user_id=f"user{index}",
            partner_id=f"partner{index}",
            partner_name=f"P{index % 100}",
            pool_number=number,
            user_phone=f"+1646{index:07d}",
        )
        self.sessions.append(session)
        return session

    def submit(self, session: SessionStub, text: str) -> Submitted:
        """messages.submit, as the API does it (clock = virtual now)."""
        from chalicelib.usecases import messages

        now = self.kernel.now
        answer = messages.submit(self.ctx, session, text)
        number = session.pool_number
        self.session_seq[session.session_id] += 1
        item = Submitted(
            answer["message_id"],
            session.session_id,
            number,
            self.session_seq[session.session_id],
            now,
            answer["segments"],
        )
        item.idle_at_submit = self.outstanding[number] == 0 and self.number_free_at[number] <= now
        self.outstanding[number] += 1
        self.submitted[item.message_id] = item
        return item

    def submit_backlog(self, plan: list[tuple[SessionStub, str]]) -> None:
        """Everything at once at the start (1 µs apart, so created_at orders them)."""
        for session, text in plan:
            self.submit(session, text)
            self.kernel.now += 1e-6

    def arrivals(self, plan: list[tuple[float, SessionStub, str]]) -> None:
        """Submissions spread over time: (seconds after start, session, text)."""
        self.arrivals_pending = len(plan)
        start = self.kernel.now

        def submitter():
            for at, session, text in sorted(plan, key=lambda p: p[0]):
                if start + at > self.kernel.now:
                    self.kernel.sleep(start + at - self.kernel.now)
                self.submit(session, text)
                self.arrivals_pending -= 1

        self.kernel.spawn(submitter, name="submitter", role="api")

    def cancel_at(self, seconds: float, user_id: str) -> None:
        """`PUT presence away=false` for `user_id`, `seconds` after the start."""
        start = self.kernel.now

        def cancel():
            from chalicelib.usecases import messages

            self.kernel.sleep(max(0.0, start + seconds - self.kernel.now))
            messages.cancel_queued_for_user(self.ctx, user_id)

        self.kernel.spawn(cancel, name=f"cancel-{user_id}", role="api")

    def on_accepted(self, record: Accepted) -> None:
        item = self.submitted.get(record.message_id)
        if item is None:
            return
        if item.first_accept is None:
            item.first_accept = record.at
            self.outstanding[item.number] -= 1
        cost = record.segments / self.numbers.get(record.from_, 1.0)
        self.number_free_at[record.from_] = max(self.number_free_at[record.from_], record.at) + cost

    # --- Lambda's event source mapping ----------------------------------------------------

    def _poller(self, index: int) -> None:
        import app as app_module

        kernel, queue = self.kernel, self.outbound
        me = kernel.current
        while True:
            batch = queue.receive(10)
            self.count_sqs("ReceiveMessage")
            if not batch:
                self.empty_receives += 1
                queue.waiters.append(me)
                kernel.wait(20.0)
                continue
            if queue.receivable():
                queue.notify()
            # Lambda runs an invocation in a free warm execution environment, whichever poller
            # asked; it starts a new one (cold) only when every one it has is busy.
            cold = self.idle_environments == 0
            if cold:
                self.cold_starts += 1
            else:
                self.idle_environments -= 1
            start_latency = self.uniform(self.latencies.long_poll_return) + self.uniform(
                self.latencies.lambda_cold_start if cold else self.latencies.lambda_warm_start
            )
            kernel.sleep(start_latency)
            if cold:
                self.invocation_seconds += start_latency
            try:
                self._invoke(app_module, batch)
            finally:
                self.idle_environments += 1

    def _invoke(self, app_module, batch: list[SimMessage]) -> None:
        kernel, queue = self.kernel, self.outbound
        start = kernel.now
        records = [self._record(message) for message in batch]
        self.invocations += 1
        self.running += 1
        self.peak_running = max(self.peak_running, self.running)
        crashed = False
        try:
            result = app_module.send_outbound(
                {"Records": records}, LambdaContext(kernel, start + self.config.function_timeout)
            )
        except SimulatedCrash:
            crashed = True
            self.crashes += 1
        finally:
            self.running -= 1
        elapsed = kernel.now - start
        self.invocation_seconds += elapsed
        if elapsed > self.config.function_timeout:
            self.overruns += 1
        if crashed:
            return  # nothing deleted: the batch comes back after the visibility timeout
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [message for message in batch if message.message_id not in failed]
        if done:
            for _ in range(0, len(done), 10):
                self.count_sqs("DeleteMessageBatch")
            kernel.sleep(self.uniform(self.latencies.sqs_call))
            for message in done:
                queue.delete(message.handle)

    def _record(self, message: SimMessage) -> dict:
        return {
            "messageId": message.message_id,
            "receiptHandle": message.handle,
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": str(int(message.sent_at * 1000)),
                "MessageGroupId": message.group,
                "MessageDeduplicationId": message.message_id,
                "SequenceNumber": str(message.seq),
            },
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": self.outbound.arn,
            "awsRegion": REGION,
        }

    # --- running ---------------------------------------------------------------------------

    def finished(self) -> bool:
        return self.outbound.empty() and self.running == 0 and self.arrivals_pending == 0

    def run(self, max_virtual_seconds: float = 7 * 86400) -> None:
        started = time.perf_counter()
        self.run_started_at = self.kernel.now
        self.outbound.timer = self.kernel.spawn(self.outbound.run_timer, name="visibility-timer", role="sqs")
        for index in range(self.config.concurrency):
            self.kernel.spawn(self._poller, index, name=f"poller-{index}", role="sender")
        self.kernel.run(until=self.run_started_at + max_virtual_seconds, done=self.finished)
        self.run_ended_at = self.kernel.now
        self.wall_seconds += time.perf_counter() - started

    # --- what happened -------------------------------------------------------------------

    def collect(self) -> RunData:
        from chalicelib.store.models import Message, PoolNumber

        statuses = {m.message_id: m.status for m in Message.scan()}
        counted = sum(int(n.segments_out or 0) for n in PoolNumber.scan() if n.phone_number in self.numbers)
        return RunData(
            counted_segments=counted,
            numbers=dict(self.numbers),
            submitted=list(self.submitted.values()),
            accepted=list(self.twilio.accepted),
            statuses={message_id: statuses.get(message_id, "missing") for message_id in self.submitted},
            dynamo_counts={role: dict(counts) for role, counts in self.dynamo.counts.items()},
            conditional_failures=dict(self.dynamo.conditional_failures),
            sqs_calls=dict(self.sqs_calls),
            empty_receives=self.empty_receives,
            events_sent=sum(self.events_sent.values()),
            invocations=self.invocations,
            cold_starts=self.cold_starts,
            invocation_seconds=self.invocation_seconds,
            crashes=self.crashes,
            overruns=self.overruns,
            peak_running=self.peak_running,
            twilio_calls=dict(self.twilio.calls),
            metrics=dict(self.metrics),
            dead_lettered=len(self.outbound.dead),
            started_at=self.run_started_at,
            ended_at=self.run_ended_at,
            wall_seconds=self.wall_seconds,
            partitions=dict(self.dynamo.partitions),
        )


@dataclass
class RunData:
    """Everything a run leaves behind (picklable, so shards can be merged)."""

    numbers: dict
    submitted: list
    accepted: list
    statuses: dict
    dynamo_counts: dict
    conditional_failures: dict
    sqs_calls: dict
    empty_receives: int
    events_sent: int
    invocations: int
    cold_starts: int
    invocation_seconds: float
    crashes: int
    overruns: int
    peak_running: int
    twilio_calls: dict
    metrics: dict
    dead_lettered: int
    counted_segments: int  # the pool numbers' cumulative sent counters (segments_out), summed
    started_at: float
    ended_at: float
    wall_seconds: float
    partitions: dict = field(default_factory=dict)  # DynamoCalls.partitions

    @classmethod
    def merge(cls, parts: list[RunData]) -> RunData:
        def add(dicts):
            total = collections.Counter()
            for d in dicts:
                total.update(d)
            return dict(total)

        roles = {role for part in parts for role in part.dynamo_counts}
        return cls(
            numbers={k: v for part in parts for k, v in part.numbers.items()},
            submitted=[s for part in parts for s in part.submitted],
            accepted=[a for part in parts for a in part.accepted],
            statuses={k: v for part in parts for k, v in part.statuses.items()},
            dynamo_counts={role: add(part.dynamo_counts.get(role, {}) for part in parts) for role in roles},
            conditional_failures=add(part.conditional_failures for part in parts),
            sqs_calls=add(part.sqs_calls for part in parts),
            empty_receives=sum(part.empty_receives for part in parts),
            events_sent=sum(part.events_sent for part in parts),
            invocations=sum(part.invocations for part in parts),
            cold_starts=sum(part.cold_starts for part in parts),
            invocation_seconds=sum(part.invocation_seconds for part in parts),
            crashes=sum(part.crashes for part in parts),
            overruns=sum(part.overruns for part in parts),
            peak_running=sum(part.peak_running for part in parts),
            twilio_calls=add(part.twilio_calls for part in parts),
            metrics=add(part.metrics for part in parts),
            dead_lettered=sum(part.dead_lettered for part in parts),
            counted_segments=sum(part.counted_segments for part in parts),
            started_at=min(part.started_at for part in parts),
            ended_at=max(part.ended_at for part in parts),
            wall_seconds=max(part.wall_seconds for part in parts),
            partitions=add(part.partitions for part in parts),
        )


def figures(run: RunData) -> dict:
    """The figures of issue 4 from what a run left behind."""
    n = len(run.submitted)
    accepted_by_message = collections.Counter(a.message_id for a in run.accepted)

    # spacing: consecutive acceptances on a number closer than the first one's segments allow
    spacing = 0
    by_number = collections.defaultdict(list)
    for record in run.accepted:
        by_number[record.from_].append(record)
    for number, records in by_number.items():
        rate = run.numbers.get(number, 1.0)
        records.sort(key=lambda r: r.at)
        for before, after in itertools.pairwise(records):
            if after.at - before.at < before.segments / rate - SPACING_TOLERANCE:
                spacing += 1

    # order: within a session, first acceptances in submission order
    order = 0
    by_session = collections.defaultdict(list)
    for item in run.submitted:
        if item.first_accept is not None:
            by_session[item.session_id].append(item)
    for items in by_session.values():
        items.sort(key=lambda i: (i.first_accept, i.seq))
        order += sum(1 for a, b in itertools.pairwise(items) if b.seq < a.seq)

    duplicates = sum(count - 1 for count in accepted_by_message.values() if count > 1)
    lost = not_final = wrong_record = 0
    for item in run.submitted:
        status = run.statuses.get(item.message_id, "missing")
        if status in ("queued", "sending", "missing"):
            not_final += 1
        sent = accepted_by_message[item.message_id] > 0
        if not sent and status not in ("failed", "cancelled"):
            lost += 1  # never reached Twilio, and not for a reason the record gives
        if sent and status != "sent":
            wrong_record += 1  # Twilio has it, the record says otherwise

    # utilisation: the busiest number's ideal drain time over the simulated one
    ideal = collections.Counter()
    for item in run.submitted:
        ideal[item.number] += item.segments / run.numbers.get(item.number, 1.0)
    drained = {}
    for number, records in by_number.items():
        last = records[-1]
        drained[number] = last.at + last.segments / run.numbers.get(number, 1.0) - run.started_at
    bottleneck = max(ideal, key=lambda k: ideal[k]) if ideal else None
    utilisation = ideal[bottleneck] / max(drained.values()) if drained else 0.0
    per_number = [ideal[k] / drained[k] for k in drained if ideal[k] > 0]

    latencies = sorted(i.first_accept - i.submitted_at for i in run.submitted if i.first_accept)
    idle = sorted(i.first_accept - i.submitted_at for i in run.submitted if i.first_accept and i.idle_at_submit)
    sender_calls = run.dynamo_counts.get("sender", {})
    reads = sum(v for k, v in sender_calls.items() if k in READ_OPERATIONS)
    writes = sum(v for k, v in sender_calls.items() if k in WRITE_OPERATIONS)
    sqs_total = sum(run.sqs_calls.values())
    return {
        "messages": n,
        "segments": sum(i.segments for i in run.submitted),
        "numbers": len(run.numbers),
        "spacing_violations": spacing,
        "order_violations": order,
        "duplicates": duplicates,
        "lost": lost,
        "not_final": not_final,
        "wrong_record": wrong_record,
        "dead_lettered": run.dead_lettered,
        # what the sent counters say less the segments of the messages recorded sent
        "counted_less_sent": run.counted_segments
        - sum(i.segments for i in run.submitted if run.statuses.get(i.message_id) == "sent"),
        "statuses": dict(collections.Counter(run.statuses.values())),
        "utilisation": utilisation,
        "utilisation_min_number": min(per_number) if per_number else 0.0,
        "ideal_seconds": ideal[bottleneck] if bottleneck else 0.0,
        "simulated_seconds": max(drained.values()) if drained else 0.0,
        "dynamodb_reads_per_message": reads / n if n else 0.0,
        "dynamodb_writes_per_message": writes / n if n else 0.0,
        "dynamodb_sender_calls": sender_calls,
        "dynamodb_conditional_failures": run.conditional_failures.get("sender", 0),
        "sqs_calls_per_message": (sqs_total - run.empty_receives) / n if n else 0.0,
        "sqs_calls": run.sqs_calls,
        "sqs_empty_receives": run.empty_receives,
        "invocations": run.invocations,
        "cold_starts": run.cold_starts,
        "invocation_seconds_per_message": run.invocation_seconds / n if n else 0.0,
        "peak_concurrency": run.peak_running,
        "crashes": run.crashes,
        "overruns": run.overruns,
        "twilio_calls": run.twilio_calls,
        "latency_p50": _percentile(latencies, 50),
        "latency_p99": _percentile(latencies, 99),
        "idle_latency_p50": _percentile(idle, 50),
        "idle_latency_p99": _percentile(idle, 99),
        "idle_messages": len(idle),
        "metrics": run.metrics,
        "virtual_seconds": run.ended_at - run.started_at,
        "wall_seconds": run.wall_seconds,
    }


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if p < 100 else values[-1]
