"""The outbound queue's wire format: what a message on the FIFO queue says, in one codec.

adapters/queues.py writes it (`encode`), the sender reads it (`decode`), tests build
bodies through it. A job names the message to send, the segments it was submitted with
(the sender books a FIFO group's next slots ahead with them; older bodies have none),
and, for a verification code only, the text itself: codes travel only in the
(encrypted) queue, never in the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class OutboundJob:
    message_id: str
    segments: int | None = None  # as submitted; None: not said (an older body)
    secret_text: str | None = None  # a verification code's SMS

    def encode(self) -> str:
        body: dict[str, object] = {"message_id": self.message_id}
        if self.segments is not None:
            body["segments"] = self.segments
        if self.secret_text is not None:
            body["secret_text"] = self.secret_text
        return json.dumps(body)

    @classmethod
    def decode(cls, body: str) -> OutboundJob:
        data = json.loads(body)
        segments = data.get("segments")
        secret_text = data.get("secret_text")
        return cls(
            message_id=str(data["message_id"]),
            segments=segments
            if isinstance(segments, int) and not isinstance(segments, bool) and segments > 0
            else None,
            secret_text=secret_text if isinstance(secret_text, str) else None,
        )
