"""Move dead-lettered messages back to the queue they came from: `make replay-dlq`.

    python scripts/replay_dlq.py [--stage dev] [--prefix sms-bridge-dev-] [--queue delivery ...]
                                 [--max N] [--dry-run]

For each source queue of the stage (outbound.fifo, delivery, requests) the
dead-letter queue is the one its RedrivePolicy names. Each message there is
sent again to its source (a FIFO one keeps its MessageGroupId and gets a new
deduplication id, since the old one may still be inside SQS's 5-minute
window), then deleted from the dead-letter queue; a line per message says
what moved: queue, SQS message id, receives, reason, and the ids in its body
(never its text).

Replaying is safe: the handlers are idempotent (the sender claims a message
before sending, receivers dedupe events on event_id). AWS endpoint and
credentials come from the environment as for any boto3 client
(AWS_ENDPOINT_URL for the local stack).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SOURCE_KINDS = ("outbound", "delivery", "requests")
IDS_SHOWN = ("type", "event_id", "message_id", "session_id", "user_id")


def source_queue_name(prefix: str, kind: str) -> str:
    return f"{prefix}{kind}{'.fifo' if kind == 'outbound' else ''}"


def dead_letter_url(sqs, source_url: str) -> str | None:
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        return None
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    return sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]


def describe(message: dict) -> str:
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = {}
    ids = " ".join(f"{k}={body[k]}" for k in IDS_SHOWN if isinstance(body, dict) and body.get(k))
    reason = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue")
    receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
    return (
        f"{message['MessageId']} receives={receives}"
        + (f" reason={reason}" if reason else "")
        + (f" {ids}" if ids else "")
    )


def replay(
    sqs, source_name: str, *, limit: int | None = None, dry_run: bool = False, out: Callable[[str], None] = print
) -> list[str]:
    """Move up to `limit` messages from source_name's dead-letter queue back to it.
    Returns the SQS message ids moved (or that would be, with dry_run)."""
    source_url = sqs.get_queue_url(QueueName=source_name)["QueueUrl"]
    dlq_url = dead_letter_url(sqs, source_url)
    if dlq_url is None:
        out(f"{source_name}: no dead-letter queue")
        return []
    fifo = source_name.endswith(".fifo")
    moved: list[str] = []
    seen: set[str] = set()
    looked_at: list[str] = []  # dry run: made visible again at the end
    while limit is None or len(moved) < limit:
        want = 10 if limit is None else min(10, limit - len(moved))
        batch = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            VisibilityTimeout=60,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        batch = [m for m in batch if m["MessageId"] not in seen]
        if not batch:
            break
        for message in batch:
            seen.add(message["MessageId"])
            out(f"{source_name}: {'would move' if dry_run else 'moved'} {describe(message)}")
            if dry_run:
                moved.append(message["MessageId"])
                looked_at.append(message["ReceiptHandle"])
                continue
            send = {"QueueUrl": source_url, "MessageBody": message["Body"]}
            attributes = {
                k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
                for k, v in message.get("MessageAttributes", {}).items()
                if "StringValue" in v
            }
            if attributes:
                send["MessageAttributes"] = attributes
            if fifo:
                send["MessageGroupId"] = message.get("Attributes", {}).get("MessageGroupId", "replayed")
                send["MessageDeduplicationId"] = f"replay-{uuid.uuid4().hex}"
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved.append(message["MessageId"])
    for handle in looked_at:
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
    out(f"{source_name}: {len(moved)} {'to move' if dry_run else 'moved'} from {dlq_url.rsplit('/', 1)[-1]}")
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replay_dlq.py", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default=os.environ.get("STAGE", "dev"))
    parser.add_argument(
        "--prefix", default=None, help="resource prefix (default RESOURCE_PREFIX or sms-bridge-<stage>-)"
    )
    parser.add_argument("--queue", action="append", choices=SOURCE_KINDS, help="only these source queues (repeatable)")
    parser.add_argument("--max", type=int, default=None, help="move at most this many per queue")
    parser.add_argument("--dry-run", action="store_true", help="list what would move, move nothing")
    args = parser.parse_args(argv)
    prefix = args.prefix or os.environ.get("RESOURCE_PREFIX") or f"sms-bridge-{args.stage}-"

    import boto3

    sqs = boto3.client("sqs")
    total = 0
    for kind in args.queue or SOURCE_KINDS:
        total += len(replay(sqs, source_queue_name(prefix, kind), limit=args.max, dry_run=args.dry_run))
    print(f"{total} message(s) {'to move' if args.dry_run else 'moved'} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
