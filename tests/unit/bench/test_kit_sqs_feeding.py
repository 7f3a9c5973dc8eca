"""bench/kit/sqs_feeding.py: moto's FIFO queue seen from an invocation played in a lane of its
own (the service bench's per-message run), and what a receive could return."""

import boto3
import pytest
from moto import mock_aws

from bench.kit import sqs_feeding
from bench.kit.clocks import PlayedClock
from bench.kit.seams import Seams


@pytest.fixture
def fifo():
    """A FIFO queue on moto whose SQS reads the played clock; three messages in one group."""
    clock = PlayedClock()
    with mock_aws(), Seams() as seams:
        seams.moto_sqs_clock(clock.now)
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        for i in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        yield clock, sqs, url


def _receive(sqs, url, n=1):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n).get("Messages", [])


def test_a_group_handed_back_in_a_lane_stays_in_flight_until_the_lanes_time(fifo):
    """The invocation gets m0 and m1, sends m0 and, 2 s into its lane, hands m1 back with a
    timeout of 0. Back at the run's time m1 is still in flight: m2 must not be handed out
    (SQS never hands out a group's later message while an earlier one is in flight)."""
    clock, sqs, url = fifo
    first, second = _receive(sqs, url, 2)
    with sqs_feeding.invocation_lane(clock, "q.fifo"):
        clock.sleep(2.0)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    assert _receive(sqs, url) == [], "m2 overtook m1"
    assert not sqs_feeding.any_visible("q.fifo"), "a receive now would find nothing"
    assert sqs_feeding.next_visible_in(["q.fifo"]) == pytest.approx(2.0, abs=0.1)
    clock.sleep(2.1)
    assert sqs_feeding.any_visible("q.fifo")
    assert [m["Body"] for m in _receive(sqs, url)] == ["m1"]


def test_when_every_wait_is_over_the_hidden_messages_show(fifo):
    _, sqs, url = fifo
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)
    assert not sqs_feeding.any_visible("q.fifo"), "the group is held by its message in flight"
    sqs_feeding.make_visible(["q.fifo"])
    assert [m["Body"] for m in _receive(sqs, url)] == ["m0"]
    assert sqs_feeding.next_visible_in(["q.fifo"]) == pytest.approx(30.0, abs=0.1)  # the queue's default timeout
