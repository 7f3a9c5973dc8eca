"""The resources of the stand-in's Twilio account, as plain values the backend keeps and the
responses render (render.py): messages, owned numbers, Messaging Services and their US A2P
campaigns."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import NamedTuple

API_VERSION = "2010-04-01"  # the REST API whose resources these are (Messaging v1 has none)
CAMPAIGN_STATUSES = ("VERIFIED", "PENDING", "IN_PROGRESS", "FAILED")
# The AT&T / T-Mobile shape Twilio documents for rate_limits (the spec leaves it open).
DEFAULT_RATE_LIMITS = {"att": {"mps": 600, "msg_class": "A"}, "tmobile": {"brand_tier": "TOP"}}


class Step(NamedTuple):
    """A status a message moves to, with the error Twilio reports for it (if any)."""

    status: str
    error_code: int | None = None
    error_message: str | None = None


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
    media: list = dataclasses.field(default_factory=list)  # media.StoredMedia
    phone_media: list = dataclasses.field(default_factory=list)  # the phone's own copy: never deleted

    def __post_init__(self) -> None:
        self.phone_media = list(self.media)

    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    status_callback: str | None = None
    auto_reply: bool = False  # Twilio's own STOP/START/HELP confirmation
    messaging_service_sid: str | None = None
    # The step Twilio's rules chose for it next (outbound.advance applies it); None: final.
    pending: Step | None = None


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

    @property
    def can_mms(self) -> bool:
        return self.sms_capable if self.mms_capable is None else self.mms_capable


@dataclasses.dataclass
class Campaign:
    """A Messaging Service's US A2P 10DLC campaign (Twilio's UsAppToPerson resource), as the
    bridge reads it: set by tests through TwilioBackend.set_campaign, never created by the API."""

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


# Twilio's line types (Lookup v2's line_type_intelligence.type).
LINE_TYPES = (
    "mobile",
    "landline",
    "fixedVoip",
    "nonFixedVoip",
    "personal",
    "tollFree",
    "premium",
    "sharedCost",
    "uan",
    "voicemail",
    "pager",
    "unknown",
)
MOBILE_CARRIERS = ("T-Mobile USA, Inc.", "Verizon Wireless", "AT&T Wireless")


@dataclasses.dataclass
class PhoneLine:
    """What Lookup v2 answers of a phone: its line type, carrier and SMS pumping risk (0-100).
    By default (default_line) a mobile phone on one of three carriers and a low risk, picked by its
    digits so a phone always answers the same; the control API and the phone page set them."""

    line_type: str = "mobile"
    carrier: str | None = MOBILE_CARRIERS[0]
    sms_pumping_risk: int = 0


def default_line(phone: str) -> PhoneLine:
    digits = [int(d) for d in phone if d.isdigit()]
    return PhoneLine("mobile", MOBILE_CARRIERS[sum(digits) % len(MOBILE_CARRIERS)], sum(digits[-2:]) % 20)
