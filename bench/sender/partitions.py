"""Which DynamoDB partitions a call touches, for the capacity study (bench/sender/capacity.py).

A partition here is a table and a partition-key value: DynamoDB keeps every item of
one partition-key value in one physical partition (until split for heat), and a
physical partition serves at most 1,000 write units and 3,000 read units a second.

`touched` reads a call's PynamoDB keyword arguments (the request DynamoDB gets) and
returns what it costs per partition, in request units:
- a write counts one unit per item written, whether or not its condition holds (a
  failed conditional write consumes write capacity too); an item of a transaction
  counts two (transactional writes cost twice), a ConditionCheck included;
- a read counts one request per item read (GetItem, an item of a batch or
  transaction) and one per Query or Scan, whatever it returned.
Units assume items of at most 1 KB (a write unit) and 4 KB (a read unit): a PoolNumber item
is about 180 bytes (moto's measure in the campaign run).
"""

from __future__ import annotations

import re
from collections.abc import Callable

READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
Touch = tuple[str, str, str, int]  # (kind "write"|"read", table, partition-key value, units)

_EQUALS = re.compile(r"([#\w]+)\s*=\s*(:\w+)")


def _value(attribute: dict) -> str:
    return str(next(iter(attribute.values())))


def _partition(table: str, key: dict, hash_key: Callable[[str], str]) -> str:
    attribute = key.get(hash_key(table))
    return _value(attribute) if attribute else "?"


def _query_partition(kwargs: dict, hash_key: Callable[[str], str]) -> str:
    names = kwargs.get("ExpressionAttributeNames", {})
    values = kwargs.get("ExpressionAttributeValues", {})
    wanted = hash_key(kwargs["TableName"])
    for name, placeholder in _EQUALS.findall(kwargs.get("KeyConditionExpression", "")):
        if names.get(name, name) == wanted and placeholder in values:
            return _value(values[placeholder])
    return "?"


def _transact(items: list[dict], hash_key: Callable[[str], str]) -> list[Touch]:
    touches = []
    for entry in items:
        for action, request in entry.items():
            key = request.get("Key") or request.get("Item") or {}
            kind, units = ("read", 1) if action == "Get" else ("write", 2)
            touches.append((kind, request["TableName"], _partition(request["TableName"], key, hash_key), units))
    return touches


def _batch(operation: str, kwargs: dict, hash_key: Callable[[str], str]) -> list[Touch]:
    touches = []
    for table, requests in kwargs.get("RequestItems", {}).items():
        if operation == "BatchGetItem":
            touches += [("read", table, _partition(table, key, hash_key), 1) for key in requests.get("Keys", [])]
            continue
        for request in requests:
            inner = request.get("PutRequest") or request.get("DeleteRequest") or {}
            key = inner.get("Item") or inner.get("Key") or {}
            touches.append(("write", table, _partition(table, key, hash_key), 1))
    return touches


def touched(operation: str, kwargs: dict, hash_key: Callable[[str], str]) -> list[Touch]:
    """The partitions a DynamoDB call touches; `hash_key(table)` names a table's partition key."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return _transact(kwargs.get("TransactItems", []), hash_key)
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return _batch(operation, kwargs, hash_key)
    table = kwargs.get("TableName", "?")
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        key = kwargs.get("Key") or kwargs.get("Item") or {}
        return [("write", table, _partition(table, key, hash_key), 1)]
    if operation == "GetItem":
        return [("read", table, _partition(table, kwargs.get("Key", {}), hash_key), 1)]
    if operation == "Query" and kwargs.get("IndexName"):
        return [("read", f"{table}[{kwargs['IndexName']}]", "?", 1)]  # an index's partitions: not followed
    if operation == "Query":
        return [("read", table, _query_partition(kwargs, hash_key), 1)]
    if operation == "Scan":
        return [("read", table, "*", 1)]
    return []
