"""X-Bridge-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">.

Pure functions, so the deliverer, the local chat receiver and tests share one
definition.

Rotation: CHAT_WEBHOOK_SECRET lists the secrets, newest first ("new,old").
The sender signs with every listed secret, one v1 each, the first secret's
first; a receiver accepts an event when any v1 matches any secret it knows.
So during a rotation a receiver that knows only the old secret, only the new
one, or both, accepts; with one secret the header is the single-v1 form."""

from __future__ import annotations

import hashlib
import hmac

DEFAULT_TOLERANCE_SECONDS = 300


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_all(body: bytes, secrets: list[str], timestamp: int) -> str:
    """One v1 per secret, in the order given (the current secret first)."""
    return f"t={timestamp}," + ",".join(f"v1={_digest(body, s, timestamp)}" for s in secrets)


def verify(
    body: bytes,
    header: str | None,
    secrets: list[str],
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    if not header:
        return False
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    try:
        (timestamp,) = {int(value) for name, value in fields if name.strip() == "t"}
    except ValueError:  # no t, several different ones, or not a number
        return False
    if abs(now - timestamp) > tolerance:
        return False
    # Bytes, so a header with non-ASCII characters is refused rather than raising.
    given = [value.strip().encode("utf-8", "replace") for name, value in fields if name.strip() == "v1"]
    expected = [_digest(body, s, timestamp).encode() for s in secrets]
    return any(hmac.compare_digest(e, g) for e in expected for g in given)
