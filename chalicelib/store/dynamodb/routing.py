"""RoutingReads (store/routing.py) in DynamoDB: the Route, the Phone and the Message items
in one BatchGetItem."""

from __future__ import annotations

from chalicelib.store import models
from chalicelib.store.conditional import get_together
from chalicelib.store.dynamodb.phones import phone_of
from chalicelib.store.dynamodb.sessions import route_of
from chalicelib.store.routing import Routing


class DynamoRouting:
    def lookup(self, phone: str, pool_number: str, message_id: str | None = None) -> Routing:
        keys: list[tuple] = [(models.Route, phone, pool_number), (models.Phone, phone, None)]
        if message_id is not None:
            keys.append((models.Message, message_id, None))
        route, owner, *message = get_together(keys)
        return Routing(
            route_of(route) if route is not None else None,
            phone_of(owner) if owner is not None else None,
            bool(message and message[0] is not None),
        )
