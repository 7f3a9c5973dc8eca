"""bench/kit/moto_speedups.py changes how fast moto answers, not what: one script of
SQS calls (standard and FIFO queues with dead-letter queues, receives, visibility
changes by current and old receipt handles, deletes, redrives, counts, unknown
handles) gives the same answers with and without it."""

from __future__ import annotations

import json
import re

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from bench.kit.seams import Seams

TIMESTAMPS = {"SentTimestamp", "ApproximateFirstReceiveTimestamp", "CreatedTimestamp", "LastModifiedTimestamp"}


def _script() -> list:
    """Every answer of the script, with ids, handles and timestamps named by first appearance."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    answers = []

    def call(name, **kwargs):
        try:
            answer = getattr(sqs, name)(**kwargs)
            answer.pop("ResponseMetadata", None)
        except ClientError as error:
            answer = {"error": error.response["Error"]["Code"]}
        answers.append([name, answer])
        return answer

    queues = {}
    for name, fifo in (("plain", False), ("fifo.fifo", True)):
        dlq_name = name.replace("plain", "plain-dlq").replace("fifo.fifo", "fifo-dlq.fifo")
        extra = {"FifoQueue": "true"} if fifo else {}
        dlq = call("create_queue", QueueName=dlq_name, Attributes=extra)["QueueUrl"]
        arn = call("get_queue_attributes", QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = call(
            "create_queue",
            QueueName=name,
            Attributes={
                **extra,
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2}),
            },
        )["QueueUrl"]
        queues[name] = url
        for i in range(6):
            fields = {"MessageGroupId": f"g{i % 2}", "MessageDeduplicationId": f"d{i}"} if fifo else {}
            call("send_message", QueueUrl=url, MessageBody=f"body {i}", **fields)
        if fifo:
            call("send_message", QueueUrl=url, MessageBody="dup", MessageGroupId="g0", MessageDeduplicationId="d0")
    for url in queues.values():
        first = call("receive_message", QueueUrl=url, MaxNumberOfMessages=3, AttributeNames=["All"]).get("Messages", [])
        handles = [m["ReceiptHandle"] for m in first]
        call("change_message_visibility", QueueUrl=url, ReceiptHandle=handles[0], VisibilityTimeout=0)
        call("change_message_visibility", QueueUrl=url, ReceiptHandle="not-a-handle", VisibilityTimeout=0)
        call("change_message_visibility", QueueUrl=url, ReceiptHandle=handles[1], VisibilityTimeout=43_201)
        call(
            "change_message_visibility", QueueUrl=url, ReceiptHandle=handles[1], VisibilityTimeout=20
        )  # its group stays held
        call("get_queue_attributes", QueueUrl=url, AttributeNames=["All"])
        again = call("receive_message", QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", []
        )
        # An old handle of a message received again still names it.
        call("change_message_visibility", QueueUrl=url, ReceiptHandle=handles[0], VisibilityTimeout=0)
        call("delete_message", QueueUrl=url, ReceiptHandle=handles[2])
        call("delete_message", QueueUrl=url, ReceiptHandle=handles[2])
        call("delete_message", QueueUrl=url, ReceiptHandle="not-a-handle")
        call(
            "change_message_visibility_batch",
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(again)
            ]
            + [{"Id": "x", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0}],
        )
        for _ in range(4):  # received twice, then moved to the dead-letter queue
            got = call(
                "receive_message", QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
            ).get("Messages", [])
        call(
            "get_queue_attributes",
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )
        # Handles of messages now on the dead-letter queue no longer name anything here.
        call(
            "delete_message_batch",
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got + first)],
        )
        call("change_message_visibility", QueueUrl=url, ReceiptHandle=handles[1], VisibilityTimeout=5)
    for name in ("plain-dlq", "fifo-dlq.fifo"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        call("get_queue_attributes", QueueUrl=url, AttributeNames=["All"])
        moved = call("receive_message", QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        call(
            "delete_message_batch",
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(moved)],
        )
    return _named(answers)


def _named(answers: list) -> list:
    names: dict[str, str] = {}

    def walk(value, key=None):
        if isinstance(value, dict):
            return {k: ("<t>" if k in TIMESTAMPS else walk(v, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key in ("ReceiptHandle", "MessageId", "SequenceNumber", "MD5OfMessageAttributes"):
            return names.setdefault(value, f"{key}#{len(names)}")
        if isinstance(value, str):  # an error message quoting a receipt handle
            return re.sub("[a-z]{185}", lambda m: names.setdefault(m.group(0), f"ReceiptHandle#{len(names)}"), value)
        return value

    return walk(answers)


def test_sqs_answers_the_same_with_the_quicker_walks():
    with mock_aws():  # each run on fresh backends (a nested mock_aws would keep the first's queues)
        plain = _script()
    with mock_aws(), Seams() as seams:
        seams.moto_speedups()
        quick = _script()
    assert len(plain) > 60
    assert quick == plain
    errors = {answer["error"] for _, answer in plain if "error" in answer}
    assert {"ReceiptHandleIsInvalid", "InvalidParameterValue"} <= errors, errors
