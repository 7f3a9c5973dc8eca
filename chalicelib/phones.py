"""A user's phone: hook-up, verification by a one-time code, presence, opt-out."""
from __future__ import annotations

import hashlib
import hmac
import secrets as random

from chalicelib import clock, messages, phone_numbers
from chalicelib.errors import BridgeError, bad_request, conflict, not_found
from chalicelib.config import settings
from chalicelib.db import get_or_none, save_if, update_if
from chalicelib.logs import logger, mask
from chalicelib.models import Phone, User

PENDING, VERIFIED, OPTED_OUT = "pending", "verified", "opted_out"


def _hash_code(code: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), 10_000).hex()


def get_user(user_id: str) -> User:
    user = get_or_none(User, user_id)
    if user is None:
        raise not_found("phone", user_id)
    return user


def phone_state(phone: str) -> Phone | None:
    return get_or_none(Phone, phone)


def describe(user: User) -> dict:
    owner = phone_state(user.phone)
    status = OPTED_OUT if owner and owner.opted_out else user.phone_status
    return {"user_id": user.user_id, "phone": user.phone, "status": status, "away": user.away}


def hook_up(user_id: str, raw_phone: object) -> dict:
    """PUT /users/{id}/phone: claim the phone for this user and text it a code."""
    number = phone_numbers.parse(raw_phone)
    state = phone_state(number.e164)
    if state is not None and state.opted_out:
        raise conflict("opted_out", "this phone has opted out of SMS; text START to any pool number to opt back in")
    now = clock.now()
    # A phone belongs to one user; an unverified claim of someone else's may be taken over.
    claimed = save_if(
        Phone(phone=number.e164, user_id=user_id, verified=False, updated_at=int(now)),
        Phone.phone.does_not_exist() | (Phone.user_id == user_id) | (Phone.verified == False),  # noqa: E712
    )
    if not claimed:
        raise conflict("phone_in_use", "this phone is verified by another user; they must remove it first")
    previous = get_or_none(User, user_id)
    if previous and previous.phone != number.e164:
        _release_phone(previous.phone, user_id)
        from chalicelib import sessions

        sessions.close_all_for_user(user_id, reason="phone_changed")
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
    messages.send_verification_code(user_id, number, code)
    logger.info("phone hooked up", extra={"user_id": user_id, "phone": mask(number.e164)})
    return {"user_id": user_id, "phone": number.e164, "status": PENDING}


def verify(user_id: str, code: object) -> dict:
    user = get_user(user_id)
    if user.phone_status == VERIFIED:
        return {"status": VERIFIED}
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        raise bad_request("invalid_code", "code must be the 6 digits sent by SMS, as a string")
    now = clock.now()
    if user.code_hash is None or now >= (user.code_expires_at or 0):
        raise BridgeError("code_expired", "the code has expired; PUT the phone again to get a new one", 410)
    # Count the try first, conditionally, so parallel guesses cannot exceed the limit.
    counted = user.code_tries < settings().code_max_tries and update_if(
        user, [User.code_tries.add(1)], User.code_tries < settings().code_max_tries
    )
    if not counted:
        raise BridgeError("too_many_tries", "too many wrong codes; PUT the phone again to get a new one", 429)
    if not hmac.compare_digest(_hash_code(code, user.code_salt), user.code_hash):
        left = settings().code_max_tries - user.code_tries
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
    Phone(user.phone).update(actions=[Phone.verified.set(True), Phone.updated_at.set(int(now))],
                             condition=Phone.user_id == user_id)
    logger.info("phone verified", extra={"user_id": user_id, "phone": mask(user.phone)})
    return {"status": VERIFIED}


def remove(user_id: str) -> None:
    """DELETE /users/{id}/phone: close the user's sessions, forget the phone
    (an opt-out stays recorded on the phone)."""
    user = get_user(user_id)
    from chalicelib import sessions

    sessions.close_all_for_user(user_id, reason="phone_removed")
    messages.cancel_queued_for_user(user_id)
    _release_phone(user.phone, user_id)
    user.delete()


def set_presence(user_id: str, away: object) -> dict:
    if not isinstance(away, bool):
        raise bad_request("invalid_presence", "away must be true or false")
    user = get_user(user_id)
    user.update(actions=[User.away.set(away), User.updated_at.set(int(clock.now()))])
    cancelled = 0 if away else messages.cancel_queued_for_user(user_id)
    return {"user_id": user_id, "away": away, "cancelled": cancelled}


def require_reachable(user_id: str) -> tuple[User, Phone]:
    """The user's verified, not opted-out phone, or the error that says why not."""
    user = get_or_none(User, user_id)
    if user is None:
        raise conflict("phone_not_verified", f"user {user_id!r} has no phone; PUT /users/{user_id}/phone first")
    phone = phone_state(user.phone)
    if phone is not None and phone.opted_out:
        raise conflict("opted_out", "the user's phone has opted out of SMS (texted STOP); it must text START to opt back in")
    if user.phone_status != VERIFIED or phone is None:
        raise conflict("phone_not_verified", "the user's phone is not verified yet; POST the code to /phone/verify")
    return user, phone


def set_opted_out(phone: str, opted_out: bool) -> str | None:
    """Record a STOP/START from Twilio; returns the owning user's id, if any."""
    now = int(clock.now())
    Phone(phone).update(actions=[Phone.opted_out.set(opted_out), Phone.updated_at.set(now)])
    owner = phone_state(phone)
    user_id = owner.user_id if owner else None
    if opted_out and user_id:
        messages.cancel_queued_for_user(user_id, status=messages.FAILED, error_code="21610")
    logger.info("phone opt-out changed", extra={"phone": mask(phone), "opted_out": opted_out})
    return user_id


def _release_phone(phone: str, user_id: str) -> None:
    update_if(
        Phone(phone),
        [Phone.user_id.remove(), Phone.verified.set(False), Phone.updated_at.set(int(clock.now()))],
        Phone.user_id == user_id,
    )


