"""DynamoDB in the sender's simulation: moto's backend, in-process, each call taking a few
milliseconds of virtual time and counted by who made it (the kernel process's role), with
the partitions it touched (bench/sender/partitions.py) and the conditions that failed.

By default a call goes straight to moto's DynamoDB handler (bench/kit/moto_speedups.py,
`call_dynamodb`); `wire=True` keeps botocore's round trip."""

from __future__ import annotations

import collections
import random
from collections.abc import Callable

from moto.dynamodb.models import dynamodb_backends

from bench.kit import moto_speedups
from bench.kit.environment import ACCOUNT, PREFIX, REGION
from bench.kit.kernel import Kernel
from bench.kit.seams import Seams
from bench.sender.partitions import READ_OPERATIONS, WRITE_OPERATIONS, touched


class DynamoCalls:
    def __init__(self, kernel: Kernel, rng: random.Random, latency: tuple[float, float], wire: bool):
        self.kernel, self.rng, self.latency, self.wire = kernel, rng, latency, wire
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.conditional_failures: collections.Counter = collections.Counter()
        # (role, kind, table, partition-key value) -> request units (bench/sender/partitions.py)
        self.partitions: collections.Counter = collections.Counter()
        self._hash_keys: dict[str, str] = {}
        self._through_botocore: Callable | None = None

    def install(self, seams: Seams) -> None:
        self._through_botocore = seams.pynamodb_calls(self.call)

    def call(self, connection, operation: str, kwargs: dict):
        kernel = self.kernel
        role = kernel.current.role if kernel.in_process else "setup"
        self.counts[role][operation] += 1
        if role != "setup":
            for kind, table, partition, units in touched(operation, kwargs, self._hash_key):
                self.partitions[(role, kind, table.removeprefix(PREFIX), partition)] += units
        if kernel.in_process:
            kernel.sleep(self.rng.uniform(*self.latency))
        try:
            if self.wire:
                return self._through_botocore(connection, operation, kwargs)
            return moto_speedups.call_dynamodb(operation, kwargs)
        except Exception as error:
            if "ConditionalCheckFailed" in str(getattr(error, "response", {}).get("Error", {}).get("Code", "")):
                self.conditional_failures[role] += 1
            raise

    def _hash_key(self, table: str) -> str:
        if table not in self._hash_keys:
            self._hash_keys[table] = dynamodb_backends[ACCOUNT][REGION].get_table(table).hash_key_attr
        return self._hash_keys[table]

    def per_role(self, role: str) -> tuple[int, int]:
        counts = self.counts.get(role, collections.Counter())
        reads = sum(n for op, n in counts.items() if op in READ_OPERATIONS)
        writes = sum(n for op, n in counts.items() if op in WRITE_OPERATIONS)
        return reads, writes
