"""Chat sessions: one (user, partner) conversation on one pool number, from
opening to closing or expiring, and the (user phone, pool number) route that
names it.

Two conditional writes make opening safe under races (store/sessions.py): the pair
(one open session per user and partner) and the route (one open session per user
phone and pool number). An expired session's claims count as free. Reading a session
is a read; closing one found expired is its own step (`settle_expired`), taken by the
routes that may close it.
"""

from __future__ import annotations

import uuid
from collections import Counter

from chalicelib.adapters.logs import logger, mask
from chalicelib.core import events, identifiers, phone_numbers
from chalicelib.core.errors import BridgeError, not_found
from chalicelib.core.message_rules import validate_name
from chalicelib.core.session_rules import OPEN
from chalicelib.store.phones import User
from chalicelib.store.routing import Routing
from chalicelib.store.sessions import Route, Session
from chalicelib.usecases import chat_events, media, messages, pool_growth, pool_numbers
from chalicelib.usecases.context import Context
from chalicelib.usecases.reachability import owns, require_reachable

MAX_NAME = 64


def require_id(body: dict, field: str) -> str:
    """user_id and partner_id follow core/identifiers.py's rule, or 400 invalid_id."""
    return identifiers.require_id(body.get(field), field)


def open_session(ctx: Context, body: dict) -> tuple[dict, bool]:
    """POST /sessions. Returns (session, created): an open session for the pair
    is returned as it is."""
    user_id = require_id(body, "user_id")
    partner_id = require_id(body, "partner_id")
    partner_name = validate_name(body.get("partner_name"), MAX_NAME)
    user, _ = require_reachable(ctx, user_id)
    return _open(ctx, user, partner_id, partner_name)


def _open(ctx: Context, user: User, partner_id: str, partner_name: str | None) -> tuple[dict, bool]:
    now = ctx.now()
    expires_at = int(now) + ctx.settings.session_ttl_seconds
    session_id = "ses_" + uuid.uuid4().hex
    existing, sticky = _claim_pair(ctx, user.user_id, partner_id, session_id, expires_at)
    if existing is not None:
        return describe(existing), False
    try:
        pool_number = _claim_route(ctx, user, session_id, expires_at, sticky)
    except BaseException:
        ctx.store.sessions.release_pair(user.user_id, partner_id, session_id)
        raise
    session = Session(
        session_id=session_id,
        user_id=user.user_id,
        partner_id=partner_id,
        partner_name=partner_name,
        user_phone=user.phone,
        pool_number=pool_number,
        created_at=int(now),
        expires_at=expires_at,
    )
    ctx.store.sessions.open(session)
    pool_numbers.adjust_open_sessions(ctx, pool_number, +1, now)
    logger.info("session opened", extra={"session_id": session_id, "pool_number": mask(pool_number)})
    return describe(session), True


def _claim_pair(
    ctx: Context, user_id: str, partner_id: str, session_id: str, expires_at: int
) -> tuple[Session | None, str | None]:
    """Claim the pair for a new session. Returns (the open session that already
    holds the pair, None) or (None, the number the pair used last time)."""
    store = ctx.store.sessions
    for _ in range(20):
        now = ctx.now()
        claimed, last_pool_number = store.claim_pair(user_id, partner_id, session_id, expires_at, int(now))
        if claimed:
            return None, last_pool_number
        holder_id = store.pair_holder(user_id, partner_id)
        holder = store.get(holder_id) if holder_id else None
        if holder is not None and holder.is_open(now):
            return holder, None
        if holder is not None or holder_id is None:
            # The holder closed or expired between our write and our read: claim again.
            continue
        # A concurrent call holds the pair and is still placing its session.
        ctx.clock.sleep(0.05)
    raise BridgeError("session_busy", "another request is opening this session right now; retry", 409)


def _claim_route(ctx: Context, user: User, session_id: str, expires_at: int, sticky: str | None) -> str:
    """Claim the best free (user phone, pool number) route; the conditional write
    is what makes two racing sessions of one user get different numbers. With
    every usable number taken, the pool grows by one number (pool_growth.grow_for_session:
    a drained one taken back, or one bought) within its limits."""
    now = ctx.now()
    taken = {route.pool_number for route in ctx.store.sessions.routes_of(user.phone) if route.expires_at > now}
    number = phone_numbers.parse(user.phone, ctx.settings.default_country)

    def claim(pool_number: str) -> bool:
        route = Route(user.phone, pool_number, session_id, user.user_id, expires_at)
        return ctx.store.sessions.claim_route(route, int(now))

    tried = set(taken)
    for pool_number in pool_growth.rank_for_session(ctx, now, taken=taken, number=number, sticky=sticky):
        tried.add(pool_number)
        if claim(pool_number):
            return pool_number
    return pool_growth.grow_for_session(ctx, number, exclude=tried, claim=claim)  # 503 pool_exhausted at a limit


def get(ctx: Context, session_id: str) -> Session:
    """The session as stored (a read only: see settle_expired), or 404."""
    session = ctx.store.sessions.get(session_id)
    if session is None:
        raise not_found("session", session_id)
    return session


def settle_expired(ctx: Context, session: Session) -> Session:
    """Close a session found open past its expiry (before the schedule's sweep does), or
    finish a close a fault interrupted; the session as it is then."""
    if (session.status == OPEN and not session.is_open(ctx.now())) or session.closing:
        return _close(ctx, session, "expired") or ctx.store.sessions.get(session.session_id) or session
    return session


def get_open(ctx: Context, session_id: str) -> Session:
    session = settle_expired(ctx, get(ctx, session_id))
    if session.status != OPEN:
        raise BridgeError(
            "session_closed",
            f"session {session_id} is closed ({session.close_reason}); open a new one with POST /sessions",
            409,
        )
    return session


def send_message(
    ctx: Context, session_id: str, text: object, client_message_id: object = None, media_ids: object = None
) -> dict:
    """POST /sessions/{id}/messages: only while the session is open, the phone
    reachable and the user away from chat."""
    session = get_open(ctx, session_id)
    user, _ = require_reachable(ctx, session.user_id)
    if not user.away:
        raise BridgeError(
            "user_present",
            'the user is in chat, so nothing goes out by SMS; PUT /users/{id}/presence {"away": true} when they leave',
            409,
        )
    attached = media.attach(ctx, media_ids, session.user_phone, session.pool_number) if media_ids is not None else None
    accepted = messages.submit(ctx, session, text, client_message_id, attached)
    touch(ctx, session, ctx.now())
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


def list_open(ctx: Context, user_id: str) -> dict:
    now = ctx.now()
    return {"sessions": [describe(s) for s in ctx.store.sessions.open_of_user(user_id) if s.is_open(now)]}


def end(ctx: Context, session_id: str) -> Session:
    """DELETE /sessions/{id}: close it if it is open; the session as it is then."""
    session = settle_expired(ctx, get(ctx, session_id))
    return _close(ctx, session, "closed") or ctx.store.sessions.get(session_id) or session


def close(ctx: Context, session: Session, reason: str = "closed") -> bool:
    """Close the session and free its route at once. False if it was already closed."""
    return _close(ctx, session, reason) is not None


def _close(ctx: Context, session: Session, reason: str) -> Session | None:
    """close(), answering the closed session (None: it was not open).

    The close is one write that also marks it `closing` (and keeps it among the user's
    open ones); the route's release and the session.closed event follow, and the mark goes
    last. A fault in between leaves it marked, and whatever retries the close (the API
    call, the sweep, closing the user's sessions) finishes it: the event is never lost."""
    closed = ctx.store.sessions.close(session.session_id, reason)
    if closed is None:
        current = ctx.store.sessions.get(session.session_id)
        if current is not None and current.closing:
            _finish_close(ctx, current)
        return None
    _finish_close(ctx, closed)
    logger.info("session closed", extra={"session_id": session.session_id, "reason": reason})
    return closed


def _finish_close(ctx: Context, session: Session) -> None:
    ctx.store.sessions.release_route(session)
    ctx.store.sessions.release_pair(session.user_id, session.partner_id, session.session_id)
    chat_events.emit(
        ctx,
        events.SESSION_CLOSED,
        session.session_id,
        session_id=session.session_id,
        user_id=session.user_id,
        partner_id=session.partner_id,
        reason=session.close_reason,
    )
    if ctx.store.sessions.finish_close(session.session_id):
        pool_numbers.adjust_open_sessions(ctx, session.pool_number, -1, ctx.now())


def close_all_for_user(ctx: Context, user_id: str, reason: str, phone: str | None = None) -> int:
    """Close the user's open sessions (only those on `phone`, when given)."""
    found = ctx.store.sessions.open_of_user(user_id)
    return sum(close(ctx, s, reason) for s in found if phone is None or s.user_phone == phone)


def close_pair(ctx: Context, user_id: str, partner_id: str) -> bool:
    holder_id = ctx.store.sessions.pair_holder(user_id, partner_id)
    session = ctx.store.sessions.get(holder_id) if holder_id else None
    return close(ctx, session) if session is not None else False


def open_on_route(ctx: Context, phone: str, pool_number: str, now: float) -> Session | None:
    """The open session an SMS from `phone` to `pool_number` belongs to, if any."""
    return routed_session(ctx, ctx.store.routing.lookup(phone, pool_number), now)


def routed_session(ctx: Context, routing: Routing, now: float) -> Session | None:
    """The open session the route names, if any, while the sending phone (read with the
    route) says it is still that session's user's. Only the phone's verified owner's
    sessions route: once the phone left the user (taken over, claimed again, removed)
    nothing reaches their partners, even before the request that moved it has closed
    every session."""
    route, owner = routing.route, routing.owner
    session = ctx.store.sessions.get(route.session_id) if route and route.expires_at > now else None
    if session is None or not session.is_open(now):
        return None
    return session if owns(owner, session.user_id) else None


def sweep_expired(ctx: Context, now: float) -> tuple[int, Counter, Counter]:
    """Close sessions that expired without being closed (settle_expired closes them only
    when a route reads them), and count the open ones per user and per number. Runs on
    the schedule only, never on a request path."""
    closed, per_user, per_number = 0, Counter[str](), Counter[str]()
    for session in ctx.store.sessions.all_open():
        if session.status != OPEN:
            if session.closing:
                _finish_close(ctx, session)  # a close a fault interrupted
            continue
        if session.is_open(now):
            per_user[session.user_id] += 1
            per_number[session.pool_number] += 1
        elif close(ctx, session, reason="expired"):
            closed += 1
    if closed:
        logger.info("expired sessions closed", extra={"count": closed})
    return closed, per_user, per_number


def touch(ctx: Context, session: Session, now: float) -> None:
    """Keep an active conversation open: move its expiry forward, but only
    write once a tenth of the TTL has passed since the last move."""
    ttl = ctx.settings.session_ttl_seconds
    if session.expires_at - now > ttl * 0.9:
        return
    ctx.store.sessions.extend(session, int(now) + ttl)
