"""What a message is, as rules over plain values (pure): its states and the
order they move in, its ids, the SMS text a chat message becomes."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

from chalicelib.core import segments
from chalicelib.core.errors import bad_request

QUEUED, SENDING, SENT, DELIVERED = "queued", "sending", "sent", "delivered"
UNDELIVERED, FAILED, CANCELLED, RECEIVED = "undelivered", "failed", "cancelled", "received"
FINAL = frozenset({DELIVERED, UNDELIVERED, FAILED, CANCELLED, RECEIVED})
OUTBOUND, INBOUND = "outbound", "inbound"
CHAT, VERIFICATION = "chat", "verification"

# Later states never give way to earlier ones (Twilio's callbacks can arrive out of order).
_RANK = {QUEUED: 0, SENDING: 1, SENT: 2, DELIVERED: 3, UNDELIVERED: 3, FAILED: 3, CANCELLED: 3}

MAX_TEXT = 1600  # Twilio's limit on a message body, in characters
MAX_CLIENT_ID = 128


def states_before(status: str) -> list[str] | None:
    """The outbound states a message may move to `status` from; None: not a state we track."""
    if status not in _RANK:
        return None
    return [s for s, rank in _RANK.items() if rank < _RANK[status]]


def message_id_for(session_id: str, client_message_id: str | None) -> str:
    """A client's retry with the same client_message_id names the same message."""
    if client_message_id is None:
        return "msg_" + uuid.uuid4().hex
    digest = hashlib.sha256(f"{session_id}\x1f{client_message_id}".encode()).hexdigest()
    return "msg_" + digest[:32]


def inbound_message_id(message_sid: str) -> str:
    """Twilio's retry of a webhook names the same message."""
    return "msg_in_" + hashlib.sha256(message_sid.encode()).hexdigest()[:32]


def order_key(created_at: float, message_id: str) -> str:
    return f"{int(created_at * 1_000_000):020d}:{message_id}"


def compose_body(prefix_template: str, partner_name: str, text: str) -> str:
    """The SMS as the user's phone shows it: who is writing, then the text."""
    return segments.smart_encode(prefix_template.format(name=partner_name) + text)


# Control characters a text may carry: line breaks and tabs; any other (C0, DEL, C1) is refused.
ALLOWED_CONTROLS = frozenset("\n\r\t")


def first_control(text: str, allowed: frozenset[str] = ALLOWED_CONTROLS) -> int | None:
    """Index of the first control character (Unicode category Cc) not in `allowed`."""
    for index, char in enumerate(text):
        if char not in allowed and unicodedata.category(char) == "Cc":
            return index
    return None


def validate_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise bad_request("invalid_text", "text must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise bad_request("text_too_long", f"text has {len(text)} characters; the most an SMS can carry is {MAX_TEXT}")
    bad = first_control(text)
    if bad is not None:
        raise bad_request(
            "invalid_text",
            f"text has the control character U+{ord(text[bad]):04X} at position {bad}; "
            "only line feed, carriage return and tab are allowed",
        )
    return text


def text_room(prefix_template: str, partner_name: str) -> int:
    """How many characters a text may have in this session: the SMS holds MAX_TEXT,
    and the sender's name prefix ("Bob: ") comes first."""
    return MAX_TEXT - len(compose_body(prefix_template, partner_name, ""))


def validate_name(name: object, max_length: int) -> str | None:
    if name is not None and (
        not isinstance(name, str) or not 0 < len(name) <= max_length or first_control(name, frozenset()) is not None
    ):
        raise bad_request(
            "invalid_partner_name", f"partner_name must be 1 to {max_length} characters without control characters"
        )
    return name


def validate_client_message_id(client_message_id: object) -> str | None:
    if client_message_id is not None and (
        not isinstance(client_message_id, str) or not 0 < len(client_message_id) <= MAX_CLIENT_ID
    ):
        raise bad_request(
            "invalid_client_message_id", f"client_message_id must be a string of 1 to {MAX_CLIENT_ID} characters"
        )
    return client_message_id
