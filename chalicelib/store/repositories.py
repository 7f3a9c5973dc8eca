"""The repositories, one per aggregate (the context's `store`): each owns every condition,
update and transaction on its items and answers in the values of its module. DynamoDB
implementations live in store/dynamodb/ (`dynamodb_store()`); `memory_store()` gives the
memory twins, with the same contracts, to tests and simulations that want the rules
without moto."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.store.counters import CounterStore, MemoryCounters
from chalicelib.store.limit_states import LimitStore, MemoryLimitStore
from chalicelib.store.messages import MemoryMessages, MessageStore
from chalicelib.store.phones import MemoryPhones, PhoneStore
from chalicelib.store.pool import MemoryPool, PoolStore
from chalicelib.store.routing import RoutingOverStores, RoutingReads
from chalicelib.store.sessions import MemorySessions, SessionStore
from chalicelib.store.tmobile_counts import MemoryTMobileCounts, TMobileCounts


@dataclass(frozen=True)
class Store:
    phones: PhoneStore  # users and their phones
    counters: CounterStore  # what the verification limits remember
    sessions: SessionStore  # sessions, their pairs and routes
    messages: MessageStore
    pool: PoolStore  # the pool's numbers, their usage, the growth lease, the autoscaler's memory
    limits: LimitStore  # the send limiter's state
    routing: RoutingReads  # what an inbound SMS is routed by, read across the above
    tmobile: TMobileCounts  # T-Mobile's daily cap: the day's count, each message once


def memory_store(numbers: dict[str, float] | None = None) -> Store:
    """Every repository in memory; `numbers`: the limiter's pool numbers and their rates."""
    phones, sessions, messages = MemoryPhones(), MemorySessions(), MemoryMessages()
    return Store(
        phones=phones,
        counters=MemoryCounters(),
        sessions=sessions,
        messages=messages,
        pool=MemoryPool(),
        limits=MemoryLimitStore(numbers),
        routing=RoutingOverStores(phones, sessions, messages),
        tmobile=MemoryTMobileCounts(),
    )
