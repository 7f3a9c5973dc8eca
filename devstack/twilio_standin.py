"""A local stand-in for Twilio's 2010 REST API, with a phone simulator page.

It speaks the operations sms-bridge uses of the 2010 API and of the Messaging API v1 (see
twilio_oai/README.md) for one account, checks
HTTP basic auth, validates every request against Twilio's OpenAPI description
(devstack.twilio_spec), builds Twilio-shaped answers from what it was asked, sends signed
status callbacks (sent, then delivered) and signed inbound-SMS webhooks, and can be told to
misbehave (429, 5xx, slow answers) through a JSON control API under /_standin/.

Run it alone:
    TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... STANDIN_PORT=8010 \\
        .venv/bin/python -m devstack.twilio_standin
then open http://127.0.0.1:8010/ for the phone simulator.

In tests:
    server = serve(port=0, account_sid=..., auth_token=..., callback_delay=0)
    client = twilio.rest.Client(sid, token, http_client=StandinHttpClient(server.url))
    ...
    server.shutdown()

Control API (JSON in and out; errors as {"error": {"code", "message"}}):
    GET    /_standin/overview                 everything the page shows
    POST   /_standin/numbers                  {"phone_number"? | "area_code"?, "sms_url"?,
                                               "status_callback"?, "friendly_name"?} -> 201
    GET    /_standin/numbers                  {"numbers": [IncomingPhoneNumber JSON]}
    PUT    /_standin/area_codes/<code>        {"available": false}  (searches answer empty)
    POST   /_standin/faults                   {"operation"?: "CreateMessage"|"*", "status"?:
                                               429|500|503, "delay_ms"?, "count"?, "rate"?,
                                               "applied"?} -> 201
    GET    /_standin/faults, DELETE /_standin/faults
    GET    /_standin/phones                   {"phones": [{"phone", "opted_out", "thread"}]}
    PUT    /_standin/phones/<phone>           {"opted_out"?: bool, "unreachable"?: bool}
    POST   /_standin/phones/<phone>/send      {"to": pool_number, "body": "...",
                                               "media"?: [{"content_type", "data_base64"}]}
    GET    /_standin/media/<message>/<media>  a message's picture, for the phone page
    GET    /_standin/messages                 {"messages": [Message JSON]} (all, oldest first)
    GET    /_standin/requests, DELETE ...     Twilio API requests received
    GET    /_standin/callbacks                status callbacks and webhooks sent
    POST   /_standin/reset                    forget everything (config stays)
    GET    /_standin/services                 {"services": [Service JSON + "phone_numbers",
                                               "campaign", "advanced_opt_out"]}
    POST   /_standin/services                 {"friendly_name"?, "inbound_request_url"?,
                                               "use_inbound_webhook_on_number"?,
                                               "advanced_opt_out"?, "numbers"?: [E.164],
                                               "campaign_status"?, "rate_limits"?} -> 201
    PUT    /_standin/services/<MG sid>        {"add_numbers"?, "advanced_opt_out"?,
                                               "campaign_status"? (null removes it),
                                               "rate_limits"?}
    PUT    /_standin/a2p                      {"required": bool}  (A2P 10DLC enforcement)

Messaging API v1 (host messaging.twilio.com, rebased like api.twilio.com: paths under /v1/):
Services create/list/fetch/update, a service's PhoneNumbers (its sender pool) add/list/fetch/
remove, and its Compliance/Usa2p campaign list/fetch (read only: tests set it with
state.set_campaign). Test helpers on StandinState: add_service, add_to_service,
remove_from_service, service_of, set_campaign, clear_campaign, inbound_webhook.

Options (create_app/serve keyword, or environment for a stand-in run alone):
    require_a2p / STANDIN_REQUIRE_A2P=1   a US long code outside the sender pool of a service
        with a VERIFIED campaign has its US-bound messages accepted (201 queued), then
        undelivered with ErrorCode 30034 through the status callback, as Twilio does.
    opt_out_type / STANDIN_OPT_OUT_TYPE   "always" (default: OptOutType on every keyword
        webhook) or "advanced" (only for numbers in a service with advanced_opt_out).
"""

from __future__ import annotations

import base64
import dataclasses
import heapq
import hmac
import itertools
import logging
import math
import os
import random
import re
import signal
import threading
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import phonenumbers
import requests
from flask import Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from phonenumbers import geocoder
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.serving import WSGIRequestHandler, make_server

from devstack import standin_media
from devstack.twilio_spec import TwilioSpecError, match_operation, validate_request

log = logging.getLogger("devstack.twilio_standin")

API_VERSION = "2010-04-01"
ACCOUNT_PREFIX = f"/{API_VERSION}/Accounts"
DEV_ACCOUNT_SID = "AC" + "5eed" * 8
DEV_AUTH_TOKEN = "standin-dev-auth-token"
STATIC_DIR = Path(__file__).resolve().parent / "static"
OUTBOUND_HTTP_TIMEOUT = 10  # seconds, for webhooks and status callbacks we send

# Twilio's default keyword handling (Advanced Opt-Out off): whole-message, case-insensitive.
OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN_KEYWORDS = {"START", "YES", "UNSTOP"}
HELP_KEYWORDS = {"HELP", "INFO"}
STOP_AUTO_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more "
    "messages from this number. Reply START to resubscribe."
)
START_AUTO_REPLY = (
    "You have successfully been re-subscribed to messages from this number. "
    "Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
HELP_AUTO_REPLY = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."
# When the inbound webhook carries OptOutType: "always" (every keyword, the stand-in's
# historical behaviour) or "advanced" (as Twilio: only for a number in a Messaging Service
# with Advanced Opt-Out on). STANDIN_OPT_OUT_TYPE sets it for a stand-in run alone.
OPT_OUT_TYPE_MODES = ("always", "advanced")

MESSAGING_BASE_URL = "https://messaging.twilio.com"
# US A2P 10DLC: traffic to these regions from a US long code must come from a number in the
# sender pool of a Messaging Service whose campaign is VERIFIED (Twilio's FAQ on unregistered
# 10DLC messaging: US, PR, VI, Guam, American Samoa).
US_BOUND_REGIONS = {"US", "PR", "VI", "GU", "AS"}
CAMPAIGN_STATUSES = ("VERIFIED", "PENDING", "IN_PROGRESS", "FAILED")

# Twilio error codes the stand-in answers with (https://www.twilio.com/docs/api/errors).
ERR_AUTHENTICATE = 20003
ERR_NOT_FOUND = 20404
ERR_TOO_MANY_REQUESTS = 20429
ERR_INTERNAL = 20500
ERR_UNAVAILABLE = 20503
ERR_INVALID_TO = 21211
ERR_PHONE_NUMBER_INVALID = 21421
ERR_PHONE_NUMBER_UNAVAILABLE = 21422
ERR_NO_NUMBERS_IN_AREA_CODE = 21452
ERR_FROM_NOT_OWNED = 21606
ERR_UNSUBSCRIBED = 21610
ERR_MESSAGING_SERVICE = 21701  # the Messaging Service does not exist
# the sender is not in the named Messaging Service (Twilio's error page lists 21711 at WARNING
# level; the stand-in refuses the message with it, a stricter reading)
ERR_NOT_IN_SERVICE = 21711
ERR_IN_ANOTHER_SERVICE = 21712  # number already in another Messaging Service
ERR_NOT_MESSAGING_CAPABLE = 21715  # number without SMS/MMS cannot join a service
ERR_UNREACHABLE = 30003
ERR_A2P_UNREGISTERED = 30034  # US A2P 10DLC - message from an unregistered number
# A Messaging Service with no sender in its pool to send from. UNVERIFIED: this code was not
# found in Twilio's error pages when the stand-in learnt Messaging Services; check it before
# the app relies on it.
ERR_SERVICE_HAS_NO_SENDER = 21704
FAULT_CODES = {429: ERR_TOO_MANY_REQUESTS, 500: ERR_INTERNAL, 503: ERR_UNAVAILABLE}
FAULT_MESSAGES = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}

# Area codes searched when a US/CA search names none.
DEFAULT_AREA_CODES = {"US": ("415", "510", "650", "212", "312", "617"), "CA": ("416", "604")}


# ---------------------------------------------------------------------------------------------
# Small pure helpers


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def iso8601(moment: datetime | None) -> str | None:
    """The Messaging API v1's date format: '2015-07-30T20:12:31Z'."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format: 'Thu, 24 Aug 2023 05:01:45 +0000'."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def parse_e164(text: str | None, default_region: str | None = None) -> str | None:
    """The E.164 form of a valid phone number, or None."""
    if not text:
        return None
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
SMART_ENCODING = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "\u00a0": " ",
    }
)


def count_segments(body: str) -> int:
    """SMS segments Twilio bills for a body: GSM-7 160/153, else UCS-2 70/67 (UTF-16 units).
    Kept independent of chalicelib on purpose: the stand-in is a second opinion."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def _datetime_filter(value: str) -> tuple[datetime, bool]:
    """A DateSent filter value -> (moment, has_time). Twilio takes YYYY-MM-DD; twilio-python
    sends YYYY-MM-DDTHH:MM:SSZ."""
    if "T" in value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC), True
    return datetime.fromisoformat(value).replace(tzinfo=UTC), False


# ---------------------------------------------------------------------------------------------
# Resources


@dataclasses.dataclass
class Message:
    sid: str
    direction: str  # inbound | outbound-api | outbound-reply
    from_: str
    to: str
    body: str
    status: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    num_segments: int = 1
    media_urls: tuple = ()
    media: list = dataclasses.field(default_factory=list)  # standin_media.StoredMedia
    phone_media: list = dataclasses.field(default_factory=list)  # the phone's own copy: never deleted

    def __post_init__(self) -> None:
        self.phone_media = list(self.media)

    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    status_callback: str | None = None
    auto_reply: bool = False  # Twilio's own STOP/START/HELP confirmation
    messaging_service_sid: str | None = None

    def to_twilio(self, account_sid: str) -> dict:
        uri = f"{ACCOUNT_PREFIX}/{account_sid}/Messages/{self.sid}"
        return {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls) or len(self.media)),
            "num_segments": str(self.num_segments),
            "price": self.price,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclasses.dataclass
class IncomingNumber:
    sid: str
    phone_number: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    sms_url: str | None = None
    sms_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    voice_url: str | None = None
    sms_capable: bool = True  # False: a voice-only number (cannot send, cannot join a service)
    mms_capable: bool | None = None  # None: as sms_capable (False: an SMS-only number)

    def to_twilio(self, account_sid: str) -> dict:
        return {
            "account_sid": account_sid,
            "address_requirements": "none",
            "address_sid": None,
            "api_version": API_VERSION,
            "beta": False,
            "bundle_sid": None,
            "capabilities": {
                "voice": True,
                "sms": self.sms_capable,
                "mms": self.sms_capable if self.mms_capable is None else self.mms_capable,
                "fax": False,
            },
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "emergency_status": "Inactive",
            "friendly_name": self.friendly_name,
            "identity_sid": None,
            "origin": "twilio",
            "phone_number": self.phone_number,
            "sid": self.sid,
            "sms_application_sid": None,
            "sms_fallback_method": "POST",
            "sms_fallback_url": None,
            "sms_method": self.sms_method,
            "sms_url": self.sms_url,
            "status": "in-use",
            "status_callback": self.status_callback,
            "status_callback_method": self.status_callback_method,
            "trunk_sid": None,
            "type": "local",
            "uri": f"{ACCOUNT_PREFIX}/{account_sid}/IncomingPhoneNumbers/{self.sid}.json",
            "voice_application_sid": None,
            "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST",
            "voice_fallback_url": None,
            "voice_method": "POST",
            "voice_receive_mode": "voice",
            "voice_url": self.voice_url,
        }


@dataclasses.dataclass
class Campaign:
    """A Messaging Service's US A2P 10DLC campaign (Twilio's UsAppToPerson resource), as the
    bridge reads it: set by tests through StandinState.set_campaign, never created by the API."""

    sid: str
    brand_registration_sid: str
    campaign_status: str  # VERIFIED | PENDING | IN_PROGRESS | FAILED
    rate_limits: dict | None
    date_created: datetime
    date_updated: datetime
    us_app_to_person_usecase: str = "MIXED"
    description: str = "Relays a chat product's conversations to the SMS of its participants."
    campaign_id: str = "CSTANDIN"
    errors: list = dataclasses.field(default_factory=list)

    def to_twilio(self, account_sid: str, service_sid: str) -> dict:
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "brand_registration_sid": self.brand_registration_sid,
            "messaging_service_sid": service_sid,
            "description": self.description,
            "message_samples": [
                "Alice: are we still on for 6pm? Reply to answer Alice.",
                "Bob: the keys are under the mat. Reply STOP to opt out.",
            ],
            "us_app_to_person_usecase": self.us_app_to_person_usecase,
            "has_embedded_links": False,
            "has_embedded_phone": False,
            "subscriber_opt_in": True,
            "age_gated": False,
            "direct_lending": False,
            "campaign_status": self.campaign_status,
            "campaign_id": self.campaign_id,
            "is_externally_registered": False,
            "rate_limits": self.rate_limits,
            "message_flow": "Participants give their number in the chat product and confirm.",
            "opt_in_message": None,
            "opt_out_message": None,
            "help_message": None,
            "opt_in_keywords": None,
            "opt_out_keywords": None,
            "help_keywords": None,
            "date_created": iso8601(self.date_created),
            "date_updated": iso8601(self.date_updated),
            "url": f"{MESSAGING_BASE_URL}/v1/Services/{service_sid}/Compliance/Usa2p/{self.sid}",
            "mock": False,
            "errors": list(self.errors),
        }


# The AT&T / T-Mobile shape Twilio documents for rate_limits (the spec leaves it open).
DEFAULT_RATE_LIMITS = {"att": {"mps": 600, "msg_class": "A"}, "tmobile": {"brand_tier": "TOP"}}


@dataclasses.dataclass
class MessagingService:
    sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    inbound_request_url: str | None = None
    inbound_method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    sticky_sender: bool = True
    mms_converter: bool = True
    smart_encoding: bool = True
    scan_message_content: str = "inherit"
    fallback_to_long_code: bool = True
    area_code_geomatch: bool = True
    synchronous_validation: bool = False
    validity_period: int = 36000  # Twilio's default, per the spec's ValidityPeriod
    usecase: str = "undeclared"
    use_inbound_webhook_on_number: bool = False
    # Not in Twilio's API (set in the Console): Advanced Opt-Out on this service.
    advanced_opt_out: bool = False
    # the sender pool: IncomingPhoneNumber sid -> when it joined
    senders: dict = dataclasses.field(default_factory=dict)
    campaign: Campaign | None = None

    @property
    def a2p_verified(self) -> bool:
        return self.campaign is not None and self.campaign.campaign_status == "VERIFIED"

    def to_twilio(self, account_sid: str) -> dict:
        url = f"{MESSAGING_BASE_URL}/v1/Services/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "friendly_name": self.friendly_name,
            "date_created": iso8601(self.date_created),
            "date_updated": iso8601(self.date_updated),
            "inbound_request_url": self.inbound_request_url,
            "inbound_method": self.inbound_method,
            "fallback_url": self.fallback_url,
            "fallback_method": self.fallback_method,
            "status_callback": self.status_callback,
            "sticky_sender": self.sticky_sender,
            "mms_converter": self.mms_converter,
            "smart_encoding": self.smart_encoding,
            "scan_message_content": self.scan_message_content,
            "fallback_to_long_code": self.fallback_to_long_code,
            "area_code_geomatch": self.area_code_geomatch,
            "synchronous_validation": self.synchronous_validation,
            "validity_period": self.validity_period,
            "url": url,
            "links": {
                "phone_numbers": f"{url}/PhoneNumbers",
                "short_codes": f"{url}/ShortCodes",
                "alpha_senders": f"{url}/AlphaSenders",
                "messages": f"{url}/Messages",
                "us_app_to_person": f"{url}/Compliance/Usa2p",
                "us_app_to_person_usecases": f"{url}/Compliance/Usa2p/Usecases",
                "channel_senders": f"{url}/ChannelSenders",
            },
            "usecase": self.usecase,
            "us_app_to_person_registered": self.a2p_verified,
            "use_inbound_webhook_on_number": self.use_inbound_webhook_on_number,
        }


def service_phone_number(account_sid: str, service: MessagingService, number: IncomingNumber) -> dict:
    """A sender-pool member as the Messaging API answers it."""
    joined = service.senders[number.sid]
    return {
        "sid": number.sid,
        "account_sid": account_sid,
        "service_sid": service.sid,
        "date_created": iso8601(joined),
        "date_updated": iso8601(joined),
        "phone_number": number.phone_number,
        "country_code": _country(number.phone_number),
        "capabilities": ["MMS", "SMS", "Voice"] if number.sms_capable else ["Voice"],
        "url": f"{MESSAGING_BASE_URL}/v1/Services/{service.sid}/PhoneNumbers/{number.sid}",
    }


class StandinError(Exception):
    """A Twilio error answer (HTTP status, Twilio code, message), raised by state methods that
    both the API and the test helpers use."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def is_us_long_code(e164: str) -> bool:
    """A US 10-digit long code (A2P 10DLC applies): +1, US, not toll-free."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return False
    return (
        parsed.country_code == 1
        and phonenumbers.region_code_for_number(parsed) == "US"
        and phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.TOLL_FREE
    )


def national_format(e164: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)


def describe_number(e164: str) -> dict:
    """Twilio's AvailablePhoneNumber fields for a number (geography from phonenumbers)."""
    parsed = phonenumbers.parse(e164)
    place = geocoder.description_for_number(parsed, "en") or ""
    locality: str | None
    region: str | None
    locality, _, region = place.rpartition(", ")
    if not locality:  # e.g. "California": a state only
        locality, region = None, place or None
    return {
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "friendly_name": national_format(e164),
        "iso_country": phonenumbers.region_code_for_number(parsed),
        "lata": None,
        "latitude": None,
        "locality": locality,
        "longitude": None,
        "phone_number": e164,
        "postal_code": None,
        "rate_center": locality.upper() if locality else None,
        "region": region,
    }


def candidate_numbers(country: str, area_code: str | None = None) -> list[str]:
    """Valid local numbers the stand-in 'has in stock' for a country (and area code).

    North America: the fictional 555-0100..0199 block of each area code (valid for
    phonenumbers, reserved for fiction so nobody real gets texted from a demo). Elsewhere:
    phonenumbers' example fixed-line number with its last two digits varied."""
    country = country.upper()
    found = []
    if country in ("US", "CA"):
        area_codes = (area_code,) if area_code else DEFAULT_AREA_CODES[country]
        texts = [f"+1{code}55501{n:02d}" for code in area_codes for n in range(100)]
    else:
        if area_code:
            return []  # Twilio's AreaCode filter applies to US/CA only
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.FIXED_LINE)
        if example is None:
            return []
        national = str(example.national_number)
        texts = [f"+{example.country_code}{national[:-2]}{n:02d}" for n in range(100)]
    for text in texts:
        e164 = parse_e164(text)
        if e164 and phonenumbers.region_code_for_number(phonenumbers.parse(e164)) == country:
            found.append(e164)
    return found


def _contains_pattern(contains: str) -> re.Pattern:
    """Twilio's Contains filter: digits, '*' for any digit, letters as on a phone keypad."""
    keypad = {
        c: d
        for d, letters in {
            "2": "ABC",
            "3": "DEF",
            "4": "GHI",
            "5": "JKL",
            "6": "MNO",
            "7": "PQRS",
            "8": "TUV",
            "9": "WXYZ",
        }.items()
        for c in letters
    }
    parts = []
    for char in contains.upper():
        if char == "*":
            parts.append(r"\d")
        elif char.isdigit():
            parts.append(char)
        elif char in keypad:
            parts.append(keypad[char])
        # anything else ('+', spaces) is ignored, as Twilio does
    return re.compile("".join(parts))


# ---------------------------------------------------------------------------------------------
# State


@dataclasses.dataclass
class Fault:
    """A misbehaviour to apply to matching Twilio API calls (after auth and validation)."""

    operation: str = "CreateMessage"  # Twilio operationId, or "*" for every call
    status: int | None = None  # 429 | 500 | 503; None = answer normally (after delay)
    delay_ms: int = 0
    count: int | None = 1  # calls left; None = until cleared (with `rate`)
    rate: float | None = None  # probability per call instead of a count
    applied: bool = False  # do the operation, then answer the fault (lost answer)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


class _Scheduler:
    """One background thread running callables at due times, in due order."""

    def __init__(self):
        self._cond = threading.Condition()
        self._heap: list = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), fn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="standin-callbacks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        break
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # a broken callback target must not stop the stand-in
                log.exception("scheduled callback failed")

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StandinState:
    """Everything the stand-in knows. Every change notifies `changed`, so tests can
    `wait_for(predicate)` instead of sleeping."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        callback_delay: float = 0.2,
        queue_depth: Callable[[], int | None] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        keyword_auto_replies: bool = True,
        seed: int = 0,
        require_a2p: bool = False,
        opt_out_type: str = "always",
    ):
        if opt_out_type not in OPT_OUT_TYPE_MODES:
            raise ValueError(f"opt_out_type must be one of {OPT_OUT_TYPE_MODES}")
        self.account_sid = account_sid
        # A2P 10DLC enforcement: a US long code outside a VERIFIED campaign's sender pool gets
        # its US-bound messages accepted, then failed with 30034.
        self.require_a2p = require_a2p
        self.opt_out_type = opt_out_type
        self.auth_token = auth_token
        self.callback_delay = callback_delay
        self.queue_depth = queue_depth
        self.clock = clock
        self.keyword_auto_replies = keyword_auto_replies
        self.validator = RequestValidator(auth_token)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.scheduler = _Scheduler()
        self._random = random.Random(seed)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.numbers: dict[str, IncomingNumber] = {}  # by sid
            self.services: dict[str, MessagingService] = {}  # by sid, oldest first
            self.messages: dict[str, Message] = {}  # by sid, oldest first
            self.ever_owned: set[str] = set()  # pool numbers, for the page
            self.extra_phones: list[str] = []  # phones added on the page
            self.opted_out: set[str] = set()
            self.unreachable: set[str] = set()
            self.unavailable_area_codes: set[str] = set()
            self.faults: list[Fault] = []
            self.requests: list[dict] = []
            self.callbacks: list[dict] = []
            self.version = 0
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Block until predicate() (called under the lock) is truthy; return its value, or
        raise TimeoutError."""
        with self.changed:
            result = self.changed.wait_for(predicate, timeout)
        if not result:
            raise TimeoutError(f"stand-in state never satisfied {predicate!r} in {timeout}s")
        return result

    def close(self) -> None:
        self.scheduler.stop()

    # -- numbers --------------------------------------------------------------------------

    def number_by_phone(self, phone: str) -> IncomingNumber | None:
        with self.lock:
            return next((n for n in self.numbers.values() if n.phone_number == phone), None)

    def available_numbers(self, country: str, area_code: str | None = None) -> list[str]:
        """Numbers a search or a purchase can get: in stock, not owned, area code not
        marked unavailable."""
        with self.lock:
            owned = {n.phone_number for n in self.numbers.values()}
        return [
            n
            for n in candidate_numbers(country, area_code)
            if n not in owned and _area_code(n) not in self.unavailable_area_codes
        ]

    def add_number(
        self,
        phone_number: str,
        *,
        sms_url=None,
        sms_method="POST",
        status_callback=None,
        status_callback_method="POST",
        friendly_name=None,
        voice_url=None,
        sms_capable=True,
        mms_capable=None,
    ) -> IncomingNumber:
        now = self.clock()
        number = IncomingNumber(
            sid=new_sid("PN"),
            phone_number=phone_number,
            friendly_name=friendly_name or national_format(phone_number),
            date_created=now,
            date_updated=now,
            sms_url=sms_url,
            sms_method=sms_method,
            status_callback=status_callback,
            status_callback_method=status_callback_method,
            voice_url=voice_url,
            sms_capable=sms_capable,
            mms_capable=mms_capable,
        )
        with self.lock:
            self.numbers[number.sid] = number
            self.ever_owned.add(phone_number)
            self._changed()
        return number

    def remove_number(self, sid: str) -> IncomingNumber | None:
        """Release a number: it also leaves its Messaging Service's sender pool, as on Twilio."""
        with self.lock:
            number = self.numbers.pop(sid, None)
            if number is not None:
                for service in self.services.values():
                    service.senders.pop(sid, None)
                self._changed()
            return number

    # -- Messaging Services ---------------------------------------------------------------

    def add_service(self, friendly_name: str = "sms-bridge", **fields) -> MessagingService:
        """A new Messaging Service (fields: MessagingService attributes, e.g.
        inbound_request_url, use_inbound_webhook_on_number, advanced_opt_out)."""
        now = self.clock()
        service = MessagingService(
            sid=new_sid("MG"), friendly_name=friendly_name, date_created=now, date_updated=now, **fields
        )
        with self.lock:
            self.services[service.sid] = service
            self._changed()
        return service

    def service(self, sid: str) -> MessagingService:
        with self.lock:
            service = self.services.get(sid)
        if service is None:
            raise StandinError(404, ERR_NOT_FOUND, f"The requested resource /v1/Services/{sid} was not found")
        return service

    def _number(self, phone_or_sid: str) -> IncomingNumber | None:
        with self.lock:
            return self.numbers.get(phone_or_sid) or self.number_by_phone(phone_or_sid)

    def add_to_service(self, service_sid: str, phone_or_sid: str) -> IncomingNumber:
        """Put an owned number (E.164 or PN sid) in a service's sender pool, with Twilio's
        errors: 404/20404 unknown service or a number the account does not own, 400/21712
        already in another service, 400/21715 not SMS/MMS-capable. Adding it to the service it
        is already in changes nothing."""
        with self.lock:
            service = self.service(service_sid)
            number = self._number(phone_or_sid)
            if number is None:
                raise StandinError(404, ERR_NOT_FOUND, f"The requested resource {phone_or_sid} was not found")
            other = self.service_of(number.phone_number)
            if other is not None and other.sid != service.sid:
                raise StandinError(
                    400,
                    ERR_IN_ANOTHER_SERVICE,
                    f"Phone Number or Short Code is associated with another Messaging Service ({other.sid}).",
                )
            if not number.sms_capable:
                raise StandinError(
                    400,
                    ERR_NOT_MESSAGING_CAPABLE,
                    "Phone Number Does Not Have Correct Messaging Service Capabilities (SMS or MMS).",
                )
            service.senders.setdefault(number.sid, self.clock())
            self._changed()
            return number

    def remove_from_service(self, service_sid: str, number_sid: str) -> None:
        with self.lock:
            service = self.service(service_sid)
            if service.senders.pop(number_sid, None) is None:
                raise StandinError(
                    404,
                    ERR_NOT_FOUND,
                    f"The requested resource /v1/Services/{service_sid}/PhoneNumbers/{number_sid} was not found",
                )
            self._changed()

    def service_of(self, phone_number: str) -> MessagingService | None:
        """The Messaging Service whose sender pool holds this number, if any."""
        with self.lock:
            number = self.number_by_phone(phone_number)
            if number is None:
                return None
            return next((s for s in self.services.values() if number.sid in s.senders), None)

    def set_campaign(
        self, service_sid: str, campaign_status: str = "VERIFIED", rate_limits: dict | None = None, **fields
    ) -> Campaign:
        """Give a service its US A2P 10DLC campaign, or change its status (VERIFIED, PENDING,
        IN_PROGRESS, FAILED) and rate_limits (default: Twilio's AT&T/T-Mobile shape)."""
        if campaign_status not in CAMPAIGN_STATUSES:
            raise ValueError(f"campaign_status must be one of {CAMPAIGN_STATUSES}")
        now = self.clock()
        with self.lock:
            service = self.service(service_sid)
            if service.campaign is None:
                service.campaign = Campaign(
                    sid=new_sid("QE"),
                    brand_registration_sid=new_sid("BN"),
                    campaign_status=campaign_status,
                    rate_limits=DEFAULT_RATE_LIMITS if rate_limits is None else rate_limits,
                    date_created=now,
                    date_updated=now,
                    **fields,
                )
            else:
                service.campaign.campaign_status = campaign_status
                if rate_limits is not None:
                    service.campaign.rate_limits = rate_limits
                for key, value in fields.items():
                    setattr(service.campaign, key, value)
                service.campaign.date_updated = now
            self._changed()
            return service.campaign

    def clear_campaign(self, service_sid: str) -> None:
        with self.lock:
            self.service(service_sid).campaign = None
            self._changed()

    def a2p_blocks(self, message: Message) -> bool:
        """Would Twilio fail this message with 30034 (enforcement on, a US long code sending to
        the US, not in the sender pool of a service with a VERIFIED campaign)?"""
        if not self.require_a2p or message.auto_reply:
            return False
        if not is_us_long_code(message.from_) or _country(message.to) not in US_BOUND_REGIONS:
            return False
        service = self.service_of(message.from_)
        return service is None or not service.a2p_verified

    # -- messages -------------------------------------------------------------------------

    def add_message(self, **fields) -> Message:
        now = self.clock()
        fields.setdefault("date_created", now)
        fields.setdefault("date_updated", now)
        fields.setdefault("num_segments", count_segments(fields.get("body", "")))
        message = Message(sid=new_sid("SM"), **fields)
        with self.lock:
            self.messages[message.sid] = message
            self._changed()
        return message

    def start_delivery(self, message: Message) -> None:
        """queued -> sent -> delivered (or undelivered for an unreachable phone), each step
        after callback_delay, each announced to the message's StatusCallback."""

        def step(status: str) -> None:
            with self.lock:
                message.status = status
                message.date_updated = self.clock()
                if status == "sent":
                    message.date_sent = message.date_updated
                    message.price = f"-{0.0079 * message.num_segments:.5f}"
                elif status == "undelivered":
                    message.error_code = ERR_UNREACHABLE
                    message.error_message = "Unreachable destination handset"
                self._changed()
            if message.status_callback:
                self.send_status_callback(message)
            if status == "sent":
                final = "undelivered" if message.to in self.unreachable else "delivered"
                self.scheduler.call_later(self.callback_delay, lambda: step(final))

        def blocked() -> None:
            # Twilio accepted it, then the unregistered 10DLC traffic is blocked before any
            # carrier: straight from queued to undelivered with 30034, no "sent" step.
            with self.lock:
                message.status = "undelivered"
                message.date_updated = self.clock()
                message.error_code = ERR_A2P_UNREGISTERED
                message.error_message = "US A2P 10DLC - Message from an Unregistered Number"
                self._changed()
            if message.status_callback:
                self.send_status_callback(message)

        if self.a2p_blocks(message):
            self.scheduler.call_later(self.callback_delay, blocked)
        else:
            self.scheduler.call_later(self.callback_delay, lambda: step("sent"))

    def fail_media(self, message: Message, error: tuple[int, str]) -> None:
        """Twilio could not fetch the message's media: queued -> failed, told by callback."""

        def fail() -> None:
            with self.lock:
                message.status = "failed"
                message.date_updated = self.clock()
                message.error_code, message.error_message = error
                self._changed()
            if message.status_callback:
                self.send_status_callback(message)

        self.scheduler.call_later(self.callback_delay, fail)

    def send_status_callback(self, message: Message) -> None:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code:
            params["ErrorCode"] = str(message.error_code)
        if message.status_callback is None:
            raise ValueError(f"message {message.sid} has no StatusCallback to send to")
        self.post_signed("status", message.status_callback, params)

    def post_signed(self, kind: str, url: str, params: dict, method: str = "POST") -> dict:
        """Send params to url as Twilio does: form POST (or GET with a query string) with
        X-Twilio-Signature over the exact URL and the params. Returns the callback record."""
        record: dict[str, Any] = {
            "kind": kind,
            "url": url,
            "method": method,
            "params": params,
            "status": None,
            "body": None,
            "error": None,
            "at": self.clock().isoformat(),
        }
        try:
            if method == "GET":
                parts = urlsplit(url)
                query = "&".join(q for q in (parts.query, urlencode(params)) if q)
                full_url = urlunsplit(parts._replace(query=query))
                signature = self.validator.compute_signature(full_url, {})
                answer = requests.get(
                    full_url, headers={"X-Twilio-Signature": signature}, timeout=OUTBOUND_HTTP_TIMEOUT
                )
            else:
                signature = self.validator.compute_signature(url, params)
                answer = requests.post(
                    url, data=params, headers={"X-Twilio-Signature": signature}, timeout=OUTBOUND_HTTP_TIMEOUT
                )
            record["status"], record["body"] = answer.status_code, answer.text
        except requests.RequestException as error:
            record["error"] = f"{type(error).__name__}: {error}"
            log.warning("%s callback to %s failed: %s", kind, url, error)
        with self.lock:
            self.callbacks.append(record)
            self._changed()
        return record

    # -- simulated phones -----------------------------------------------------------------

    def phone_numbers_seen(self) -> list[str]:
        """Simulated phones: anyone who got or sent an SMS through the pool, plus added ones."""
        with self.lock:
            phones = []
            for message in self.messages.values():
                for number in (message.from_, message.to):
                    if number not in self.ever_owned and number not in phones:
                        phones.append(number)
            return phones + [p for p in self.extra_phones if p not in phones]

    def phone_view(self, phone: str) -> dict:
        with self.lock:
            thread = []
            for m in self.messages.values():
                if m.to == phone or m.from_ == phone:
                    thread.append(
                        {
                            "sid": m.sid,
                            "direction": "received" if m.to == phone else "sent",
                            "pool_number": m.from_ if m.to == phone else m.to,
                            "body": m.body,
                            "status": m.status,
                            "error_code": m.error_code,
                            "auto_reply": m.auto_reply,
                            "media": [
                                {
                                    "sid": medium.sid,
                                    "content_type": medium.content_type,
                                    "url": f"/_standin/media/{m.sid}/{medium.sid}",
                                }
                                for medium in m.phone_media
                            ],
                            "date_created": m.date_created.isoformat(),
                        }
                    )
            return {
                "phone": phone,
                "opted_out": phone in self.opted_out,
                "unreachable": phone in self.unreachable,
                "thread": thread,
            }

    def inbound_webhook(self, pool_number: str) -> tuple[str | None, str]:
        """(url, method) Twilio posts an inbound SMS to: the Messaging Service's
        inbound_request_url when the number is in a service that has one and does not defer to
        the number (use_inbound_webhook_on_number false); otherwise the number's SmsUrl."""
        with self.lock:
            number = self.number_by_phone(pool_number)
            service = self.service_of(pool_number)
            if service is not None and service.inbound_request_url and not service.use_inbound_webhook_on_number:
                return service.inbound_request_url, service.inbound_method
            return (number.sms_url, number.sms_method) if number else (None, "POST")

    def send_from_phone(self, phone: str, pool_number: str, body: str, media: list | None = None) -> dict:
        """A simulated phone texts a pool number: store the inbound SMS, post the signed
        webhook (to the number's SmsUrl or its Messaging Service's inbound_request_url, see
        inbound_webhook), and deliver any TwiML <Message> reply. STOP/START/HELP keywords are
        also answered by Twilio itself (keyword_auto_replies)."""
        number = self.number_by_phone(pool_number)
        if number is None:
            raise LookupError(f"{pool_number} is not a number of this account")
        keyword = body.strip().upper()
        service = self.service_of(pool_number)
        inbound = self.add_message(
            direction="inbound",
            from_=phone,
            to=pool_number,
            body=body,
            status="received",
            date_sent=self.clock(),
            media=[standin_media.new_media(kind, content) for kind, content in media or []],
            messaging_service_sid=service.sid if service else None,
        )
        with self.lock:
            if keyword in OPT_OUT_KEYWORDS:
                self.opted_out.add(phone)
            elif keyword in OPT_IN_KEYWORDS:
                self.opted_out.discard(phone)
            self._changed()

        webhook = None
        url, method = self.inbound_webhook(pool_number)
        if url:
            webhook = self.post_signed("sms", url, self._inbound_params(inbound, keyword, service), method)
        replies, blocked = [], []
        if webhook and webhook["status"] and 200 <= webhook["status"] < 300:
            for text in twiml_message_bodies(webhook["body"] or ""):
                if phone in self.opted_out:  # Twilio refuses it (21610), nothing is sent
                    blocked.append(text)
                else:
                    replies.append(self._reply(pool_number, phone, text))
        if self.keyword_auto_replies and keyword in OPT_OUT_KEYWORDS:
            replies.append(self._reply(pool_number, phone, STOP_AUTO_REPLY, auto=True))
        elif self.keyword_auto_replies and keyword in OPT_IN_KEYWORDS:
            replies.append(self._reply(pool_number, phone, START_AUTO_REPLY, auto=True))
        elif (
            self.keyword_auto_replies and keyword in HELP_KEYWORDS and phone not in self.opted_out
        ):  # an opted-out phone gets no HELP reply
            replies.append(self._reply(pool_number, phone, HELP_AUTO_REPLY, auto=True))
        return {
            "message": inbound.to_twilio(self.account_sid),
            "webhook": None
            if webhook is None
            else {
                "url": webhook["url"],
                "status": webhook["status"],
                "body": webhook["body"],
                "error": webhook["error"],
            },
            "replies": [r.to_twilio(self.account_sid) for r in replies],
            "blocked_replies": blocked,
        }

    def _reply(self, pool_number: str, phone: str, text: str, auto: bool = False) -> Message:
        reply = self.add_message(
            direction="outbound-reply", from_=pool_number, to=phone, body=text, status="queued", auto_reply=auto
        )
        self.start_delivery(reply)
        return reply

    def _inbound_params(self, inbound: Message, keyword: str, service: MessagingService | None = None) -> dict:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": inbound.body,
            "From": inbound.from_,
            "FromCountry": _country(inbound.from_),
            "MessageSid": inbound.sid,
            "NumMedia": str(len(inbound.media)),
            "NumSegments": str(inbound.num_segments),
            "SmsMessageSid": inbound.sid,
            "SmsSid": inbound.sid,
            "SmsStatus": "received",
            "To": inbound.to,
            "ToCountry": _country(inbound.to),
        }
        for index, medium in enumerate(inbound.media):
            params[f"MediaUrl{index}"] = standin_media.media_url(self.account_sid, inbound.sid, medium)
            params[f"MediaContentType{index}"] = medium.content_type
        if service is not None:
            params["MessagingServiceSid"] = service.sid
        if self.opt_out_type == "advanced" and not (service and service.advanced_opt_out):
            return params
        for keywords, opt_out_type in ((OPT_OUT_KEYWORDS, "STOP"), (OPT_IN_KEYWORDS, "START"), (HELP_KEYWORDS, "HELP")):
            if keyword in keywords:
                params["OptOutType"] = opt_out_type
        return params

    # -- faults and request log -----------------------------------------------------------

    def take_fault(self, operation_id: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.operation not in ("*", operation_id):
                    continue
                if fault.rate is not None:
                    if self._random.random() < fault.rate:
                        return fault
                    continue
                if fault.count is None or fault.count > 0:
                    if fault.count is not None:
                        fault.count -= 1
                    self.faults = [f for f in self.faults if f.count is None or f.count > 0 or f.rate is not None]
                    self._changed()
                    return fault
        return None

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)
            self._changed()

    def read_queue_depth(self) -> int | None:
        if self.queue_depth is None:
            return None
        try:
            return self.queue_depth()
        except Exception as error:  # the page must keep working when SQS is not up yet
            log.debug("queue_depth failed: %s", error)
            return None


def _area_code(e164: str) -> str | None:
    return e164[2:5] if e164.startswith("+1") else None


def _country(e164: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""
    except phonenumbers.NumberParseException:
        return ""


def twiml_message_bodies(twiml: str) -> list[str]:
    """The texts of <Message> verbs in a TwiML answer (<Message>text</Message> or
    <Message><Body>text</Body></Message>); [] for anything that is not TwiML."""
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError:
        return []
    if root.tag != "Response":
        return []
    bodies = []
    for element in root.iter("Message"):
        body_element = element.find("Body")
        text = body_element.text if body_element is not None else element.text
        if text and text.strip():
            bodies.append(text.strip())
    return bodies


# ---------------------------------------------------------------------------------------------
# Twilio REST API


def twilio_error(status: int, code: int, message: str, **extra) -> Response:
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    payload.update(extra)
    response = jsonify(payload)
    response.status_code = status
    return response


def _created(payload: dict) -> Response:
    response = jsonify(payload)
    response.status_code = 201
    return response


def _not_found(path: str) -> Response:
    return twilio_error(404, ERR_NOT_FOUND, f"The requested resource {path} was not found")


def _page(key: str, items: list[dict], args: MultiDict, path: str, filters: list[tuple[str, str]]) -> dict:
    """Twilio's paging envelope around items (already filtered, in answer order)."""
    page_size = int(args.get("PageSize", 50))
    page = int(args.get("Page", 0))
    start = page * page_size
    chunk = items[start : start + page_size]

    def uri(page_number: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
        if token:
            query.append(("PageToken", token))
        return f"{path}?{urlencode(query)}"

    has_next = start + page_size < len(items)
    return {
        key: chunk,
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if has_next else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": uri(page),
    }


def _pick_sender(state: StandinState, service: MessagingService, to: str) -> str | None:
    """The sender Twilio would pick from a service's pool: the one that last texted `to`
    (Sticky Sender), else one with the same area code (Area Code Geomatch), else the first."""
    with state.lock:
        pool = [
            state.numbers[sid].phone_number
            for sid in service.senders
            if sid in state.numbers and state.numbers[sid].sms_capable
        ]
        if not pool:
            return None
        if service.sticky_sender:
            for message in reversed(list(state.messages.values())):
                if message.to == to and message.from_ in pool:
                    return message.from_
        if service.area_code_geomatch:
            same = [n for n in pool if _area_code(n) and _area_code(n) == _area_code(to)]
            if same:
                return same[0]
        return pool[0]


def create_message(state: StandinState, params: dict, args: MultiDict, form: MultiDict):
    to, from_ = form.get("To", ""), form.get("From")
    to_e164 = parse_e164(to)
    if to_e164 is None or to_e164 != to:
        return twilio_error(400, ERR_INVALID_TO, f"The 'To' number {to} is not a valid phone number.")
    service = None
    if form.get("MessagingServiceSid"):
        service = state.services.get(form["MessagingServiceSid"])
        if service is None:
            return twilio_error(
                400,
                ERR_MESSAGING_SERVICE,
                f"The Messaging Service {form['MessagingServiceSid']} does not "
                f"exist or does not belong to this account.",
            )
        if not from_:
            from_ = _pick_sender(state, service, to)
            if from_ is None:
                return twilio_error(
                    400,
                    ERR_SERVICE_HAS_NO_SENDER,
                    f"The Messaging Service {service.sid} has no phone number in its sender pool to send from.",
                )
    number = state.number_by_phone(from_) if from_ else None
    if number is None or not number.sms_capable:
        return twilio_error(
            400,
            ERR_FROM_NOT_OWNED,
            f"The From phone number {from_} is not a valid, SMS-capable inbound "
            f"phone number or short code for your account.",
        )
    if service is not None and number.sid not in service.senders:
        return twilio_error(
            400,
            ERR_NOT_IN_SERVICE,
            f"The From phone number {from_} is not associated with the Messaging Service {service.sid}.",
        )
    if to in state.opted_out:
        return twilio_error(400, ERR_UNSUBSCRIBED, "Attempt to send to unsubscribed recipient")
    body = form.get("Body", "")
    if form.get("SmartEncoded", "").lower() == "true":
        body = body.translate(SMART_ENCODING)
    status_callback = form.get("StatusCallback") or (service.status_callback if service else None)
    media_urls = form.getlist("MediaUrl")
    if len(media_urls) > standin_media.MAX_MEDIA:
        return twilio_error(400, standin_media.ERR_TOO_MANY_MEDIA, "Number of media files exceeds allowed limit")
    media, media_error = standin_media.fetch_all(media_urls)
    message = state.add_message(
        direction="outbound-api",
        from_=from_,
        to=to,
        body=body,
        status="queued",
        media_urls=tuple(media_urls),
        media=media,
        status_callback=status_callback,
        messaging_service_sid=service.sid if service else None,
    )
    if media_error is not None:
        state.fail_media(message, media_error)
    else:
        state.start_delivery(message)
    return _created(message.to_twilio(state.account_sid))


def _message_media(state, params):
    message = state.messages.get(params["MessageSid"])
    if message is None:
        return None, None
    found = next((m for m in message.media if m.sid == params.get("Sid")), None)
    return message, found


def list_media(state, params, args, form):
    message, _ = _message_media(state, params)
    if message is None:
        return _not_found(request.path)
    items = [m.to_twilio(state.account_sid, message.sid, rfc2822(message.date_created)) for m in message.media]
    return jsonify(_page("media_list", items, args, request.path, []))


def fetch_media(state, params, args, form):
    message, found = _message_media(state, params)
    if found is None:
        return _not_found(request.path)
    return jsonify(found.to_twilio(state.account_sid, message.sid, rfc2822(message.date_created)))


def delete_media(state, params, args, form):
    message, found = _message_media(state, params)
    if found is None:
        return _not_found(request.path)
    with state.lock:
        message.media.remove(found)
        state._changed()
    return Response(status=204)


def fetch_message(state, params, args, form):
    message = state.messages.get(params["Sid"])
    if message is None:
        return _not_found(request.path)
    return jsonify(message.to_twilio(state.account_sid))


def list_messages(state, params, args, form):
    filters = [(k, args[k]) for k in ("To", "From", "DateSent", "DateSent<", "DateSent>") if k in args]
    with state.lock:
        messages = list(state.messages.values())
    selected = [
        m
        for m in reversed(messages)  # Twilio lists newest first
        if _message_matches(m, dict(filters))
    ]
    items = [m.to_twilio(state.account_sid) for m in selected]
    return jsonify(_page("messages", items, args, request.path, filters))


def _message_matches(message: Message, filters: dict) -> bool:
    if "To" in filters and message.to != filters["To"]:
        return False
    if "From" in filters and message.from_ != filters["From"]:
        return False
    for key, compare in (("DateSent", "eq"), ("DateSent<", "le"), ("DateSent>", "ge")):
        if key not in filters:
            continue
        if message.date_sent is None:
            return False
        moment, has_time = _datetime_filter(filters[key])
        sent = message.date_sent.astimezone(UTC)
        if compare == "eq":
            # Twilio matches the whole day named by DateSent.
            if sent.date() != moment.date():
                return False
        else:
            left, right = (sent, moment) if has_time else (sent.date(), moment.date())
            if compare == "le" and not left <= right:
                return False
            if compare == "ge" and not left >= right:
                return False
    return True


def list_incoming_numbers(state, params, args, form):
    filters = [(k, args[k]) for k in ("PhoneNumber", "FriendlyName") if k in args]
    digits = re.sub(r"\D", "", args.get("PhoneNumber", ""))
    with state.lock:
        numbers = list(state.numbers.values())
    selected = [
        n
        for n in numbers
        if digits in re.sub(r"\D", "", n.phone_number) and args.get("FriendlyName", n.friendly_name) == n.friendly_name
    ]
    items = [n.to_twilio(state.account_sid) for n in selected]
    return jsonify(_page("incoming_phone_numbers", items, args, request.path, filters))


_NUMBER_FIELDS = {
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
}


def create_incoming_number(state, params, args, form):
    wanted, area_code = form.get("PhoneNumber"), form.get("AreaCode")
    if wanted:
        phone = parse_e164(wanted)
        if phone is None:
            return twilio_error(400, ERR_PHONE_NUMBER_INVALID, f"PhoneNumber {wanted} is invalid.")
        if state.number_by_phone(phone) or _area_code(phone) in state.unavailable_area_codes:
            return twilio_error(400, ERR_PHONE_NUMBER_UNAVAILABLE, f"PhoneNumber {phone} is not available.")
    elif area_code:
        available = state.available_numbers("US", area_code)
        if not available:
            return twilio_error(400, ERR_NO_NUMBERS_IN_AREA_CODE, f"No phone numbers found in area code {area_code}.")
        phone = available[0]
    else:
        return twilio_error(400, ERR_PHONE_NUMBER_INVALID, "A PhoneNumber or AreaCode is required.")
    fields = {attr: form[key] for key, attr in _NUMBER_FIELDS.items() if key in form}
    number = state.add_number(phone, **fields)
    return _created(number.to_twilio(state.account_sid))


def fetch_incoming_number(state, params, args, form):
    number = state.numbers.get(params["Sid"])
    if number is None:
        return _not_found(request.path)
    return jsonify(number.to_twilio(state.account_sid))


def update_incoming_number(state, params, args, form):
    with state.lock:
        number = state.numbers.get(params["Sid"])
        if number is None:
            return _not_found(request.path)
        for key, attr in _NUMBER_FIELDS.items():
            if key in form:
                # An empty SmsUrl/StatusCallback clears it, as on Twilio.
                setattr(number, attr, form[key] or None)
        number.date_updated = state.clock()
        state._changed()
        return jsonify(number.to_twilio(state.account_sid))


def delete_incoming_number(state, params, args, form):
    if state.remove_number(params["Sid"]) is None:
        return _not_found(request.path)
    return Response(status=204)


def list_available_local(state, params, args, form):
    country = params["CountryCode"].upper()
    area_code = args.get("AreaCode")
    numbers = state.available_numbers(country, area_code)
    if args.get("SmsEnabled", "true").lower() == "false":
        numbers = []  # every stand-in number can do SMS
    if "Contains" in args:
        pattern = _contains_pattern(args["Contains"])
        numbers = [n for n in numbers if pattern.search(n.lstrip("+"))]
    page_size = int(args.get("PageSize", 50))
    return jsonify(
        {
            "available_phone_numbers": [describe_number(n) for n in numbers[:page_size]],
            "uri": request.full_path.rstrip("?"),
        }
    )


# --- Messaging API v1 (messaging.twilio.com) ---------------------------------------------------


def _v1_page(key: str, items: list[dict], args: MultiDict, path: str) -> dict:
    """The Messaging API's paging envelope (records under `key`, links under meta)."""
    page_size = int(args.get("PageSize", 50))
    page = int(args.get("Page", 0))
    start = page * page_size
    chunk = items[start : start + page_size]

    def url(page_number: int) -> str:
        query = urlencode([("PageSize", page_size), ("Page", page_number)])
        return f"{MESSAGING_BASE_URL}{path}?{query}"

    return {
        key: chunk,
        "meta": {
            "first_page_url": url(0),
            "key": key,
            "next_page_url": url(page + 1) if start + page_size < len(items) else None,
            "page": page,
            "page_size": page_size,
            "previous_page_url": url(page - 1) if page > 0 else None,
            "url": url(page),
        },
    }


def _form_bool(value: str) -> bool:
    return value.strip().lower() == "true"


# form parameter -> (attribute, conversion); an empty URL clears it, as on Twilio
_SERVICE_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "FriendlyName": ("friendly_name", str),
    "InboundRequestUrl": ("inbound_request_url", lambda v: v or None),
    "InboundMethod": ("inbound_method", str),
    "FallbackUrl": ("fallback_url", lambda v: v or None),
    "FallbackMethod": ("fallback_method", str),
    "StatusCallback": ("status_callback", lambda v: v or None),
    "StickySender": ("sticky_sender", _form_bool),
    "MmsConverter": ("mms_converter", _form_bool),
    "SmartEncoding": ("smart_encoding", _form_bool),
    "ScanMessageContent": ("scan_message_content", str),
    "FallbackToLongCode": ("fallback_to_long_code", _form_bool),
    "AreaCodeGeomatch": ("area_code_geomatch", _form_bool),
    "ValidityPeriod": ("validity_period", int),
    "SynchronousValidation": ("synchronous_validation", _form_bool),
    "Usecase": ("usecase", str),
    "UseInboundWebhookOnNumber": ("use_inbound_webhook_on_number", _form_bool),
}


def _service_fields(form: MultiDict) -> dict:
    return {attr: convert(form[key]) for key, (attr, convert) in _SERVICE_FIELDS.items() if key in form}


def _standin_error(error: StandinError) -> Response:
    return twilio_error(error.status, error.code, error.message)


def create_service(state, params, args, form):
    fields = _service_fields(form)
    service = state.add_service(fields.pop("friendly_name"), **fields)
    return _created(service.to_twilio(state.account_sid))


def list_services(state, params, args, form):
    with state.lock:
        items = [s.to_twilio(state.account_sid) for s in state.services.values()]
    return jsonify(_v1_page("services", items, args, request.path))


def fetch_service(state, params, args, form):
    try:
        return jsonify(state.service(params["Sid"]).to_twilio(state.account_sid))
    except StandinError as error:
        return _standin_error(error)


def update_service(state, params, args, form):
    with state.lock:
        try:
            service = state.service(params["Sid"])
        except StandinError as error:
            return _standin_error(error)
        for attr, value in _service_fields(form).items():
            setattr(service, attr, value)
        service.date_updated = state.clock()
        state._changed()
        return jsonify(service.to_twilio(state.account_sid))


def create_service_phone_number(state, params, args, form):
    sid = form.get("PhoneNumberSid", "")
    if not re.fullmatch(r"PN[0-9a-fA-F]{32}", sid):
        return twilio_error(400, ERR_PHONE_NUMBER_INVALID, f"Phone Number Sid {sid} is invalid.")
    if sid not in state.numbers:  # a PN sid the account does not own
        return _not_found(f"/2010-04-01/Accounts/{state.account_sid}/IncomingPhoneNumbers/{sid}.json")
    try:
        with state.lock:
            number = state.add_to_service(params["ServiceSid"], sid)
            service = state.services[params["ServiceSid"]]
            return _created(service_phone_number(state.account_sid, service, number))
    except StandinError as error:
        return _standin_error(error)


def list_service_phone_numbers(state, params, args, form):
    with state.lock:
        try:
            service = state.service(params["ServiceSid"])
        except StandinError as error:
            return _standin_error(error)
        items = [
            service_phone_number(state.account_sid, service, state.numbers[sid])
            for sid in service.senders
            if sid in state.numbers
        ]
    return jsonify(_v1_page("phone_numbers", items, args, request.path))


def fetch_service_phone_number(state, params, args, form):
    with state.lock:
        try:
            service = state.service(params["ServiceSid"])
        except StandinError as error:
            return _standin_error(error)
        number = state.numbers.get(params["Sid"])
        if number is None or number.sid not in service.senders:
            return _not_found(request.path)
        return jsonify(service_phone_number(state.account_sid, service, number))


def delete_service_phone_number(state, params, args, form):
    try:
        state.remove_from_service(params["ServiceSid"], params["Sid"])
    except StandinError as error:
        return _standin_error(error)
    return Response(status=204)


def list_us_app_to_person(state, params, args, form):
    with state.lock:
        try:
            service = state.service(params["MessagingServiceSid"])
        except StandinError as error:
            return _standin_error(error)
        items = [service.campaign.to_twilio(state.account_sid, service.sid)] if service.campaign else []
    return jsonify(_v1_page("compliance", items, args, request.path))


def fetch_us_app_to_person(state, params, args, form):
    with state.lock:
        try:
            service = state.service(params["MessagingServiceSid"])
        except StandinError as error:
            return _standin_error(error)
        if service.campaign is None or service.campaign.sid != params["Sid"]:
            return _not_found(request.path)
        return jsonify(service.campaign.to_twilio(state.account_sid, service.sid))


TWILIO_OPERATIONS = {
    "CreateMessage": create_message,
    "FetchMessage": fetch_message,
    "ListMedia": list_media,
    "FetchMedia": fetch_media,
    "DeleteMedia": delete_media,
    "ListMessage": list_messages,
    "ListIncomingPhoneNumber": list_incoming_numbers,
    "CreateIncomingPhoneNumber": create_incoming_number,
    "FetchIncomingPhoneNumber": fetch_incoming_number,
    "UpdateIncomingPhoneNumber": update_incoming_number,
    "DeleteIncomingPhoneNumber": delete_incoming_number,
    "ListAvailablePhoneNumberLocal": list_available_local,
    # Messaging API v1
    "CreateService": create_service,
    "ListService": list_services,
    "FetchService": fetch_service,
    "UpdateService": update_service,
    "CreatePhoneNumber": create_service_phone_number,
    "ListPhoneNumber": list_service_phone_numbers,
    "FetchPhoneNumber": fetch_service_phone_number,
    "DeletePhoneNumber": delete_service_phone_number,
    "ListUsAppToPerson": list_us_app_to_person,
    "FetchUsAppToPerson": fetch_us_app_to_person,
}


def _authorized(state: StandinState) -> bool:
    auth = request.authorization
    return bool(
        auth
        and auth.type == "basic"
        and hmac.compare_digest(auth.username or "", state.account_sid)
        and hmac.compare_digest(auth.password or "", state.auth_token)
    )


def handle_twilio_api(state: StandinState) -> Response:
    raw_body = request.get_data(cache=True)
    query = request.query_string.decode("utf-8")
    form = (
        MultiDict(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
        if request.mimetype == "application/x-www-form-urlencoded"
        else MultiDict()
    )
    args = MultiDict(parse_qsl(query, keep_blank_values=True))
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": args.to_dict(flat=False),
        "form": form.to_dict(flat=False),
        "status": None,
        "at": state.clock().isoformat(),
    }
    response = _answer_twilio_api(state, raw_body, query, args, form, entry)
    entry["status"] = response.status_code
    state.log_request(entry)
    return response


def _answer_twilio_api(state, raw_body, query, args, form, entry) -> Response:
    if not _authorized(state):
        response = twilio_error(
            401, ERR_AUTHENTICATE, "Authenticate", detail="Your AccountSid or AuthToken was incorrect."
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response
    url = request.path + (f"?{query}" if query else "")
    try:
        validate_request(request.method, url, request.headers, raw_body)
    except TwilioSpecError as error:
        entry["spec_error"] = error.message
        return twilio_error(error.status, error.code, error.message)
    operation = match_operation(request.method, request.path)
    if operation is None:  # validate_request has answered 404/405 for those
        raise RuntimeError(f"{request.method} {request.path}: no operation matches a validated request")
    entry["operation"] = operation.operation_id
    # 2010 API paths name the account; Messaging API paths do not (auth alone decides)
    if operation.path_params.get("AccountSid", state.account_sid) != state.account_sid:
        return _not_found(request.path)

    fault = state.take_fault(operation.operation_id)
    if fault is not None:
        entry["fault"] = fault.to_json()
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)  # a slow Twilio, on purpose
        if fault.status and not fault.applied:
            return _fault_answer(fault)
    handler = TWILIO_OPERATIONS[operation.operation_id]
    response = handler(state, operation.path_params, args, form)
    if fault is not None and fault.status and fault.applied:
        return _fault_answer(fault)  # the operation happened, the caller never learns it
    return response


def _fault_answer(fault: Fault) -> Response:
    status = fault.status
    if status is None:
        raise ValueError(f"fault {fault.to_json()} has no status to answer with")
    code = FAULT_CODES.get(status, ERR_INTERNAL)
    response = twilio_error(status, code, FAULT_MESSAGES.get(status, "Error"))
    if status == 429:
        response.headers["Retry-After"] = "1"
    return response


# ---------------------------------------------------------------------------------------------
# Control API (for tests, the runner and the page)


def control_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _json_body() -> dict:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


def _service_view(state: StandinState, service: MessagingService) -> dict:
    """A service for the control API: Twilio's JSON plus its pool, campaign and the stand-in's
    own advanced_opt_out flag."""
    view = service.to_twilio(state.account_sid)
    view["phone_numbers"] = [state.numbers[sid].phone_number for sid in service.senders if sid in state.numbers]
    view["campaign"] = service.campaign.to_twilio(state.account_sid, service.sid) if service.campaign else None
    view["advanced_opt_out"] = service.advanced_opt_out
    return view


def register_control_api(app: Flask, state: StandinState) -> None:
    @app.get("/_standin/overview")
    def overview():
        with state.lock:
            pool = []
            for number in state.numbers.values():
                sent = sum(1 for m in state.messages.values() if m.from_ == number.phone_number)
                received = sum(1 for m in state.messages.values() if m.to == number.phone_number)
                service = state.service_of(number.phone_number)
                webhook_url, _ = state.inbound_webhook(number.phone_number)
                pool.append(
                    {
                        "phone_number": number.phone_number,
                        "sid": number.sid,
                        "friendly_name": number.friendly_name,
                        "sms_url": number.sms_url,
                        "sent": sent,
                        "received": received,
                        "messaging_service": None
                        if service is None
                        else {
                            "sid": service.sid,
                            "friendly_name": service.friendly_name,
                            "campaign_status": (service.campaign.campaign_status if service.campaign else None),
                        },
                        "inbound_webhook_url": webhook_url,
                    }
                )
            phones = [state.phone_view(p) for p in state.phone_numbers_seen()]
            version = state.version
        return jsonify(
            {
                "account_sid": state.account_sid,
                "version": version,
                "pool": pool,
                "phones": phones,
                "queue_depth": state.read_queue_depth(),
                "require_a2p": state.require_a2p,
            }
        )

    @app.get("/_standin/numbers")
    def list_numbers():
        with state.lock:
            numbers = [n.to_twilio(state.account_sid) for n in state.numbers.values()]
        return jsonify({"numbers": numbers})

    @app.post("/_standin/numbers")
    def seed_number():
        payload = _json_body()
        if payload.get("phone_number"):
            phone = parse_e164(payload["phone_number"], "US")
            if phone is None:
                return control_error(400, "invalid_phone", f"{payload['phone_number']!r} is not a valid phone number")
        else:
            available = state.available_numbers(payload.get("country", "US"), payload.get("area_code"))
            if not available:
                return control_error(409, "no_numbers", "no number available for that search")
            phone = available[0]
        existing = state.number_by_phone(phone)
        if existing is not None:
            return control_error(409, "already_owned", f"{phone} is already owned ({existing.sid})")
        number = state.add_number(
            phone,
            sms_url=payload.get("sms_url"),
            sms_method=payload.get("sms_method", "POST"),
            status_callback=payload.get("status_callback"),
            friendly_name=payload.get("friendly_name"),
        )
        return _created(number.to_twilio(state.account_sid))

    @app.get("/_standin/services")
    def list_services_control():
        with state.lock:
            return jsonify({"services": [_service_view(state, s) for s in state.services.values()]})

    @app.post("/_standin/services")
    def add_service_control():
        payload = _json_body()
        fields = {
            key: payload[key]
            for key in (
                "inbound_request_url",
                "inbound_method",
                "status_callback",
                "use_inbound_webhook_on_number",
                "advanced_opt_out",
                "sticky_sender",
            )
            if key in payload
        }
        service = state.add_service(str(payload.get("friendly_name", "sms-bridge")), **fields)
        try:
            for phone in payload.get("numbers", ()):
                state.add_to_service(service.sid, parse_e164(phone, "US") or phone)
            if payload.get("campaign_status"):
                state.set_campaign(service.sid, payload["campaign_status"], payload.get("rate_limits"))
        except StandinError as error:
            return control_error(error.status, str(error.code), error.message)
        except ValueError as error:
            return control_error(400, "invalid_campaign", str(error))
        with state.lock:
            return _created(_service_view(state, service))

    @app.put("/_standin/services/<sid>")
    def update_service_control(sid):
        payload = _json_body()
        try:
            with state.lock:
                service = state.service(sid)
                for phone in payload.get("add_numbers", ()):
                    state.add_to_service(sid, parse_e164(phone, "US") or phone)
                if "advanced_opt_out" in payload:
                    service.advanced_opt_out = bool(payload["advanced_opt_out"])
                if "campaign_status" in payload:
                    if payload["campaign_status"] is None:
                        state.clear_campaign(sid)
                    else:
                        state.set_campaign(sid, payload["campaign_status"], payload.get("rate_limits"))
                state._changed()
                return jsonify(_service_view(state, service))
        except StandinError as error:
            return control_error(error.status, str(error.code), error.message)
        except ValueError as error:
            return control_error(400, "invalid_campaign", str(error))

    @app.put("/_standin/a2p")
    def set_a2p():
        with state.lock:
            state.require_a2p = bool(_json_body().get("required", True))
            state._changed()
            return jsonify({"required": state.require_a2p})

    @app.put("/_standin/area_codes/<area_code>")
    def set_area_code(area_code):
        available = bool(_json_body().get("available", True))
        with state.lock:
            if available:
                state.unavailable_area_codes.discard(area_code)
            else:
                state.unavailable_area_codes.add(area_code)
            state._changed()
        return jsonify({"area_code": area_code, "available": available})

    @app.get("/_standin/faults")
    def list_faults():
        with state.lock:
            return jsonify({"faults": [f.to_json() for f in state.faults]})

    @app.post("/_standin/faults")
    def add_fault():
        payload = _json_body()
        try:
            fault = Fault(
                operation=str(payload.get("operation", "CreateMessage")),
                status=int(payload["status"]) if payload.get("status") is not None else None,
                delay_ms=int(payload.get("delay_ms", 0)),
                count=None if payload.get("rate") is not None else int(payload.get("count", 1)),
                rate=float(payload["rate"]) if payload.get("rate") is not None else None,
                applied=bool(payload.get("applied", False)),
            )
        except (TypeError, ValueError) as error:
            return control_error(400, "invalid_fault", str(error))
        if fault.status is not None and fault.status not in FAULT_CODES:
            return control_error(400, "invalid_fault", "status must be 429, 500 or 503")
        if fault.operation != "*" and fault.operation not in TWILIO_OPERATIONS:
            return control_error(400, "invalid_fault", f"operation must be '*' or one of {sorted(TWILIO_OPERATIONS)}")
        with state.lock:
            state.faults.append(fault)
            state._changed()
        return _created({"fault": fault.to_json()})

    @app.delete("/_standin/faults")
    def clear_faults():
        with state.lock:
            state.faults.clear()
            state._changed()
        return Response(status=204)

    @app.get("/_standin/phones")
    def list_phones():
        return jsonify({"phones": [state.phone_view(p) for p in state.phone_numbers_seen()]})

    @app.put("/_standin/phones/<phone>")
    def update_phone(phone):
        e164 = parse_e164(phone, "US")
        if e164 is None:
            return control_error(400, "invalid_phone", f"{phone!r} is not a valid phone number")
        payload = _json_body()
        with state.lock:
            if e164 not in state.extra_phones and e164 not in state.phone_numbers_seen():
                state.extra_phones.append(e164)
            for key, members in (("opted_out", state.opted_out), ("unreachable", state.unreachable)):
                if key in payload:
                    (members.add if payload[key] else members.discard)(e164)
            state._changed()
            return jsonify(state.phone_view(e164))

    @app.post("/_standin/phones/<phone>/send")
    def send_from_phone(phone):
        payload = _json_body()
        e164 = parse_e164(phone, "US")
        if e164 is None:
            return control_error(400, "invalid_phone", f"{phone!r} is not a valid phone number")
        to = parse_e164(str(payload.get("to", "")), "US")
        body = payload.get("body", "")
        try:
            media = [(m["content_type"], base64.b64decode(m["data_base64"])) for m in payload.get("media") or []]
        except (KeyError, TypeError, ValueError):
            media = None
        if to is None or not isinstance(body, str) or media is None or not (body or media):
            return control_error(
                400,
                "invalid_request",
                'send {"to": "<pool number>", "body": "<text>", "media": [{"content_type", "data_base64"}]}',
            )
        try:
            return jsonify(state.send_from_phone(e164, to, body, media))
        except LookupError as error:
            return control_error(404, "unknown_pool_number", str(error))

    @app.get("/_standin/media/<message_sid>/<media_sid>")
    def media_for_page(message_sid, media_sid):
        """A medium's bytes for the phone page (a local control, like the page itself)."""
        message = state.messages.get(message_sid)
        found = next((m for m in message.phone_media if m.sid == media_sid), None) if message else None
        if found is None:
            return control_error(404, "not_found", "no such media")
        return Response(found.content, mimetype=found.content_type)

    @app.get("/_standin/messages")
    def all_messages():
        with state.lock:
            return jsonify({"messages": [m.to_twilio(state.account_sid) for m in state.messages.values()]})

    @app.get("/_standin/requests")
    def list_requests():
        with state.lock:
            return jsonify({"requests": list(state.requests)})

    @app.delete("/_standin/requests")
    def clear_requests():
        with state.lock:
            state.requests.clear()
            state._changed()
        return Response(status=204)

    @app.get("/_standin/callbacks")
    def list_callbacks():
        with state.lock:
            return jsonify({"callbacks": list(state.callbacks)})

    @app.post("/_standin/reset")
    def reset():
        state.reset()
        return Response(status=204)


# ---------------------------------------------------------------------------------------------
# App, server, client helper


def create_app(
    account_sid: str,
    auth_token: str,
    *,
    callback_delay: float = 0.2,
    queue_depth: Callable[[], int | None] | None = None,
    clock: Callable[[], datetime] | None = None,
    keyword_auto_replies: bool = True,
    require_a2p: bool | None = None,
    opt_out_type: str | None = None,
) -> tuple[Flask, StandinState]:
    """The stand-in as a Flask app, and the state it serves (for tests to inspect and wait on).

    callback_delay: seconds between queued -> sent -> delivered (0 in tests).
    queue_depth: returns how many SMS wait in the bridge's outbound queue (None if unknown),
        shown on the page.
    keyword_auto_replies: send Twilio's own STOP/START/HELP replies, as Twilio does.
    require_a2p: enforce US A2P 10DLC registration (30034); None = env STANDIN_REQUIRE_A2P=1.
    opt_out_type: "always" | "advanced" (see OPT_OUT_TYPE_MODES); None = env
        STANDIN_OPT_OUT_TYPE, default "always".
    """
    if require_a2p is None:
        require_a2p = os.environ.get("STANDIN_REQUIRE_A2P", "").strip().lower() in ("1", "true", "yes", "on")
    if opt_out_type is None:
        opt_out_type = os.environ.get("STANDIN_OPT_OUT_TYPE", "").strip() or "always"
    state = StandinState(
        account_sid,
        auth_token,
        callback_delay=callback_delay,
        queue_depth=queue_depth,
        keyword_auto_replies=keyword_auto_replies,
        require_a2p=require_a2p,
        opt_out_type=opt_out_type,
        clock=clock or _utc_now,
    )
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/_standin/static")
    app.json = DefaultJSONProvider(app)
    app.json.sort_keys = False

    @app.route(f"/{API_VERSION}/<path:rest>", methods=["GET", "POST", "DELETE", "PUT"])
    def twilio_api(rest):
        return handle_twilio_api(state)

    @app.get(f"{ACCOUNT_PREFIX}/<account>/Messages/<message_sid>/Media/<media_sid>")
    def media_content(account, message_sid, media_sid):
        """A medium's bytes, as Twilio serves MediaUrl{i}: to the account's credentials only."""
        if not _authorized(state) or account != state.account_sid:
            response = twilio_error(401, ERR_AUTHENTICATE, "Authenticate")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        message = state.messages.get(message_sid)
        found = next((m for m in message.media if m.sid == media_sid), None) if message else None
        if found is None:
            return _not_found(request.path)
        return Response(found.content, mimetype=found.content_type)

    # messaging.twilio.com, rebased onto the stand-in like api.twilio.com
    @app.route("/v1/<path:rest>", methods=["GET", "POST", "DELETE", "PUT"])
    def twilio_messaging_api(rest):
        return handle_twilio_api(state)

    @app.get("/")
    def phone_simulator():
        return app.send_static_file("phones.html")

    register_control_api(app, state)
    return app, state


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs Twilio API calls and failures, not the page's once-a-second polling."""

    def log_request(self, code="-", size="-") -> None:
        try:
            failed = int(code) >= 400
        except (TypeError, ValueError):
            failed = True
        if failed or self.path.startswith((f"/{API_VERSION}/", "/v1/")):
            super().log_request(code, size)


class StandinServer:
    """A running stand-in: .url, .state, .app; .shutdown() stops it."""

    def __init__(self, app: Flask, state: StandinState, host: str, port: int):
        self.app, self.state = app, state
        self._http = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
        self.host, self.port = host, self._http.server_port
        self.url = f"http://{host}:{self.port}"
        # A short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="twilio-standin", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
        self.state.close()


def serve(
    host: str = "127.0.0.1",
    port: int = 8010,
    *,
    account_sid: str = DEV_ACCOUNT_SID,
    auth_token: str = DEV_AUTH_TOKEN,
    callback_delay: float = 0.2,
    queue_depth: Callable[[], int | None] | None = None,
    seed_numbers: tuple = (),
    sms_url: str | None = None,
    **app_options,
) -> StandinServer:
    """Start the stand-in in a background thread (port=0 picks a free port; see .url).
    seed_numbers are owned from the start, with sms_url as their SmsUrl if given."""
    app, state = create_app(
        account_sid, auth_token, callback_delay=callback_delay, queue_depth=queue_depth, **app_options
    )
    for phone in seed_numbers:
        state.add_number(parse_e164(phone, "US") or phone, sms_url=sms_url)
    return StandinServer(app, state, host, port)


class StandinHttpClient(TwilioHttpClient):
    """twilio-python's HTTP client, sending every request to base_url instead of
    https://api.twilio.com (scheme and host rewritten, path and query kept)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        base = urlsplit(self.base_url)
        target = urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc)
        return super().request(method, urlunsplit(target), *args, **kwargs)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    account_sid = os.environ.get("TWILIO_ACCOUNT_SID", DEV_ACCOUNT_SID)
    auth_token = os.environ.get("TWILIO_AUTH_TOKEN", DEV_AUTH_TOKEN)
    port = int(os.environ.get("STANDIN_PORT", "8010"))
    seed = [n for n in os.environ.get("STANDIN_NUMBERS", "").split(",") if n.strip()]
    server = serve(
        "127.0.0.1",
        port,
        account_sid=account_sid,
        auth_token=auth_token,
        seed_numbers=tuple(seed),
        sms_url=os.environ.get("STANDIN_SMS_URL"),
    )
    print(
        f"Twilio stand-in on {server.url}  (account {account_sid})\n"
        f"phone simulator: {server.url}/\n"
        f"point twilio-python at it with devstack.twilio_standin.StandinHttpClient"
        f"({server.url!r}); Ctrl-C stops it",
        flush=True,
    )
    stop = threading.Event()
    # SIGTERM (from a process supervisor) stops cleanly, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
