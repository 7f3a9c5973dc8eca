"""Whether a chat user can be texted now: a phone hooked up and verified that has not
opted out and can get SMS (core/phone_status.py's precedence). Reads only; sessions and
phones both ask it."""

from __future__ import annotations

from chalicelib.core.errors import conflict, not_found
from chalicelib.core.phone_status import OPTED_OUT, UNREACHABLE, VERIFIED, phone_status
from chalicelib.store.phones import Phone, User
from chalicelib.usecases.context import Context


def get_user(ctx: Context, user_id: str) -> User:
    user = ctx.store.phones.user(user_id)
    if user is None:
        raise not_found("phone", user_id)
    return user


def owns(phone: Phone | None, user_id: str) -> bool:
    """True when `user_id` is the phone's one verified owner."""
    return phone is not None and phone.owned_by(user_id)


def status_of(user: User, phone: Phone | None) -> str:
    """What GET /users/{id}/phone says of the user's phone."""
    return phone_status(
        user.phone_status,
        owned=owns(phone, user.user_id),
        opted_out=bool(phone and phone.opted_out),
        unreachable=bool(phone and phone.unreachable),
    )


def require_reachable(ctx: Context, user_id: str) -> tuple[User, Phone]:
    """The user's verified, not opted-out phone, or the error that says why not."""
    user = ctx.store.phones.user(user_id)
    if user is None:
        raise conflict("phone_not_verified", f"user {user_id!r} has no phone; PUT /users/{user_id}/phone first")
    phone = ctx.store.phones.phone(user.phone)
    status = status_of(user, phone)
    if status == OPTED_OUT:
        raise conflict(
            "opted_out", "the user's phone has opted out of SMS (texted STOP); it must text START to opt back in"
        )
    if status == UNREACHABLE:
        raise conflict(
            "phone_unreachable",
            "SMS to the user's phone failed repeatedly (the carrier says it cannot get SMS); "
            f"hook it up and verify it again (PUT /users/{user_id}/phone) or use another phone",
        )
    if status != VERIFIED or phone is None:
        raise conflict("phone_not_verified", "the user's phone is not verified yet; POST the code to /phone/verify")
    return user, phone
