"""SQS's 12-hour visibility limit on the local stack's SQS (moto, corrected by
devstack.moto_sqs_visibility): counted from each receive, so a message days old can still be
hidden for its next retry, and one receive can still not be hidden past 12 hours. moto's SQS
clock is played by hand (moto.sqs.models.unix_time_millis), as in test_moto_sqs_fifo.py."""

from __future__ import annotations

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sqs import models as sqs_models

from devstack import moto_sqs_visibility

HOUR = 3600


@pytest.fixture
def clock(monkeypatch):
    now = {"ms": sqs_models.unix_time_millis()}
    monkeypatch.setattr(sqs_models, "unix_time_millis", lambda *args: now["ms"])
    monkeypatch.setattr(sqs_models, "unix_time", lambda *args: now["ms"] / 1000)
    return now


@pytest.fixture
def queue(clock):
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="visibility-test", Attributes={"MessageRetentionPeriod": "1209600"})[
            "QueueUrl"
        ]
        sqs.send_message(QueueUrl=url, MessageBody="event")
        yield sqs, url


def _receive(sqs, url) -> str:
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    return message["ReceiptHandle"]


def test_a_message_two_days_old_is_hidden_for_its_next_retry(queue, clock):
    assert moto_sqs_visibility.install()
    sqs, url = queue
    clock["ms"] += 48 * HOUR * 1000
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=_receive(sqs, url), VisibilityTimeout=900)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # hidden
    clock["ms"] += 901 * 1000
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1


def test_one_receive_is_still_not_hidden_past_12_hours(queue, clock):
    assert moto_sqs_visibility.install()
    sqs, url = queue
    handle = _receive(sqs, url)
    clock["ms"] += 11 * HOUR * 1000
    with pytest.raises(ClientError, match="beyond the limit"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=2 * HOUR)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=HOUR - 1)


@pytest.mark.skipif(moto.__version__ != moto_sqs_visibility.PATCHED_VERSION, reason="the correction is for moto 5.2.5")
def test_moto_5_2_5_alone_counts_from_the_send(queue, clock):
    """The reason devstack.moto_sqs_visibility exists. When an upgrade fixes it, this test
    fails: drop the module."""
    sqs, url = queue
    moto_sqs_visibility.uninstall()
    try:
        clock["ms"] += 48 * HOUR * 1000
        with pytest.raises(ClientError, match="beyond the limit"):
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=_receive(sqs, url), VisibilityTimeout=900)
    finally:
        moto_sqs_visibility.install()
