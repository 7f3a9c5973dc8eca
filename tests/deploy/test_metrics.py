"""chalicelib/metrics.py: one EMF line per figure, with the dimensions the
alarms and the dashboard name."""
import json

from chalicelib import metrics


def _emitted(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def _metric(blob: dict) -> tuple[str, list[str]]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    (dimensions,) = directive["Dimensions"]
    return directive["Metrics"][0]["Name"], dimensions


def test_each_figure_is_one_emf_line_with_service_and_stage(capsys, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SmsBridge")
    metrics.sms_sent("+14155550100", 3)
    blobs = _emitted(capsys)
    assert [_metric(b) for b in blobs] == [
        ("SmsSent", ["service", "stage", "PoolNumber"]),
        ("SegmentsSent", ["service", "stage", "PoolNumber"]),
    ]
    assert all(b["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SmsBridge" for b in blobs)
    assert blobs[1]["SegmentsSent"] == [3.0] and blobs[1]["stage"] == "prod"
    assert blobs[0]["PoolNumber"] == "+14155550100"


def test_twilio_errors_counted_in_total_and_by_code(capsys):
    metrics.twilio_call()
    metrics.twilio_call(21610)
    names = [(_metric(b)[0], b.get("ErrorCode")) for b in _emitted(capsys)]
    assert names == [
        ("TwilioRequests", None),
        ("TwilioRequests", None),
        ("TwilioErrors", None),
        ("TwilioErrorsByCode", "21610"),
    ]


def test_final_status_gives_latency_or_failure(capsys):
    metrics.message_final("delivered", None, 2.5)
    metrics.message_final("undelivered", "30003", 9.0)
    metrics.message_final("sent", None, 1.0)
    blobs = _emitted(capsys)
    assert [_metric(b)[0] for b in blobs] == ["DeliveryLatency", "MessageFailed"]
    assert blobs[0]["DeliveryLatency"] == [2500.0]
    assert blobs[1]["ErrorCode"] == "30003"


def test_a_broken_metric_never_raises(capsys):
    metrics.count("Bad", "not a number")  # Powertools rejects it; the caller must not notice
