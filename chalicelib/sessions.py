"""Chat sessions: one (user, partner) conversation on one pool number.

Two conditional writes make opening safe under races: the pair item (one open
session per user and partner) and the route item (one open session per user
phone and pool number). An expired session's claims count as free.
"""
from __future__ import annotations

import time
import uuid

from chalicelib import clock, events, messages, phone_numbers, phones, pool
from chalicelib.config import settings
from chalicelib.db import delete_if, get_or_none, save_if, update_if
from chalicelib.errors import BridgeError, bad_request, not_found
from chalicelib.logs import logger, mask
from chalicelib.models import Pair, Route, Session

OPEN, CLOSED = "open", "closed"
MAX_ID = 128
MAX_NAME = 64
# Closed sessions stay readable this long before DynamoDB's TTL removes them.
KEEP_CLOSED_SECONDS = 30 * 86400


def require_id(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        raise bad_request(f"invalid_{field}", f"{field} must be a string of 1 to {MAX_ID} characters")
    return value


def open_session(body: dict) -> tuple[dict, bool]:
    """POST /sessions. Returns (session, created): an open session for the pair
    is returned as it is."""
    user_id = require_id(body, "user_id")
    partner_id = require_id(body, "partner_id")
    partner_name = body.get("partner_name")
    if partner_name is not None and (not isinstance(partner_name, str) or not 0 < len(partner_name) <= MAX_NAME):
        raise bad_request("invalid_partner_name", f"partner_name must be a string of 1 to {MAX_NAME} characters")
    user, _ = phones.require_reachable(user_id)
    return _open(user, partner_id, partner_name)


def _open(user, partner_id: str, partner_name: str | None) -> tuple[dict, bool]:
    now = clock.now()
    expires_at = int(now) + settings().session_ttl_seconds
    session_id = "ses_" + uuid.uuid4().hex
    existing, sticky = _claim_pair(user.user_id, partner_id, session_id, expires_at, now)
    if existing is not None:
        return describe(existing), False
    try:
        pool_number = _claim_route(user, session_id, expires_at, now, sticky)
    except BaseException:
        _release_pair(user.user_id, partner_id, session_id)
        raise
    session = Session(
        session_id=session_id,
        user_id=user.user_id,
        partner_id=partner_id,
        partner_name=partner_name,
        user_phone=user.phone,
        pool_number=pool_number,
        status=OPEN,
        created_at=int(now),
        expires_at=expires_at,
        open_user_id=user.user_id,
        ttl=expires_at + KEEP_CLOSED_SECONDS,
    )
    session.save()
    Pair(user.user_id, partner_id).update(actions=[Pair.last_pool_number.set(pool_number)])
    pool.adjust_open_sessions(pool_number, +1)
    logger.info("session opened", extra={"session_id": session_id, "pool_number": mask(pool_number)})
    return describe(session), True


def _claim_pair(
    user_id: str, partner_id: str, session_id: str, expires_at: int, now: float
) -> tuple[Session | None, str | None]:
    """Claim the pair for a new session. Returns (the open session that already
    holds the pair, None) or (None, the number the pair used last time)."""
    for _ in range(20):
        pair = Pair(user_id, partner_id)
        claimed = update_if(
            pair,
            [Pair.session_id.set(session_id), Pair.session_expires_at.set(expires_at)],
            Pair.session_id.does_not_exist() | (Pair.session_expires_at <= int(now)),
        )
        if claimed:
            return None, pair.last_pool_number
        pair = get_or_none(Pair, user_id, partner_id)
        holder = get_or_none(Session, pair.session_id) if pair and pair.session_id else None
        if holder is not None and is_open(holder, now):
            return holder, None
        if holder is not None or pair is None or pair.session_id is None:
            # The holder closed or expired between our write and our read: claim again.
            continue
        # A concurrent call holds the pair and is still placing its session.
        time.sleep(0.05)
        now = clock.now()
    raise BridgeError("session_busy", "another request is opening this session right now; retry", 409)


def _release_pair(user_id: str, partner_id: str, session_id: str) -> None:
    update_if(
        Pair(user_id, partner_id),
        [Pair.session_id.remove(), Pair.session_expires_at.remove()],
        Pair.session_id == session_id,
    )


def _claim_route(user, session_id: str, expires_at: int, now: float, sticky: str | None) -> str:
    """Claim the best free (user phone, pool number) route; the conditional put
    is what makes two racing sessions of one user get different numbers. With
    every usable number taken, the pool grows by one number (pool.grow_for_session:
    a drained one taken back, or one bought) within its limits."""
    taken = {route.pool_number for route in Route.query(user.phone, consistent_read=True) if route.expires_at > now}
    number = phone_numbers.parse(user.phone)

    def claim(pool_number: str) -> bool:
        route = Route(
            user.phone,
            pool_number,
            session_id=session_id,
            user_id=user.user_id,
            expires_at=expires_at,
            ttl=expires_at + KEEP_CLOSED_SECONDS,
        )
        return save_if(route, Route.session_id.does_not_exist() | (Route.expires_at <= int(now)))

    tried = set(taken)
    for pool_number in pool.rank_for_session(
        now, taken=taken, country=number.country, area_code=number.area_code, sticky=sticky
    ):
        tried.add(pool_number)
        if claim(pool_number):
            return pool_number
    return pool.grow_for_session(number, exclude=tried, claim=claim)  # 503 pool_exhausted at a limit


def is_open(session: Session, now: float) -> bool:
    return session.status == OPEN and session.expires_at > now


def get(session_id: str) -> Session:
    session = get_or_none(Session, session_id)
    if session is None:
        raise not_found("session", session_id)
    if session.status == OPEN and not is_open(session, clock.now()):
        close(session, reason="expired")
    return session


def get_open(session_id: str) -> Session:
    session = get(session_id)
    if session.status != OPEN:
        raise BridgeError(
            "session_closed", f"session {session_id} is closed ({session.close_reason}); open a new one with POST /sessions", 409
        )
    return session


def send_message(session_id: str, text: object, client_message_id: object = None) -> dict:
    """POST /sessions/{id}/messages: only while the session is open, the phone
    reachable and the user away from chat."""
    session = get_open(session_id)
    user, _ = phones.require_reachable(session.user_id)
    if not user.away:
        raise BridgeError(
            "user_present",
            "the user is in chat, so nothing goes out by SMS; PUT /users/{id}/presence {\"away\": true} when they leave",
            409,
        )
    accepted = messages.submit(session, text, client_message_id)
    touch(session, clock.now())
    return accepted


def describe(session: Session) -> dict:
    return {
        "session_id": session.session_id,
        "user_id": session.user_id,
        "partner_id": session.partner_id,
        "partner_name": session.partner_name,
        "pool_number": session.pool_number,
        "status": session.status,
        "expires_at": int(session.expires_at),
        **({"close_reason": session.close_reason} if session.close_reason else {}),
    }


def list_open(user_id: str) -> dict:
    now = clock.now()
    found = Session.open_sessions_by_user.query(user_id)
    return {"sessions": [describe(s) for s in found if is_open(s, now)]}


def close(session: Session, reason: str = "closed") -> bool:
    """Close the session and free its route at once. False if it was already closed."""
    closed = update_if(
        session,
        [Session.status.set(CLOSED), Session.close_reason.set(reason), Session.open_user_id.remove()],
        Session.status == OPEN,
    )
    if not closed:
        return False
    delete_if(Route(session.user_phone, session.pool_number), Route.session_id == session.session_id)
    _release_pair(session.user_id, session.partner_id, session.session_id)
    pool.adjust_open_sessions(session.pool_number, -1)
    events.emit(
        events.SESSION_CLOSED,
        session.session_id,
        session_id=session.session_id,
        user_id=session.user_id,
        partner_id=session.partner_id,
        reason=reason,
    )
    logger.info("session closed", extra={"session_id": session.session_id, "reason": reason})
    return True


def close_all_for_user(user_id: str, reason: str) -> int:
    return sum(close(s, reason) for s in Session.open_sessions_by_user.query(user_id))


def close_pair(user_id: str, partner_id: str) -> bool:
    pair = get_or_none(Pair, user_id, partner_id)
    session = get_or_none(Session, pair.session_id) if pair and pair.session_id else None
    return close(session) if session is not None else False


def touch(session: Session, now: float) -> None:
    """Keep an active conversation open: move its expiry forward, but only
    write once a tenth of the TTL has passed since the last move."""
    ttl = settings().session_ttl_seconds
    if session.expires_at - now > ttl * 0.9:
        return
    expires_at = int(now) + ttl
    keep = expires_at + KEEP_CLOSED_SECONDS
    # Each claim moves only while it still belongs to this session.
    if not update_if(session, [Session.expires_at.set(expires_at), Session.ttl.set(keep)], Session.status == OPEN):
        return
    route = Route(session.user_phone, session.pool_number)
    if not update_if(route, [Route.expires_at.set(expires_at), Route.ttl.set(keep)], Route.session_id == session.session_id):
        return
    pair = Pair(session.user_id, session.partner_id)
    update_if(pair, [Pair.session_expires_at.set(expires_at)], Pair.session_id == session.session_id)
