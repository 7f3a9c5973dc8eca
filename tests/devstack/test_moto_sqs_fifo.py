"""FIFO group order on the local stack's SQS (moto, corrected by devstack.moto_sqs_fifo).

SQS hands a message group out from its oldest message and never hands out a later
message of a group while an earlier one is in flight. Messages come back either by
ChangeMessageVisibility 0 or by their visibility timeout running out; the latter is
played on a virtual clock for moto's SQS (moto.sqs.models.unix_time_millis), not by
sleeping. test_moto_5_2_5_alone_gets_it_wrong shows moto without the correction.
"""

from __future__ import annotations

import boto3
import moto
import pytest
from moto import mock_aws
from moto.sqs import models as sqs_models

from devstack import moto_sqs_fifo

GROUP = "+14155550101"
OTHER_GROUP = "+14155550102"
HOW = ("change_visibility_0", "timeout_expired")


class MotoSqsClock:
    """moto's SQS clock, stopped, moved forward by hand only: a test's calls all happen
    in the same millisecond unless it says otherwise (as a fast consumer's often do)."""

    def __init__(self, monkeypatch):
        self.now_ms = sqs_models.unix_time_millis()
        # moto's clock, not ours: the fix under test lives in moto's SQS model, which takes no clock.
        monkeypatch.setattr(sqs_models, "unix_time_millis", lambda *args: self.now_ms)

    def advance(self, seconds: float) -> None:
        self.now_ms += seconds * 1000


@pytest.fixture
def clock(monkeypatch):
    return MotoSqsClock(monkeypatch)


@pytest.fixture
def fifo(clock):
    assert moto_sqs_fifo.install() and moto_sqs_fifo.installed()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(
            QueueName="order-test.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
        )["QueueUrl"]
        yield Fifo(sqs, url, clock)


class Fifo:
    def __init__(self, sqs, url, clock):
        self.sqs, self.url, self.clock = sqs, url, clock
        self.sent = 0

    def send(self, count: int, group: str = GROUP) -> list[str]:
        bodies = []
        for _ in range(count):
            body = f"{group}#{self.sent}"
            self.sent += 1
            self.sqs.send_message(
                QueueUrl=self.url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body
            )
            bodies.append(body)
        return bodies

    def receive(self, most: int = 10, visibility: int | None = None) -> list[dict]:
        extra = {} if visibility is None else {"VisibilityTimeout": visibility}
        return self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=most, **extra).get("Messages", [])

    def give_back(self, messages: list[dict], how: str) -> None:
        """Make the messages visible again: ChangeMessageVisibility 0, or their
        (30 s) visibility timeout runs out on moto's clock."""
        if how == "change_visibility_0":
            for message in messages:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            self.clock.advance(0.001)  # moto's "visible" is "later than visible_at", in milliseconds
        else:
            self.clock.advance(31)

    def delete(self, messages: list[dict]) -> None:
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


def bodies(messages: list[dict]) -> list[str]:
    return [m["Body"] for m in messages]


@pytest.mark.parametrize("how", HOW)
def test_a_group_given_back_whole_comes_back_from_its_oldest_message(fifo, how):
    sent = fifo.send(5)
    first = fifo.receive()
    assert bodies(first) == sent
    fifo.give_back(first, how)

    handed_out = []
    while len(handed_out) < len(sent):
        one = fifo.receive(most=1)
        assert len(one) == 1, f"the group is stuck after {bodies(handed_out)}"
        handed_out += one
        # The group is blocked while that one is in flight.
        assert fifo.receive() == [], f"a later message while {one[0]['Body']} is in flight"
        fifo.delete(one)
    assert bodies(handed_out) == sent


@pytest.mark.parametrize("how", HOW)
def test_the_rest_of_a_batch_comes_back_in_order_after_the_first_is_done(fifo, how):
    """What the poller does with batchItemFailures: delete the done one, the rest
    reappear after their visibility timeout (or at once when given back)."""
    sent = fifo.send(5)
    batch = fifo.receive()
    fifo.delete(batch[:1])
    fifo.give_back(batch[1:], how)
    assert bodies(fifo.receive()) == sent[1:]


@pytest.mark.parametrize("how", HOW)
def test_no_later_message_while_an_earlier_one_is_in_flight(fifo, how):
    sent = fifo.send(4)
    other = fifo.send(2, group=OTHER_GROUP)
    batch = fifo.receive(most=4)
    assert bodies(batch) == sent
    if how == "change_visibility_0":
        fifo.give_back(batch[1:], how)  # the oldest stays in flight
    else:
        # The oldest was received again with a longer timeout: the others time out first.
        fifo.sqs.change_message_visibility(
            QueueUrl=fifo.url, ReceiptHandle=batch[0]["ReceiptHandle"], VisibilityTimeout=120
        )
        fifo.give_back(batch[1:], how)
    # Only the other group is served while the oldest of the first is in flight.
    assert bodies(fifo.receive()) == other
    assert fifo.receive() == []
    fifo.give_back(batch[:1], "change_visibility_0")
    assert bodies(fifo.receive()) == sent


def test_a_group_unblocks_when_its_message_in_flight_is_deleted(fifo):
    sent = fifo.send(3)
    first = fifo.receive(most=1)
    assert bodies(first) == sent[:1]
    assert fifo.receive() == []
    fifo.delete(first)
    assert bodies(fifo.receive()) == sent[1:]


def interleaved(fifo, each: int) -> tuple[list[str], list[str]]:
    first, other = [], []
    for _ in range(each):
        first += fifo.send(1)
        other += fifo.send(1, group=OTHER_GROUP)
    return first, other


def test_a_batch_is_filled_from_one_group_first(fifo):
    """SQS hands out as many messages of one group as it can, the oldest group first
    (moto alone takes the queue's order, so interleaved groups shared every batch)."""
    first, other = interleaved(fifo, 12)
    assert bodies(fifo.receive()) == first[:10]
    assert bodies(fifo.receive()) == other[:10], "the other group is not blocked"


def test_a_short_group_leaves_the_rest_of_the_batch_to_the_next(fifo):
    first, other = interleaved(fifo, 3)
    assert bodies(fifo.receive()) == first + other


def test_install_is_idempotent():
    assert moto_sqs_fifo.install() is True
    patched = sqs_models.SQSBackend.receive_message
    assert moto_sqs_fifo.install() is True
    assert sqs_models.SQSBackend.receive_message is patched


@pytest.mark.skipif(moto.__version__ != moto_sqs_fifo.PATCHED_VERSION, reason="the correction is for moto 5.2.5")
def test_moto_5_2_5_alone_gets_it_wrong(clock):
    """The reason devstack.moto_sqs_fifo exists: without it moto hands the group out from
    its last message. When an upgrade fixes this, this test fails: drop the module."""
    moto_sqs_fifo.uninstall()
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            fifo = Fifo(
                sqs, sqs.create_queue(QueueName="bug.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"], clock
            )
            sent = fifo.send(3)
            fifo.give_back(fifo.receive(), "timeout_expired")
            assert bodies(fifo.receive(most=1)) == sent[-1:]
    finally:
        moto_sqs_fifo.install()


def test_a_long_poll_on_blocked_groups_waits_instead_of_spinning(fifo, monkeypatch):
    """moto 5.2.5 loops without pause for the whole WaitTimeSeconds while every visible
    message is in a blocked group; a new message of another group still ends the wait."""
    import threading
    import time

    looks = []
    messages = sqs_models.Queue.messages
    # A spy on moto's own queue (counting scans, not replacing them): the cost measured is moto's.
    monkeypatch.setattr(sqs_models.Queue, "messages", property(lambda queue: looks.append(1) or messages.fget(queue)))
    sent = fifo.send(2)
    assert bodies(fifo.receive(most=1)) == sent[:1]  # the group is blocked, its second message visible

    looks.clear()
    assert fifo.sqs.receive_message(QueueUrl=fifo.url, WaitTimeSeconds=1).get("Messages") is None
    assert len(looks) < 200, f"{len(looks)} looks at the queue in a 1 s long poll: it spins"

    other = threading.Timer(0.2, lambda: fifo.send(1, group=OTHER_GROUP))
    started = time.monotonic()
    other.start()
    try:
        answer = fifo.sqs.receive_message(QueueUrl=fifo.url, WaitTimeSeconds=5).get("Messages", [])
    finally:
        other.join()
    assert [m["Body"].split("#")[0] for m in answer] == [OTHER_GROUP]
    assert time.monotonic() - started < 4, "the new message did not end the long poll"
