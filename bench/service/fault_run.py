"""Fault injection end to end: many messages through the real service while
everything around it misbehaves, then the figures that say nothing was lost,
nothing sent twice, everything final and every chat event delivered.

Real: the app (routes through Chalice's test client, SQS handlers as Lambda
calls them), chalicelib, PynamoDB and boto3 against moto in-process (every call
through botocore, as to AWS; bench/kit/moto_speedups.py only takes out moto's
own look-up costs that grow with the run), the Twilio stand-in over HTTP (its
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
move the run's clock on instead of being slept out (bench/kit/clocks.py,
`PlayedClock`): the service (through its Context), the Twilio stand-in (its
message dates, which the sender's reconciliation compares with its claim time)
and the chat receiver (the events' signature timestamps) all read that clock.
With `parallel_invocations` (the per-message run of bench/service/per_message.py)
each invocation is played in a lane of its own, forked from the run's time.

Every seam into the service and its neighbours goes through `seams`
(bench/kit/seams.py), which the caller closes.

The API client and Twilio retry what failed, as they do: the chat backend
POSTs again with the same client_message_id after a 5xx, Twilio posts a
webhook again after a non-2xx.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import random
import re
import time
import uuid
from urllib.parse import urlencode, urlsplit

import boto3
from twilio.request_validator import RequestValidator

from bench.kit import sqs_feeding
from bench.kit.clocks import PlayedClock
from bench.kit.fault_dice import FaultDice
from bench.kit.seams import Seams
from bench.kit.twilio_fakes import SimulatedCrash, TwilioFaults, crashing_gateway
from bench.service import aws_hooks
from bench.service.aws_hooks import HOOKS
from bench.service.fault_plan import Counts, Plan
from chalicelib.core import events, phone_numbers
from chalicelib.core.message_rules import FINAL, inbound_message_id
from chalicelib.store.models import Message
from chalicelib.usecases import pool_numbers as pool
from chalicelib.wiring import production_context
from devstack import poller
from scripts.replay_dlq import replay


class FaultRun:
    """One run. `api` is a chalice.test.Client; `standin` the Twilio stand-in
    server; `chat` a devstack ChatReceiver; `seams` (bench/kit/seams.py) takes
    every seam the run installs, and the caller closes it."""

    def __init__(self, plan: Plan, *, app_module, api, standin, chat, seams: Seams, out=print):
        self.plan, self.app_module, self.api, self.standin, self.chat = plan, app_module, api, standin, chat
        self.seams, self.out = seams, out
        self.rng = random.Random(plan.seed)
        self.counts = Counts()
        self.sqs = boto3.client("sqs")
        self.feeds = poller.feeds_for(app_module)
        self.queue_names = [feed.queue_name for feed in self.feeds]
        # Every fault from its own seeded stream (bench/kit/fault_dice.py); self.rng draws only
        # what the run does in a fixed order (replies and the sessions they answer).
        self.dice = FaultDice(plan.seed, first_chances_strike=plan.first_chances_strike)
        self.twilio_faults = TwilioFaults(plan.twilio_fault_rate, self.dice, self.counts)
        self.submitted: dict[str, dict] = {}  # client_message_id -> {message_id, text, session}
        self.replies: dict[str, dict] = {}  # MessageSid -> {text, session_id}
        self.callbacks_done: set[tuple[str, str]] = set()
        self.sessions: list[dict] = []
        self.clock = PlayedClock()

    # -- setup (no faults) -------------------------------------------------------------

    def setup(self) -> None:
        p, seams = self.plan, self.seams
        aws_hooks.install(seams)  # DynamoDB throttles, and the per-message run's counts
        seams.on_close(self._set_faults, False)  # no fault outlives the run, whatever ended it
        seams.moto_speedups()
        state = self.standin.state
        seams.standin_clock(state, self.clock.utc)
        seams.chat_receiver_clock(self.clock.now)
        self.ctx = production_context(clock=self.clock, twilio=crashing_gateway(self._crashes))
        seams.service_context(self.app_module, self.ctx)
        self._shorten_delivery_retention()
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
        seams.twilio_http(self.twilio_faults.wrap)
        self.faulting = False
        self.chat.events.clear()
        self.chat._seen.clear()
        self.setup_messages = len(state.messages)

    faulting = False
    skip_empty_receives = False
    parallel_invocations = False  # each invocation in a lane of its own (PlayedClock.lane)

    def _crashes(self) -> bool:
        """Whether the sender's invocation dies now, just after Twilio accepted its send."""
        if self.faulting and self.dice.strikes("sender crash", self.plan.crash_rate):
            self.counts.crashes += 1
            return True
        return False

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
        rate = self.plan.dynamodb_throttle_rate
        HOOKS.throttles = (lambda: self.dice.strikes("dynamodb throttle", rate)) if on else None

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
            if self.faulting and self.dice.strikes("late sent callback", 0.1):
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
        if self.skip_empty_receives and not sqs_feeding.any_visible(feed.queue_name):
            return 0  # the receive would answer nothing: not made (Lambda's pollers long-poll)
        url = feed.url(self.sqs)
        received = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=feed.batch_size, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return 0
        event = sqs_feeding.lambda_event(received, feed.queue_name)
        lane = (
            sqs_feeding.invocation_lane(self.clock, feed.queue_name)
            if self.parallel_invocations
            else contextlib.nullcontext()
        )
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
        delivery = feed.queue_name.endswith("delivery")
        if (
            done
            and self.faulting
            and delivery
            and self.dice.strikes("duplicated events", self.plan.duplicate_event_rate)
        ):
            for message in done:
                self.sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
                self.counts.duplicated_events += 1
        if done and self.faulting and self.dice.strikes("lost deletes", self.plan.lost_delete_rate):
            self.counts.lost_deletes += len(done)
            return len(received)
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            )
        return len(received)

    def sqs_follows_the_run_clock(self) -> None:
        """moto's SQS reads the run's clock, so a visibility timeout ends when the run's time
        says (with its waits skipped), not after as many real seconds."""
        self.seams.moto_sqs_clock(self.clock.now)

    def next_visible_in(self) -> float | None:
        """Seconds of the run's time until the next hidden message shows; None if none."""
        return sqs_feeding.next_visible_in(self.queue_names)

    def _time_passes(self) -> None:
        """Every hidden message's wait is over (backoffs, deferrals, crashed batches)."""
        sqs_feeding.make_visible(self.queue_names)

    # -- dead letters ------------------------------------------------------------------

    def _shorten_delivery_retention(self) -> None:
        """The delivery queue dead-letters after the plan's receives (see its
        delivery_max_receives), as a stage with a short retention would."""
        (feed,) = [feed for feed in self.feeds if feed.queue_name.endswith("delivery")]
        url = feed.url(self.sqs)
        policy = json.loads(
            self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
        )
        policy["maxReceiveCount"] = self.plan.delivery_max_receives
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})

    def _dead_letter_depths(self) -> dict:
        depths = {}
        for feed in self.feeds:
            dlq = _dead_letter_queue(self.sqs, feed.url(self.sqs))
            if dlq:
                attributes = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                depths[feed.queue_name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        return depths

    def _replay(self) -> dict:
        moved = {}
        for feed in self.feeds:
            moved[feed.queue_name] = len(replay(self.sqs, feed.queue_name, out=lambda line: None))
        return moved

    # -- the figures -------------------------------------------------------------------

    def figures(self) -> dict:
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


def _public_base() -> str:
    return os.environ["PUBLIC_BASE_URL"].rstrip("/")


def _last_code(state, phone: str) -> str:
    with state.lock:
        bodies = [m.body for m in state.messages.values() if m.to == phone and "code" in m.body]
    return re.search(r"\b(\d{6})\b", bodies[-1]).group(1)


def _dead_letter_queue(sqs, url: str) -> str | None:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        return None
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    return sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
