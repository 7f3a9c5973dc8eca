"""Errors the API answers with, in openapi.yaml's shape (its Error schema): {"error": {"code", "message"}}.

The domain raises them and knows nothing else of HTTP; app.py turns each into a
response with its status (and headers, such as Retry-After).
"""

from __future__ import annotations


class BridgeError(Exception):
    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers
        if status is not None:
            self.status = status

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(code: str, message: str) -> BridgeError:
    return BridgeError(code, message, 400)


def not_found(what: str, ident: str) -> BridgeError:
    return BridgeError(f"{what}_not_found", f"no {what} with id {ident!r}", 404)


def conflict(code: str, message: str) -> BridgeError:
    return BridgeError(code, message, 409)


def unavailable() -> BridgeError:
    return BridgeError(
        "temporarily_unavailable",
        "the bridge's storage or queues are busy; nothing was lost: retry in a moment",
        503,
        headers={"Retry-After": "1"},
    )


def pool_exhausted(why: str) -> BridgeError:
    return BridgeError("pool_exhausted", why, 503)
