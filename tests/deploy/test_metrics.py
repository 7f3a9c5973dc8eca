"""chalicelib/adapters/metrics.py: one EMF line per figure, with the dimensions the
alarms and the dashboard name."""
import json

from chalicelib.adapters import metrics


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


def test_status_callbacks_publish_delivery_latency_and_failures(bridge, capsys):
    from conftest import POOL, post_webhook

    bridge.add_pool(POOL[0])
    bridge.verified_user("alice", "+14155550100")
    session = bridge.open_session("alice", "bob", "Bob")
    first = bridge.send(session["session_id"], "one")
    second = bridge.send(session["session_id"], "two")
    bridge.queues.drain()
    capsys.readouterr()
    for message, status, code in ((first, "delivered", None), (second, "undelivered", "30003")):
        params = {"MessageSid": "SM" + message["message_id"][-8:], "MessageStatus": status}
        if code:
            params["ErrorCode"] = code
        response = post_webhook(bridge.api, f"/twilio/status?message_id={message['message_id']}", params)
        assert response.status_code == 204
    blobs = _emitted(capsys)
    assert [(_metric(b)[0], b.get("ErrorCode")) for b in blobs] == [("DeliveryLatency", None), ("MessageFailed", "30003")]
    assert blobs[0]["DeliveryLatency"][0] >= 0
