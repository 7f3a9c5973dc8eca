"""The chat backend's webhook (the context's `chat_webhook`): one signed event POSTed,
its HTTP status answered. usecases/delivery.py decides what to send and what a status means."""

from __future__ import annotations

import requests

TIMEOUT_SECONDS = 5


class ChatWebhook:
    def __init__(self, session: requests.Session | None = None):
        # One session per process: events reuse its connection to the chat backend instead
        # of a new TCP and TLS handshake each.
        self._session = session

    def post(self, url: str, payload: bytes, signature: str) -> int:
        """POST `payload` (JSON) with its X-Bridge-Signature; the HTTP status. A network
        fault raises (requests' exception)."""
        if self._session is None:
            self._session = requests.Session()
        response = self._session.post(
            url,
            data=payload,
            headers={"Content-Type": "application/json", "X-Bridge-Signature": signature},
            timeout=TIMEOUT_SECONDS,
        )
        return response.status_code
