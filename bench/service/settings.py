"""The service bench's settings: its tokens and secrets, and its process environment
(bench/kit/environment.py) set before anything imports boto3, PynamoDB or the app (so this
module imports none of them)."""

from __future__ import annotations

from bench.kit import environment

API_TOKEN = "bench-api-token"
AUTH_TOKEN = "bench-twilio-auth-token"
WEBHOOK_SECRET = "bench-webhook-secret"


def prepare_environment() -> None:
    environment.prepare(
        log_level="WARNING",
        API_TOKENS=API_TOKEN,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        CHAT_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
