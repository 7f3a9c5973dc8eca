"""Settings, read from the environment when asked for (never at import).

Chalice applies a stage's environment variables only while a request runs in
its test client, and Lambda sets them before import; reading lazily works for
both. Secrets come from the environment in tests and locally, and from SSM
Parameter Store (SecureString) when `<NAME>_PARAM` names a parameter.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

DEFAULT_PREFIX = "sms-bridge-dev-"


@dataclass(frozen=True)
class Settings:
    stage: str
    resource_prefix: str
    public_base_url: str
    twilio_account_sid: str
    twilio_api_base_url: str | None
    chat_webhook_url: str | None
    session_ttl_seconds: int
    sender_prefix_template: str
    code_ttl_seconds: int
    code_max_tries: int
    default_segments_per_second: float
    delivery_max_attempts: int
    message_validity_seconds: int
    message_retention_days: int
    default_country: str

    def queue_name(self, kind: str) -> str:
        """kind: outbound (FIFO), delivery, requests, requests-dlq."""
        override = os.environ.get(f"{kind.upper().replace('-', '_')}_QUEUE")
        if override:
            return override
        suffix = ".fifo" if kind == "outbound" else ""
        return f"{self.resource_prefix}{kind}{suffix}"

    def webhook_url(self, path: str) -> str:
        return self.public_base_url.rstrip("/") + path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def settings() -> Settings:
    env = os.environ
    return Settings(
        stage=env.get("STAGE", "dev"),
        resource_prefix=env.get("RESOURCE_PREFIX", DEFAULT_PREFIX),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
        twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
        chat_webhook_url=env.get("CHAT_WEBHOOK_URL") or None,
        session_ttl_seconds=_int("SESSION_TTL_SECONDS", 12 * 3600),
        sender_prefix_template=env.get("SENDER_PREFIX_TEMPLATE", "{name}: "),
        code_ttl_seconds=_int("VERIFICATION_CODE_TTL_SECONDS", 600),
        code_max_tries=_int("VERIFICATION_CODE_MAX_TRIES", 5),
        default_segments_per_second=float(env.get("DEFAULT_SEGMENTS_PER_SECOND", "1")),
        delivery_max_attempts=_int("DELIVERY_MAX_ATTEMPTS", 8),
        message_validity_seconds=_int("MESSAGE_VALIDITY_SECONDS", 4 * 3600),
        message_retention_days=_int("MESSAGE_RETENTION_DAYS", 90),
        default_country=env.get("DEFAULT_COUNTRY", "US"),
    )


@dataclass(frozen=True)
class PoolSettings:
    """How the pool grows and shrinks (docs/pool.md) and what Twilio charges."""

    max_size: int  # numbers held (active + draining), never more
    min_size: int  # active numbers kept even when idle (verification codes need one)
    monthly_budget_usd: float | None  # number rental billed per calendar month; None: no cap
    number_month_usd: float  # Twilio's price of a local number per month
    segment_out_usd: float  # per outbound segment
    segment_in_usd: float  # per inbound segment
    target_wait_seconds: float  # projected wait (submit -> send) the pool is sized for
    headroom: int  # numbers kept beyond the largest per-user session count
    idle_seconds: int  # how long surplus must go unneeded before it drains
    release_at: str  # "empty": release a drained number once empty; "renewal": keep it until its paid month ends
    dry_run: bool  # the scheduled autoscaler logs its decisions and changes nothing


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "true" if default else "false").strip().lower() in ("1", "true", "yes", "on")


def _release_at(value: str) -> str:
    value = value.strip().lower()
    if value not in ("empty", "renewal"):
        raise RuntimeError(f"configuration: POOL_RELEASE_AT must be 'empty' or 'renewal', not {value!r}")
    return value


def pool_settings() -> PoolSettings:
    env = os.environ
    budget = env.get("POOL_MONTHLY_BUDGET_USD", "100").strip()
    return PoolSettings(
        max_size=_int("POOL_MAX_SIZE", 50),
        min_size=_int("POOL_MIN_SIZE", 1),
        monthly_budget_usd=float(budget) if budget and budget.lower() != "none" else None,
        number_month_usd=float(env.get("PRICE_NUMBER_MONTH_USD", "1.15")),
        segment_out_usd=float(env.get("PRICE_SEGMENT_OUT_USD", "0.0083")),
        segment_in_usd=float(env.get("PRICE_SEGMENT_IN_USD", "0.0083")),
        target_wait_seconds=float(env.get("POOL_TARGET_WAIT_SECONDS", "10")),
        headroom=_int("POOL_HEADROOM", 1),
        idle_seconds=_int("POOL_IDLE_SECONDS", 1800),
        release_at=_release_at(env.get("POOL_RELEASE_AT", "renewal")),
        dry_run=_flag("POOL_DRY_RUN"),
    )


def secret(name: str) -> str:
    """A secret by name: the environment variable itself, or the SSM parameter
    that `<name>_PARAM` names (decrypted, cached for the life of the process)."""
    value = os.environ.get(name)
    if value:
        return value
    parameter = os.environ.get(f"{name}_PARAM")
    if not parameter:
        raise RuntimeError(f"configuration: set {name} or {name}_PARAM")
    return _ssm_parameter(parameter)


def secret_list(name: str) -> list[str]:
    """A comma-separated secret (API tokens, webhook secrets during rotation)."""
    return [item.strip() for item in secret(name).split(",") if item.strip()]


@functools.lru_cache(maxsize=16)
def _ssm_parameter(parameter: str) -> str:
    from chalicelib import aws

    answer = aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)
    return answer["Parameter"]["Value"]
