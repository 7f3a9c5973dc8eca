"""A chat user's phone: hook-up, verification by a one-time code, presence, removal."""

from __future__ import annotations

import hashlib
import hmac
import secrets as random

from chalicelib.adapters.logs import logger, mask
from chalicelib.config import settings
from chalicelib.core import phone_numbers
from chalicelib.core.errors import BridgeError, bad_request, conflict
from chalicelib.store.conditional import get_or_none, save_if, update_if
from chalicelib.store.models import Phone, User
from chalicelib.usecases import messages, pool_growth, sessions
from chalicelib.usecases.context import Context
from chalicelib.usecases.reachability import OPTED_OUT, PENDING, UNREACHABLE, VERIFIED, get_user, phone_state


def _hash_code(code: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), 10_000).hex()


def describe(user: User) -> dict:
    owner = phone_state(user.phone)
    status = OPTED_OUT if owner and owner.opted_out else user.phone_status
    if status == VERIFIED and owner and owner.unreachable:
        status = UNREACHABLE  # carriers said it cannot get SMS (usecases/carrier_outcomes.py)
    return {"user_id": user.user_id, "phone": user.phone, "status": status, "away": user.away}


def hook_up(ctx: Context, user_id: str, raw_phone: object) -> dict:
    """PUT /users/{id}/phone: claim the phone for this user and text it a code."""
    number = phone_numbers.parse(raw_phone, settings().default_country)
    state = phone_state(number.e164)
    if state is not None and state.opted_out:
        raise conflict("opted_out", "this phone has opted out of SMS; text START to any pool number to opt back in")
    now = ctx.now()
    # A phone belongs to one user; an unverified claim of someone else's may be taken over.
    claimed = save_if(
        Phone(phone=number.e164, user_id=user_id, verified=False, updated_at=int(now)),
        Phone.phone.does_not_exist() | (Phone.user_id == user_id) | (Phone.verified == False),  # noqa: E712
    )
    if not claimed:
        raise conflict("phone_in_use", "this phone is verified by another user; they must remove it first")
    previous = get_or_none(User, user_id)
    if previous and previous.phone != number.e164:
        _release_phone(ctx, previous.phone, user_id)
        sessions.close_all_for_user(ctx, user_id, reason="phone_changed")
    code = f"{random.randbelow(10**6):06d}"
    salt = random.token_hex(16)
    User(
        user_id=user_id,
        phone=number.e164,
        phone_status=PENDING,
        code_salt=salt,
        code_hash=_hash_code(code, salt),
        code_expires_at=int(now) + settings().code_ttl_seconds,
        code_tries=0,
        away=previous.away if previous else True,
        updated_at=int(now),
    ).save()
    messages.queue_verification_code(ctx, user_id, number, pool_growth.pick_for_notice(ctx, number), code)
    logger.info("phone hooked up", extra={"user_id": user_id, "phone": mask(number.e164)})
    return {"user_id": user_id, "phone": number.e164, "status": PENDING}


def verify(ctx: Context, user_id: str, code: object) -> dict:
    user = get_user(user_id)
    if user.phone_status == VERIFIED:
        return {"status": VERIFIED}
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        raise bad_request("invalid_code", "code must be the 6 digits sent by SMS, as a string")
    now = ctx.now()
    if user.code_hash is None or now >= (user.code_expires_at or 0):
        raise BridgeError("code_expired", "the code has expired; PUT the phone again to get a new one", 410)
    max_tries = settings().code_max_tries
    # Count the try first, conditionally, so parallel guesses cannot exceed the limit.
    counted = user.code_tries < max_tries and update_if(user, [User.code_tries.add(1)], User.code_tries < max_tries)
    if not counted:
        raise BridgeError("too_many_tries", "too many wrong codes; PUT the phone again to get a new one", 429)
    if not hmac.compare_digest(_hash_code(code, user.code_salt), user.code_hash):
        left = max_tries - user.code_tries
        raise bad_request("wrong_code", f"the code is not the one sent; {left} tries left")
    user.update(
        actions=[
            User.phone_status.set(VERIFIED),
            User.code_hash.remove(),
            User.code_salt.remove(),
            User.code_expires_at.remove(),
            User.updated_at.set(int(now)),
        ]
    )
    Phone(user.phone).update(
        # Verified again: a phone marked unreachable (usecases/carrier_outcomes.py) gets SMS again.
        actions=[
            Phone.verified.set(True),
            Phone.updated_at.set(int(now)),
            Phone.unreachable.remove(),
            Phone.delivery_failures.remove(),
        ],
        condition=Phone.user_id == user_id,
    )
    logger.info("phone verified", extra={"user_id": user_id, "phone": mask(user.phone)})
    return {"status": VERIFIED}


def remove(ctx: Context, user_id: str) -> None:
    """DELETE /users/{id}/phone: close the user's sessions, forget the phone
    (an opt-out stays recorded on the phone)."""
    user = get_user(user_id)
    sessions.close_all_for_user(ctx, user_id, reason="phone_removed")
    messages.cancel_queued_for_user(ctx, user_id)
    _release_phone(ctx, user.phone, user_id)
    user.delete()


def set_presence(ctx: Context, user_id: str, away: object) -> dict:
    if not isinstance(away, bool):
        raise bad_request("invalid_presence", "away must be true or false")
    user = get_user(user_id)
    user.update(actions=[User.away.set(away), User.updated_at.set(int(ctx.now()))])
    cancelled = 0 if away else messages.cancel_queued_for_user(ctx, user_id)
    return {"user_id": user_id, "away": away, "cancelled": cancelled}


def _release_phone(ctx: Context, phone: str, user_id: str) -> None:
    update_if(
        Phone(phone),
        [Phone.user_id.remove(), Phone.verified.set(False), Phone.updated_at.set(int(ctx.now()))],
        Phone.user_id == user_id,
    )
