"""Settings: the one module that reads the environment, when asked (never at import).

Chalice applies a stage's environment variables only while a request runs in
its test client, and Lambda sets them before import; reading lazily works for
both. Secrets come from the environment in tests and locally, and from SSM
Parameter Store (SecureString) when `<NAME>_PARAM` names a parameter
(adapters/secrets.py fetches them).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.core.billing import Prices
from chalicelib.core.pool_policy import Policy

DEFAULT_PREFIX = "sms-bridge-dev-"
DEFAULT_METRICS_NAMESPACE = "SmsBridge"
QUEUE_KINDS = ("outbound", "delivery", "requests", "requests-dlq")


@dataclass(frozen=True)
class Settings:
    stage: str
    resource_prefix: str
    public_base_url: str
    # Where Twilio's webhooks (/twilio/sms, /twilio/status) are served and signed: a cheaper
    # endpoint than the REST API (infra/template.py: an HTTP API); PUBLIC_BASE_URL by default.
    twilio_webhook_base_url: str
    twilio_account_sid: str
    twilio_api_base_url: str | None
    chat_webhook_url: str | None
    session_ttl_seconds: int
    sender_prefix_template: str
    code_ttl_seconds: int
    code_max_tries: int
    default_segments_per_second: float
    message_validity_seconds: int
    message_retention_days: int
    default_country: str
    # Longest limiter wait the sender sleeps out inside an invocation; longer ones use SQS visibility.
    sender_max_wait_seconds: float
    # A FIFO group's messages after the one being sent are handed back to SQS, timed to come
    # back just before their slot (usecases/give_backs.py), when that one holds its number
    # longer than this (its segments / the number's rate: 1 s for a segment at 1 segment/s);
    # else the invocation idles until their slot. 15 (beyond any message): never, as before.
    sender_max_idle_seconds: float = 0.5
    # The Messaging Service every pool number is a sender of (issue 13); None: plain numbers.
    twilio_messaging_service_sid: str | None = None
    # A service that sends inbound SMS to its own URL is set to defer to the numbers' (else refused).
    configure_service_inbound: bool = True
    # US local numbers are bought only while the service has an approved A2P 10DLC campaign.
    require_a2p_campaign: bool = True
    # Failures meaning "this phone cannot get SMS" (30003, 30005, 30006) before it is unreachable.
    phone_failure_threshold: int = 3
    # Twilio answers HELP itself on long codes; the bridge answers only when this says it does not.
    twilio_answers_help: bool = True

    def webhook_url(self, path: str) -> str:
        """The URL Twilio calls (and signs) for a webhook path."""
        return self.twilio_webhook_base_url.rstrip("/") + path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def settings() -> Settings:
    env = os.environ
    return Settings(
        stage=env.get("STAGE", "dev"),
        resource_prefix=resource_prefix(),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        twilio_webhook_base_url=env.get("TWILIO_WEBHOOK_BASE_URL")
        or env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
        twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
        chat_webhook_url=env.get("CHAT_WEBHOOK_URL") or None,
        session_ttl_seconds=_int("SESSION_TTL_SECONDS", 12 * 3600),
        sender_prefix_template=env.get("SENDER_PREFIX_TEMPLATE", "{name}: "),
        code_ttl_seconds=_int("VERIFICATION_CODE_TTL_SECONDS", 600),
        code_max_tries=_int("VERIFICATION_CODE_MAX_TRIES", 5),
        default_segments_per_second=_float("DEFAULT_SEGMENTS_PER_SECOND", 1.0),
        message_validity_seconds=_int("MESSAGE_VALIDITY_SECONDS", 4 * 3600),
        message_retention_days=_int("MESSAGE_RETENTION_DAYS", 90),
        default_country=env.get("DEFAULT_COUNTRY", "US"),
        sender_max_wait_seconds=_float("SENDER_MAX_WAIT_SECONDS", 15.0),
        sender_max_idle_seconds=_float("SENDER_MAX_IDLE_SECONDS", 0.5),
        twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID", "").strip() or None,
        configure_service_inbound=_bool("TWILIO_SERVICE_CONFIGURE_INBOUND", True),
        require_a2p_campaign=_bool("REQUIRE_A2P_CAMPAIGN", True),
        phone_failure_threshold=max(1, _int("PHONE_FAILURE_THRESHOLD", 3)),
        twilio_answers_help=_bool("TWILIO_ANSWERS_HELP", True),
    )


def resource_prefix() -> str:
    """The prefix of every table and queue name of the stage."""
    return os.environ.get("RESOURCE_PREFIX", DEFAULT_PREFIX)


def aws_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def queue_name(kind: str) -> str:
    """kind: outbound (FIFO), delivery, requests, requests-dlq; `<KIND>_QUEUE` overrides."""
    override = os.environ.get(f"{kind.upper().replace('-', '_')}_QUEUE")
    if override:
        return override
    suffix = ".fifo" if kind == "outbound" else ""
    return f"{resource_prefix()}{kind}{suffix}"


@dataclass(frozen=True)
class LimitSettings:
    """The sender's limits beyond each number's own rate (usecases/rate_limits.py)."""

    burst_seconds: float
    campaign_id: str | None  # None: no campaign limit
    campaign_segments_per_second: float | None


def limit_settings() -> LimitSettings:
    campaign_rate = _float("CAMPAIGN_SEGMENTS_PER_SECOND", 0.0)
    return LimitSettings(
        burst_seconds=_float("LIMITER_BURST_SECONDS", 0.0),
        campaign_id=(os.environ.get("CAMPAIGN_ID") or "default") if campaign_rate > 0 else None,
        campaign_segments_per_second=campaign_rate if campaign_rate > 0 else None,
    )


@dataclass(frozen=True)
class PoolSettings:
    """How the pool grows and shrinks (core/pool_policy.Policy) and what Twilio charges."""

    policy: Policy
    prices: Prices
    dry_run: bool  # the scheduled autoscaler logs its decisions and changes nothing


# Environment variable -> Policy field; an unset variable leaves Policy's own default.
_POLICY_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "POOL_MAX_SIZE": ("max_size", int),
    "POOL_MIN_SIZE": ("min_size", int),
    "POOL_MONTHLY_BUDGET_USD": (
        "monthly_budget_usd",
        lambda v: None if v.strip().lower() in ("", "none") else float(v),
    ),
    "PRICE_NUMBER_MONTH_USD": ("number_month_usd", float),
    "POOL_TARGET_WAIT_SECONDS": ("target_wait_seconds", float),
    "POOL_HEADROOM": ("headroom", int),
    "POOL_IDLE_SECONDS": ("idle_seconds", float),
    "POOL_RELEASE_AT": ("release_at", lambda v: _release_at(v)),
    "DEFAULT_SEGMENTS_PER_SECOND": ("default_segments_per_second", float),
}


def _release_at(value: str) -> str:
    value = value.strip().lower()
    if value not in ("empty", "renewal"):
        raise RuntimeError(f"configuration: POOL_RELEASE_AT must be 'empty' or 'renewal', not {value!r}")
    return value


def pool_settings() -> PoolSettings:
    env = os.environ
    overrides = {field: parse(env[name]) for name, (field, parse) in _POLICY_FIELDS.items() if name in env}
    policy = Policy(**overrides)
    segment_defaults = Prices(policy.number_month_usd)
    prices = dataclasses.replace(
        segment_defaults,
        segment_out_usd=_float("PRICE_SEGMENT_OUT_USD", segment_defaults.segment_out_usd),
        segment_in_usd=_float("PRICE_SEGMENT_IN_USD", segment_defaults.segment_in_usd),
        mms_out_usd=_float("PRICE_MMS_OUT_USD", segment_defaults.mms_out_usd),
        mms_in_usd=_float("PRICE_MMS_IN_USD", segment_defaults.mms_in_usd),
    )
    dry_run = env.get("POOL_DRY_RUN", "false").strip().lower() in ("1", "true", "yes", "on")
    return PoolSettings(policy=policy, prices=prices, dry_run=dry_run)


@dataclass(frozen=True)
class MetricSettings:
    namespace: str
    stage: str


def metric_settings() -> MetricSettings:
    return MetricSettings(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
        stage=os.environ.get("STAGE", "dev"),
    )


def secrets_max_age_seconds() -> int:
    """How long a secret read from SSM is used before it is read again (a rotation's delay)."""
    return _int("SECRETS_MAX_AGE_SECONDS", 300)


def secret_source(name: str) -> tuple[str | None, str | None]:
    """(the secret's value from the environment, or the SSM parameter that
    `<name>_PARAM` names); adapters/secrets.py reads the parameter."""
    return os.environ.get(name) or None, os.environ.get(f"{name}_PARAM") or None


@dataclass(frozen=True)
class VerificationSettings:
    """Limits on verification codes (README "Security and limits"; core/verification_limits.py)."""

    phone_min_interval_seconds: int  # at most one code per phone this often
    phone_max_per_hour: int  # codes per phone in any hour
    user_max_per_hour: int  # codes per user id in any hour
    global_max_per_hour: int  # verification SMS of the whole bridge per clock hour
    global_alarm_fraction: float  # VerificationBudgetNear is published from this share of it
    max_tries: int  # code tries per phone (across codes) in any tries_window_seconds
    tries_window_seconds: int
    allowed_countries: frozenset[str]


def verification_settings() -> VerificationSettings:
    countries = os.environ.get("ALLOWED_COUNTRIES", "US,CA")
    return VerificationSettings(
        phone_min_interval_seconds=_int("VERIFY_PHONE_MIN_INTERVAL_SECONDS", 30),
        phone_max_per_hour=_int("VERIFY_PHONE_MAX_PER_HOUR", 5),
        user_max_per_hour=_int("VERIFY_USER_MAX_PER_HOUR", 10),
        global_max_per_hour=_int("VERIFY_GLOBAL_MAX_PER_HOUR", 1000),
        global_alarm_fraction=_float("VERIFY_GLOBAL_ALARM_FRACTION", 0.8),
        max_tries=_int("VERIFICATION_CODE_MAX_TRIES", 5),
        tries_window_seconds=_int("VERIFY_TRIES_WINDOW_SECONDS", 3600),
        allowed_countries=frozenset(c.strip().upper() for c in countries.split(",") if c.strip()),
    )


@dataclass(frozen=True)
class MediaSettings:
    """Pictures: where they are kept and how long the links to them last (README: Media)."""

    bucket: str
    retention_days: int  # the bucket's lifecycle rule expires objects after this many days
    upload_ttl_seconds: int  # a presigned PUT of POST /media
    url_ttl_seconds: int  # presigned GETs in message.received (at most 7 days: SigV4's limit)
    send_ttl_seconds: int  # presigned GETs given to Twilio as MediaUrl
    link_ttl_seconds: int  # links in an SMS where MMS cannot go
    copy_seconds: float  # the longest an inbound medium's fetch from Twilio may take


MEDIA_RETENTION_DAYS_DEFAULT = 30
_SIGV4_MAX_SECONDS = 7 * 86400


def media_settings() -> MediaSettings:
    return MediaSettings(
        bucket=os.environ.get("MEDIA_BUCKET") or f"{resource_prefix()}media",
        retention_days=_int("MEDIA_RETENTION_DAYS", MEDIA_RETENTION_DAYS_DEFAULT),
        upload_ttl_seconds=_int("MEDIA_UPLOAD_TTL_SECONDS", 900),
        url_ttl_seconds=min(_int("MEDIA_URL_TTL_SECONDS", _SIGV4_MAX_SECONDS), _SIGV4_MAX_SECONDS),
        send_ttl_seconds=_int("MEDIA_SEND_TTL_SECONDS", 3600),
        link_ttl_seconds=min(_int("MEDIA_LINK_TTL_SECONDS", 86400), _SIGV4_MAX_SECONDS),
        copy_seconds=_float("MEDIA_COPY_SECONDS", 8.0),
    )
