"""Small helpers over PynamoDB that every domain module uses."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist


def get_or_none(model, hash_key, range_key=None):
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None


def condition_failed(error: Exception) -> bool:
    """True when a PynamoDB write failed only because its condition did not hold."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
