"""A chat user's phone: hook-up, verification by a one-time code, presence, removal.

One phone, one owner (README "Security and limits"). The Phone item is the
authority: it names the one user holding a claim on the phone, whether that
claim is verified, and the claim's nonce (the salt of the code sent with it).
Every move is conditional and a hook-up or a verify writes the Phone and the
User in one transaction, so under any interleaving a phone has at most one
verified owner and a lost race answers 409 with what happened. A phone that
leaves a user (taken over while pending, changed, claimed again or removed)
closes that user's sessions and stops their queued SMS in the same request;
until then the routing and the reachability checks already refuse the old
owner (sessions.open_on_route, reachability.require_reachable).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random
import unicodedata

from chalicelib.adapters.logs import logger, mask
from chalicelib.core import phone_numbers
from chalicelib.core.errors import BridgeError, bad_request, conflict
from chalicelib.core.phone_status import PENDING, VERIFIED
from chalicelib.store.phones import Phone, User
from chalicelib.usecases import messages, phone_lookup, pool_growth, sessions, verification_limits
from chalicelib.usecases.context import Context
from chalicelib.usecases.reachability import get_user, owns, status_of


def _hash_code(code: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), 10_000).hex()


def describe(ctx: Context, user: User) -> dict:
    phone = ctx.store.phones.phone(user.phone)
    status = status_of(user, phone)
    # Twilio Lookup's answer at hook-up (usecases/phone_lookup.py), None when not known
    lookup = {"carrier": phone.carrier if phone else None, "line_type": phone.line_type if phone else None}
    return {"user_id": user.user_id, "phone": user.phone, "status": status, "away": user.away} | lookup


def hook_up(ctx: Context, user_id: str, raw_phone: object) -> dict:
    """PUT /users/{id}/phone: claim the phone for this user and text it a code."""
    number = phone_numbers.parse_textable(
        raw_phone, ctx.settings.default_country, ctx.settings.verification.allowed_countries
    )
    state = ctx.store.phones.phone(number.e164)
    _require_claimable(state, user_id)
    verification_limits.admit_code(ctx, user_id, number.e164)  # 429 before anything changes or is sent
    # After the limits, so they bound what Lookup costs too; before the claim and any SMS.
    phone_lookup.check(ctx, number.e164, state)
    code, salt = f"{random.randbelow(10**6):06d}", random.token_hex(16)
    for _ in range(3):
        previous = ctx.store.phones.user(user_id)
        owner_before = state.user_id if state else None
        if _claim(ctx, user_id, number.e164, owner_before, previous, code, salt):
            break
        state = ctx.store.phones.phone(number.e164)
        _require_claimable(state, user_id)
    else:
        raise conflict("phone_claim_raced", "other requests are claiming this phone right now; retry")
    # The phone left these users: close their sessions and stop their SMS now.
    if previous is not None:
        _leave(ctx, user_id, previous.phone, "phone_changed" if previous.phone != number.e164 else "phone_reclaimed")
        if previous.phone != number.e164:
            ctx.store.phones.release(previous.phone, user_id, int(ctx.now()))
    if owner_before not in (None, user_id):
        _leave(ctx, owner_before, number.e164, "phone_taken_over")
    messages.queue_verification_code(ctx, user_id, number, pool_growth.pick_for_notice(ctx, number), code)
    logger.info("phone hooked up", extra={"user_id": user_id, "phone": mask(number.e164)})
    return {"user_id": user_id, "phone": number.e164, "status": PENDING}


def _require_claimable(state: Phone | None, user_id: str) -> None:
    if state is not None and state.opted_out:
        raise conflict("opted_out", "this phone has opted out of SMS; text START to any pool number to opt back in")
    if state is not None and state.user_id not in (None, user_id) and state.verified:
        raise conflict("phone_in_use", "this phone is verified by another user; they must remove it first")


def _claim(
    ctx: Context, user_id: str, phone: str, owner_before: str | None, previous: User | None, code: str, salt: str
) -> bool:
    """The phone's claim and the user's pending code in one write; False when the phone
    changed hands (or opted out) since it was read."""
    now = int(ctx.now())
    user = User(
        user_id=user_id,
        phone=phone,
        phone_status=PENDING,
        away=previous.away if previous else True,
        code_salt=salt,
        code_hash=_hash_code(code, salt),
        code_expires_at=now + ctx.settings.code_ttl_seconds,
        updated_at=now,
    )
    return ctx.store.phones.claim(user, take_over=None if owner_before in (None, user_id) else owner_before)


def _leave(ctx: Context, user_id: str, phone: str, reason: str) -> None:
    """`phone` no longer belongs (verified) to `user_id`: close their sessions on it, stop their SMS."""
    sessions.close_all_for_user(ctx, user_id, reason=reason, phone=phone)
    messages.cancel_queued_for_user(ctx, user_id)


def verify(ctx: Context, user_id: str, code: object) -> dict:
    user = get_user(ctx, user_id)
    if user.phone_status == VERIFIED and owns(ctx.store.phones.phone(user.phone), user_id):
        return {"status": VERIFIED}
    code = _typed_code(code)
    now = ctx.now()
    if user.code_hash is None or user.code_salt is None or now >= (user.code_expires_at or 0):
        raise BridgeError("code_expired", "the code has expired; PUT the phone again to get a new one", 410)
    # Counted before the comparison, per phone across codes: racing guesses cannot pass the limit,
    # and a locked phone stays locked for its window even with the right code.
    left = verification_limits.count_try(ctx, user.phone)
    if not hmac.compare_digest(_hash_code(code, user.code_salt), user.code_hash):
        raise bad_request("wrong_code", f"the code is not the one sent; {left} tries left")
    # Verified again: a phone marked unreachable (usecases/carrier_outcomes.py) gets SMS again.
    if not ctx.store.phones.verify(user, int(now)):
        error = _lost_verify(ctx, user_id, user)
        if error is not None:
            raise error
        return {"status": VERIFIED}  # a racing verify of this same claim won (a double submit)
    logger.info("phone verified", extra={"user_id": user_id, "phone": mask(user.phone)})
    return {"status": VERIFIED}


def _typed_code(code: object) -> str:
    """The 6 digits as typed: full-width digits (East Asian keyboards) are the digits they
    look like and spaces around them go; anything else is 400 invalid_code, before a try is
    counted (str.isdigit alone let full-width digits through, to burn a try as wrong_code)."""
    typed = unicodedata.normalize("NFKC", code).strip() if isinstance(code, str) else None
    if typed is None or not (typed.isascii() and typed.isdigit()) or len(typed) != 6:
        raise bad_request("invalid_code", "code must be the 6 digits sent by SMS, as a string")
    return typed


def _lost_verify(ctx: Context, user_id: str, user: User) -> BridgeError | None:
    """What happened to the claim this code came with, as a 409; None when a racing
    verify of the same claim verified it."""
    now_user, phone = ctx.store.phones.user(user_id), ctx.store.phones.phone(user.phone)
    if now_user is None:
        return conflict("phone_removed", "the phone was removed while this code was checked; PUT it again")
    if now_user.phone != user.phone:
        return conflict("phone_changed", "another phone was hooked up since this code was sent; use that one's code")
    if phone is None or phone.user_id != user_id:
        return conflict("phone_taken_over", "another user claimed this phone after the code was sent; PUT it again")
    if phone.verified and phone.claim == user.code_salt:
        return None
    return conflict("code_superseded", "a newer code was sent since this one; use the newest code")


def remove(ctx: Context, user_id: str) -> None:
    """DELETE /users/{id}/phone: forget the phone (first, so nothing routes to this user
    from then on), close the user's sessions, stop their SMS (an opt-out stays recorded)."""
    user = get_user(ctx, user_id)
    ctx.store.phones.release(user.phone, user_id, int(ctx.now()))
    sessions.close_all_for_user(ctx, user_id, reason="phone_removed")
    messages.cancel_queued_for_user(ctx, user_id)
    if not ctx.store.phones.remove_user(user_id, user.phone):
        raise conflict("phone_changed", "another phone was hooked up meanwhile; DELETE again to remove it")


def set_presence(ctx: Context, user_id: str, away: object) -> dict:
    if not isinstance(away, bool):
        raise bad_request("invalid_presence", "away must be true or false")
    get_user(ctx, user_id)
    ctx.store.phones.set_away(user_id, away, int(ctx.now()))
    cancelled = 0 if away else messages.cancel_queued_for_user(ctx, user_id)
    return {"user_id": user_id, "away": away, "cancelled": cancelled}
