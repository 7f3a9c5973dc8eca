"""What AWS bills for the service's messages: the published prices (bench/kit/prices.json),
each function's memory as `chalice deploy` sets it, and the bill per million messages from the
requests, write units, log bytes and queue-function seconds the per-message run counted."""

from __future__ import annotations

import json
from pathlib import Path

from bench.kit.prices import PRICES

ROOT = Path(__file__).resolve().parents[2]
# Issue 14's goal: AWS's cost at most this share of Twilio's fee for the same messages.
COST_SHARE_GOAL = 0.002


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
    DynamoDB's write units as billed (bench/service/write_units.py) or, without them, assumed, and
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
