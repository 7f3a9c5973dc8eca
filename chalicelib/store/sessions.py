"""Sessions and their claims: a (user, partner) conversation on one pool number, the Pair
that holds the one open session of a user and partner (and the number it used last),
and the Route that holds the one open session of a (user phone, pool number).

Claims are conditional writes: a pair or a route is free when it names no session or
its session's expiry has passed. `SessionStore` is the contract; store/dynamodb/sessions.py
keeps it in DynamoDB, `MemorySessions` in memory.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.core.session_rules import CLOSED, OPEN, is_open


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: str
    partner_id: str
    user_phone: str
    pool_number: str
    created_at: int
    expires_at: int  # moves forward with every message
    partner_name: str | None = None
    status: str = OPEN  # OPEN | CLOSED
    close_reason: str | None = None
    # Closed, but its event (and the route's release) not yet done: usecases/sessions.py finishes it.
    closing: bool = False

    def is_open(self, now: float) -> bool:
        return is_open(self.status, self.expires_at, now)


@dataclass(frozen=True)
class Route:
    """(user phone, pool number) -> the one open session on it."""

    phone: str
    pool_number: str
    session_id: str
    user_id: str
    expires_at: int


class SessionStore(Protocol):
    def claim_pair(
        self, user_id: str, partner_id: str, session_id: str, expires_at: int, now: int
    ) -> tuple[bool, str | None]:
        """Let `session_id` hold the pair, if no session holds it or its holder expired:
        (claimed, the number the pair's last session used: the sticky preference)."""

    def pair_holder(self, user_id: str, partner_id: str) -> str | None:
        """The session id the pair names (held, or placing its session), if any."""

    def release_pair(self, user_id: str, partner_id: str, session_id: str) -> bool:
        """The pair no longer names `session_id` (if it still did)."""

    def routes_of(self, phone: str) -> list[Route]:
        """Every route of a user phone (strongly consistent)."""

    def claim_route(self, route: Route, now: int) -> bool:
        """Let the route's session hold it, if no session holds it or its holder expired."""

    def open(self, session: Session) -> None:
        """Store a new open session, and remember its number as the pair's last."""

    def get(self, session_id: str) -> Session | None: ...

    def close(self, session_id: str, reason: str) -> Session | None:
        """Open -> closed (`reason`) and marked closing, in one write; the session after it,
        or None when it was not open."""

    def release_route(self, session: Session) -> bool:
        """The session's route is free again (if the session still held it)."""

    def finish_close(self, session_id: str) -> bool:
        """The close is done (its event queued): unmark it; False when another did first."""

    def open_of_user(self, user_id: str) -> list[Session]:
        """The user's open sessions and those still closing (an index: eventually consistent)."""

    def all_open(self) -> Iterable[Session]:
        """Every open or closing session (the schedule's sweep; never on a request path)."""

    def extend(self, session: Session, expires_at: int) -> None:
        """Move the session's expiry and its route's and pair's on, each only while it
        still belongs to this session (the session while open)."""


class MemorySessions:
    """SessionStore in memory, for use-case tests and simulations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.pairs: dict[tuple[str, str], dict] = {}  # (user, partner) -> session_id, expires_at, last
        self.routes: dict[tuple[str, str], Route] = {}

    def claim_pair(
        self, user_id: str, partner_id: str, session_id: str, expires_at: int, now: int
    ) -> tuple[bool, str | None]:
        with self._lock:
            pair = self.pairs.setdefault((user_id, partner_id), {})
            if pair.get("session_id") is not None and pair["expires_at"] > now:
                return False, None
            pair.update(session_id=session_id, expires_at=expires_at)
            return True, pair.get("last")

    def pair_holder(self, user_id: str, partner_id: str) -> str | None:
        return self.pairs.get((user_id, partner_id), {}).get("session_id")

    def release_pair(self, user_id: str, partner_id: str, session_id: str) -> bool:
        with self._lock:
            pair = self.pairs.get((user_id, partner_id), {})
            if pair.get("session_id") != session_id:
                return False
            pair.pop("session_id")
            pair.pop("expires_at")
            return True

    def routes_of(self, phone: str) -> list[Route]:
        return [route for (owner, _), route in sorted(self.routes.items()) if owner == phone]

    def claim_route(self, route: Route, now: int) -> bool:
        with self._lock:
            held = self.routes.get((route.phone, route.pool_number))
            if held is not None and held.expires_at > now:
                return False
            self.routes[(route.phone, route.pool_number)] = route
            return True

    def open(self, session: Session) -> None:
        with self._lock:
            self.sessions[session.session_id] = session
            self.pairs.setdefault((session.user_id, session.partner_id), {})["last"] = session.pool_number

    def get(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)

    def close(self, session_id: str, reason: str) -> Session | None:
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None or session.status != OPEN:
                return None
            closed = dataclasses.replace(session, status=CLOSED, close_reason=reason, closing=True)
            self.sessions[session_id] = closed
            return closed

    def release_route(self, session: Session) -> bool:
        with self._lock:
            key = (session.user_phone, session.pool_number)
            held = self.routes.get(key)
            if held is None or held.session_id != session.session_id:
                return False
            del self.routes[key]
            return True

    def finish_close(self, session_id: str) -> bool:
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None or not session.closing:
                return False
            self.sessions[session_id] = dataclasses.replace(session, closing=False)
            return True

    def open_of_user(self, user_id: str) -> list[Session]:
        return sorted(
            (s for s in self.sessions.values() if s.user_id == user_id and (s.status == OPEN or s.closing)),
            key=lambda s: s.created_at,
        )

    def all_open(self) -> Iterable[Session]:
        return [s for s in self.sessions.values() if s.status == OPEN or s.closing]

    def extend(self, session: Session, expires_at: int) -> None:
        with self._lock:
            stored = self.sessions.get(session.session_id)
            if stored is None or stored.status != OPEN:
                return
            self.sessions[session.session_id] = dataclasses.replace(stored, expires_at=expires_at)
            key = (session.user_phone, session.pool_number)
            route = self.routes.get(key)
            if route is None or route.session_id != session.session_id:
                return
            self.routes[key] = dataclasses.replace(route, expires_at=expires_at)
            pair = self.pairs.get((session.user_id, session.partner_id), {})
            if pair.get("session_id") == session.session_id:
                pair["expires_at"] = expires_at
