"""Errors the API answers with, in API.md's shape.

They derive from Chalice's ChaliceUnhandledError only so that Chalice lets
them reach app.py's middleware, which turns every error into
{"error": {"code", "message"}}; the domain raises them and knows nothing else
of HTTP.
"""
from __future__ import annotations

from chalice.app import ChaliceUnhandledError


class BridgeError(ChaliceUnhandledError):
    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(code: str, message: str) -> BridgeError:
    return BridgeError(code, message, 400)


def not_found(what: str, ident: str) -> BridgeError:
    return BridgeError(f"{what}_not_found", f"no {what} with id {ident!r}", 404)


def conflict(code: str, message: str) -> BridgeError:
    return BridgeError(code, message, 409)


# AWS answers that mean "busy or briefly broken, try again" once botocore's own
# retries are spent: the caller should retry, so they answer 503, not 500.
_TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def is_transient_aws_fault(error: BaseException | None) -> bool:
    """True when `error`, or what caused it (PynamoDB wraps botocore's), is AWS
    throttling, an AWS 5xx or a connection fault."""
    from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    network = (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError)
    while error is not None:
        response = getattr(error, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in _TRANSIENT_AWS_CODES:
            return True
        if isinstance(error, network):
            return True
        error = getattr(error, "cause", None) or error.__cause__
    return False


def unavailable() -> BridgeError:
    return BridgeError(
        "temporarily_unavailable",
        "the bridge's storage or queues are busy; nothing was lost: retry in a moment",
        503,
        headers={"Retry-After": "1"},
    )
