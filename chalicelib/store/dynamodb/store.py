"""Every repository in DynamoDB: the store production runs on (chalicelib/wiring.py)."""

from __future__ import annotations

from chalicelib.store.dynamodb.counters import DynamoCounters
from chalicelib.store.dynamodb.limits import DynamoLimitStore
from chalicelib.store.dynamodb.messages import DynamoMessages
from chalicelib.store.dynamodb.phones import DynamoPhones
from chalicelib.store.dynamodb.pool import DynamoPool
from chalicelib.store.dynamodb.routing import DynamoRouting
from chalicelib.store.dynamodb.sessions import DynamoSessions
from chalicelib.store.dynamodb.tmobile_counts import DynamoTMobileCounts
from chalicelib.store.repositories import Store


def dynamodb_store() -> Store:
    return Store(
        phones=DynamoPhones(),
        counters=DynamoCounters(),
        sessions=DynamoSessions(),
        messages=DynamoMessages(),
        pool=DynamoPool(),
        limits=DynamoLimitStore(),
        routing=DynamoRouting(),
        tmobile=DynamoTMobileCounts(),
    )
