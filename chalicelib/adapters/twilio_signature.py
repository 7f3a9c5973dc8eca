"""Twilio's webhook signatures (X-Twilio-Signature), checked against the
public URL Twilio called: TWILIO_WEBHOOK_BASE_URL (PUBLIC_BASE_URL unless set)
+ path + query string, with each token TWILIO_AUTH_TOKEN lists (two during a
rotation)."""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from chalicelib.adapters.secrets import secret_list
from chalicelib.config import settings
from chalicelib.core.errors import BridgeError


def require_valid_signature(path: str, query: dict | None, params: dict, signature: str | None) -> None:
    url = settings().webhook_url(path)
    if query:
        url += "?" + urlencode(query)
    # During a rotation TWILIO_AUTH_TOKEN lists two tokens; Twilio signs with its primary.
    tokens = secret_list("TWILIO_AUTH_TOKEN")
    if not signature or not any(RequestValidator(token).validate(url, params, signature) for token in tokens):
        raise BridgeError(
            "invalid_signature",
            "X-Twilio-Signature does not match this request; Twilio signs with the account's auth token over "
            "the public URL (TWILIO_WEBHOOK_BASE_URL, else PUBLIC_BASE_URL)",
            403,
        )
