"""scripts/replay_dlq.py (`make replay-dlq`): what the dead-letter queues hold
goes back to its source queue, FIFO groups kept, printed without message text,
and is then handled as any redelivery."""

from __future__ import annotations

import json

import boto3
from conftest import PREFIX

from chalicelib.core.outbound_job import OutboundJob
from scripts import replay_dlq


def _dlq_url(sqs, kind):
    return replay_dlq.dead_letter_url(
        sqs, sqs.get_queue_url(QueueName=replay_dlq.source_queue_name(PREFIX, kind))["QueueUrl"]
    )


def test_replay_moves_every_dead_letter_back_and_prints_ids_not_text(aws_backend, capsys):
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=_dlq_url(sqs, "delivery"),
        MessageBody=json.dumps({"type": "message.received", "event_id": "evt_1", "text": "private words"}),
    )
    sqs.send_message(
        QueueUrl=_dlq_url(sqs, "outbound"),
        MessageBody=OutboundJob("msg_1").encode(),
        MessageGroupId="+14155550101",
        MessageDeduplicationId="msg_1",
    )
    sqs.send_message(
        QueueUrl=_dlq_url(sqs, "requests"),
        MessageBody=json.dumps({"type": "session.close"}),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": "invalid_user_id"}},
    )

    assert replay_dlq.main(["--stage", "dev", "--prefix", PREFIX, "--dry-run"]) == 0
    assert "3 message(s) to move" in capsys.readouterr().out

    assert replay_dlq.main(["--stage", "dev", "--prefix", PREFIX]) == 0
    out = capsys.readouterr().out
    assert "3 message(s) moved in all" in out
    assert "event_id=evt_1" in out and "message_id=msg_1" in out and "reason=invalid_user_id" in out
    assert "private words" not in out
    for kind in ("delivery", "outbound", "requests"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=_dlq_url(sqs, kind), AttributeNames=["ApproximateNumberOfMessages"]
        )
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    outbound = sqs.get_queue_url(QueueName=replay_dlq.source_queue_name(PREFIX, "outbound"))["QueueUrl"]
    (back,) = sqs.receive_message(QueueUrl=outbound, AttributeNames=["All"])["Messages"]
    assert OutboundJob.decode(back["Body"]) == OutboundJob("msg_1")
    assert back["Attributes"]["MessageGroupId"] == "+14155550101"
    requests_url = sqs.get_queue_url(QueueName=replay_dlq.source_queue_name(PREFIX, "requests"))["QueueUrl"]
    (request,) = sqs.receive_message(QueueUrl=requests_url, MessageAttributeNames=["All"])["Messages"]
    assert request["MessageAttributes"]["reason"]["StringValue"] == "invalid_user_id"


def test_a_replay_of_an_empty_dead_letter_queue_moves_nothing(aws_backend, capsys):
    assert replay_dlq.main(["--prefix", PREFIX, "--queue", "delivery"]) == 0
    assert "0 message(s) moved in all" in capsys.readouterr().out
