"""X-Bridge-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">.

Pure functions, so the deliverer, the local chat receiver and tests share one
definition. During a secret rotation the sender signs with the first secret
and receivers accept any listed one."""
from __future__ import annotations

import hashlib
import hmac

DEFAULT_TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    body: bytes,
    header: str | None,
    secrets: list[str],
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    if not header:
        return False
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    given = fields.get("v1", "")
    return any(hmac.compare_digest(sign(body, s, timestamp).split("v1=", 1)[1], given) for s in secrets)
