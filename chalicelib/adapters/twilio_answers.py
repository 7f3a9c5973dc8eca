"""What Twilio answers, as plain values (adapters/twilio.py's TwilioGateway returns them),
and the one error every failed call becomes."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.line_types import LookupFacts


class TwilioError(Exception):
    """A send or API call that failed. `retryable` says whether trying again
    later can succeed (429, 5xx, timeouts, connection faults)."""

    def __init__(self, message: str, *, status: int | None, code: int | None, retryable: bool):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str
    segments: int | None = None
    error_code: int | None = None
    body: str | None = None
    date_created: float | None = None  # epoch seconds (Twilio keeps whole seconds)


@dataclass(frozen=True)
class OwnedNumber:
    sid: str
    phone_number: str
    sms_url: str | None
    mms: bool | None = None  # Twilio's capabilities.mms; None when not told
    status_callback: str | None = None


@dataclass(frozen=True)
class MessagingServiceInfo:
    sid: str
    friendly_name: str
    inbound_request_url: str | None
    use_inbound_webhook_on_number: bool


@dataclass(frozen=True)
class A2pCampaign:
    """A US A2P 10DLC campaign of a Messaging Service (Compliance/Usa2p)."""

    sid: str
    campaign_status: str  # VERIFIED (approved) | PENDING | IN_PROGRESS | FAILED
    rate_limits: dict | None
    use_case: str | None = None  # us_app_to_person_usecase: SOLE_PROPRIETOR, LOW_VOLUME, MIXED, ...


def _mms(number) -> bool | None:
    capabilities = getattr(number, "capabilities", None)
    return bool(capabilities.get("mms")) if isinstance(capabilities, dict) and "mms" in capabilities else None


def owned_of(number) -> OwnedNumber:
    return OwnedNumber(
        number.sid,
        number.phone_number,
        number.sms_url,
        mms=_mms(number),
        status_callback=getattr(number, "status_callback", None),
    )


def service_of(service) -> MessagingServiceInfo:
    return MessagingServiceInfo(
        service.sid,
        service.friendly_name or "",
        service.inbound_request_url or None,
        bool(service.use_inbound_webhook_on_number),
    )


def sent_of(message) -> SentMessage:
    return SentMessage(
        sid=message.sid,
        status=message.status,
        segments=int(message.num_segments) if message.num_segments else None,
        error_code=int(message.error_code) if message.error_code else None,
        body=message.body,
        date_created=message.date_created.timestamp() if getattr(message, "date_created", None) else None,
    )


def lookup_of(found) -> LookupFacts:
    """Lookup v2's answer (a PhoneNumberInstance): a package Twilio could not answer for this
    phone (its error_code set, e.g. 60601) leaves its facts None."""
    line = found.line_type_intelligence if isinstance(found.line_type_intelligence, dict) else {}
    risk = found.sms_pumping_risk if isinstance(found.sms_pumping_risk, dict) else {}
    score = risk.get("sms_pumping_risk_score")
    return LookupFacts(
        line_type=line.get("type") or None,
        carrier=line.get("carrier_name") or None,
        pumping_risk=int(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
        valid=found.valid is not False,
    )
