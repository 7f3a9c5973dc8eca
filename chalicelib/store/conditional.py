"""Small helpers over PynamoDB that every domain module uses."""
from __future__ import annotations

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
    try:
        item.update(actions=actions, condition=condition)
        return True
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise


def save_if(item, condition) -> bool:
    try:
        item.save(condition=condition)
        return True
    except PutError as error:
        if condition_failed(error):
            return False
        raise


def delete_if(item, condition) -> bool:
    try:
        item.delete(condition=condition)
        return True
    except DeleteError as error:
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
