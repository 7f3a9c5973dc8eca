"""SessionStore (store/sessions.py) in DynamoDB: Session, Pair and Route items (store/models.py).
A closed session stays readable KEEP_CLOSED_SECONDS before DynamoDB's TTL removes it."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.store import models
from chalicelib.store.conditional import delete_if, get_or_none, save_if, update_if
from chalicelib.store.sessions import CLOSED, OPEN, Route, Session

KEEP_CLOSED_SECONDS = 30 * 86400
S, P, R = models.Session, models.Pair, models.Route


def session_of(item: models.Session) -> Session:
    return Session(
        session_id=item.session_id,
        user_id=item.user_id,
        partner_id=item.partner_id,
        user_phone=item.user_phone,
        pool_number=item.pool_number,
        created_at=int(item.created_at),
        expires_at=int(item.expires_at),
        partner_name=item.partner_name,
        status=item.status,
        close_reason=item.close_reason,
        closing=bool(item.closing),
    )


def route_of(item: models.Route) -> Route:
    return Route(item.phone, item.pool_number, item.session_id, item.user_id, int(item.expires_at))


class DynamoSessions:
    def claim_pair(
        self, user_id: str, partner_id: str, session_id: str, expires_at: int, now: int
    ) -> tuple[bool, str | None]:
        pair = P(user_id, partner_id)
        claimed = update_if(
            pair,
            [P.session_id.set(session_id), P.session_expires_at.set(expires_at)],
            P.session_id.does_not_exist() | (P.session_expires_at <= now),
        )
        return (True, pair.last_pool_number) if claimed else (False, None)

    def pair_holder(self, user_id: str, partner_id: str) -> str | None:
        pair = get_or_none(P, user_id, partner_id)
        return pair.session_id if pair else None

    def release_pair(self, user_id: str, partner_id: str, session_id: str) -> bool:
        released = [P.session_id.remove(), P.session_expires_at.remove()]
        return update_if(P(user_id, partner_id), released, P.session_id == session_id)

    def routes_of(self, phone: str) -> list[Route]:
        return [route_of(item) for item in R.query(phone, consistent_read=True)]

    def claim_route(self, route: Route, now: int) -> bool:
        item = R(
            route.phone,
            route.pool_number,
            session_id=route.session_id,
            user_id=route.user_id,
            expires_at=route.expires_at,
            ttl=route.expires_at + KEEP_CLOSED_SECONDS,
        )
        return save_if(item, R.session_id.does_not_exist() | (R.expires_at <= now))

    def open(self, session: Session) -> None:
        S(
            session_id=session.session_id,
            user_id=session.user_id,
            partner_id=session.partner_id,
            partner_name=session.partner_name,
            user_phone=session.user_phone,
            pool_number=session.pool_number,
            status=OPEN,
            created_at=session.created_at,
            expires_at=session.expires_at,
            open_user_id=session.user_id,
            ttl=session.expires_at + KEEP_CLOSED_SECONDS,
        ).save()
        P(session.user_id, session.partner_id).update(actions=[P.last_pool_number.set(session.pool_number)])

    def get(self, session_id: str) -> Session | None:
        item = get_or_none(S, session_id)
        return session_of(item) if item is not None else None

    def close(self, session_id: str, reason: str) -> Session | None:
        item = S(session_id)
        closed = update_if(
            item, [S.status.set(CLOSED), S.close_reason.set(reason), S.closing.set(True)], S.status == OPEN
        )
        return session_of(item) if closed else None

    def release_route(self, session: Session) -> bool:
        return delete_if(R(session.user_phone, session.pool_number), R.session_id == session.session_id)

    def finish_close(self, session_id: str) -> bool:
        return update_if(S(session_id), [S.closing.remove(), S.open_user_id.remove()], S.closing.exists())

    def open_of_user(self, user_id: str) -> list[Session]:
        return [session_of(item) for item in S.open_sessions_by_user.query(user_id)]

    def all_open(self) -> Iterable[Session]:
        # The sparse open-by-user index holds exactly the open (and closing) sessions: a Scan of
        # it costs what the open sessions are, never the sessions ever made.
        return (session_of(item) for item in S.open_sessions_by_user.scan())

    def extend(self, session: Session, expires_at: int) -> None:
        keep = expires_at + KEEP_CLOSED_SECONDS
        if not update_if(S(session.session_id), [S.expires_at.set(expires_at), S.ttl.set(keep)], S.status == OPEN):
            return
        route = R(session.user_phone, session.pool_number)
        if not update_if(route, [R.expires_at.set(expires_at), R.ttl.set(keep)], R.session_id == session.session_id):
            return
        update_if(
            P(session.user_id, session.partner_id),
            [P.session_expires_at.set(expires_at)],
            P.session_id == session.session_id,
        )
