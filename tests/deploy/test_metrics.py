"""chalicelib/adapters/metrics.py: one EMF line per figure, or one line per state change of a
message holding its log and every figure it moves, with the dimensions the alarms and the
dashboard name."""

import json

from chalicelib.adapters import metrics


def _emitted(capsys) -> list[dict]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def _directives(blob: dict) -> dict[tuple, list[str]]:
    return {tuple(d["Dimensions"][0]): [m["Name"] for m in d["Metrics"]] for d in blob["_aws"]["CloudWatchMetrics"]}


def _metric(blob: dict) -> tuple[str, list[str]]:
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    (dimensions,) = directive["Dimensions"]
    return directive["Metrics"][0]["Name"], dimensions


def test_a_batchs_sends_are_a_line_each_the_last_of_a_number_with_its_figures(capsys, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SmsBridge")
    figures = metrics.SentFigures()
    figures.add("+14155550100", 3, 1.5, 1, "msg_1", "+1415*****01")
    figures.add("+14155550100", 1, 2.5, 1, "msg_2", "+1415*****02")
    figures.add("+14155550101", 2, 0.5, 0, "msg_3", "+1415*****03")  # found by a reconciliation: no request
    figures.publish()
    plain, first, second = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert plain == {"level": "INFO", "message": "sms sent", "message_id": "msg_1", "to": "+1415*****01"}
    assert (first["message"], first["message_id"], second["message_id"]) == ("sms sent", "msg_2", "msg_3")
    assert _directives(first) == {
        ("service", "stage", "PoolNumber"): ["SmsSent", "SegmentsSent"],
        ("service", "stage"): ["SendLatency", "TwilioRequests"],
    }
    assert _directives(second) == {("service", "stage", "PoolNumber"): ["SmsSent", "SegmentsSent"]}
    assert all(d["Namespace"] == "SmsBridge" for b in (first, second) for d in b["_aws"]["CloudWatchMetrics"])
    assert (first["PoolNumber"], first["SmsSent"], first["SegmentsSent"]) == ("+14155550100", 2, 4)
    assert (first["SendLatency"], first["TwilioRequests"], first["stage"]) == ([1500.0, 2500.0, 500.0], 2, "prod")
    assert (second["PoolNumber"], second["SmsSent"], second["SegmentsSent"]) == ("+14155550101", 1, 2)
    figures.publish()  # nothing left: nothing printed
    assert _emitted(capsys) == []


def test_a_batch_of_one_send_logs_one_line(capsys):
    figures = metrics.SentFigures()
    figures.add("+14155550100", 1, 0.2, 1, "msg_1", "+1415*****00")
    figures.publish()
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (line["message"], line["message_id"], line["to"], line["SmsSent"]) == (
        "sms sent",
        "msg_1",
        "+1415*****00",
        1,
    )


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
    assert blobs[0]["DeliveryLatency"] == 2500.0
    assert blobs[1]["ErrorCode"] == "30003" and blobs[1]["message"] == "sms undelivered"


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
    assert [(_metric(b)[0], b.get("ErrorCode")) for b in blobs] == [
        ("DeliveryLatency", None),
        ("MessageFailed", "30003"),
    ]
    assert blobs[0]["DeliveryLatency"] >= 0 and blobs[0]["message_id"] == first["message_id"]
