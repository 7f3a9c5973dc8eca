"""MessageStore (store/messages.py) in DynamoDB: Message items (store/models.py), the
one module that creates or changes them; their TTL is the message's `retain_until`."""

from __future__ import annotations

from typing import cast

from pynamodb.expressions.update import Action

from chalicelib.core.message_rules import CHAT, QUEUED, SENDING, SENT
from chalicelib.store import models
from chalicelib.store.conditional import get_or_none, get_together, save_if, update_if
from chalicelib.store.messages import Message, Page

M = models.Message
_FIELDS = [
    "message_id",
    "direction",
    "status",
    "from_number",
    "to_number",
    "created_at",
    "order_key",
    "session_id",
    "user_id",
    "kind",
    "text",
    "body",
    "error_code",
    "encoding",
    "twilio_sid",
    "media_urls",
    "media",
    "media_delivery",
    "sent_at",
    "claimed_at",
    "queued_user_id",
]


def message_of(item: models.Message) -> Message:
    return Message(
        **{name: getattr(item, name) for name in _FIELDS},
        retain_until=int(item.ttl or 0),
        segments=int(item.segments or 1),
        attempts=int(item.attempts or 0),
        events_owed=frozenset(item.events_owed or ()),
    )


def _set_error_code(error_code: str | None) -> Action:
    """Set the error code; None is stored as DynamoDB's NULL (PynamoDB's set(None), which
    its type hints leave out)."""
    return M.error_code.set(cast("str", error_code))


class DynamoMessages:
    def add(self, message: Message) -> bool:
        item = M(
            **{name: getattr(message, name) for name in _FIELDS},
            segments=message.segments,
            attempts=message.attempts,
            events_owed=set(message.events_owed) or None,
            ttl=message.retain_until,
        )
        return save_if(item, M.message_id.does_not_exist())

    def get(self, message_id: str) -> Message | None:
        item = get_or_none(M, message_id)
        return message_of(item) if item is not None else None

    def claim(self, message_id: str, now: float) -> Message | None:
        item = M(message_id=message_id)
        actions = [M.status.set(SENDING), M.claimed_at.set(now), M.attempts.add(1), M.queued_user_id.remove()]
        return message_of(item) if update_if(item, actions, M.status == QUEUED) else None

    def unclaim(self, message: Message) -> bool:
        actions = [M.status.set(QUEUED)]
        if message.user_id and message.kind == CHAT:
            actions.append(M.queued_user_id.set(message.user_id))
        return update_if(M(message_id=message.message_id), actions, M.status == SENDING)

    def record_sent(self, message_id: str, twilio_sid: str, now: float) -> bool:
        recorded: list[Action] = [M.twilio_sid.set(twilio_sid), M.sent_at.set(now)]
        if update_if(M(message_id=message_id), [M.status.set(SENT), *recorded], M.status == SENDING):
            return True
        M(message_id=message_id).update(actions=recorded)
        return False

    def finish(self, message_id: str, status: str, error_code: str) -> Message | None:
        return self._owing(message_id, SENDING, status, error_code)

    def stop(self, message_id: str, status: str, error_code: str | None) -> Message | None:
        return self._owing(message_id, QUEUED, status, error_code)

    @staticmethod
    def _owing(message_id: str, when: str, status: str, error_code: str | None) -> Message | None:
        item = M(message_id=message_id)
        actions = [M.status.set(status), _set_error_code(error_code), M.events_owed.add({status})]
        return message_of(item) if update_if(item, actions, M.status == when) else None

    def queued_of_user(self, user_id: str) -> list[str]:
        return [key.message_id for key in M.queued_by_user.query(user_id)]

    def move(self, message_id: str, status: str, earlier: tuple[str, ...], error_code: str | None) -> bool:
        actions: list[Action] = [M.status.set(status), M.queued_user_id.remove()]
        if error_code:
            actions.append(_set_error_code(error_code))
        return update_if(M(message_id=message_id), actions, M.status.is_in(*earlier))

    def strike_owed(self, message: Message, statuses: frozenset[str]) -> None:
        done: list[Action] = [M.events_owed.delete(set(statuses))]
        if message.status != QUEUED and message.queued_user_id:
            done.append(M.queued_user_id.remove())
        update_if(M(message_id=message.message_id), done, M.message_id.exists())

    def earlier_sids(self, session_id: str, order_key: str) -> set[str]:
        earlier = M.by_session.query(session_id, M.order_key < order_key)
        # The index holds keys only: the sids are read from the items.
        recorded = M.batch_get((key.message_id for key in earlier), consistent_read=True)
        return {other.twilio_sid for other in recorded if other.twilio_sid}

    def page(self, session_id: str, limit: int, start: dict | None) -> Page:
        found = M.by_session.query(session_id, limit=limit, last_evaluated_key=start, scan_index_forward=True)
        keys = [(M, key.message_id, None) for key in found]  # the index holds keys only
        items = [message_of(item) for item in (get_together(keys) if keys else []) if item is not None]
        return Page(items, found.last_evaluated_key)
