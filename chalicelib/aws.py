"""boto3 clients, created on first use and kept for the life of the process.

Endpoints come from botocore's own configuration (AWS_ENDPOINT_URL for the
local stack), so nothing here names a host.
"""
from __future__ import annotations

import functools

import boto3
from botocore.config import Config

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)


@functools.lru_cache(maxsize=None)
def client(service: str):
    return boto3.session.Session().client(service, config=_CONFIG)


@functools.lru_cache(maxsize=None)
def queue_url(name: str) -> str:
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def reset() -> None:
    """Forget every client and queue URL (tests switch AWS backends)."""
    client.cache_clear()
    queue_url.cache_clear()
