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

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
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
