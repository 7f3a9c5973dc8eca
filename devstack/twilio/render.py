"""Twilio's JSON for each resource, rendered from the backend's values: the 2010 API's Message,
Media, IncomingPhoneNumber and AvailablePhoneNumber, the Messaging API v1's Service, its
sender-pool PhoneNumber and its UsAppToPerson campaign. The responses, the control API and
the phone page answer with these."""

from __future__ import annotations

from datetime import UTC, datetime

import phonenumbers
from phonenumbers import geocoder

from devstack.twilio.media import StoredMedia
from devstack.twilio.phone_numbers import country_of, national_format
from devstack.twilio.resources import API_VERSION, Campaign, IncomingNumber, Message, MessagingService, PhoneLine
from devstack.twilio_spec import LOOKUP_PACKAGES

ACCOUNT_PREFIX = f"/{API_VERSION}/Accounts"
MESSAGING_BASE_URL = "https://messaging.twilio.com"
LOOKUPS_BASE_URL = "https://lookups.twilio.com"


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


# --- the 2010 API ------------------------------------------------------------------------------


def message_json(account_sid: str, message: Message) -> dict:
    uri = f"{ACCOUNT_PREFIX}/{account_sid}/Messages/{message.sid}"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.date_created),
        "date_sent": rfc2822(message.date_sent),
        "date_updated": rfc2822(message.date_updated),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(len(message.media_urls) or len(message.media)),
        "num_segments": str(message.num_segments),
        "price": message.price,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        "to": message.to,
        "uri": f"{uri}.json",
    }


def media_json(account_sid: str, message: Message, media: StoredMedia) -> dict:
    date = rfc2822(message.date_created)
    return {
        "account_sid": account_sid,
        "content_type": media.content_type,
        "date_created": date,
        "date_updated": date,
        "parent_sid": message.sid,
        "sid": media.sid,
        "uri": f"{ACCOUNT_PREFIX}/{account_sid}/Messages/{message.sid}/Media/{media.sid}.json",
    }


def incoming_number_json(account_sid: str, number: IncomingNumber) -> dict:
    return {
        "account_sid": account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "bundle_sid": None,
        "capabilities": {"voice": True, "sms": number.sms_capable, "mms": number.can_mms, "fax": False},
        "date_created": rfc2822(number.date_created),
        "date_updated": rfc2822(number.date_updated),
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "emergency_status": "Inactive",
        "friendly_name": number.friendly_name,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": number.phone_number,
        "sid": number.sid,
        "sms_application_sid": None,
        "sms_fallback_method": "POST",
        "sms_fallback_url": None,
        "sms_method": number.sms_method,
        "sms_url": number.sms_url,
        "status": "in-use",
        "status_callback": number.status_callback,
        "status_callback_method": number.status_callback_method,
        "trunk_sid": None,
        "type": "local",
        "uri": f"{ACCOUNT_PREFIX}/{account_sid}/IncomingPhoneNumbers/{number.sid}.json",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_receive_mode": "voice",
        "voice_url": number.voice_url,
    }


def available_number_json(e164: str) -> dict:
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


# --- the Messaging API v1 ----------------------------------------------------------------------


def service_json(account_sid: str, service: MessagingService) -> dict:
    url = f"{MESSAGING_BASE_URL}/v1/Services/{service.sid}"
    return {
        "sid": service.sid,
        "account_sid": account_sid,
        "friendly_name": service.friendly_name,
        "date_created": iso8601(service.date_created),
        "date_updated": iso8601(service.date_updated),
        "inbound_request_url": service.inbound_request_url,
        "inbound_method": service.inbound_method,
        "fallback_url": service.fallback_url,
        "fallback_method": service.fallback_method,
        "status_callback": service.status_callback,
        "sticky_sender": service.sticky_sender,
        "mms_converter": service.mms_converter,
        "smart_encoding": service.smart_encoding,
        "scan_message_content": service.scan_message_content,
        "fallback_to_long_code": service.fallback_to_long_code,
        "area_code_geomatch": service.area_code_geomatch,
        "synchronous_validation": service.synchronous_validation,
        "validity_period": service.validity_period,
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
        "usecase": service.usecase,
        "us_app_to_person_registered": service.a2p_verified,
        "use_inbound_webhook_on_number": service.use_inbound_webhook_on_number,
    }


def service_phone_number_json(account_sid: str, service: MessagingService, number: IncomingNumber) -> dict:
    """A sender-pool member as the Messaging API answers it."""
    joined = service.senders[number.sid]
    return {
        "sid": number.sid,
        "account_sid": account_sid,
        "service_sid": service.sid,
        "date_created": iso8601(joined),
        "date_updated": iso8601(joined),
        "phone_number": number.phone_number,
        "country_code": country_of(number.phone_number),
        "capabilities": ["MMS", "SMS", "Voice"] if number.sms_capable else ["Voice"],
        "url": f"{MESSAGING_BASE_URL}/v1/Services/{service.sid}/PhoneNumbers/{number.sid}",
    }


def campaign_json(account_sid: str, service_sid: str, campaign: Campaign) -> dict:
    return {
        "sid": campaign.sid,
        "account_sid": account_sid,
        "brand_registration_sid": campaign.brand_registration_sid,
        "messaging_service_sid": service_sid,
        "description": campaign.description,
        "message_samples": [
            "Alice: are we still on for 6pm? Reply to answer Alice.",
            "Bob: the keys are under the mat. Reply STOP to opt out.",
        ],
        "us_app_to_person_usecase": campaign.us_app_to_person_usecase,
        "has_embedded_links": False,
        "has_embedded_phone": False,
        "subscriber_opt_in": True,
        "age_gated": False,
        "direct_lending": False,
        "campaign_status": campaign.campaign_status,
        "campaign_id": campaign.campaign_id,
        "is_externally_registered": False,
        "rate_limits": campaign.rate_limits,
        "message_flow": "Participants give their number in the chat product and confirm.",
        "opt_in_message": None,
        "opt_out_message": None,
        "help_message": None,
        "opt_in_keywords": None,
        "opt_out_keywords": None,
        "help_keywords": None,
        "date_created": iso8601(campaign.date_created),
        "date_updated": iso8601(campaign.date_updated),
        "url": f"{MESSAGING_BASE_URL}/v1/Services/{service_sid}/Compliance/Usa2p/{campaign.sid}",
        "mock": False,
        "errors": list(campaign.errors),
    }


# --- the Lookup API v2 ---------------------------------------------------------------------


def lookup_json(phone: str, line: PhoneLine | None, fields: set[str]) -> dict:
    """Lookup v2's PhoneNumber: the free basic lookup, plus the packages asked for that the
    stand-in answers (line_type_intelligence, sms_pumping_risk). `line` None: not a number."""
    valid = line is not None
    country = country_of(phone) if valid else None
    answer: dict = {
        "calling_country_code": str(phonenumbers.parse(phone).country_code) if valid else None,
        "country_code": country,
        "phone_number": phone,
        "national_format": national_format(phone) if valid else None,
        "valid": valid,
        "validation_errors": [] if valid else ["NOT_A_NUMBER"],
    }
    if line is not None and "line_type_intelligence" in fields:
        carrier = line.carrier if line.line_type in ("mobile", "landline", "fixedVoip", "nonFixedVoip") else None
        answer["line_type_intelligence"] = {
            "mobile_country_code": "310" if line.line_type == "mobile" and country == "US" else None,
            "mobile_network_code": "260" if line.line_type == "mobile" and country == "US" else None,
            "carrier_name": carrier,
            "type": line.line_type,
        }
    if line is not None and "sms_pumping_risk" in fields:
        answer["sms_pumping_risk"] = {
            "carrier_risk_category": "low" if line.sms_pumping_risk < 60 else "high",
            "number_blocked": False,
            "sms_pumping_risk_score": line.sms_pumping_risk,
        }
    answer["url"] = f"{LOOKUPS_BASE_URL}/v2/PhoneNumbers/{phone}"
    # Twilio answers null for a package not asked (and a fact it lacks), but its spec declares
    # none of them nullable: they are left out, which twilio-python reads as None all the same.
    for package in LOOKUP_PACKAGES:
        if isinstance(answer.get(package), dict):
            answer[package] = {k: v for k, v in answer[package].items() if v is not None}
    return answer
