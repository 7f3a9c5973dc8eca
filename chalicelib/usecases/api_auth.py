"""Bearer tokens for the chat backend's API calls, compared in constant time."""

from __future__ import annotations

import hmac

from chalicelib.core.errors import BridgeError
from chalicelib.usecases.context import Context


def require_bearer(ctx: Context, authorization: str | None) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise BridgeError(
            "unauthorized", "send the header 'Authorization: Bearer <token>' with a configured API token", 401
        )
    candidate = token.strip().encode()
    # Compare against every configured token so the time taken does not tell which matched.
    matched = False
    for known in ctx.secrets.get_list("API_TOKENS"):
        matched |= hmac.compare_digest(candidate, known.encode())
    if not matched:
        raise BridgeError("unauthorized", "the bearer token is not valid; check API_TOKENS", 401)
