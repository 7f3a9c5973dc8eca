"""Fault injection end to end: many messages through the real service while
everything around it misbehaves, then the figures that say nothing was lost,
nothing sent twice, everything final and every chat event delivered.

Real: the app (routes through Chalice's test client, SQS handlers as Lambda
calls them), chalicelib, PynamoDB and boto3 against moto in-process (every call
through botocore, as to AWS; bench/quicker_moto.py only takes out moto's own
look-up costs that grow with the run), the Twilio stand-in over HTTP (its
OpenAPI checks included) and the chat receiver over HTTP (signature checked,
deduped on event_id). `make bench` splits its 10,000 messages over two
processes (Plan.split: two whole services, each with half the users, pool
numbers and messages; merge_figures adds their figures up).

Faults, each counted:
- Twilio: a share of all calls (sends and the reconciliation look-ups) fail:
  500/503 answered by the stand-in before or after it took the message, 429,
  read timeouts and connection resets before or after the request reached it;
- the sender dies between Twilio's answer and recording it (the invocation
  ends: nothing of its batch is deleted or given back);
- SQS redelivers: a batch's deletes are lost (all of it comes back) and
  events are duplicated on the delivery queue (a standard queue may do that);
- DynamoDB throttles (ProvisionedThroughputExceededException) on a share of
  all calls, everywhere: API requests, webhooks, every handler;
- the chat webhook is down for a stretch of the run, long enough for events
  to be dead-lettered; they are replayed (scripts/replay_dlq.py) afterwards.

Time: the run goes in rounds. A round submits some messages, replies from
phones and Twilio status callbacks, then feeds each queue once to its handler.
Between rounds every wait (retry backoff, limiter deferral, the visibility
timeout of a crashed batch) is over: the queues' hidden messages are made
visible, as if the time had passed. The pool numbers send fast, so the run
measures correctness under faults, not the rate limits. Inside an invocation
the sender's waits (it books each send a little ahead and waits for its slot)
move the run's clock on instead of being slept out (`RunClock`): the service
(through its Context), the Twilio stand-in (its message dates, which the sender's
reconciliation compares with its claim time) and the chat receiver (the
events' signature timestamps) all read that clock.

The API client and Twilio retry what failed, as they do: the chat backend
POSTs again with the same client_message_id after a 5xx, Twilio posts a
webhook again after a non-2xx.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from urllib.parse import urlencode, urlsplit

from bench import quicker_moto
from bench.service_hooks import HOOKS

ACCOUNT = "123456789012"
REGION = "us-east-1"


class RunClock:
    """The run's clock: real time plus every wait skipped so far. Never goes back, but
    between invocations played as parallel lanes (`lane`)."""

    def __init__(self):
        self.skipped = 0.0  # seconds of waits not slept (less the lanes' time, given back)

    def now(self) -> float:
        return time.time() + self.skipped

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.skipped += seconds

    @contextlib.contextmanager
    def lane(self):
        """An invocation that runs beside the others, as Lambda runs one per message group
        at once: its time starts at the run's now and passes as it runs (its waits too);
        when it ends the run's time is back where the invocation started, so the next one
        starts then as well. The run plays invocations one after another; on AWS one
        number's invocation does not hold up another's slot."""
        real_start, skipped_before = time.time(), self.skipped
        try:
            yield
        finally:
            self.skipped = skipped_before - (time.time() - real_start)

    def utc(self):
        from datetime import datetime

        return datetime.fromtimestamp(self.now(), UTC)

    def install(self, setattr, standin_state) -> None:
        """The stand-in's message dates and the chat receiver read this clock too (the
        service gets it in its Context: FaultRun.setup)."""
        import types

        from devstack import chat_receiver

        setattr(standin_state, "clock", self.utc)
        # The receiver checks each event's signature timestamp against its time.
        setattr(chat_receiver, "time", types.SimpleNamespace(time=self.now, monotonic=time.monotonic))


def in_flight(message, now_ms: float) -> bool:
    """Received and not visible yet: SQS holds the message's FIFO group back meanwhile."""
    return bool(message.approximate_receive_count) and not now_ms > message.visible_at


@contextlib.contextmanager
def invocation_lane(clock: RunClock, queue_name: str):
    """An invocation fed from `queue_name` in a lane of the run's clock (RunClock.lane). What
    it made visible again in its own time (a visibility timeout of 0 once its slot came) is
    still in flight when the run's time goes back to the lane's start: moto's FIFO queue,
    which counts a group held only while a message of it is in its pending set, is told so,
    or it would hand out the group's later messages meanwhile."""
    from moto.backends import get_backend
    from moto.sqs import models

    try:
        with clock.lane():
            yield
    finally:
        queue = get_backend("sqs")[ACCOUNT][REGION].queues.get(queue_name)
        if queue is not None and queue.fifo_queue:
            now = models.unix_time_millis()  # moto's clock: the run's, when it follows it
            queue.pending_messages.update(m for m in queue._messages if in_flight(m, now))


class SimulatedCrash(BaseException):
    """The sender's invocation dies after Twilio accepted a message, before the record."""


def crashing_gateway(run: FaultRun):
    """The service's Twilio gateway, whose sends sometimes take the invocation down
    just after Twilio accepted them (while the run is faulting)."""
    from chalicelib.adapters.twilio import TwilioGateway

    class CrashingGateway(TwilioGateway):
        def send_sms(self, **kwargs):
            sent = super().send_sms(**kwargs)
            if run.faulting and run.rng.random() < run.plan.crash_rate:
                run.counts.crashes += 1
                raise SimulatedCrash()
            return sent

    return CrashingGateway()


@dataclass
class Plan:
    messages: int = 10_000
    users: int = 25
    partners_per_user: int = 4
    pool_size: int = 8
    replies_per_100: int = 5  # phone -> chat replies per 100 outbound messages
    per_round: int = 200  # messages submitted per round
    twilio_fault_rate: float = 0.10
    crash_rate: float = 0.02  # of successful Twilio sends
    lost_delete_rate: float = 0.05  # of batches
    duplicate_event_rate: float = 0.05  # of delivery batches: each event sent once more
    dynamodb_throttle_rate: float = 0.02
    chat_down: tuple = (0.2, 12)  # down from this share of the submission rounds, for this many rounds
    # (more rounds than the delivery queue's maxReceiveCount, 8: events get dead-lettered)
    max_rounds: int = 2000
    seed: int = 7
    # Segments per second of each pool number: fast here, as this run is about faults, not
    # rate limits (the per-message count of bench/service_bench.py sends at a long code's 1).
    number_rate: float = 1000.0
    # Where this run's users, pool numbers and message ids start (a shard of a split run).
    first_user: int = 0
    first_number: int = 0
    first_message: int = 0

    def split(self, shards: int) -> list[Plan]:
        """The same run as `shards` independent services, each with its share of the
        users, pool numbers and messages, and of each round's submissions (so every
        shard has as many rounds and the chat outage lasts as many of them); seeds
        differ. The fault rates are the plan's in every shard."""
        if shards <= 1:
            return [self]

        def share(total: int, i: int) -> int:
            return total // shards + (1 if i < total % shards else 0)

        plans = []
        for i in range(shards):
            plan = dataclasses.replace(
                self,
                messages=share(self.messages, i),
                users=share(self.users, i),
                pool_size=share(self.pool_size, i),
                per_round=share(self.per_round, i),
                seed=self.seed + 1000 * i,
                first_user=self.first_user + sum(share(self.users, j) for j in range(i)),
                first_number=self.first_number + sum(share(self.pool_size, j) for j in range(i)),
                first_message=self.first_message + sum(share(self.messages, j) for j in range(i)),
            )
            if plan.pool_size < plan.partners_per_user or plan.users < 1 or plan.per_round < 1:
                raise ValueError(
                    f"{shards} shards leave a shard {plan.users} users, {plan.pool_size} pool numbers "
                    f"(a user needs {plan.partners_per_user}) and {plan.per_round} messages a round"
                )
            plans.append(plan)
        return plans


TWILIO_FAULTS = {
    # name: (share of the fault rate, how)
    "500 before": 0.20,
    "500 after": 0.20,
    "503 before": 0.10,
    "429": 0.20,
    "timeout before": 0.075,
    "timeout after": 0.075,
    "reset before": 0.075,
    "reset after": 0.075,
}


@dataclass
class Counts:
    twilio_calls: int = 0
    twilio_faults: collections.Counter = field(default_factory=collections.Counter)
    crashes: int = 0
    lost_deletes: int = 0
    duplicated_events: int = 0
    api_retries: int = 0
    invocation_errors: int = 0
    webhook_retries: int = 0
    callbacks_posted: int = 0
    rounds: int = 0
    dead_lettered: dict = field(default_factory=dict)
    replayed: dict = field(default_factory=dict)


class TwilioFaults:
    """Wraps twilio's HTTP client: the faults a network and Twilio produce."""

    def __init__(self, plan: Plan, rng: random.Random, counts: Counts):
        self.plan, self.rng, self.counts = plan, rng, counts
        self.active = False

    def install(self, monkeypatch_setattr):
        from twilio.http.http_client import TwilioHttpClient

        real = TwilioHttpClient.request
        faults = self

        def request(client, method, url, *args, **kwargs):
            if not faults.active:
                return real(client, method, url, *args, **kwargs)
            faults.counts.twilio_calls += 1
            kind = faults.draw()
            if kind is None:
                return real(client, method, url, *args, **kwargs)
            faults.counts.twilio_faults[kind] += 1
            if kind.endswith("after"):
                real(client, method, url, *args, **kwargs)  # Twilio did it; the answer is lost
            return faults.answer(kind)

        monkeypatch_setattr(TwilioHttpClient, "request", request)

    def draw(self) -> str | None:
        if self.rng.random() >= self.plan.twilio_fault_rate:
            return None
        names, weights = zip(*TWILIO_FAULTS.items(), strict=True)
        return self.rng.choices(names, weights)[0]

    @staticmethod
    def answer(kind: str):
        import requests
        from twilio.http.response import Response

        if kind.startswith("timeout"):
            raise requests.exceptions.ReadTimeout("injected: read timed out")
        if kind.startswith("reset"):
            raise requests.exceptions.ConnectionError(ConnectionResetError(104, "injected: connection reset by peer"))
        status = int(kind.split()[0])
        code = {500: 20500, 503: 20503, 429: 20429}[status]
        return Response(status, json.dumps({"code": code, "message": "injected", "status": status}))


class FaultRun:
    """One run. `api` is a chalice.test.Client; `standin` the Twilio stand-in
    server; `chat` a devstack ChatReceiver; `setattr` a monkeypatch-like
    function whose patches the caller undoes."""

    def __init__(self, plan: Plan, *, app_module, api, standin, chat, setattr, out=print):
        import boto3

        from devstack import poller

        self.plan, self.app_module, self.api, self.standin, self.chat = plan, app_module, api, standin, chat
        self.setattr, self.out = setattr, out
        self.rng = random.Random(plan.seed)
        self.counts = Counts()
        self.sqs = boto3.client("sqs")
        self.feeds = poller.feeds_for(app_module)
        self.twilio_faults = TwilioFaults(plan, random.Random(plan.seed + 1), self.counts)
        self.submitted: dict[str, dict] = {}  # client_message_id -> {message_id, text, session}
        self.replies: dict[str, dict] = {}  # MessageSid -> {text, session_id}
        self.callbacks_done: set[tuple[str, str]] = set()
        self.sessions: list[dict] = []
        self.clock = RunClock()

    # -- setup (no faults) -------------------------------------------------------------

    def setup(self) -> None:
        from chalicelib.core import phone_numbers
        from chalicelib.usecases import pool_numbers as pool
        from chalicelib.wiring import production_context

        p = self.plan
        quicker_moto.install(self.setattr)
        state = self.standin.state
        self.clock.install(self.setattr, state)
        self.ctx = production_context(clock=self.clock, twilio=crashing_gateway(self))
        self.app_module.configure(self.ctx)
        pool_numbers = [f"+1415555{1000 + i:04d}" for i in range(p.first_number, p.first_number + p.pool_size)]
        for number in pool_numbers:
            state.add_number(number)
            pool.record(self.ctx, phone_numbers.parse(number, "US"), "PN" + number[1:].rjust(32, "0"), p.number_rate)
        for u in range(p.first_user, p.first_user + p.users):
            user_id, phone = f"user{u:03d}", f"+1628555{u:04d}"
            self._call("PUT", f"/users/{user_id}/phone", {"phone": phone}, expect=202)
            self.drain_quietly()
            code = _last_code(state, phone)
            self._call("POST", f"/users/{user_id}/phone/verify", {"code": code}, expect=200)
            for k in range(p.partners_per_user):
                session = self._call(
                    "POST",
                    "/sessions",
                    {"user_id": user_id, "partner_id": f"partner{k}", "partner_name": f"P{k}"},
                    expect=201,
                )
                session["phone"] = phone
                self.sessions.append(session)
        self.drain_quietly()
        self.twilio_faults.install(self.setattr)
        self.faulting = False
        self.chat.events.clear()
        self.chat._seen.clear()
        self.setup_messages = len(state.messages)

    faulting = False
    skip_empty_receives = False
    parallel_invocations = False  # each invocation in a lane of the run's clock (RunClock.lane)

    def drain_quietly(self) -> None:
        for _ in range(50):
            if self._feed_all() == 0:
                break
            self._time_passes()

    def _feed_all(self) -> int:
        """Feed every queue to its handler until none has a visible message left."""
        handled = 0
        for _ in range(10_000):
            got = sum(self._poll(feed) for feed in self.feeds)
            handled += got
            if got == 0:
                break
        return handled

    # -- the run -------------------------------------------------------------------------

    def run(self) -> dict:
        p = self.plan
        started = time.monotonic()
        self.skip_empty_receives = True
        self.setup()
        setup_seconds = time.monotonic() - started
        self._set_faults(True)
        submission_rounds = -(-p.messages // p.per_round)
        down_from = round(p.chat_down[0] * submission_rounds)
        down_to = down_from + p.chat_down[1]
        next_index, round_no = 0, 0
        while round_no < p.max_rounds:
            self.chat.failing = down_from <= round_no < down_to
            for _ in range(min(p.per_round, p.messages - next_index)):
                self._submit(next_index)
                next_index += 1
                if self.rng.random() < p.replies_per_100 / 100:
                    self._reply()
            self._twilio_callbacks()
            handled = self._feed_all()
            self._time_passes()
            round_no += 1
            if round_no % 5 == 0:
                elapsed = time.monotonic() - started
                left = elapsed * (p.messages - next_index) / next_index if next_index else 0
                self.out(
                    f"[faults] round {round_no}: {next_index} of {p.messages} submitted "
                    f"({next_index / p.messages:.0%}), {elapsed:.0f} s, about {left:.0f} s left"
                )
            if next_index >= p.messages and handled == 0 and not self._callbacks_pending():
                break
        self.counts.rounds = round_no
        self.chat.failing = False
        # Faults over: what is dead-lettered is visible, then replayed, then finished.
        self._set_faults(False)
        self.counts.dead_lettered = self._dead_letter_depths()
        self.counts.replayed = self._replay()
        for _ in range(50):
            self._twilio_callbacks()
            handled = self._feed_all()
            self._time_passes()
            if handled == 0 and not self._callbacks_pending():
                break
        figures = self.figures()
        figures["seconds"] = {
            "setup": round(setup_seconds, 1),
            "run": round(time.monotonic() - started - setup_seconds, 1),
            "waits_skipped": round(self.clock.skipped, 1),
        }
        return figures

    def _set_faults(self, on: bool) -> None:
        self.faulting = on
        self.twilio_faults.active = on
        HOOKS.throttle_rate = self.plan.dynamodb_throttle_rate if on else 0.0

    # -- the chat backend's and the phones' side -------------------------------------------

    def _submit(self, index: int) -> None:
        session = self.sessions[index % len(self.sessions)]
        number = self.plan.first_message + index
        client_id = f"c{number:06d}"
        text = f"m{number:06d} fault-run text {uuid.uuid4().hex[:8]}"
        answer = self._call(
            "POST",
            f"/sessions/{session['session_id']}/messages",
            {"text": text, "client_message_id": client_id},
            expect=202,
        )
        self.submitted[client_id] = {"message_id": answer["message_id"], "text": text, "session": session}

    def _reply(self) -> None:
        session = self.rng.choice(self.sessions)
        sid = "SM" + uuid.uuid4().hex
        text = f"reply {sid[-8:]}"
        params = {
            "From": session["phone"],
            "To": session["pool_number"],
            "Body": text,
            "MessageSid": sid,
            "AccountSid": self.standin.state.account_sid,
            "NumMedia": "0",
        }
        self._webhook("/twilio/sms", params, expect=200)
        self.replies[sid] = {"text": text, "session_id": session["session_id"]}

    def _twilio_callbacks(self) -> None:
        """Twilio's status callbacks for what it accepted: sent, then delivered;
        sometimes twice, sometimes the late 'sent' after 'delivered'."""
        with self.standin.state.lock:
            accepted = [
                m
                for m in self.standin.state.messages.values()
                if m.direction == "outbound-api"
                and m.status_callback
                and (m.sid, "delivered") not in self.callbacks_done
            ]
        for message in accepted:
            url = urlsplit(message.status_callback)
            steps = ["sent", "delivered"]
            if self.faulting and self.rng.random() < 0.1:
                steps = ["delivered", "sent", "delivered"]
            for status in steps:
                params = {
                    "MessageSid": message.sid,
                    "MessageStatus": status,
                    "AccountSid": self.standin.state.account_sid,
                }
                self._webhook(url.path.removeprefix(urlsplit(_public_base()).path), params, expect=204, query=url.query)
            self.callbacks_done.add((message.sid, "delivered"))

    def _callbacks_pending(self) -> bool:
        with self.standin.state.lock:
            return any(
                m.direction == "outbound-api" and m.status_callback and (m.sid, "delivered") not in self.callbacks_done
                for m in self.standin.state.messages.values()
            )

    # -- HTTP through the Chalice test client, retried as the callers retry ---------------

    def _call(self, method: str, path: str, body: dict, expect: int) -> dict:
        import os

        token = os.environ["API_TOKENS"].split(",")[0].strip()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        for _ in range(100):
            response = getattr(self.api.http, method.lower())(path, headers=headers, body=json.dumps(body))
            if response.status_code == expect:
                return json.loads(response.body) if response.body else {}
            if response.status_code < 500:
                raise AssertionError(f"{method} {path}: {response.status_code} {response.body[:300]!r}")
            self.counts.api_retries += 1  # "safe to retry": the same client_message_id
        raise AssertionError(f"{method} {path}: still failing after 100 tries")

    def _webhook(self, path: str, params: dict, expect: int, query: str = "") -> None:
        from twilio.request_validator import RequestValidator

        full_path = path + ("?" + query if query else "")
        signature = RequestValidator(self.standin.state.auth_token).compute_signature(
            _public_base() + full_path, params
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        for _ in range(100):
            response = self.api.http.post(full_path, headers=headers, body=urlencode(params))
            if response.status_code == expect:
                if path == "/twilio/status":
                    self.counts.callbacks_posted += 1
                return
            if response.status_code < 500:
                raise AssertionError(f"{full_path}: {response.status_code} {response.body[:300]!r}")
            self.counts.webhook_retries += 1
        raise AssertionError(f"{full_path}: still failing after 100 tries")

    # -- Lambda's side: feed the queues, with crashes and lost deletes --------------------

    def _poll(self, feed) -> int:
        from devstack import poller

        if self.skip_empty_receives and not self._any_visible(feed.queue_name):
            return 0  # the receive would answer nothing: not made (Lambda's pollers long-poll)
        url = feed.url(self.sqs)
        received = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=feed.batch_size, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return 0
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{feed.queue_name}"
        event = {"Records": [poller._record(m, arn, REGION) for m in received]}
        lane = invocation_lane(self.clock, feed.queue_name) if self.parallel_invocations else contextlib.nullcontext()
        try:
            with lane:
                result = feed.handler(event, poller._Context())
        except SimulatedCrash:
            return len(received)  # the invocation died: nothing deleted, nothing given back
        except Exception:
            # The handler raised (a throttle outside its own error handling): Lambda
            # counts the whole batch failed and SQS shows it again after the timeout.
            self.counts.invocation_errors += 1
            return len(received)
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        if (
            self.faulting
            and feed.queue_name.endswith("delivery")
            and self.rng.random() < self.plan.duplicate_event_rate
        ):
            for message in done:
                self.sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
                self.counts.duplicated_events += 1
        if done and self.faulting and self.rng.random() < self.plan.lost_delete_rate:
            self.counts.lost_deletes += len(done)
            return len(received)
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            )
        return len(received)

    @staticmethod
    def _any_visible(queue_name: str) -> bool:
        """Whether a receive could return anything (moto's backend, read in place)."""
        from moto.backends import get_backend

        queue = get_backend("sqs")[ACCOUNT][REGION].queues.get(queue_name)
        if queue is None:
            return True
        from moto.sqs import models

        now = models.unix_time_millis()  # moto's own clock (the run's, when it follows it)
        held = {m.group_id for m in queue._messages if in_flight(m, now)}  # its FIFO group gives nothing
        return any(
            now > m.visible_at and not now < m.delayed_until and (m.group_id is None or m.group_id not in held)
            for m in queue._messages
        )

    def sqs_follows_the_run_clock(self) -> None:
        """moto's SQS reads the run's clock, so a visibility timeout ends when the run's time
        says (with its waits skipped), not after as many real seconds."""
        from moto.sqs import models

        self.setattr(models, "unix_time", self.clock.now)
        self.setattr(models, "unix_time_millis", lambda: self.clock.now() * 1000.0)

    def next_visible_in(self) -> float | None:
        """Seconds of the run's time until the next hidden message is visible; None if none."""
        from moto.backends import get_backend
        from moto.sqs import models

        queues = get_backend("sqs")[ACCOUNT][REGION].queues
        now = models.unix_time_millis()
        # Only what is still hidden: a visible message that a receive does not return (its
        # FIFO group has one in flight) comes back when that one does.
        hidden = [
            at
            for f in self.feeds
            if f.queue_name in queues
            for m in queues[f.queue_name]._messages
            if (at := max(m.visible_at, m.delayed_until)) > now
        ]
        return (min(hidden) - now) / 1000.0 if hidden else None

    def _time_passes(self) -> None:
        """Every hidden message's wait is over (backoffs, deferrals, crashed batches)."""
        from moto.backends import get_backend

        queues = get_backend("sqs")[ACCOUNT][REGION].queues
        for feed in self.feeds:
            queue = queues.get(feed.queue_name)
            if queue is None:
                continue
            for message in list(queue._messages):
                message.change_visibility(0)

    # -- dead letters ------------------------------------------------------------------

    def _dead_letter_depths(self) -> dict:
        depths = {}
        for feed in self.feeds:
            dlq = _dead_letter_queue(self.sqs, feed.url(self.sqs))
            if dlq:
                attributes = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                depths[feed.queue_name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        return depths

    def _replay(self) -> dict:
        from scripts.replay_dlq import replay

        moved = {}
        for feed in self.feeds:
            moved[feed.queue_name] = len(replay(self.sqs, feed.queue_name, out=lambda line: None))
        return moved

    # -- the figures -------------------------------------------------------------------

    def figures(self) -> dict:
        from chalicelib.core import events
        from chalicelib.core.message_rules import FINAL, inbound_message_id
        from chalicelib.store.models import Message

        state = self.standin.state
        with state.lock:
            at_twilio = collections.Counter(m.body for m in state.messages.values() if m.direction == "outbound-api")
        stored = {m.message_id: m for m in Message.scan()}
        lost, twice, not_final = [], [], []
        expected_events = set()
        for client_id, sub in self.submitted.items():
            copies = sum(n for body, n in at_twilio.items() if body.endswith(sub["text"]))
            if copies == 0:
                lost.append(client_id)
            elif copies > 1:
                twice.append(client_id)
            message = stored.get(sub["message_id"])
            if message is None or message.status not in FINAL:
                not_final.append((client_id, message.status if message else None))
            else:
                expected_events.add(events.event_id(events.MESSAGE_STATUS, f"{message.message_id}:{message.status}"))
        replies_stored = 0
        for sid in self.replies:
            message_id = inbound_message_id(sid)
            if message_id in stored:
                replies_stored += 1
            expected_events.add(events.event_id(events.MESSAGE_RECEIVED, message_id))
        arrived = {e["event_id"] for e in self.chat.events}
        missing_events = expected_events - arrived
        return {
            "messages": len(self.submitted),
            "replies": len(self.replies),
            "lost": len(lost),
            "sent_twice": len(twice),
            "not_final": len(not_final),
            "replies_lost": len(self.replies) - replies_stored,
            "chat_events_expected": len(expected_events),
            "chat_events_missing": len(missing_events),
            "chat_events_delivered": len(expected_events) - len(missing_events),
            "chat_events_received_all_types": len(arrived),
            "examples": {
                "lost": lost[:5],
                "twice": twice[:5],
                "not_final": not_final[:5],
                "missing_events": sorted(missing_events)[:5],
            },
            "faults": {
                "twilio_calls": self.counts.twilio_calls,
                "twilio_faults": dict(self.counts.twilio_faults),
                "twilio_fault_share": round(
                    sum(self.counts.twilio_faults.values()) / max(1, self.counts.twilio_calls), 4
                ),
                "sender_crashes": self.counts.crashes,
                "lost_deletes": self.counts.lost_deletes,
                "duplicated_events": self.counts.duplicated_events,
                "dynamodb_throttles": sum(HOOKS.throttled.values()),
                "api_retries": self.counts.api_retries,
                "handler_invocation_errors": self.counts.invocation_errors,
                "webhook_retries": self.counts.webhook_retries,
                "dead_lettered": self.counts.dead_lettered,
                "replayed": self.counts.replayed,
            },
            "rounds": self.counts.rounds,
        }


def merge_figures(parts: list[dict]) -> dict:
    """The figures of a split run's shards as one run's: counts added, rounds and
    seconds the longest shard's (they ran side by side)."""
    if len(parts) == 1:
        return parts[0]
    summed = [
        "messages",
        "replies",
        "lost",
        "sent_twice",
        "not_final",
        "replies_lost",
        "chat_events_expected",
        "chat_events_missing",
        "chat_events_delivered",
        "chat_events_received_all_types",
    ]
    merged: dict = {key: sum(part[key] for part in parts) for key in summed}
    merged["examples"] = {
        kind: [e for part in parts for e in part["examples"][kind]][:5] for kind in parts[0]["examples"]
    }
    faults: dict = {}
    for key, value in parts[0]["faults"].items():
        if isinstance(value, dict):
            total: collections.Counter = collections.Counter()
            for part in parts:
                total.update(part["faults"][key])
            faults[key] = dict(total)
        elif key != "twilio_fault_share":
            faults[key] = sum(part["faults"][key] for part in parts)
    faults["twilio_fault_share"] = round(sum(faults["twilio_faults"].values()) / max(1, faults["twilio_calls"]), 4)
    merged["faults"] = {key: faults[key] for key in parts[0]["faults"]}
    merged["rounds"] = max(part["rounds"] for part in parts)
    merged["seconds"] = {key: max(part["seconds"][key] for part in parts) for key in parts[0]["seconds"]}
    merged["shards"] = [
        {"messages": part["messages"], "rounds": part["rounds"], "seconds": part["seconds"]} for part in parts
    ]
    return merged


def _public_base() -> str:
    import os

    return os.environ["PUBLIC_BASE_URL"].rstrip("/")


def _last_code(state, phone: str) -> str:
    import re

    with state.lock:
        bodies = [m.body for m in state.messages.values() if m.to == phone and "code" in m.body]
    return re.search(r"\b(\d{6})\b", bodies[-1]).group(1)


def _dead_letter_queue(sqs, url: str) -> str | None:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        return None
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    return sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
