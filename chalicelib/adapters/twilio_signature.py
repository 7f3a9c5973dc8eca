"""Twilio's webhook signatures (X-Twilio-Signature), checked against the
public URL Twilio called (Settings.webhook_url: TWILIO_WEBHOOK_BASE_URL, else
PUBLIC_BASE_URL, + path) + query string, with each token TWILIO_AUTH_TOKEN lists
(two during a rotation)."""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from chalicelib.core.errors import BridgeError


def require_valid_signature(
    url: str, query: dict | None, params: dict, signature: str | None, tokens: list[str]
) -> None:
    """`url`: the webhook's public URL without its query; `tokens`: TWILIO_AUTH_TOKEN's
    (during a rotation two; Twilio signs with its primary)."""
    if query:
        url += "?" + urlencode(query)
    if not signature or not any(RequestValidator(token).validate(url, params, signature) for token in tokens):
        raise BridgeError(
            "invalid_signature",
            "X-Twilio-Signature does not match this request; Twilio signs with the account's auth token over "
            "the public URL (TWILIO_WEBHOOK_BASE_URL, else PUBLIC_BASE_URL)",
            403,
        )
