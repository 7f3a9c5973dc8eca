"""The service's own benchmarks, printed as ratios measured in one run (`make bench`).

    python -m bench.service_bench [--requests 300] [--messages 300] [--fault-messages 10000]
                                  [--fault-shards 2] [--fault-log-dir DIR] [--skip-faults | --faults-only]
                                  [--json out.json]

1. Handler time against its floor, against one moto server (ThreadedMotoServer,
   over HTTP) in this process: the route through Chalice (routing, middleware,
   the domain, PynamoDB), against the least the route has to do, measured alone
   with plain boto3 calls right after:
   - POST /twilio/sms (a routed reply): the signature check, read the route,
     read the session, write the message (conditional), one SQS send;
   - POST /sessions/{id}/messages: the bearer check, read the session, the user
     and the phone (opted out?), write the message (conditional), one SQS send.
   p50 and p99 of each; goal: handler p50 <= 1.2 x floor p50.
2. AWS requests per message end to end (a botocore before-call hook counts
   them: bench/service_hooks.py) for outbound messages with their status
   callbacks and events, and replies; the AWS cost per million messages from
   the published prices in bench/prices.json, next to Twilio's per-segment fee.
   Goals: AWS cost <= 0.20% of the Twilio fee, <= 4.5 DynamoDB writes per message, log bytes
   per message at most half of the 1,478 before issue 14.
3. `import app` time against importing, alone, every module it brings in that
   is not the project's own (each in a fresh interpreter, median of 7).
   Goal: <= 1.3x.
4. The fault run with 10,000 messages (bench/service_faults.py), on moto in-process,
   split over --fault-shards processes (2 on a machine with 2 or more cores: each a
   whole service with its share of the users, pool numbers and messages, their figures
   added up); the service's logs go to one file per shard (--fault-log-dir).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRICES = json.loads((ROOT / "bench" / "prices.json").read_text())
API_TOKEN = "bench-api-token"
AUTH_TOKEN = "bench-twilio-auth-token"
PUBLIC_BASE_URL = "https://bridge.example.test/api"
PREFIX = "sms-bridge-dev-"
# Issue 14's goals for section 2: AWS cost against Twilio's fee, DynamoDB writes per message
# end to end, and log bytes per message at most half of what they were (1,478 before it).
COST_SHARE_GOAL = 0.002
WRITES_PER_MESSAGE_GOAL = 4.5
LOG_BYTES_BEFORE = 1478
LOG_BYTES_GOAL = LOG_BYTES_BEFORE / 2


def _environment() -> None:
    sys.path.insert(0, str(ROOT))
    from devstack.offline import fake_aws_environment

    os.environ.update(
        {
            **fake_aws_environment(),
            "RESOURCE_PREFIX": PREFIX,
            "API_TOKENS": API_TOKEN,
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "CHAT_WEBHOOK_SECRET": "bench-webhook-secret",
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    for name in ("OUTBOUND_QUEUE", "DELIVERY_QUEUE", "REQUESTS_QUEUE", "REQUESTS_DLQ_QUEUE"):
        os.environ.pop(name, None)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _timing(values: list[float]) -> dict:
    return {"p50_ms": round(_percentile(values, 50) * 1000, 2), "p99_ms": round(_percentile(values, 99) * 1000, 2)}


class Patch:
    """monkeypatch.setattr for a script: undone by undo()."""

    def __init__(self):
        self.undo_list = []

    def __call__(self, target, name, value):
        self.undo_list.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self):
        while self.undo_list:
            target, name, value = self.undo_list.pop()
            setattr(target, name, value)


class LocalService:
    """moto (its server, or with in_process=True its mock in this process), the Twilio
    stand-in, a chat receiver and the app behind Chalice's test client."""

    def __init__(self, in_process: bool = False):
        self.in_process = in_process
        self.moto = self.mock = None

    def __enter__(self):
        from devstack import moto_sqs_fifo

        moto_sqs_fifo.install()  # SQS's FIFO group order and batching, as the local stack has them
        if self.in_process:
            from moto import mock_aws

            os.environ.pop("AWS_ENDPOINT_URL", None)
            self.mock = mock_aws()
            self.mock.start()  # fresh backends
        else:
            import logging

            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per AWS call drowns the figures
            self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self.moto.start()
            host, port = self.moto.get_host_and_port()
            os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
            import requests

            requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10)  # moto's state is per process
        from bench import service_hooks

        service_hooks.install()
        import boto3

        from infra.resources import create_all

        create_all(PREFIX, boto3.client("dynamodb"), boto3.client("sqs"))
        from devstack.chat_receiver import ChatReceiver
        from devstack.twilio.server import serve

        self.standin = serve(
            port=0, account_sid=os.environ["TWILIO_ACCOUNT_SID"], auth_token=AUTH_TOKEN, callback_delay=3600
        )
        os.environ["TWILIO_API_BASE_URL"] = self.standin.url
        self.chat = ChatReceiver([os.environ["CHAT_WEBHOOK_SECRET"]]).start()
        os.environ["CHAT_WEBHOOK_URL"] = self.chat.url
        from chalice.test import Client

        import app as app_module

        self.app_module = app_module
        self.client = Client(app_module.app).__enter__()
        return self

    def __exit__(self, *exc):
        self.client.__exit__(None, None, None)
        self.chat.stop()
        self.standin.shutdown()
        if self.mock is not None:
            self.mock.stop()
        else:
            self.moto.stop()
            os.environ.pop("AWS_ENDPOINT_URL", None)
        from bench import service_hooks

        service_hooks.forget_clients()  # they name this backend


# --- 1. handler against floor ---------------------------------------------------------------


def _json_call(client, method, path, body, token=API_TOKEN):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    response = getattr(client.http, method.lower())(path, headers=headers, body=json.dumps(body))
    return response.status_code, (json.loads(response.body) if response.body else None)


def one_open_session(service: LocalService) -> tuple[dict, str]:
    """A pool number, a verified user who is away, and an open session."""
    import re

    import boto3

    from chalicelib.core import phone_numbers
    from chalicelib.usecases import pool_numbers
    from devstack import poller

    number, phone = "+14155550101", "+14155550100"
    service.standin.state.add_number(number)
    parsed = phone_numbers.parse(number, "US")
    pool_numbers.record(service.app_module.context, parsed, "PN" + number[1:].rjust(32, "0"), 1000.0)
    client, sqs = service.client, boto3.client("sqs")
    assert _json_call(client, "PUT", "/users/alice/phone", {"phone": phone})[0] == 202
    poller.drain(poller.feeds_for(service.app_module), sqs)
    with service.standin.state.lock:
        body = [m.body for m in service.standin.state.messages.values() if m.to == phone][-1]
    code = re.search(r"\b(\d{6})\b", body).group(1)
    assert _json_call(client, "POST", "/users/alice/phone/verify", {"code": code})[0] == 200
    assert _json_call(client, "PUT", "/users/alice/presence", {"away": True})[0] == 200
    status, session = _json_call(
        client, "POST", "/sessions", {"user_id": "alice", "partner_id": "bob", "partner_name": "Bob"}
    )
    assert status == 201, session
    return session, phone


def handler_benchmarks(service: LocalService, requests: int) -> dict:
    import uuid
    from urllib.parse import urlencode

    import boto3
    from twilio.request_validator import RequestValidator

    from bench.service_hooks import HOOKS

    client = service.client
    session, phone = one_open_session(service)
    validator = RequestValidator(AUTH_TOKEN)
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    delivery_url = sqs.get_queue_url(QueueName=f"{PREFIX}delivery")["QueueUrl"]
    outbound_url = sqs.get_queue_url(QueueName=f"{PREFIX}outbound.fifo")["QueueUrl"]

    def inbound_params():
        return {
            "From": phone,
            "To": session["pool_number"],
            "Body": "on my way " + uuid.uuid4().hex[:6],
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": os.environ["TWILIO_ACCOUNT_SID"],
            "NumMedia": "0",
        }

    def handler_inbound():
        params = inbound_params()
        signature = validator.compute_signature(PUBLIC_BASE_URL + "/twilio/sms", params)
        started = time.perf_counter()
        response = client.http.post(
            "/twilio/sms",
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
            body=urlencode(params),
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and b"<Message>" not in response.body, response.body
        return elapsed

    def floor_inbound():
        params = inbound_params()
        signature = validator.compute_signature(PUBLIC_BASE_URL + "/twilio/sms", params)
        started = time.perf_counter()
        assert RequestValidator(AUTH_TOKEN).validate(PUBLIC_BASE_URL + "/twilio/sms", params, signature)
        route = dynamodb.get_item(
            TableName=f"{PREFIX}routes",
            ConsistentRead=True,
            Key={"phone": {"S": phone}, "pool_number": {"S": session["pool_number"]}},
        )["Item"]
        dynamodb.get_item(TableName=f"{PREFIX}sessions", ConsistentRead=True, Key={"session_id": route["session_id"]})
        message_id = "msg_in_" + uuid.uuid4().hex
        dynamodb.put_item(
            TableName=f"{PREFIX}messages",
            ConditionExpression="attribute_not_exists(message_id)",
            Item={
                "message_id": {"S": message_id},
                "session_id": route["session_id"],
                "direction": {"S": "inbound"},
                "text": {"S": params["Body"]},
                "status": {"S": "received"},
                "from_number": {"S": phone},
                "to_number": {"S": session["pool_number"]},
                "created_at": {"N": str(time.time())},
                "order_key": {"S": f"{time.time_ns()}:{message_id}"},
            },
        )
        sqs.send_message(
            QueueUrl=delivery_url,
            MessageBody=json.dumps({"type": "message.received", "message_id": message_id, "text": params["Body"]}),
        )
        return time.perf_counter() - started

    def handler_send():
        started = time.perf_counter()
        status, body = _json_call(
            client,
            "POST",
            f"/sessions/{session['session_id']}/messages",
            {"text": "see you at noon", "client_message_id": uuid.uuid4().hex},
        )
        elapsed = time.perf_counter() - started
        assert status == 202, body
        return elapsed

    def floor_send():
        import hmac

        started = time.perf_counter()
        assert any(hmac.compare_digest(API_TOKEN.encode(), t.encode()) for t in os.environ["API_TOKENS"].split(","))
        item = dynamodb.get_item(
            TableName=f"{PREFIX}sessions", ConsistentRead=True, Key={"session_id": {"S": session["session_id"]}}
        )["Item"]
        user = dynamodb.get_item(TableName=f"{PREFIX}users", ConsistentRead=True, Key={"user_id": item["user_id"]})[
            "Item"
        ]
        dynamodb.get_item(TableName=f"{PREFIX}phones", ConsistentRead=True, Key={"phone": user["phone"]})
        message_id = "msg_" + uuid.uuid4().hex
        dynamodb.put_item(
            TableName=f"{PREFIX}messages",
            ConditionExpression="attribute_not_exists(message_id)",
            Item={
                "message_id": {"S": message_id},
                "session_id": item["session_id"],
                "direction": {"S": "outbound"},
                "text": {"S": "see you at noon"},
                "body": {"S": "Bob: see you at noon"},
                "status": {"S": "queued"},
                "from_number": item["pool_number"],
                "to_number": item["user_phone"],
                "created_at": {"N": str(time.time())},
                "order_key": {"S": f"{time.time_ns()}:{message_id}"},
                "queued_user_id": item["user_id"],
            },
        )
        sqs.send_message(
            QueueUrl=outbound_url,
            MessageBody=json.dumps({"message_id": message_id}),
            MessageGroupId=item["pool_number"]["S"],
            MessageDeduplicationId=message_id,
        )
        return time.perf_counter() - started

    results = {}
    for name, handler, floor in (
        ("POST /twilio/sms", handler_inbound, floor_inbound),
        ("POST /sessions/{id}/messages", handler_send, floor_send),
    ):
        for _ in range(20):  # warm up both (clients, connections, caches)
            handler()
            floor()
        HOOKS.reset_counts()
        HOOKS.counting = True
        handler()
        calls = dict(HOOKS.calls)
        HOOKS.reset_counts()
        floor()
        floor_calls = dict(HOOKS.calls)
        HOOKS.counting = False
        handler_times, floor_times = [], []
        for _ in range(requests):  # interleaved, so both see the same machine load
            handler_times.append(handler())
            floor_times.append(floor())
        ratio = statistics.median(handler_times) / statistics.median(floor_times)
        results[name] = {
            "handler": _timing(handler_times),
            "floor": _timing(floor_times),
            "ratio_p50": round(ratio, 2),
            "goal": "<= 1.2",
            "met": ratio <= 1.2,
            "aws_calls_handler": calls,
            "aws_calls_floor": floor_calls,
        }
    return results


# --- 2. AWS requests and cost per message -----------------------------------------------------


def requests_per_message(service: LocalService, messages: int) -> dict:
    from bench.service_faults import FaultRun, Plan
    from bench.service_hooks import HOOKS

    plan = Plan(
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
    patch = Patch()
    run = FaultRun(
        plan,
        app_module=service.app_module,
        api=service.client,
        standin=service.standin,
        chat=service.chat,
        setattr=patch,
    )
    lambda_use = LambdaUse(run.clock, counting=lambda: HOOKS.counting)
    try:
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
        log_bytes = _count_stdout_bytes()
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
        HOOKS.counting = False
        logged = log_bytes.stop()
        figures = run.figures()
    finally:
        patch.undo()
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
        "log_bytes_per_message": round(logged / messages),
        "write_units_per_message": {name: round(n / messages, 3) for name, n in sorted(units.items())},
        "lambda": lambda_use.per_message(messages),
        "sqs_fifo_per_message": {name: round(n / messages, 3) for name, n in sorted(fifo.items())},
        "cost": cost_per_million(
            per_message,
            logged / messages,
            lambda_use.per_message(messages),
            sum(units.values()) / messages,
            sum(fifo.values()) / messages,
        ),
    }


class LambdaUse:
    """Invocations and seconds of each queue function in the run, on the run's clock: the
    sender's waits for its slots count, as Lambda bills them, though the run skips them."""

    def __init__(self, clock, counting):
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


class _count_stdout_bytes:
    def __init__(self):
        self.real = sys.stdout
        self.count = 0
        outer = self
        # BENCH_LOG_SAMPLE=FILE: also write what was counted there (to see what a message logs).
        sample = os.environ.get("BENCH_LOG_SAMPLE")
        if sample:
            Path(sample).write_text("")  # emptied; each write appends (and closes) below

        class Counting:
            def write(self, text):
                outer.count += len(text.encode("utf-8", "replace"))
                if sample:
                    with open(sample, "a") as out:
                        out.write(text)
                return len(text)

            def flush(self):
                pass

        sys.stdout = Counting()
        from chalicelib.adapters.logs import logger

        self.handlers = [(h, getattr(h, "stream", None)) for h in logger.handlers]
        for handler, _ in self.handlers:
            if hasattr(handler, "stream"):
                handler.stream = sys.stdout
        self.previous_level = logger.log_level
        logger.setLevel("INFO")  # what the stages log at (.chalice/config.json)

    def stop(self) -> int:
        from chalicelib.adapters.logs import logger

        sys.stdout = self.real
        for handler, stream in self.handlers:
            if stream is not None:
                handler.stream = stream
        logger.setLevel(self.previous_level)
        return self.count


def function_memory_gb(stage: str = "prod") -> dict[str, float]:
    """Each function's memory in GB, as `chalice deploy` sets it for the stage."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    default = config.get("lambda_memory_size", 128)
    functions = config.get("lambda_functions", {})
    return {name: f.get("lambda_memory_size", default) / 1024 for name, f in functions.items()} | {
        "default": default / 1024
    }


def cost_per_million(
    per_message: dict,
    log_bytes: float,
    queue_functions: dict | None = None,
    write_units: float | None = None,
    fifo_sqs_requests: float | None = None,
) -> dict:
    """AWS's bill per million messages: the counted requests at list prices, the API
    handler's invocations as assumed (prices.json), the queue functions' as measured,
    DynamoDB's write units as billed (bench/write_units.py) or, without them, assumed, and
    SQS's requests at a FIFO queue's price or, those counted as a standard queue's, at that."""
    p = PRICES
    dynamodb_reads = sum(
        n for name, n in per_message.items() if name.split(".")[1] in ("GetItem", "Query", "Scan", "BatchGetItem")
    )
    dynamodb_writes = sum(
        n for name, n in per_message.items() if name.split(".")[1] in ("PutItem", "UpdateItem", "DeleteItem")
    )
    if write_units is None:
        write_units = dynamodb_writes * p["assumptions"]["write_units_per_write"]
    sqs_requests = sum(n for name, n in per_message.items() if name.startswith("sqs."))
    if fifo_sqs_requests is None:
        fifo_sqs_requests = sqs_requests
    assumed = p["assumptions"]
    memory = function_memory_gb()
    api_calls = assumed["rest_api_requests_per_message"] + assumed["http_api_requests_per_message"]
    invocations = api_calls + sum(f["invocations"] for f in (queue_functions or {}).values())
    gb_seconds = api_calls * assumed["api_handler_seconds"] * memory.get("api_handler", memory["default"]) + sum(
        f["seconds"] * memory.get(name, memory["default"]) for name, f in (queue_functions or {}).items()
    )
    million = 1_000_000
    parts = {
        "api_gateway": p["api_gateway"]["rest_per_million_requests"] * assumed["rest_api_requests_per_message"]
        + p["api_gateway"]["http_per_million_requests"] * assumed["http_api_requests_per_message"],
        "lambda_requests": p["lambda"]["per_million_requests"] * invocations,
        "lambda_duration": p["lambda"]["per_gb_second"] * gb_seconds * million,
        "dynamodb_reads": p["dynamodb"]["on_demand_per_million_read_units"] * dynamodb_reads,
        "dynamodb_writes": p["dynamodb"]["on_demand_per_million_write_units"] * write_units,
        "sqs": p["sqs"]["fifo_per_million_requests"] * fifo_sqs_requests
        + p["sqs"]["standard_per_million_requests"] * (sqs_requests - fifo_sqs_requests),
        "cloudwatch_logs": p["cloudwatch_logs"]["per_gb_ingested"] * log_bytes * million / 1e9,
    }
    aws = sum(parts.values())
    twilio = p["twilio"]["us_sms_outbound_per_segment"] * million
    share = aws / twilio
    return {
        "aws_usd_per_million_messages": round(aws, 2),
        "parts": {k: round(v, 2) for k, v in parts.items()},
        "twilio_usd_per_million_segments": round(twilio, 2),
        "aws_share_of_twilio_fee": round(share, 5),
        "dynamodb_writes_per_message": round(dynamodb_writes, 3),
        "dynamodb_write_units_per_message": round(write_units, 3),
        "goal": f"<= {COST_SHARE_GOAL}",
        "met": share <= COST_SHARE_GOAL,
    }


# --- 3. import time -------------------------------------------------------------------------------


_LIST_MODULES = """
import sys, json
before = set(sys.modules)
import app
print(json.dumps([m for m in sys.modules if m not in before and m.split('.')[0] not in ('app', 'chalicelib')]))
"""
_TIME_IMPORTS = """
import sys, time, json, importlib
names = json.loads(sys.argv[1])
t = time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        pass
print(time.perf_counter() - t)
"""


def import_times(rounds: int = 7) -> dict:
    env = dict(os.environ)
    python = sys.executable
    modules = json.loads(
        subprocess.run(
            [python, "-c", _LIST_MODULES], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    app_times, dep_times = [], []
    for _ in range(rounds):
        dep_times.append(
            float(
                subprocess.run(
                    [python, "-c", _TIME_IMPORTS, json.dumps(modules)],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        )
        app_times.append(
            float(
                subprocess.run(
                    [python, "-c", _TIME_IMPORTS, json.dumps(["app"])],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        )
    ratio = statistics.median(app_times) / statistics.median(dep_times)
    return {
        "import_app_ms": round(statistics.median(app_times) * 1000, 1),
        "import_dependencies_ms": round(statistics.median(dep_times) * 1000, 1),
        "dependency_modules": len(modules),
        "ratio": round(ratio, 3),
        "goal": "<= 1.3",
        "met": ratio <= 1.3,
    }


# --- 4. the 10,000-message fault run ----------------------------------------------------------------


def fault_run(messages: int, shards: int = 1, log_dir: str | None = None) -> dict:
    """bench/service_faults.py with `messages` messages, split over `shards` processes
    (Plan.split: each a whole service of its own, on in-process moto, with its share of
    the users, pool numbers and messages); their figures are added up. The service's
    logs (stdout) and the stand-in's request log go to one file per shard in `log_dir`."""
    import multiprocessing
    import tempfile
    from multiprocessing.connection import wait

    from bench.service_faults import Plan, merge_figures

    log_dir = log_dir or tempfile.mkdtemp(prefix="sms-bridge-fault-run-")
    plans = Plan(messages=messages).split(shards)
    context = multiprocessing.get_context("spawn")
    running = {}
    for i, plan in enumerate(plans):
        log_path = str(Path(log_dir) / f"shard-{i}.log")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_fault_shard, args=(plan, log_path, sender), name=f"fault-shard-{i}")
        process.start()
        sender.close()
        running[receiver] = (i, process, log_path)
    print(f"[faults] {len(plans)} shard(s), the service's logs in {log_dir}/", flush=True)
    figures: dict[int, dict] = {}
    try:
        while running:
            for receiver in wait(list(running)):
                i, process, log_path = running[receiver]
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    process.join()
                    kind, payload = "error", f"its process ended (exit code {process.exitcode}) without its figures"
                if kind == "progress":
                    print(f"[shard {i}] {payload}" if len(plans) > 1 else payload, flush=True)
                    continue
                del running[receiver]
                process.join()
                if kind == "error":
                    raise RuntimeError(f"fault run shard {i} failed (log: {log_path}):\n{payload}")
                figures[i] = payload
    finally:
        for _, process, _ in running.values():
            process.terminate()
    return merge_figures([figures[i] for i in range(len(plans))])


def _fault_shard(plan, log_path: str, conn) -> None:
    """One shard, in its own process: the service on in-process moto, the stand-in, the chat receiver."""
    import traceback

    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        _environment()
        from bench.service_faults import FaultRun

        with LocalService(in_process=True) as service:
            patch = Patch()
            try:
                run = FaultRun(
                    plan,
                    app_module=service.app_module,
                    api=service.client,
                    standin=service.standin,
                    chat=service.chat,
                    setattr=patch,
                    out=lambda line: conn.send(("progress", line)),
                )
                conn.send(("figures", run.run()))
            finally:
                patch.undo()
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        sys.stdout.flush()
        conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--fault-messages", type=int, default=10_000)
    parser.add_argument(
        "--fault-shards",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes the fault run is split over (default: 2 on 2 or more cores)",
    )
    parser.add_argument(
        "--fault-log-dir", default=None, help="where the fault run's service logs go (default: a temp dir)"
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--skip-faults", action="store_true")
    only.add_argument("--faults-only", action="store_true", help="only the fault run (section 4)")
    only.add_argument("--section", choices=("handlers", "per-message"), help="only this section (1 or 2)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    _environment()
    figures = {"cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
    if not args.faults_only:
        if not args.section:
            print("import time ...", flush=True)
            figures["import"] = import_times()
            print(json.dumps(figures["import"]), flush=True)
        if args.section in (None, "handlers"):
            with LocalService() as service:
                print("handlers against their floors ...", flush=True)
                figures["handlers"] = handler_benchmarks(service, args.requests)
                print(json.dumps(figures["handlers"], indent=1), flush=True)
    if not args.faults_only and args.section in (None, "per-message"):
        with LocalService() as service:
            print("AWS requests and cost per message ...", flush=True)
            figures["per_message"] = requests_per_message(service, args.messages)
            print(json.dumps(figures["per_message"], indent=1), flush=True)
    if not (args.skip_faults or args.section):
        print(f"fault run, {args.fault_messages} messages in {args.fault_shards} process(es) ...", flush=True)
        started = time.monotonic()
        figures["faults"] = fault_run(args.fault_messages, args.fault_shards, args.fault_log_dir)
        figures["faults"]["seconds"]["wall"] = round(time.monotonic() - started, 1)
        print(json.dumps(figures["faults"], indent=1), flush=True)
    _summary(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    missed = _missed(figures)
    if missed:
        print("service goals missed: " + ", ".join(missed))
        return 1
    return 0


def _missed(f: dict) -> list[str]:
    missed = [name for name, h in f.get("handlers", {}).items() if not h["met"]]
    if "per_message" in f:
        pm = f["per_message"]
        if not pm["cost"]["met"]:
            missed.append("AWS cost share")
        if pm["cost"]["dynamodb_writes_per_message"] > WRITES_PER_MESSAGE_GOAL:
            missed.append("DynamoDB writes per message")
        if pm["log_bytes_per_message"] > LOG_BYTES_GOAL:
            missed.append("log bytes per message")
    if "import" in f and not f["import"]["met"]:
        missed.append("import time")
    faults = f.get("faults")
    if faults and (faults["lost"] or faults["sent_twice"] or faults["not_final"]):
        missed.append("fault run")
    return missed


def _summary(f: dict) -> None:
    print("\n== sms-bridge service benchmarks (one run) ==")
    for name, h in f.get("handlers", {}).items():
        print(
            f"{name:32s} handler p50 {h['handler']['p50_ms']} ms p99 {h['handler']['p99_ms']} ms | floor p50 "
            f"{h['floor']['p50_ms']} ms p99 {h['floor']['p99_ms']} ms | ratio {h['ratio_p50']}x (goal <= 1.2) "
            f"{'met' if h['met'] else 'MISSED'}"
        )
    if "per_message" in f:
        pm = f["per_message"]
        c = pm["cost"]
        print(f"AWS requests per message end to end: {pm['total_per_message']} ({pm['per_message']})")
        writes, logged = c["dynamodb_writes_per_message"], pm["log_bytes_per_message"]
        print(
            f"DynamoDB writes per message end to end: {writes} (goal <= {WRITES_PER_MESSAGE_GOAL}) "
            f"{'met' if writes <= WRITES_PER_MESSAGE_GOAL else 'MISSED'}"
        )
        print(
            f"log bytes per message: {logged} (goal <= {LOG_BYTES_GOAL:.0f}, half of {LOG_BYTES_BEFORE}) "
            f"{'met' if logged <= LOG_BYTES_GOAL else 'MISSED'}"
        )
        print(
            f"AWS cost per million messages: ${c['aws_usd_per_million_messages']} vs Twilio "
            f"${c['twilio_usd_per_million_segments']} per million segments: {c['aws_share_of_twilio_fee'] * 100:.3f}% "
            f"(goal <= {COST_SHARE_GOAL * 100:.2f}%) {'met' if c['met'] else 'MISSED'} ({c['parts']})"
        )
    if "import" in f:
        i = f["import"]
        print(
            f"import app {i['import_app_ms']} ms vs its dependencies alone {i['import_dependencies_ms']} ms: "
            f"{i['ratio']}x (goal <= 1.3) {'met' if i['met'] else 'MISSED'}"
        )
    if "faults" in f:
        r = f["faults"]
        print(
            f"fault run: {r['messages']} messages, {r['replies']} replies: lost {r['lost']}, sent twice {r['sent_twice']}, "
            f"not final {r['not_final']}, chat events delivered {r['chat_events_delivered']}/{r['chat_events_expected']}, "
            f"dead-lettered {r['faults']['dead_lettered']} replayed {r['faults']['replayed']}; "
            f"{len(r.get('shards', [])) or 1} process(es), {r['rounds']} rounds, {r['seconds'].get('wall')} s"
        )


if __name__ == "__main__":
    sys.exit(main())
