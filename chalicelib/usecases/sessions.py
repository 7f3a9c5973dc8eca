"""Chat sessions: one (user, partner) conversation on one pool number, from
opening to closing or expiring, and the (user phone, pool number) route that
names it.

Two conditional writes make opening safe under races: the pair item (one open
session per user and partner) and the route item (one open session per user
phone and pool number). An expired session's claims count as free.
"""

from __future__ import annotations

import uuid
from collections import Counter

from chalicelib.adapters.logs import logger, mask
from chalicelib.config import settings
from chalicelib.core import events, identifiers, phone_numbers
from chalicelib.core.errors import BridgeError, not_found
from chalicelib.core.message_rules import validate_name
from chalicelib.store.conditional import delete_if, get_or_none, get_together, save_if, update_if
from chalicelib.store.models import Pair, Phone, Route, Session, User
from chalicelib.usecases import chat_events, media, messages, pool_growth, pool_numbers
from chalicelib.usecases.context import Context
from chalicelib.usecases.reachability import owns, require_reachable

OPEN, CLOSED = "open", "closed"
MAX_NAME = 64
# Closed sessions stay readable this long before DynamoDB's TTL removes them.
KEEP_CLOSED_SECONDS = 30 * 86400


def require_id(body: dict, field: str) -> str:
    """user_id and partner_id follow core/identifiers.py's rule, or 400 invalid_id."""
    return identifiers.require_id(body.get(field), field)


def open_session(ctx: Context, body: dict) -> tuple[dict, bool]:
    """POST /sessions. Returns (session, created): an open session for the pair
    is returned as it is."""
    user_id = require_id(body, "user_id")
    partner_id = require_id(body, "partner_id")
    partner_name = validate_name(body.get("partner_name"), MAX_NAME)
    user, _ = require_reachable(user_id)
    return _open(ctx, user, partner_id, partner_name)


def _open(ctx: Context, user: User, partner_id: str, partner_name: str | None) -> tuple[dict, bool]:
    now = ctx.now()
    expires_at = int(now) + settings().session_ttl_seconds
    session_id = "ses_" + uuid.uuid4().hex
    existing, sticky = _claim_pair(ctx, user.user_id, partner_id, session_id, expires_at)
    if existing is not None:
        return describe(existing), False
    try:
        pool_number = _claim_route(ctx, user, session_id, expires_at, sticky)
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
    pool_numbers.adjust_open_sessions(pool_number, +1, now)
    logger.info("session opened", extra={"session_id": session_id, "pool_number": mask(pool_number)})
    return describe(session), True


def _claim_pair(
    ctx: Context, user_id: str, partner_id: str, session_id: str, expires_at: int
) -> tuple[Session | None, str | None]:
    """Claim the pair for a new session. Returns (the open session that already
    holds the pair, None) or (None, the number the pair used last time)."""
    for _ in range(20):
        now = ctx.now()
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
        ctx.clock.sleep(0.05)
    raise BridgeError("session_busy", "another request is opening this session right now; retry", 409)


def _release_pair(user_id: str, partner_id: str, session_id: str) -> None:
    update_if(
        Pair(user_id, partner_id),
        [Pair.session_id.remove(), Pair.session_expires_at.remove()],
        Pair.session_id == session_id,
    )


def _claim_route(ctx: Context, user: User, session_id: str, expires_at: int, sticky: str | None) -> str:
    """Claim the best free (user phone, pool number) route; the conditional put
    is what makes two racing sessions of one user get different numbers. With
    every usable number taken, the pool grows by one number (pool_growth.grow_for_session:
    a drained one taken back, or one bought) within its limits."""
    now = ctx.now()
    taken = {route.pool_number for route in Route.query(user.phone, consistent_read=True) if route.expires_at > now}
    number = phone_numbers.parse(user.phone, settings().default_country)

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
    for pool_number in pool_growth.rank_for_session(now, taken=taken, number=number, sticky=sticky):
        tried.add(pool_number)
        if claim(pool_number):
            return pool_number
    return pool_growth.grow_for_session(ctx, number, exclude=tried, claim=claim)  # 503 pool_exhausted at a limit


def is_open(session: Session, now: float) -> bool:
    return session.status == OPEN and session.expires_at > now


def get(ctx: Context, session_id: str) -> Session:
    session = get_or_none(Session, session_id)
    if session is None:
        raise not_found("session", session_id)
    if (session.status == OPEN and not is_open(session, ctx.now())) or session.closing:
        close(ctx, session, reason="expired")  # or finish a close a fault interrupted
    return session


def get_open(ctx: Context, session_id: str) -> Session:
    session = get(ctx, session_id)
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
    user, _ = require_reachable(session.user_id)
    if not user.away:
        raise BridgeError(
            "user_present",
            'the user is in chat, so nothing goes out by SMS; PUT /users/{id}/presence {"away": true} when they leave',
            409,
        )
    attached = media.attach(ctx, media_ids, session.user_phone, session.pool_number) if media_ids is not None else None
    accepted = messages.submit(ctx, session, text, client_message_id, attached)
    touch(session, ctx.now())
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
    found = Session.open_sessions_by_user.query(user_id)
    return {"sessions": [describe(s) for s in found if is_open(s, now)]}


def close(ctx: Context, session: Session, reason: str = "closed") -> bool:
    """Close the session and free its route at once. False if it was already closed.

    The close is one write that also marks it `closing` (and keeps it in the open-by-user
    index); the route's release and the session.closed event follow, and the mark goes
    last. A fault in between leaves it marked, and whatever retries the close (the API
    call, the sweep, closing the user's sessions) finishes it: the event is never lost."""
    closed = update_if(
        session,
        [Session.status.set(CLOSED), Session.close_reason.set(reason), Session.closing.set(True)],
        Session.status == OPEN,
    )
    if not closed:
        current = get_or_none(Session, session.session_id)
        if current is not None and current.closing:
            _finish_close(ctx, current)
        return False
    _finish_close(ctx, session)
    logger.info("session closed", extra={"session_id": session.session_id, "reason": reason})
    return True


def _finish_close(ctx: Context, session: Session) -> None:
    delete_if(Route(session.user_phone, session.pool_number), Route.session_id == session.session_id)
    _release_pair(session.user_id, session.partner_id, session.session_id)
    chat_events.emit(
        ctx,
        events.SESSION_CLOSED,
        session.session_id,
        session_id=session.session_id,
        user_id=session.user_id,
        partner_id=session.partner_id,
        reason=session.close_reason,
    )
    finished = update_if(session, [Session.closing.remove(), Session.open_user_id.remove()], Session.closing.exists())
    if finished:
        pool_numbers.adjust_open_sessions(session.pool_number, -1, ctx.now())


def close_all_for_user(ctx: Context, user_id: str, reason: str, phone: str | None = None) -> int:
    """Close the user's open sessions (only those on `phone`, when given)."""
    found = Session.open_sessions_by_user.query(user_id)
    return sum(close(ctx, s, reason) for s in found if phone is None or s.user_phone == phone)


def close_pair(ctx: Context, user_id: str, partner_id: str) -> bool:
    pair = get_or_none(Pair, user_id, partner_id)
    session = get_or_none(Session, pair.session_id) if pair and pair.session_id else None
    return close(ctx, session) if session is not None else False


def open_on_route(phone: str, pool_number: str, now: float) -> Session | None:
    """The open session an SMS from `phone` to `pool_number` belongs to, if any."""
    route, owner = get_together([(Route, phone, pool_number), (Phone, phone, None)])
    return routed_session(route, owner, now)


def routed_session(route: Route | None, owner: Phone | None, now: float) -> Session | None:
    """The open session `route` names, if any, while `owner` (the sending phone's item,
    read with the route) says the phone is still that session's user's. Only the phone's
    verified owner's sessions route: once the phone left the user (taken over, claimed
    again, removed) nothing reaches their partners, even before the request that moved it
    has closed every session."""
    session = get_or_none(Session, route.session_id) if route and route.expires_at > now else None
    if session is None or not is_open(session, now):
        return None
    return session if owns(owner, session.user_id) else None


def sweep_expired(ctx: Context, now: float) -> tuple[int, Counter, Counter]:
    """Close sessions that expired without being closed (get() closes them only
    when read), and count the open ones per user and per number.

    Reads the sparse open-by-user index, which holds exactly the open sessions, with a
    Scan: no key names them all, and the read costs what the open sessions are, never the
    sessions ever made. Runs on the schedule only, never on a request path."""
    closed, per_user, per_number = 0, Counter[str](), Counter[str]()
    for session in Session.open_sessions_by_user.scan():
        if session.status != OPEN:
            if session.closing:
                _finish_close(ctx, session)  # a close a fault interrupted
            continue
        if is_open(session, now):
            per_user[session.user_id] += 1
            per_number[session.pool_number] += 1
        elif close(ctx, session, reason="expired"):
            closed += 1
    if closed:
        logger.info("expired sessions closed", extra={"count": closed})
    return closed, per_user, per_number


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
    if not update_if(
        route, [Route.expires_at.set(expires_at), Route.ttl.set(keep)], Route.session_id == session.session_id
    ):
        return
    pair = Pair(session.user_id, session.partner_id)
    update_if(pair, [Pair.session_expires_at.set(expires_at)], Pair.session_id == session.session_id)
