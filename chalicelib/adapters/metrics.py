"""Metrics: figures for CloudWatch, as embedded metric format (EMF) log lines.

Each call prints one EMF JSON line (Powertools' `single_metric`); Lambda sends
stdout to CloudWatch Logs, which turns the line into a metric. Nothing is
buffered, so no handler needs a flush decorator and a crash loses nothing
already counted. Every metric carries the dimensions `service` and `stage`
(plus its own, below) so the alarms and the dashboard in infra/template.py
can name it exactly. A metric must never break the work it measures: errors
here are logged and swallowed.

The names below are the contract with infra/template.py (alarms, dashboard):

    SmsSent            Count         PoolNumber   one per message Twilio accepted (sends per number)
    SegmentsSent       Count         PoolNumber   segments of those messages (what the limits count)
    TwilioRequests     Count         -            every call to Twilio's API (error-rate denominator)
    TwilioErrors       Count         -            calls Twilio refused or that never reached it
    TwilioErrorsByCode Count         ErrorCode    the same, split by Twilio error code (or HTTP status)
    MessageFailed      Count         ErrorCode    outbound SMS that ended failed/undelivered
    DeliveryLatency    Milliseconds  -            queued (submitted) -> 'delivered' status callback
    SendLatency        Milliseconds  -            queued -> accepted by Twilio (the sender reports it)
    PoolNumberFaults   Count         -            a pool number or the account at fault (30007, 30034,
                                                  30032, 21408): the number is held back (alarmed)
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from chalicelib import config
from chalicelib.adapters.logs import logger

DEFAULT_NAMESPACE = config.DEFAULT_METRICS_NAMESPACE
SERVICE = "sms-bridge"

SMS_SENT = "SmsSent"
SEGMENTS_SENT = "SegmentsSent"
TWILIO_REQUESTS = "TwilioRequests"
TWILIO_ERRORS = "TwilioErrors"
TWILIO_ERRORS_BY_CODE = "TwilioErrorsByCode"
MESSAGE_FAILED = "MessageFailed"
DELIVERY_LATENCY = "DeliveryLatency"
SEND_LATENCY = "SendLatency"
POOL_NUMBER_FAULTS = "PoolNumberFaults"

Count = MetricUnit.Count
Milliseconds = MetricUnit.Milliseconds


def base_dimensions() -> dict[str, str]:
    """The dimensions every metric has; alarms must name exactly these (plus the metric's own)."""
    return {"service": SERVICE, "stage": config.metric_settings().stage}


# Where data points go instead of EMF lines, while `collected` is in force (simulations).
_sinks: list[Callable[[str, float, dict], None]] = []


@contextlib.contextmanager
def collected(sink: Callable[[str, float, dict], None]) -> Iterator[None]:
    """Within the block, each data point goes to `sink(name, value, dimensions)`, not to CloudWatch."""
    _sinks.append(sink)
    try:
        yield
    finally:
        _sinks.remove(sink)


def publish(name: str, value: float = 1, unit: MetricUnit = Count, **dimensions: object) -> None:
    """Publish one data point of `name` with the base dimensions plus `dimensions`."""
    if _sinks:
        _sinks[-1](name, value, dimensions)
        return
    try:
        with single_metric(
            name=name,
            unit=unit,
            value=value,
            namespace=config.metric_settings().namespace,
            default_dimensions={**base_dimensions(), **{k: str(v) for k, v in dimensions.items()}},
        ):
            pass
    except Exception:  # a figure is never worth a failed send
        logger.warning("metric not published", extra={"metric": name}, exc_info=True)


def count(name: str, value: float = 1, **dimensions: object) -> None:
    publish(name, value, Count, **dimensions)


def milliseconds(name: str, seconds: float, **dimensions: object) -> None:
    """A duration measured in seconds (the clock's unit), published in milliseconds."""
    publish(name, max(0.0, seconds) * 1000.0, Milliseconds, **dimensions)


# --- the figures the alarms and the dashboard read -----------------------------


def twilio_call(error_code: object = None) -> None:
    """One Twilio API call; `error_code` (Twilio's code, else the HTTP status,
    else 'unreachable') when it failed."""
    count(TWILIO_REQUESTS)
    if error_code is not None:
        count(TWILIO_ERRORS)
        count(TWILIO_ERRORS_BY_CODE, ErrorCode=error_code)


def sms_sent(pool_number: str, segments: int | None) -> None:
    """A message Twilio accepted from `pool_number`."""
    count(SMS_SENT, PoolNumber=pool_number)
    count(SEGMENTS_SENT, segments or 1, PoolNumber=pool_number)


def send_latency(seconds: float) -> None:
    """From the chat backend's submit to Twilio's acceptance."""
    milliseconds(SEND_LATENCY, seconds)


def message_final(status: str, error_code: object, queued_seconds: float | None) -> None:
    """An outbound message reached a final status from Twilio's callback."""
    if status == "delivered" and queued_seconds is not None:
        milliseconds(DELIVERY_LATENCY, queued_seconds)
    elif status in ("failed", "undelivered"):
        count(MESSAGE_FAILED, ErrorCode=error_code or "none")
