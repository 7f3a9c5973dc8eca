"""chalicelib/adapters/metrics.py: one EMF line per figure, or one line per state change of a
message holding its log and every figure it moves, with the dimensions the alarms and the
dashboard name."""

import json

from chalicelib import config
from chalicelib.adapters import metrics
from chalicelib.adapters.metrics import Collector, EmfSink, Metrics


def emf() -> Metrics:
    """What production publishes through: EMF lines, with the settings of this moment."""
    return Metrics(EmfSink(config.load().metrics))


def _emitted(capsys) -> list[dict]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def _directives(blob: dict) -> dict[tuple, list[str]]:
    return {tuple(d["Dimensions"][0]): [m["Name"] for m in d["Metrics"]] for d in blob["_aws"]["CloudWatchMetrics"]}


def _metric(blob: dict) -> tuple[str, list[str]]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    (dimensions,) = directive["Dimensions"]
    return directive["Metrics"][0]["Name"], dimensions


def test_a_send_is_one_lean_line_whose_fields_the_metric_filters_read(capsys, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    emf().sms_sent("msg_1", "+1415*****00", "+14155550100", 3, 1.5, 1)
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line == {
        "level": "INFO",
        "message": "sms sent",
        "message_id": "msg_1",
        "to": "+1415*****00",
        "pool_number": "+14155550100",
        "segments": 3,
        "latency_ms": 1500.0,
        "twilio_requests": 1,
        "service": "sms-bridge",
        "stage": "prod",
    }
    for _, value, _, number_field in metrics.SENT_LINE_METRICS:  # every field a filter reads is there
        assert value == "1" or value.removeprefix("$.") in line
        assert number_field is None or number_field in line
    assert len(json.dumps(line)) < 300, "a send costs one short line"


def test_in_a_simulation_the_sends_figures_are_collected(capsys):
    seen = []
    Metrics(Collector(lambda name, value, dims: seen.append((name, value, dims)))).sms_sent(
        "msg_1", "+1415*****00", "+14155550100", 2, 0.25, 0
    )
    assert seen == [
        ("SmsSent", 1, {"PoolNumber": "+14155550100"}),
        ("SegmentsSent", 2, {"PoolNumber": "+14155550100"}),
        ("SendLatency", 250.0, {}),
        ("TwilioRequests", 0, {}),
    ]
    assert capsys.readouterr().out == ""


def test_twilio_errors_counted_in_total_and_by_code(capsys):
    emf().twilio_call()
    emf().twilio_call(21610)
    names = [(_metric(b)[0], b.get("ErrorCode")) for b in _emitted(capsys)]
    assert names == [
        ("TwilioRequests", None),
        ("TwilioRequests", None),
        ("TwilioErrors", None),
        ("TwilioErrorsByCode", "21610"),
    ]


def test_final_status_gives_latency_or_failure(capsys):
    emf().message_final("delivered", None, 2.5)
    emf().message_final("undelivered", "30003", 9.0)
    emf().message_final("sent", None, 1.0)
    blobs = _emitted(capsys)
    assert [_metric(b)[0] for b in blobs] == ["DeliveryLatency", "MessageFailed"]
    assert blobs[0]["DeliveryLatency"] == 2500.0
    assert blobs[1]["ErrorCode"] == "30003" and blobs[1]["message"] == "sms undelivered"


def test_a_broken_metric_never_raises(capsys):
    emf().count("Bad", "not a number")  # Powertools rejects it; the caller must not notice


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
    assert [(_metric(b)[0], b.get("ErrorCode")) for b in blobs] == [
        ("DeliveryLatency", None),
        ("MessageFailed", "30003"),
    ]
    assert blobs[0]["DeliveryLatency"] >= 0 and blobs[0]["message_id"] == first["message_id"]
