"""The signed-webhook client: posts to the app as Twilio does, a form POST (or a GET with a
query string) with X-Twilio-Signature over the exact URL and the params, made with the
account's auth token by twilio's own RequestValidator. Each call is recorded (the backend's
callback log, through `record`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

log = logging.getLogger("devstack.twilio.webhooks")
TIMEOUT = 10  # seconds, for each webhook and status callback


class SignedWebhookClient:
    def __init__(self, auth_token: str, *, clock: Callable[[], datetime], record: Callable[[dict], None]):
        self._validator = RequestValidator(auth_token)
        self._clock = clock
        self._record = record

    def post(self, kind: str, url: str, params: dict, method: str = "POST") -> dict:
        """Send params to url, signed; the record of the call: kind ('status' | 'sms'), url,
        method, params, and the answer's status and body, or the error that stopped it."""
        record: dict[str, Any] = {
            "kind": kind,
            "url": url,
            "method": method,
            "params": params,
            "status": None,
            "body": None,
            "error": None,
            "at": self._clock().isoformat(),
        }
        try:
            if method == "GET":
                parts = urlsplit(url)
                query = "&".join(q for q in (parts.query, urlencode(params)) if q)
                full_url = urlunsplit(parts._replace(query=query))
                signature = self._validator.compute_signature(full_url, {})
                answer = requests.get(full_url, headers={"X-Twilio-Signature": signature}, timeout=TIMEOUT)
            else:
                signature = self._validator.compute_signature(url, params)
                answer = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=TIMEOUT)
            record["status"], record["body"] = answer.status_code, answer.text
        except requests.RequestException as error:
            record["error"] = f"{type(error).__name__}: {error}"
            log.warning("%s callback to %s failed: %s", kind, url, error)
        self._record(record)
        return record
