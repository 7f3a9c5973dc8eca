"""When a chat session is open: its status says open and its expiry has not passed (an
expired session's claims count as free, before anything has closed it)."""

from __future__ import annotations

OPEN, CLOSED = "open", "closed"


def is_open(status: str, expires_at: float, now: float) -> bool:
    return status == OPEN and expires_at > now
