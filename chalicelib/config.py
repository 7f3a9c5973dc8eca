"""Settings: the one module that reads the environment, into one frozen snapshot.

`load()` reads every setting at once into `Settings` (with its groups: limits, pool,
metrics, verification, media, queues), never at import. app.py takes a snapshot at
the start of each invocation (Context.refreshed): Chalice applies a stage's
environment variables only while a request runs in its test client, and Lambda
sets them before import, so "once per invocation" holds for both. Secrets are no
settings: they come from the environment in tests and locally, and from SSM
Parameter Store (SecureString) when `<NAME>_PARAM` names a parameter
(adapters/secrets.py reads them, through `secret_source`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core import delivery_retry, line_types
from chalicelib.core.billing import Prices
from chalicelib.core.pool_policy import Policy

DEFAULT_PREFIX = "sms-bridge-dev-"
DEFAULT_METRICS_NAMESPACE = "SmsBridge"
QUEUE_KINDS = ("outbound", "delivery", "requests", "requests-dlq")
# Receives after which a queue's redrive policy dead-letters a message: infra/resources.py
# builds the policies from these, and the consumers that count receives read them here.
# The delivery queue's follow from its retention (core/delivery_retry.py; the template sets
# both from its DeliveryRetentionDays parameter).
QUEUE_MAX_RECEIVES = {
    "outbound": 20,
    "delivery": delivery_retry.max_receives(delivery_retry.DEFAULT_RETENTION_DAYS * 86400),
    "requests": 5,
}


@dataclass(frozen=True)
class LimitSettings:
    """The sender's limits beyond each number's own rate (usecases/sending/limits.py)."""

    burst_seconds: float
    campaign_id: str | None  # None: no campaign limit
    campaign_segments_per_second: float | None


@dataclass(frozen=True)
class PoolSettings:
    """How the pool grows and shrinks (core/pool_policy.Policy) and what Twilio charges."""

    policy: Policy
    prices: Prices
    dry_run: bool  # the scheduled autoscaler logs its decisions and changes nothing


@dataclass(frozen=True)
class MetricSettings:
    namespace: str
    stage: str


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


@dataclass(frozen=True)
class LookupSettings:
    """Twilio Lookup v2 at hook-up (README "Lookup at hook-up"; core/line_types.py)."""

    fields: tuple[str, ...]  # the data packages asked for; () turns the lookup off
    admit_voip: bool  # fixedVoip and nonFixedVoip phones are taken
    max_pumping_risk: int  # a risk score from this (0-100) is refused
    max_age_seconds: int  # a phone's kept lookup answers for it this long
    fail_closed: bool  # Lookup unreachable: refuse the hook-up (503) instead of taking it unknown


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


@dataclass(frozen=True)
class QueueNames:
    """The SQS queues of the stage, by what goes on them (adapters/queues.py)."""

    outbound: str  # FIFO
    delivery: str
    requests: str
    requests_dlq: str


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
    default_segments_per_second: float
    message_validity_seconds: int
    message_retention_days: int
    default_country: str
    # Longest limiter wait the sender sleeps out inside an invocation; longer ones use SQS visibility.
    sender_max_wait_seconds: float
    # A FIFO group's messages after the one being sent are handed back to SQS, timed to come
    # back just before their slot (usecases/sending/hand_back.py), when that one holds its number
    # longer than this (its segments / the number's rate: 1 s for a segment at 1 segment/s);
    # else the invocation idles until their slot. 15 (beyond any message): never, as before.
    sender_max_idle_seconds: float
    # The Messaging Service every pool number is a sender of (issue 13); None: plain numbers.
    twilio_messaging_service_sid: str | None
    # A service that sends inbound SMS to its own URL is set to defer to the numbers' (else refused).
    configure_service_inbound: bool
    # US local numbers are bought only while the service has an approved A2P 10DLC campaign.
    require_a2p_campaign: bool
    # Failures meaning "this phone cannot get SMS" (30003, 30005, 30006) before it is unreachable.
    phone_failure_threshold: int
    # T-Mobile's daily cap on the brand's segments and MMS (core/tmobile_cap.py); None: from the brand's tier.
    tmobile_daily_segments: int | None
    # Twilio answers HELP itself on long codes; the bridge answers only when this says it does not.
    twilio_answers_help: bool
    # How long a secret read from SSM is used before it is read again (a rotation's delay).
    secrets_max_age_seconds: int
    limits: LimitSettings
    pool: PoolSettings
    metrics: MetricSettings
    verification: VerificationSettings
    media: MediaSettings
    queues: QueueNames
    lookup: LookupSettings

    def webhook_url(self, path: str) -> str:
        """The URL Twilio calls (and signs) for a webhook path."""
        return self.twilio_webhook_base_url.rstrip("/") + path


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Every setting, read from `env` (the process environment by default) at once."""
    env = os.environ if env is None else env
    public_base_url = env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    prefix = env.get("RESOURCE_PREFIX", DEFAULT_PREFIX)
    return Settings(
        stage=env.get("STAGE", "dev"),
        resource_prefix=prefix,
        public_base_url=public_base_url,
        twilio_webhook_base_url=env.get("TWILIO_WEBHOOK_BASE_URL") or public_base_url,
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
        twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
        chat_webhook_url=env.get("CHAT_WEBHOOK_URL") or None,
        session_ttl_seconds=_int(env, "SESSION_TTL_SECONDS", 12 * 3600),
        sender_prefix_template=env.get("SENDER_PREFIX_TEMPLATE", "{name}: "),
        code_ttl_seconds=_int(env, "VERIFICATION_CODE_TTL_SECONDS", 600),
        default_segments_per_second=_float(env, "DEFAULT_SEGMENTS_PER_SECOND", 1.0),
        message_validity_seconds=_int(env, "MESSAGE_VALIDITY_SECONDS", 4 * 3600),
        message_retention_days=_int(env, "MESSAGE_RETENTION_DAYS", 90),
        default_country=env.get("DEFAULT_COUNTRY", "US"),
        sender_max_wait_seconds=_float(env, "SENDER_MAX_WAIT_SECONDS", 15.0),
        sender_max_idle_seconds=_float(env, "SENDER_MAX_IDLE_SECONDS", 0.5),
        twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID", "").strip() or None,
        configure_service_inbound=_bool(env, "TWILIO_SERVICE_CONFIGURE_INBOUND", True),
        require_a2p_campaign=_bool(env, "REQUIRE_A2P_CAMPAIGN", True),
        phone_failure_threshold=max(1, _int(env, "PHONE_FAILURE_THRESHOLD", 3)),
        tmobile_daily_segments=int(env.get("TMOBILE_DAILY_SEGMENTS") or 0) or None,
        twilio_answers_help=_bool(env, "TWILIO_ANSWERS_HELP", True),
        secrets_max_age_seconds=_int(env, "SECRETS_MAX_AGE_SECONDS", 300),
        limits=_limits(env),
        pool=_pool(env),
        metrics=MetricSettings(
            namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
            stage=env.get("STAGE", "dev"),
        ),
        verification=_verification(env),
        media=_media(env, prefix),
        queues=QueueNames(*(_queue_name(env, prefix, kind) for kind in QUEUE_KINDS)),
        lookup=_lookup(env),
    )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(env.get(name, default))


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return float(env.get(name) or default)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def resource_prefix() -> str:
    """The prefix of every table and queue name of the stage (store/models.py reads it as a
    table is used: PynamoDB's table names are class attributes, not part of a snapshot)."""
    return os.environ.get("RESOURCE_PREFIX", DEFAULT_PREFIX)


def aws_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def _queue_name(env: Mapping[str, str], prefix: str, kind: str) -> str:
    """kind: outbound (FIFO), delivery, requests, requests-dlq; `<KIND>_QUEUE` overrides."""
    override = env.get(f"{kind.upper().replace('-', '_')}_QUEUE")
    if override:
        return override
    suffix = ".fifo" if kind == "outbound" else ""
    return f"{prefix}{kind}{suffix}"


def _limits(env: Mapping[str, str]) -> LimitSettings:
    campaign_rate = _float(env, "CAMPAIGN_SEGMENTS_PER_SECOND", 0.0)
    return LimitSettings(
        burst_seconds=_float(env, "LIMITER_BURST_SECONDS", 0.0),
        campaign_id=(env.get("CAMPAIGN_ID") or "default") if campaign_rate > 0 else None,
        campaign_segments_per_second=campaign_rate if campaign_rate > 0 else None,
    )


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


def _pool(env: Mapping[str, str]) -> PoolSettings:
    overrides = {field: parse(env[name]) for name, (field, parse) in _POLICY_FIELDS.items() if name in env}
    policy = Policy(**overrides)
    segment_defaults = Prices(policy.number_month_usd)
    prices = dataclasses.replace(
        segment_defaults,
        segment_out_usd=_float(env, "PRICE_SEGMENT_OUT_USD", segment_defaults.segment_out_usd),
        segment_in_usd=_float(env, "PRICE_SEGMENT_IN_USD", segment_defaults.segment_in_usd),
        mms_out_usd=_float(env, "PRICE_MMS_OUT_USD", segment_defaults.mms_out_usd),
        mms_in_usd=_float(env, "PRICE_MMS_IN_USD", segment_defaults.mms_in_usd),
    )
    dry_run = env.get("POOL_DRY_RUN", "false").strip().lower() in ("1", "true", "yes", "on")
    return PoolSettings(policy=policy, prices=prices, dry_run=dry_run)


def secret_source(name: str) -> tuple[str | None, str | None]:
    """(the secret's value from the environment, or the SSM parameter that
    `<name>_PARAM` names); adapters/secrets.py reads the parameter."""
    return os.environ.get(name) or None, os.environ.get(f"{name}_PARAM") or None


def _verification(env: Mapping[str, str]) -> VerificationSettings:
    countries = env.get("ALLOWED_COUNTRIES", "US,CA")
    return VerificationSettings(
        phone_min_interval_seconds=_int(env, "VERIFY_PHONE_MIN_INTERVAL_SECONDS", 30),
        phone_max_per_hour=_int(env, "VERIFY_PHONE_MAX_PER_HOUR", 5),
        user_max_per_hour=_int(env, "VERIFY_USER_MAX_PER_HOUR", 10),
        global_max_per_hour=_int(env, "VERIFY_GLOBAL_MAX_PER_HOUR", 1000),
        global_alarm_fraction=_float(env, "VERIFY_GLOBAL_ALARM_FRACTION", 0.8),
        max_tries=_int(env, "VERIFICATION_CODE_MAX_TRIES", 5),
        tries_window_seconds=_int(env, "VERIFY_TRIES_WINDOW_SECONDS", 3600),
        allowed_countries=frozenset(c.strip().upper() for c in countries.split(",") if c.strip()),
    )


MEDIA_RETENTION_DAYS_DEFAULT = 30
_SIGV4_MAX_SECONDS = 7 * 86400


def _media(env: Mapping[str, str], prefix: str) -> MediaSettings:
    return MediaSettings(
        bucket=env.get("MEDIA_BUCKET") or f"{prefix}media",
        retention_days=_int(env, "MEDIA_RETENTION_DAYS", MEDIA_RETENTION_DAYS_DEFAULT),
        upload_ttl_seconds=_int(env, "MEDIA_UPLOAD_TTL_SECONDS", 900),
        url_ttl_seconds=min(_int(env, "MEDIA_URL_TTL_SECONDS", _SIGV4_MAX_SECONDS), _SIGV4_MAX_SECONDS),
        send_ttl_seconds=_int(env, "MEDIA_SEND_TTL_SECONDS", 3600),
        link_ttl_seconds=min(_int(env, "MEDIA_LINK_TTL_SECONDS", 86400), _SIGV4_MAX_SECONDS),
        copy_seconds=_float(env, "MEDIA_COPY_SECONDS", 8.0),
    )


def _lookup(env: Mapping[str, str]) -> LookupSettings:
    fields = tuple(f.strip() for f in env.get("TWILIO_LOOKUP_FIELDS", "").split(",") if f.strip())
    unknown = [f for f in fields if f not in line_types.FIELDS]
    if unknown:
        raise RuntimeError(
            f"configuration: TWILIO_LOOKUP_FIELDS may name {', '.join(line_types.FIELDS)}, not {', '.join(unknown)}"
        )
    on_failure = env.get("TWILIO_LOOKUP_ON_FAILURE", "open").strip().lower() or "open"
    if on_failure not in ("open", "closed"):
        raise RuntimeError(f"configuration: TWILIO_LOOKUP_ON_FAILURE must be 'open' or 'closed', not {on_failure!r}")
    return LookupSettings(
        fields=tuple(dict.fromkeys(fields)),
        admit_voip=_bool(env, "TWILIO_LOOKUP_ADMIT_VOIP", False),
        max_pumping_risk=_int(env, "TWILIO_LOOKUP_MAX_PUMPING_RISK", line_types.DEFAULT_MAX_PUMPING_RISK),
        max_age_seconds=_int(env, "TWILIO_LOOKUP_MAX_AGE_SECONDS", 30 * 86400),
        fail_closed=on_failure == "closed",
    )
