"""The local stack's DynamoDB applies each request atomically, as DynamoDB does
(devstack.moto_server): racing conditional writes and transactions through the server's
endpoint, exactly as many win as the condition allows, none answers 5xx, and nothing a
winner wrote is lost. SQS's long polls stay concurrent with it.

moto's race windows are microseconds wide; the interpreter's switch interval is cut to
10 µs while the racers run, so the interleavings a loaded machine meets now and then
happen in every round. test_moto_5_2_5_alone_breaks_them shows the server without the
correction (if it passes no more on a newer moto, the correction may go).
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.moto_server import MotoServer

RACERS = 20
LIMIT = 5
ROUNDS = 5
TABLE = "race"


def _client(server: MotoServer, service: str):
    return boto3.client(
        service,
        endpoint_url=server.url(),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # No retries: a 500 must show, not be retried away.
        config=Config(max_pool_connections=RACERS + 5, retries={"total_max_attempts": 1}),
    )


def _serve(atomic: bool):
    server = MotoServer("127.0.0.1", 0, atomic_dynamodb=atomic)
    server.start()
    assert server.error is None, server.error
    requests.post(f"{server.url()}/moto-api/reset", timeout=10).raise_for_status()  # moto's backends are the process's
    dynamodb = _client(server, "dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return server, dynamodb


@pytest.fixture
def dynamodb():
    server, client = _serve(atomic=True)
    yield client
    server.stop()


def race(write: Callable[[int], object]) -> Counter:
    """`write(i)` from RACERS threads released at once: how many won, lost their
    condition, or failed otherwise (by error code)."""
    start = threading.Barrier(RACERS)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def racer(i: int) -> None:
        start.wait()
        try:
            write(i)
            outcome = "won"
        except ClientError as error:
            code = error.response["Error"]["Code"]
            lost = code in ("ConditionalCheckFailedException", "TransactionCanceledException")
            outcome = "lost" if lost else f"{error.response['ResponseMetadata']['HTTPStatusCode']} {code}"
        with lock:
            outcomes[outcome] += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    return outcomes


def _number(dynamodb, key: str) -> int | None:
    item = dynamodb.get_item(TableName=TABLE, Key={"k": {"S": key}}, ConsistentRead=True).get("Item")
    return int(item["n"]["N"]) if item and "n" in item else None


def _add_under_limit(key: str) -> dict:
    return {
        "TableName": TABLE,
        "Key": {"k": {"S": key}},
        "UpdateExpression": "ADD n :one",
        "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(LIMIT)}},
    }


def _transactions_race(dynamodb, key: str) -> tuple[Counter, int | None, int]:
    """Each racer: the counter under its limit, and an item of its own, in one transaction.
    Returns the outcomes, the counter, and how many racers' own items exist."""

    def write(i: int) -> None:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Update": _add_under_limit(key)},
                {"Put": {"TableName": TABLE, "Item": {"k": {"S": f"{key}-{i}"}}}},
            ]
        )

    outcomes = race(write)
    own = sum(_exists(dynamodb, f"{key}-{i}") for i in range(RACERS))
    return outcomes, _number(dynamodb, key), own


def _exists(dynamodb, key: str) -> bool:
    return "Item" in dynamodb.get_item(TableName=TABLE, Key={"k": {"S": key}}, ConsistentRead=True)


def test_racing_conditional_puts_one_wins(dynamodb):
    for round_ in range(ROUNDS):
        key = f"put-{round_}"
        outcomes = race(
            lambda i, key=key: dynamodb.put_item(
                TableName=TABLE,
                Item={"k": {"S": key}, "writer": {"N": str(i)}},
                ConditionExpression="attribute_not_exists(k)",
            )
        )
        assert outcomes == {"won": 1, "lost": RACERS - 1}


def test_racing_conditional_updates_stop_at_the_limit_and_lose_no_increment(dynamodb):
    for round_ in range(ROUNDS):
        key = f"add-{round_}"
        outcomes = race(lambda i, key=key: dynamodb.update_item(**_add_under_limit(key)))
        assert outcomes == {"won": LIMIT, "lost": RACERS - LIMIT}
        assert _number(dynamodb, key) == LIMIT


def test_racing_transactions_commit_as_many_as_the_condition_allows_all_or_nothing(dynamodb):
    for round_ in range(ROUNDS):
        outcomes, counter, own = _transactions_race(dynamodb, f"tx-{round_}")
        assert outcomes == {"won": LIMIT, "lost": RACERS - LIMIT}
        assert counter == LIMIT and own == LIMIT, "each winner's whole transaction, no loser's part"


def test_a_long_poll_waits_without_holding_dynamodb():
    server, dynamodb = _serve(atomic=True)
    sqs = _client(server, "sqs")
    try:
        url = sqs.create_queue(QueueName="waiting")["QueueUrl"]
        received: list = []
        poll = threading.Thread(
            target=lambda: received.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", []))
        )
        poll.start()
        for i in range(RACERS):  # every one answered while the poll still waits
            dynamodb.put_item(TableName=TABLE, Item={"k": {"S": f"while-polling-{i}"}})
        assert poll.is_alive() and not received
        sqs.send_message(QueueUrl=url, MessageBody="done")
        poll.join(timeout=20)
        assert [m["Body"] for m in received] == ["done"]
    finally:
        server.stop()


def test_moto_5_2_5_alone_breaks_them():
    """Without the lock, racing transactions go wrong within a few rounds: a 500 (the
    table changed while moto copied it), more winners than the limit, or a winner's
    write undone by another's rollback."""
    server, dynamodb = _serve(atomic=False)
    try:
        wrong = []
        for round_ in range(20):
            outcomes, counter, own = _transactions_race(dynamodb, f"tx-{round_}")
            if outcomes != {"won": LIMIT, "lost": RACERS - LIMIT} or counter != LIMIT or own != LIMIT:
                wrong.append((dict(outcomes), counter, own))
                break
        assert wrong, "moto applied every racing transaction atomically: devstack.moto_server may be unneeded"
    finally:
        server.stop()
