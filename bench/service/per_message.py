"""Section 2 of the service bench: AWS requests per message end to end (the botocore hooks
count them: bench/service/aws_hooks.py) for outbound messages with their status callbacks
and events, the DynamoDB write units they are billed, the log bytes they write, the queue
functions' invocations and seconds, and the AWS cost per million messages from them
(bench/service/costs.py).

The run is the fault run's (bench/service/fault_run.py) without faults, at a long code's
1 segment/s, in bursts of 50 over 15 sessions on 4 numbers, closer to Lambda than the fault
run: each invocation is played in a lane of its own forked from the run's time
(bench/kit/clocks.py), moto's SQS follows the run's clock, and no receive is made that a
long poll would not answer.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.kit.clocks import PlayedClock
from bench.kit.seams import Seams
from bench.service.aws_hooks import HOOKS
from bench.service.costs import cost_per_million
from bench.service.fault_plan import Plan
from bench.service.fault_run import FaultRun
from bench.service.local_service import LocalService


def quiet_plan(messages: int) -> Plan:
    """The fault run's plan with no fault: 15 sessions of 5 users on 4 long codes, 50 a round."""
    return Plan(
        messages=messages,
        users=5,
        partners_per_user=3,
        pool_size=4,
        per_round=50,
        replies_per_100=0,
        twilio_fault_rate=0,
        crash_rate=0,
        lost_delete_rate=0,
        duplicate_event_rate=0,
        dynamodb_throttle_rate=0,
        chat_down=(0, 0),
        seed=3,
        number_rate=1.0,
    )


def requests_per_message(service: LocalService, messages: int) -> dict:
    with Seams() as seams:
        run = FaultRun(
            quiet_plan(messages),
            app_module=service.app_module,
            api=service.client,
            standin=service.standin,
            chat=service.chat,
            seams=seams,
        )
        lambda_use = LambdaUse(run.clock, counting=lambda: HOOKS.counting)
        run.setup()
        run.sqs_follows_the_run_clock()  # a handed-back message comes back when SQS would
        run.parallel_invocations = True  # one number's invocation does not delay another's
        # Lambda's pollers long-poll (20 s): a receive answers when a message is there, so a
        # busy queue costs no empty receive; the run's receives that would find nothing are
        # not made (the lanes make many more moments at which a queue is looked at).
        run.skip_empty_receives = True
        for feed in run.feeds:
            feed.handler = lambda_use.timed(feed.handler)
        HOOKS.reset_counts()
        HOOKS.counting = True
        log_bytes = LogBytes()
        with Seams() as counting:
            counting.logs_to(log_bytes)
            counting.log_level("INFO")  # what the stages log at (.chalice/config.json)
            _play(run, messages)
        HOOKS.counting = False
        figures = run.figures()
    assert figures["lost"] == figures["not_final"] == figures["sent_twice"] == 0, figures
    calls, units, fifo = dict(HOOKS.calls), dict(HOOKS.write_units), dict(HOOKS.fifo_calls)
    by_caller = {name: round(n / messages, 3) for name, n in sorted(HOOKS.callers.items())}
    per_message = {name: n / messages for name, n in sorted(calls.items())}
    return {
        "messages": messages,
        "calls": calls,
        "per_message": per_message,
        "dynamodb_by_caller": by_caller,
        "total_per_message": round(sum(per_message.values()), 2),
        "log_bytes_per_message": round(log_bytes.count / messages),
        "write_units_per_message": {name: round(n / messages, 3) for name, n in sorted(units.items())},
        "lambda": lambda_use.per_message(messages),
        "sqs_fifo_per_message": {name: round(n / messages, 3) for name, n in sorted(fifo.items())},
        "cost": cost_per_million(
            per_message,
            log_bytes.count / messages,
            lambda_use.per_message(messages),
            sum(units.values()) / messages,
            sum(fifo.values()) / messages,
        ),
    }


def _play(run: FaultRun, messages: int) -> None:
    """Submit in bursts of 50, then let the run's time go to each next message SQS shows
    until every message is final and every callback posted."""
    for index in range(messages):
        run._submit(index)
        if index % 50 == 49:
            run._twilio_callbacks()
            run._feed_all()
    for _ in range(100 * messages):
        run._twilio_callbacks()
        if run._feed_all() == 0 and not run._callbacks_pending():
            wait = run.next_visible_in()
            if wait is None:
                break
            run.clock.sleep(wait + 0.001)  # the run's time moves to the next message SQS shows


class LambdaUse:
    """Invocations and seconds of each queue function in the run, on the run's clock: the
    sender's waits for its slots count, as Lambda bills them, though the run skips them."""

    def __init__(self, clock: PlayedClock, counting):
        self.clock = clock
        self.counting = counting  # whether this part of the run is counted
        self.invocations: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def timed(self, handler):
        name = handler.func.__name__

        def invoke(event, context):
            started = self.clock.now()
            try:
                return handler(event, context)
            finally:
                if self.counting():
                    self.invocations[name] = self.invocations.get(name, 0) + 1
                    self.seconds[name] = self.seconds.get(name, 0.0) + self.clock.now() - started

        return invoke

    def per_message(self, messages: int) -> dict:
        return {
            name: {"invocations": round(n / messages, 3), "seconds": round(self.seconds[name] / messages, 3)}
            for name, n in sorted(self.invocations.items())
        }


class LogBytes:
    """A stream that counts the bytes written to it (what CloudWatch Logs would ingest).
    BENCH_LOG_SAMPLE=FILE: also writes them there, to see what a message logs."""

    def __init__(self) -> None:
        self.count = 0
        self.sample = os.environ.get("BENCH_LOG_SAMPLE")
        if self.sample:
            Path(self.sample).write_text("")  # emptied; each write appends (and closes) below

    def write(self, text: str) -> int:
        self.count += len(text.encode("utf-8", "replace"))
        if self.sample:
            with open(self.sample, "a") as out:
                out.write(text)
        return len(text)

    def flush(self) -> None:
        pass
