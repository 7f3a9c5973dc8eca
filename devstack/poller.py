"""Feed SQS queues to the app's handlers the way Lambda's event source mapping does.

`chalice local` serves only HTTP routes, so the local stack and the tests use
this: receive a batch, hand the handler a Lambda-shaped event, delete the
records the handler did not report in `batchItemFailures` (those reappear
after their visibility timeout, as on AWS).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Handler = Callable[[dict, object], "dict | None"]  # None or {"batchItemFailures": [...]}


@dataclass
class QueueFeed:
    queue_name: str
    handler: Handler
    batch_size: int = 10
    region: str = "us-east-1"
    _url: str | None = field(default=None, repr=False)

    def url(self, sqs) -> str:
        if self._url is None:
            self._url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        return self._url

    def poll_once(self, sqs, wait_seconds: int = 0) -> int:
        """One receive + invoke + delete round; returns how many records it handled."""
        url = self.url(sqs)
        received = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        event = {"Records": [_record(message, arn, self.region) for message in received]}
        result = self.handler(event, _Context())
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(received)


def _record(message: dict, arn: str, region: str) -> dict:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


class _Context:
    """The parts of a Lambda context the handlers may read."""

    function_name = "local"
    aws_request_id = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def feeds_for(app_module) -> list[QueueFeed]:
    """One feed per `@app.on_sqs_message` handler of the Chalice app."""
    feeds = []
    for source in app_module.app.event_sources:
        queue = getattr(source, "queue", None)
        if queue:
            handler = getattr(app_module, source.name)
            feeds.append(QueueFeed(queue, handler, batch_size=source.batch_size))
    return feeds


def drain(feeds: list[QueueFeed], sqs, max_rounds: int = 100) -> int:
    """Poll every feed until a full round finds nothing (messages still
    invisible after a failure stay for later). Returns records handled."""
    handled = 0
    for _ in range(max_rounds):
        round_total = sum(feed.poll_once(sqs) for feed in feeds)
        handled += round_total
        if round_total == 0:
            break
    return handled


class Poller(threading.Thread):
    """Long-polls one feed until stopped: the local stack's stand-in for one
    Lambda event source mapping."""

    def __init__(self, feed: QueueFeed, sqs_factory: Callable[[], object], on_error=None):
        super().__init__(daemon=True, name=f"poller-{feed.queue_name}")
        self.feed = feed
        self.sqs_factory = sqs_factory
        self.on_error = on_error
        self._stopping = threading.Event()

    def run(self) -> None:
        sqs = self.sqs_factory()
        while not self._stopping.is_set():
            try:
                self.feed.poll_once(sqs, wait_seconds=1)
            except Exception as error:  # keep polling: one bad batch must not stop the stack
                if self.on_error:
                    self.on_error(self.feed, error)
                self._stopping.wait(1)

    def stop(self) -> None:
        self._stopping.set()
