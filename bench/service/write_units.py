"""The DynamoDB write request units a write is billed, worked out from the items moto holds.

On demand, AWS bills a write one unit per KB of the item (the larger of the item before and
after, for an update), a conditional write that fails included, and each global secondary
index the write changes as a write of its own to that index:
- an item entering or leaving an index (its key attributes set or removed): one write;
- an item whose index key changes: two (the old entry deleted, the new one put);
- an item staying in an index whose projected attributes change: one (an ALL projection
  projects every attribute, KEYS_ONLY none beyond the keys);
each a unit per KB of the index entry (the item's size for ALL, under a KB for KEYS_ONLY).
A transaction bills twice per item; a throttled request nothing.

`before(params)` reads the item a write names (in `before-call`), `units(...)` compares it with
what moto holds after the write (in `after-call`). Both read moto's backend in this process (the
in-process mock or `ThreadedMotoServer`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from moto.backends import get_backend
from moto.dynamodb.models.dynamo_type import DynamoType

from bench.kit.environment import ACCOUNT

KB = 1024


@dataclass(frozen=True)
class Snapshot:
    table: object  # moto's Table
    key: tuple
    attrs: dict | None  # None: no item
    size: int


def before(operation: str, params: dict, region: str) -> Snapshot | None:
    """The item `params` names, as it is before the write (Put, Update and Delete only)."""
    if operation not in ("PutItem", "UpdateItem", "DeleteItem"):
        return None
    table = get_backend("dynamodb")[ACCOUNT][region].tables.get(params.get("TableName"))
    if table is None:
        return None
    source = params.get("Item") if operation == "PutItem" else params.get("Key")
    hash_value = DynamoType(source[table.hash_key_attr])
    range_value = DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
    return _read(table, (hash_value, range_value))


def _read(table, key: tuple) -> Snapshot:
    item = table.get_item(*key)
    # A deep copy: moto changes an item's values in place on some updates.
    return Snapshot(table, key, copy.deepcopy(item.attrs) if item else None, item.size() if item else 0)


def units(operation: str, snapshot: Snapshot | None, error_code: str | None, items: int = 1) -> float:
    """Write request units billed for one call (`items`: a batch's or transaction's count)."""
    if error_code is not None and ("Throughput" in error_code or error_code == "ThrottlingException"):
        return 0.0
    if operation == "TransactWriteItems":
        return 2.0 * items
    if snapshot is None:
        return float(items)
    after = _read(snapshot.table, snapshot.key)
    base = max(1, math.ceil(max(snapshot.size, after.size) / KB))
    if error_code:  # a condition that failed: the item's units, no index touched
        return float(base)
    return float(base + sum(_index_writes(index, snapshot, after) for index in snapshot.table.global_indexes))


def _index_writes(index, old: Snapshot, new: Snapshot) -> int:
    keys = [part["AttributeName"] for part in index.schema]
    was_in = old.attrs is not None and all(k in old.attrs for k in keys)
    now_in = new.attrs is not None and all(k in new.attrs for k in keys)
    if not was_in and not now_in:
        return 0
    entry = _entry_units(index, new if now_in else old)
    if was_in != now_in:
        return entry
    if any(old.attrs[k] != new.attrs[k] for k in keys):
        return 2 * entry
    projected = _projected(index, old.attrs) != _projected(index, new.attrs)
    return entry if projected else 0


def _projected(index, attrs: dict) -> dict:
    kind = index.projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return attrs
    names = set(index.projection.get("NonKeyAttributes", [])) if kind == "INCLUDE" else set()
    return {name: value for name, value in attrs.items() if name in names}


def _entry_units(index, snapshot: Snapshot) -> int:
    if index.projection.get("ProjectionType", "ALL") == "ALL":
        return max(1, math.ceil(snapshot.size / KB))
    return 1
