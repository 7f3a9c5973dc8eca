"""What an inbound SMS is routed by, read at once across the aggregates: the route of
(sending phone, pool number), the sending phone itself (its owner), and whether the SMS's
message id was stored before. store/dynamodb/routing.py reads them in one request;
`RoutingOverStores` reads them from the repositories one by one (memory twins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.store.messages import MessageStore
from chalicelib.store.phones import Phone, PhoneStore
from chalicelib.store.sessions import Route, SessionStore


@dataclass(frozen=True)
class Routing:
    route: Route | None
    owner: Phone | None  # the sending phone, as the phones store has it
    seen: bool = False  # the message id asked about is stored already


class RoutingReads(Protocol):
    def lookup(self, phone: str, pool_number: str, message_id: str | None = None) -> Routing: ...


class RoutingOverStores:
    def __init__(self, phones: PhoneStore, sessions: SessionStore, messages: MessageStore):
        self.phones, self.sessions, self.messages = phones, sessions, messages

    def lookup(self, phone: str, pool_number: str, message_id: str | None = None) -> Routing:
        route = next((r for r in self.sessions.routes_of(phone) if r.pool_number == pool_number), None)
        seen = message_id is not None and self.messages.get(message_id) is not None
        return Routing(route, self.phones.phone(phone), seen)
