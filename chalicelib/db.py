"""Small helpers over PynamoDB that every domain module uses."""
from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError


def get_or_none(model, hash_key, range_key=None):
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None


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
