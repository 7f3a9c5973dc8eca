"""Messages, both ways: each move of a message is a conditional write on its status, so a
state only moves forward and two writers never both move it. A move the chat backend is
told of later (a stop, the sender's give-up) adds its status to `events_owed` in the same
write: an outbox on the message, struck off once its event is queued. `MessageStore` is
the contract; store/dynamodb/messages.py keeps it in DynamoDB, `MemoryMessages` in memory.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.core.message_rules import CHAT, QUEUED, SENDING, SENT


@dataclass(frozen=True)
class Message:
    message_id: str
    direction: str  # outbound | inbound
    status: str
    from_number: str
    to_number: str
    created_at: float
    order_key: str
    retain_until: int  # when the message may be forgotten (epoch seconds)
    session_id: str | None = None  # none for verification codes
    user_id: str | None = None
    kind: str = CHAT  # chat | verification
    text: str | None = None  # as the chat backend sent it (or the SMS received)
    body: str | None = None  # outbound: exactly what goes to the phone
    error_code: str | None = None
    segments: int = 1
    encoding: str | None = None
    twilio_sid: str | None = None
    media_urls: str | None = None  # JSON list, inbound only
    media: str | None = None  # JSON [{"key", "content_type", "size"}] in the media bucket
    media_delivery: str | None = None  # outbound with media: mms | links
    sent_at: float | None = None
    claimed_at: float | None = None  # when a sender last took it (reconciliation looks from here)
    attempts: int = 0
    queued_user_id: str | None = None  # while waiting to be sent; kept after a stop until its event is queued
    events_owed: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Page:
    messages: list[Message]
    next_key: dict | None  # where the next page starts; None: this was the last


class MessageStore(Protocol):
    def add(self, message: Message) -> bool:
        """Store a new message; False when one with its id exists (a retry, a replay)."""

    def get(self, message_id: str) -> Message | None: ...

    def claim(self, message_id: str, now: float) -> Message | None:
        """queued -> sending (one attempt more, out of the user's queued ones); the message
        after it, or None when it was not queued."""

    def unclaim(self, message: Message) -> bool:
        """sending -> queued again (and, a chat message, among its user's queued ones)."""

    def record_sent(self, message_id: str, twilio_sid: str, now: float) -> bool:
        """sending -> sent with Twilio's sid. False when the status had moved on (a status
        callback came first): the sid and the time are kept all the same."""

    def finish(self, message_id: str, status: str, error_code: str) -> Message | None:
        """sending -> `status` with `error_code`, owing its event; None when not sending."""

    def stop(self, message_id: str, status: str, error_code: str | None) -> Message | None:
        """queued -> `status` (cancelled, failed) with `error_code`, owing its event; None when
        not queued."""

    def queued_of_user(self, user_id: str) -> list[str]:
        """The ids of the user's messages still waiting to be sent (and of those stopped whose
        event is still owed), oldest first."""

    def move(self, message_id: str, status: str, earlier: tuple[str, ...], error_code: str | None) -> bool:
        """Forward to `status` (with `error_code` when given) from one of `earlier`."""

    def strike_owed(self, message: Message, statuses: frozenset[str]) -> None:
        """The events of `statuses` are queued: strike them off (and take a stopped message
        out of its user's queued ones)."""

    def earlier_sids(self, session_id: str, order_key: str) -> set[str]:
        """Twilio's sids of the session's messages before `order_key`."""

    def page(self, session_id: str, limit: int, start: dict | None) -> Page:
        """The session's messages in order, `limit` at a time from `start`."""


class MemoryMessages:
    """MessageStore in memory, for use-case tests and simulations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: dict[str, Message] = {}

    def add(self, message: Message) -> bool:
        with self._lock:
            if message.message_id in self.messages:
                return False
            self.messages[message.message_id] = message
            return True

    def get(self, message_id: str) -> Message | None:
        return self.messages.get(message_id)

    def _move(self, message_id: str, when: tuple[str, ...], **changes: object) -> Message | None:
        with self._lock:
            message = self.messages.get(message_id)
            if message is None or message.status not in when:
                return None
            moved = dataclasses.replace(message, **changes)  # type: ignore[arg-type]
            self.messages[message_id] = moved
            return moved

    def claim(self, message_id: str, now: float) -> Message | None:
        message = self.messages.get(message_id)
        attempts = message.attempts + 1 if message else 1
        return self._move(message_id, (QUEUED,), status=SENDING, claimed_at=now, attempts=attempts, queued_user_id=None)

    def unclaim(self, message: Message) -> bool:
        queued_user = message.user_id if message.user_id and message.kind == CHAT else None
        return self._move(message.message_id, (SENDING,), status=QUEUED, queued_user_id=queued_user) is not None

    def record_sent(self, message_id: str, twilio_sid: str, now: float) -> bool:
        if self._move(message_id, (SENDING,), status=SENT, twilio_sid=twilio_sid, sent_at=now) is not None:
            return True
        with self._lock:
            self.messages[message_id] = dataclasses.replace(
                self.messages[message_id], twilio_sid=twilio_sid, sent_at=now
            )
        return False

    def finish(self, message_id: str, status: str, error_code: str) -> Message | None:
        return self._owing(message_id, SENDING, status, error_code)

    def stop(self, message_id: str, status: str, error_code: str | None) -> Message | None:
        return self._owing(message_id, QUEUED, status, error_code)

    def _owing(self, message_id: str, when: str, status: str, error_code: str | None) -> Message | None:
        message = self.messages.get(message_id)
        owed = (message.events_owed if message else frozenset()) | {status}
        return self._move(message_id, (when,), status=status, error_code=error_code, events_owed=owed)

    def queued_of_user(self, user_id: str) -> list[str]:
        queued = [m for m in self.messages.values() if m.queued_user_id == user_id]
        return [m.message_id for m in sorted(queued, key=lambda m: m.order_key)]

    def move(self, message_id: str, status: str, earlier: tuple[str, ...], error_code: str | None) -> bool:
        changes: dict = {"status": status, "queued_user_id": None}
        if error_code:
            changes["error_code"] = error_code
        return self._move(message_id, earlier, **changes) is not None

    def strike_owed(self, message: Message, statuses: frozenset[str]) -> None:
        with self._lock:
            stored = self.messages.get(message.message_id)
            if stored is None:
                return
            queued_user = stored.queued_user_id if message.status == QUEUED else None
            self.messages[message.message_id] = dataclasses.replace(
                stored, events_owed=stored.events_owed - statuses, queued_user_id=queued_user
            )

    def earlier_sids(self, session_id: str, order_key: str) -> set[str]:
        return {
            m.twilio_sid
            for m in self.messages.values()
            if m.session_id == session_id and m.order_key < order_key and m.twilio_sid
        }

    def page(self, session_id: str, limit: int, start: dict | None) -> Page:
        ordered = sorted((m for m in self.messages.values() if m.session_id == session_id), key=lambda m: m.order_key)
        after = (start or {}).get("order_key")
        rest = [m for m in ordered if after is None or m.order_key > after]
        taken = rest[:limit]
        more = len(rest) > limit
        return Page(taken, {"order_key": taken[-1].order_key} if more and taken else None)
