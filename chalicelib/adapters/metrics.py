"""Metrics: figures for CloudWatch, as embedded metric format (EMF) log lines.

`Metrics` (the context's `metrics`) writes through a sink: `EmfSink` in production, where
each figure is one EMF JSON line (Powertools' `single_metric`); Lambda sends
stdout to CloudWatch Logs, which turns the line into a metric. A message's state
changes print one line each that is both the log line and every metric of that
change (`state_change`: EMF with a directive per dimension set), so a message
costs two lines of log, not six. Nothing is
buffered, so no handler needs a flush decorator and a crash loses nothing
already counted. Every metric carries the dimensions `service` and `stage`
(plus its own, below) so the alarms and the dashboard in infra/template.py
can name it exactly. A metric must never break the work it measures: errors
here are logged and swallowed. Simulations and tests pass a `Collector`, which hands each
data point to a function of theirs and prints nothing.

The names below are the contract with infra/template.py (alarms, dashboard):

    SmsSent            Count         PoolNumber   one per message Twilio accepted (sends per number)*
    SegmentsSent       Count         PoolNumber   segments of those messages (what the limits count)*
    TwilioRequests     Count         -            every call to Twilio's API (error-rate denominator)*
    TwilioErrors       Count         -            calls Twilio refused or that never reached it
    TwilioErrorsByCode Count         ErrorCode    the same, split by Twilio error code (or HTTP status)
    MessageFailed      Count         ErrorCode    outbound SMS that ended failed/undelivered
    DeliveryLatency    Milliseconds  -            queued (submitted) -> 'delivered' status callback
    SendLatency        Milliseconds  -            queued -> accepted by Twilio (the sender reports it)*
    VerificationSms    Count         -            verification code SMS admitted by the limits
    VerificationBudgetNear Count     -            one per code admitted or refused once the hour's global
                                                  budget is used up to VERIFY_GLOBAL_ALARM_FRACTION (alarm)
    PoolNumberFaults   Count         -            a pool number or the account at fault (30007, 30034,
                                                  30032, 21408): the number is held back (alarmed)
    LookupFailed       Count         Reason       a hook-up's Twilio Lookup that did not answer
                                                  (unreachable) or could not tell the line type
                                                  (no_line_type): usecases/phone_lookup.py
    LookupRefused      Count         Reason       a hook-up refused on Lookup's answer (invalid,
                                                  line_type, pumping_risk, no_line_type)
    TMobileCapNear     Count         -            one per send to a T-Mobile phone admitted or refused once the
                                                  day's count is at 80% of T-Mobile's daily cap (alarmed)

* from the sender's 'sms sent' line by metric filters (SENT_LINE_METRICS; TwilioRequests of a
  call that failed is EMF), so a send costs one lean line.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from chalicelib import config
from chalicelib.adapters.logs import correlation_keys, logger
from chalicelib.config import MetricSettings, Settings

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
VERIFICATION_SMS = "VerificationSms"
VERIFICATION_BUDGET_NEAR = "VerificationBudgetNear"
POOL_NUMBER_FAULTS = "PoolNumberFaults"
LOOKUP_FAILED = "LookupFailed"
LOOKUP_REFUSED = "LookupRefused"
TMOBILE_CAP_NEAR = "TMobileCapNear"

Count = MetricUnit.Count
Milliseconds = MetricUnit.Milliseconds

# One figure: (name, value or values, unit, its own dimensions).
Point = tuple[str, float | list[float], MetricUnit, dict]


def base_dimensions(stage: str) -> dict[str, str]:
    """The dimensions every metric has; alarms must name exactly these (plus the metric's own)."""
    return {"service": SERVICE, "stage": stage}


class Sink(Protocol):
    def point(self, name: str, value: float, unit: MetricUnit, dimensions: dict) -> None:
        """One figure on its own."""

    def line(self, points: Sequence[Point], fields: dict, emf: bool = True) -> None:
        """One line of `fields` carrying `points` as EMF directives, or (`emf=False`) as plain
        fields that CloudWatch Logs metric filters read, with the base dimensions."""


class EmfSink:
    """Production: EMF lines on stdout, which CloudWatch Logs turns into metrics."""

    def __init__(self, settings: MetricSettings):
        self.settings = settings

    def configure(self, settings: Settings) -> None:
        self.settings = settings.metrics

    def point(self, name: str, value: float, unit: MetricUnit, dimensions: dict) -> None:
        try:
            with single_metric(
                name=name,
                unit=unit,
                value=value,
                namespace=self.settings.namespace,
                default_dimensions={
                    **base_dimensions(self.settings.stage),
                    **{k: str(v) for k, v in dimensions.items()},
                },
            ):
                pass
        except Exception:  # a figure is never worth a failed send
            logger.warning("metric not published", extra={"metric": name}, exc_info=True)

    def line(self, points: Sequence[Point], fields: dict, emf: bool = True) -> None:
        """Printed whatever POWERTOOLS_METRICS_DISABLED says, as Powertools' single_metric does."""
        try:
            if not emf:  # the metric filters read the fields, and their dimensions
                line = {**fields, **base_dimensions(self.settings.stage)}
            else:
                line = {**(self._emf(points) if points else {}), **fields}
            if "message" in fields:  # a log line too: it carries the invocation's correlation keys (logs.correlated)
                line.update({key: value for key, value in correlation_keys().items() if key not in line})
            print(json.dumps(line, separators=(",", ":"), default=str), file=sys.stdout)
        except Exception:  # a figure is never worth a failed send
            logger.warning("metrics not published", exc_info=True)

    def _emf(self, points: Sequence[Point]) -> dict:
        """The EMF of `points`: a directive per dimension set."""
        directives: dict[tuple, dict] = {}
        values: dict = {}
        for name, value, unit, dimensions in points:
            keys = ("service", "stage", *dimensions)
            directive = directives.setdefault(
                keys, {"Namespace": self.settings.namespace, "Dimensions": [list(keys)], "Metrics": []}
            )
            directive["Metrics"].append({"Name": name, "Unit": getattr(unit, "value", unit)})
            values.update({k: str(v) for k, v in dimensions.items()})
            values[name] = value if isinstance(value, list) else round(value, 1)
        cloudwatch = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": list(directives.values())}
        return {"_aws": cloudwatch, **base_dimensions(self.settings.stage), **values}


class Collector:
    """Simulations and tests: every data point goes to `record(name, value, dimensions)`;
    nothing is printed."""

    def __init__(self, record: Callable[[str, float, dict], None]):
        self.record = record

    def point(self, name: str, value: float, unit: MetricUnit, dimensions: dict) -> None:
        self.record(name, value, dimensions)

    def line(self, points: Sequence[Point], fields: dict, emf: bool = True) -> None:
        for name, value, _, dimensions in points:
            for one in value if isinstance(value, list) else [value]:
                self.record(name, one, dimensions)


class Metrics:
    """The figures the service publishes (names above), through its sink."""

    def __init__(self, sink: Sink):
        self.sink = sink

    def configure(self, settings: Settings) -> None:
        if isinstance(self.sink, EmfSink):
            self.sink.configure(settings)

    def publish(self, name: str, value: float = 1, unit: MetricUnit = Count, **dimensions: object) -> None:
        """Publish one data point of `name` with the base dimensions plus `dimensions`."""
        self.sink.point(name, value, unit, dimensions)

    def count(self, name: str, value: float = 1, **dimensions: object) -> None:
        self.publish(name, value, Count, **dimensions)

    def milliseconds(self, name: str, seconds: float, **dimensions: object) -> None:
        """A duration measured in seconds (the clock's unit), published in milliseconds."""
        self.publish(name, max(0.0, seconds) * 1000.0, Milliseconds, **dimensions)

    def state_change(self, message: str, points: Sequence[Point], **fields: object) -> None:
        """One INFO log line for a state change of a message; with `points` it is also their
        EMF, so the change and its figures cost one line."""
        self.sink.line(points, {"level": "INFO", "message": message, **fields})

    # --- the figures the alarms and the dashboard read -----------------------------

    def twilio_call(self, error_code: object = None) -> None:
        """One Twilio API call; `error_code` (Twilio's code, else the HTTP status,
        else 'unreachable') when it failed."""
        self.count(TWILIO_REQUESTS)
        if error_code is not None:
            self.count(TWILIO_ERRORS)
            self.count(TWILIO_ERRORS_BY_CODE, ErrorCode=error_code)

    def sms_sent(
        self, message_id: str, to: str, pool_number: str, segments: int, latency_seconds: float, twilio_requests: int
    ) -> None:
        """The one line of a message Twilio accepted, its figures as plain fields (SENT_LINE_METRICS)."""
        latency_ms = round(max(0.0, latency_seconds) * 1000.0, 1)
        points: list[Point] = [
            (SMS_SENT, 1, Count, {"PoolNumber": pool_number}),
            (SEGMENTS_SENT, segments, Count, {"PoolNumber": pool_number}),
            (SEND_LATENCY, latency_ms, Milliseconds, {}),
            (TWILIO_REQUESTS, twilio_requests, Count, {}),
        ]
        fields: dict[str, object] = {"level": "INFO", "message": SENT_LINE, "message_id": message_id, "to": to}
        fields |= {"pool_number": pool_number, "segments": segments, "latency_ms": latency_ms}
        fields["twilio_requests"] = twilio_requests
        self.sink.line(points, fields, emf=False)

    def message_final(self, status: str, error_code: object, queued_seconds: float | None, **fields: object) -> None:
        """An outbound message moved on from Twilio's callback (the line that logs the change)."""
        points: list[Point]
        if status == "delivered" and queued_seconds is not None:
            points = [(DELIVERY_LATENCY, max(0.0, queued_seconds) * 1000.0, Milliseconds, {})]
        elif status in ("failed", "undelivered"):
            points = [(MESSAGE_FAILED, 1, Count, {"ErrorCode": error_code or "none"})]
        else:
            points = []
        self.state_change(f"sms {status}", points, **fields)

    def verification_sms(self) -> None:
        """A verification code SMS the limits let through."""
        self.count(VERIFICATION_SMS)

    def verification_budget(self, near: bool) -> None:
        """The global budget of verification SMS is near (or at) its end: the alarm's input."""
        if near:
            self.count(VERIFICATION_BUDGET_NEAR)


# The line of a message Twilio accepted, and its fields that CloudWatch Logs metric filters
# turn into metrics (infra/template.py builds the filters from this): (metric, value, unit,
# the line's field for PoolNumber or None). EMF directives would double the line, and since the
# sender hands a number's next messages back to SQS an invocation sends one message.
SENT_LINE = "sms sent"
SENT_LINE_METRICS = (
    (SMS_SENT, "1", "Count", "pool_number"),
    (SEGMENTS_SENT, "$.segments", "Count", "pool_number"),
    (SEND_LATENCY, "$.latency_ms", "Milliseconds", None),
    (TWILIO_REQUESTS, "$.twilio_requests", "Count", None),
)
