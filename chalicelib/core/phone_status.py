"""A user's phone status, the one precedence GET /users/{id}/phone shows and the
reachability checks refuse by: opted out (the phone texted STOP) > unreachable (carriers
said it cannot get SMS) > verified (the user is its one verified owner) / pending."""

from __future__ import annotations

PENDING, VERIFIED, OPTED_OUT, UNREACHABLE = "pending", "verified", "opted_out", "unreachable"


def phone_status(user_status: str, *, owned: bool, opted_out: bool = False, unreachable: bool = False) -> str:
    """`user_status`: the hook-up's own (pending or verified); `owned`: the phone names the
    user as its verified owner; `opted_out`, `unreachable`: what the phone says of itself."""
    if opted_out:
        return OPTED_OUT
    if unreachable:
        return UNREACHABLE
    return VERIFIED if user_status == VERIFIED and owned else PENDING
