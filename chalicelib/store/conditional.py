"""Conditional writes over PynamoDB: True when written, False when the condition
did not hold (a lost race), any other failure raised."""
from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError


# DynamoDB refuses (ValidationException) keys longer than these, in UTF-8 bytes.
MAX_HASH_KEY_BYTES, MAX_RANGE_KEY_BYTES = 2048, 1024


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
