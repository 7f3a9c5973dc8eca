"""Whether a chat user can be texted now: a phone hooked up and verified that
has not opted out. Reads only; sessions and phones both ask it."""

from __future__ import annotations

from chalicelib.core.errors import conflict, not_found
from chalicelib.store.conditional import get_or_none
from chalicelib.store.models import Phone, User

PENDING, VERIFIED, OPTED_OUT, UNREACHABLE = "pending", "verified", "opted_out", "unreachable"


def get_user(user_id: str) -> User:
    user = get_or_none(User, user_id)
    if user is None:
        raise not_found("phone", user_id)
    return user


def phone_state(phone: str) -> Phone | None:
    return get_or_none(Phone, phone)


def owns(phone: Phone | None, user_id: str) -> bool:
    """True when `user_id` is the phone's one verified owner."""
    return phone is not None and phone.user_id == user_id and bool(phone.verified)


def require_reachable(user_id: str) -> tuple[User, Phone]:
    """The user's verified, not opted-out phone, or the error that says why not."""
    user = get_or_none(User, user_id)
    if user is None:
        raise conflict("phone_not_verified", f"user {user_id!r} has no phone; PUT /users/{user_id}/phone first")
    phone = phone_state(user.phone)
    if phone is not None and phone.opted_out:
        raise conflict(
            "opted_out", "the user's phone has opted out of SMS (texted STOP); it must text START to opt back in"
        )
    if phone is not None and phone.unreachable:
        raise conflict(
            "phone_unreachable",
            "SMS to the user's phone failed repeatedly (the carrier says it cannot get SMS); "
            f"hook it up and verify it again (PUT /users/{user_id}/phone) or use another phone",
        )
    if user.phone_status != VERIFIED or phone is None or not owns(phone, user_id):
        raise conflict("phone_not_verified", "the user's phone is not verified yet; POST the code to /phone/verify")
    return user, phone
