"""The service bench's per-message run (bench/service_bench.py, bench/service_faults.py):
its clock, whose invocations run in parallel lanes as Lambda runs one per message group,
the FIFO queue seen from those lanes, and the bill it prices."""

import boto3
import pytest
from moto import mock_aws

from bench import service_bench
from bench.service_faults import FaultRun, RunClock, invocation_lane


def test_a_lanes_time_passes_inside_it_and_is_given_back_after():
    clock = RunClock()
    start = clock.now()
    with clock.lane():
        clock.sleep(3.0)  # a wait for a slot, skipped
        inside = clock.now()
    after = clock.now()
    assert inside - start >= 3.0
    assert after - start < 0.5, "the next invocation starts when this one did"
    clock.sleep(2.0)
    assert clock.now() - start >= 2.0, "outside lanes the run's time only moves on"


@pytest.fixture
def fifo(monkeypatch):
    """A FIFO queue on moto whose SQS reads the run's clock; three messages in one group."""
    from moto.sqs import models

    clock = RunClock()
    with mock_aws():
        monkeypatch.setattr(models, "unix_time", clock.now)
        monkeypatch.setattr(models, "unix_time_millis", lambda: clock.now() * 1000.0)
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        for i in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        yield clock, sqs, url


def _receive(sqs, url, n=1):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n).get("Messages", [])


def test_a_group_handed_back_in_a_lane_stays_in_flight_until_the_lanes_time(fifo):
    """The invocation gets m0 and m1, sends m0 and, 2 s into its lane, hands m1 back with a
    timeout of 0. Back at the lane's start m1 is still in flight: m2 must not be handed out
    (SQS never hands out a group's later message while an earlier one is in flight)."""
    clock, sqs, url = fifo
    first, second = _receive(sqs, url, 2)
    with invocation_lane(clock, "q.fifo"):
        clock.sleep(2.0)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    assert _receive(sqs, url) == [], "m2 overtook m1"
    assert not FaultRun._any_visible("q.fifo"), "a receive now would find nothing"
    clock.sleep(2.1)
    assert FaultRun._any_visible("q.fifo")
    assert [m["Body"] for m in _receive(sqs, url)] == ["m1"]


def test_the_bill_prices_each_sqs_request_at_its_queues_price_and_api_calls_on_the_http_api():
    per_message = {"sqs.SendMessage": 3.0, "sqs.ReceiveMessage": 2.0}
    all_fifo = service_bench.cost_per_million(per_message, 0.0, fifo_sqs_requests=5.0)
    two_standard = service_bench.cost_per_million(per_message, 0.0, fifo_sqs_requests=3.0)
    prices = service_bench.PRICES
    assert all_fifo["parts"]["sqs"] == pytest.approx(5 * prices["sqs"]["fifo_per_million_requests"])
    assert two_standard["parts"]["sqs"] == pytest.approx(
        3 * prices["sqs"]["fifo_per_million_requests"] + 2 * prices["sqs"]["standard_per_million_requests"]
    )
    # The submit and both status callbacks reach the handler through HTTP APIs (infra/template.py).
    assert all_fifo["parts"]["api_gateway"] == pytest.approx(3 * prices["api_gateway"]["http_per_million_requests"])
