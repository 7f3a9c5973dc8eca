"""The sender's simulation: the outbound path in virtual time, around the real code.

Real: app.py's SQS handler, the sender's use cases, messages.submit, PynamoDB, and moto's
DynamoDB backend (in-process). Modelled, in the kernel's virtual time (bench/kit/kernel.py):
the SQS FIFO queue (bench/kit/sqs_model.py), Lambda's event source mapping (pollers up to a
concurrency cap, start latency, a 30 s timeout, deletes of what did not fail; here) and
Twilio (bench/kit/twilio_fakes.py: latency, faults, and the ground truth of what it
accepted and when). Every DynamoDB call takes a few virtual milliseconds and is counted by
who made it (bench/sender/dynamo_calls.py).

The service gets the simulation's clock and Twilio in its Context, its SQS client and its
metrics sink through the kit's seams (bench/kit/seams.py), for the life of a `Harness`.
"""

from __future__ import annotations

import collections
import random
import time
from dataclasses import dataclass, field

import boto3
from moto import mock_aws

import app as app_module
from bench.kit.clocks import VirtualClock
from bench.kit.environment import PREFIX, REGION
from bench.kit.kernel import Kernel
from bench.kit.seams import Seams
from bench.kit.sqs_model import FifoQueue, SimMessage
from bench.kit.twilio_fakes import Accepted, FaultMix, SimulatedCrash, TwilioLatency, VirtualTwilio
from bench.sender.dynamo_calls import DynamoCalls
from bench.sender.results import RunData, Submitted
from bench.sender.sqs_client import SqsClient
from chalicelib import config as service_config
from chalicelib.store.models import Message, PoolNumber
from chalicelib.usecases import messages
from chalicelib.usecases.context import Context
from infra.resources import create_all

EPOCH = 1_800_000_000.0


@dataclass(frozen=True)
class Latencies:
    dynamodb: tuple = (0.003, 0.008)  # uniform, seconds
    sqs_call: tuple = (0.008, 0.020)
    long_poll_return: tuple = (0.005, 0.020)
    lambda_warm_start: tuple = (0.010, 0.040)
    lambda_cold_start: tuple = (0.300, 0.700)
    twilio: TwilioLatency = field(default_factory=TwilioLatency)  # log-normal around a median


class LambdaContext:
    function_name = "sms-bridge-dev-send_outbound"
    aws_request_id = "sim"

    def __init__(self, kernel: Kernel, deadline: float):
        self.kernel = kernel
        self.deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.kernel.now) * 1000))


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


def _setting(value: float | None) -> str | None:
    return None if value is None else str(value)


class Harness:
    """Set up with `with Harness(config) as sim:`; add numbers and sessions,
    submit, `run()`, then read `figures()`."""

    def __init__(self, config: Config | None = None):
        self.config = config or Config()
        self.rng = random.Random(self.config.seed)
        self.latencies = self.config.latencies
        self.kernel = Kernel(EPOCH)
        self.sqs_calls = collections.Counter()
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

    # --- the service, on moto, with the simulation's clock, Twilio, SQS and metrics ---------

    def __enter__(self) -> Harness:
        seams = self.seams = Seams()
        seams.environment(
            RESOURCE_PREFIX=PREFIX,
            SENDER_MAX_WAIT_SECONDS=_setting(self.config.max_wait_seconds),
            SENDER_MAX_IDLE_SECONDS=_setting(self.config.max_idle_seconds),
            CAMPAIGN_SEGMENTS_PER_SECOND=_setting(self.config.campaign_segments_per_second or None),
        )
        seams.enter(mock_aws())
        seams.fresh_clients()
        create_all(PREFIX, boto3.client("dynamodb", region_name=REGION), boto3.client("sqs", region_name=REGION))
        self.outbound = FifoQueue(
            self.kernel,
            service_config.queue_name("outbound"),
            self.config.visibility_timeout,
            self.config.max_receives,
        )
        self.twilio = VirtualTwilio(self.kernel, self.rng, self.config.faults, self.latencies.twilio, self.on_accepted)
        self.ctx = Context(clock=VirtualClock(self.kernel), twilio=self.twilio)
        seams.service_context(app_module, self.ctx)
        self.sqs = SqsClient(self.kernel, self.outbound, self.count_sqs, lambda: self.uniform(self.latencies.sqs_call))
        seams.sqs_client(self.sqs)
        seams.metrics_sink(self._collect_metric)
        seams.moto_speedups()
        seams.log_level("ERROR")
        self.dynamo = DynamoCalls(self.kernel, self.rng, self.latencies.dynamodb, self.config.wire)
        self.dynamo.install(seams)
        random.seed(self.config.seed)  # the sender's backoff jitter
        return self

    def __exit__(self, *exc) -> None:
        self.kernel.shutdown()
        self.seams.close()

    def _collect_metric(self, name: str, value: float, dimensions: dict) -> None:
        key = name + "".join(f"[{k}={v}]" for k, v in sorted(dimensions.items()) if k != "PoolNumber")
        self.metrics[key] += value

    # --- helpers -------------------------------------------------------------------

    def uniform(self, bounds: tuple) -> float:
        return self.rng.uniform(*bounds)

    def count_sqs(self, operation: str) -> None:
        self.sqs_calls[operation] += 1

    # --- the world -------------------------------------------------------------------

    def add_number(self, phone: str, segments_per_second: float = 1.0) -> None:
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
                self._invoke(batch)
            finally:
                self.idle_environments += 1

    def _invoke(self, batch: list[SimMessage]) -> None:
        kernel, queue = self.kernel, self.outbound
        start = kernel.now
        records = [queue.lambda_record(message) for message in batch]
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
            events_sent=sum(self.sqs.events_sent.values()),
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
