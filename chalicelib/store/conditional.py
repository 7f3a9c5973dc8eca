"""Conditional writes over PynamoDB: True when written, False when the condition
did not hold (a lost race), any other failure raised."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

# DynamoDB refuses (ValidationException) keys longer than these, in UTF-8 bytes.
MAX_HASH_KEY_BYTES, MAX_RANGE_KEY_BYTES = 2048, 1024
# Why a transaction was cancelled when another writer got there first.
LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def get_or_none(model, hash_key, range_key=None):
    """The item, or None; a key too long for DynamoDB names no item (not an error)."""
    if _too_long(hash_key, MAX_HASH_KEY_BYTES) or _too_long(range_key, MAX_RANGE_KEY_BYTES):
        return None
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None


def _too_long(key, limit: int) -> bool:
    return isinstance(key, str) and len(key.encode("utf-8", "surrogatepass")) > limit


def condition_failed(error: Exception) -> bool:
    """True when a PynamoDB write failed only because its condition did not hold."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def update_if(item, actions: list, condition) -> bool:
    """Update only while `condition` holds (the item then holds the new values).
    False when it did not hold; any other failure raises."""
    return _conditionally(lambda: item.update(actions=actions, condition=condition), UpdateError)


def save_if(item, condition) -> bool:
    return _conditionally(lambda: item.save(condition=condition), PutError)


def delete_if(item, condition) -> bool:
    return _conditionally(lambda: item.delete(condition=condition), DeleteError)


def _conditionally(write, failure: type[Exception]) -> bool:
    try:
        write()
        return True
    except failure as error:
        if condition_failed(error):
            return False
        raise


def transact_if(*writes: tuple) -> list[bool] | None:
    """All of `writes` in one DynamoDB transaction, or none of them.

    Each write is ("update", item, actions, condition) or ("save", item, None, condition).
    Returns None when committed; when a condition did not hold, a list saying, write by
    write, whose condition failed. Any other failure raises."""
    connection = writes[0][1]._get_connection().connection
    try:
        with TransactWrite(connection=connection) as transaction:
            for kind, item, actions, condition in writes:
                if kind == "update":
                    transaction.update(item, actions=actions, condition=condition)
                else:
                    transaction.save(item, condition=condition)
    except TransactWriteError as error:
        reasons = error.cancellation_reasons if error.cause_response_code == "TransactionCanceledException" else []
        failed = [reason is not None and reason.code in LOST_RACE for reason in reasons]
        if not any(failed):
            raise
        return failed
    return None


def update_together(updates: list[tuple]) -> bool:
    """Several updates, all or none: each (item, actions, condition or None). False when
    a condition did not hold (or another write raced it); any other failure raises."""
    return transact_if(*(("update", item, actions, condition) for item, actions, condition in updates)) is None


def get_together(keys: list[tuple]) -> list:
    """Several items in one BatchGetItem (strongly consistent), each (model, hash_key,
    range_key or None); the items in that order, None where there is none. What the batch
    leaves unprocessed is read alone."""
    by_table: dict[str, dict] = {}
    client: Any = None  # botocore's DynamoDB client, taken from the first model's connection
    for model, hash_key, range_key in keys:
        client = client or model._get_connection().connection.client
        request = by_table.setdefault(model.Meta.table_name, {"Keys": [], "ConsistentRead": True})
        request["Keys"].append(_key(model, hash_key, range_key))
    answer = client.batch_get_item(RequestItems=by_table)
    found = answer.get("Responses", {})
    items = []
    for model, hash_key, range_key in keys:
        wanted = _key(model, hash_key, range_key)
        raw = next(
            (i for i in found.get(model.Meta.table_name, []) if all(i.get(k) == v for k, v in wanted.items())), None
        )
        if raw is not None:
            items.append(model.from_raw_data(raw))
        elif answer.get("UnprocessedKeys", {}).get(model.Meta.table_name):
            items.append(get_or_none(model, hash_key, range_key))
        else:
            items.append(None)
    return items


def _key(model, hash_key, range_key) -> dict:
    key = {}
    for attribute, value in ((model._hash_key_attribute(), hash_key), (model._range_key_attribute(), range_key)):
        if attribute is not None:
            key[attribute.attr_name] = {attribute.attr_type: attribute.serialize(value)}
    return key
