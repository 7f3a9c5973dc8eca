"""The SQS client the service gets inside the sender's simulation (`aws.client("sqs")`): the
outbound queue is the modelled FIFO queue (bench/kit/sqs_model.py); what goes to the other
queues (the chat events) is counted. Every call is counted and takes a few virtual
milliseconds."""

from __future__ import annotations

import collections
from collections.abc import Callable

from bench.kit.environment import ACCOUNT, REGION
from bench.kit.kernel import Kernel
from bench.kit.sqs_model import FifoQueue


class SqsClient:
    def __init__(self, kernel: Kernel, outbound: FifoQueue, count: Callable[[str], None], latency: Callable[[], float]):
        self.kernel, self.outbound, self.count, self.latency = kernel, outbound, count, latency
        self.events_sent: collections.Counter = collections.Counter()  # by queue name

    def _call(self, operation: str) -> None:
        self.count(operation)
        if self.kernel.in_process:
            self.kernel.sleep(self.latency())

    def get_queue_url(self, QueueName: str, **_) -> dict:
        self._call("GetQueueUrl")
        return {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QueueName}"}

    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        MessageGroupId: str | None = None,
        MessageDeduplicationId: str | None = None,
        **_,
    ) -> dict:
        self._call("SendMessage")
        name = QueueUrl.rsplit("/", 1)[-1]
        if name == self.outbound.name:
            message_id = self.outbound.send(MessageBody, MessageGroupId, MessageDeduplicationId)
        else:
            self.events_sent[name] += 1
            message_id = f"other-{sum(self.events_sent.values())}"
        return {"MessageId": message_id}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict], **_) -> dict:
        self._call("ChangeMessageVisibilityBatch")
        ok, failed = [], []
        for entry in Entries:
            if self.outbound.change_visibility(entry["ReceiptHandle"], int(entry["VisibilityTimeout"])):
                ok.append({"Id": entry["Id"]})
            else:
                failed.append({"Id": entry["Id"], "Code": "ReceiptHandleIsInvalid", "SenderFault": True})
        return {"Successful": ok, "Failed": failed}

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int, **_) -> dict:
        self._call("ChangeMessageVisibility")
        self.outbound.change_visibility(ReceiptHandle, int(VisibilityTimeout))
        return {}
