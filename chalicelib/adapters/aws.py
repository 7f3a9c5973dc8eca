"""AWS: boto3 clients, created on first use and kept for the life of the process.

Endpoints come from botocore's own configuration (AWS_ENDPOINT_URL for the
local stack), so nothing here names a host.
"""

from __future__ import annotations

import functools

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)


@functools.cache
def client(service: str):
    """The process's client of `service` (a simulation passes its own to the adapter instead)."""
    config = _CONFIG.merge(Config(signature_version="s3v4")) if service == "s3" else _CONFIG
    return boto3.session.Session().client(service, config=config)


@functools.cache
def queue_url(name: str) -> str:
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def reset() -> None:
    """Forget every client and queue URL (tests switch AWS backends)."""
    client.cache_clear()
    queue_url.cache_clear()


# AWS answers that mean "busy or briefly broken, try again" once botocore's own
# retries are spent: the caller should retry, so the API answers 503, not 500.
_TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        # A transaction cancelled for throttling or a conflict with another transaction (the
        # lost conditions are answered by store/conditional.transact_if), and a plain write
        # that met a transaction in progress: a retry succeeds or answers the lost race.
        "TransactionCanceledException",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
_NETWORK_FAULTS = (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError)


def is_transient_fault(error: BaseException | None) -> bool:
    """True when `error`, or what caused it (PynamoDB wraps botocore's), is AWS
    throttling, an AWS 5xx or a connection fault."""
    while error is not None:
        response = getattr(error, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in _TRANSIENT_AWS_CODES:
            return True
        if isinstance(error, _NETWORK_FAULTS):
            return True
        error = getattr(error, "cause", None) or error.__cause__
    return False
