"""The phone page's view model (static/phones.html polls /_standin/overview): the pool of
numbers with their Messaging Service and webhook, each simulated phone's thread, and the
bridge's outbound queue depth. A simulated phone is anyone who got or sent an SMS through the
pool, plus the phones added on the page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from devstack.twilio import carriers
from devstack.twilio.backend import TwilioBackend
from devstack.twilio.resources import LINE_TYPES

log = logging.getLogger("devstack.twilio.phone_page")
STATIC_DIR = Path(__file__).resolve().parent / "static"
# T-Mobile's numbers per campaign without an approved Number Pool; Twilio's per Messaging Service (21714).
MAX_NUMBERS_PER_CAMPAIGN, MAX_NUMBERS_PER_SERVICE = 49, 400


def phones_seen(backend: TwilioBackend) -> list[str]:
    """Simulated phones: anyone who got or sent an SMS through the pool, plus added ones."""
    with backend.lock:
        phones = []
        for message in backend.messages.values():
            for number in (message.from_, message.to):
                if number not in backend.ever_owned and number not in phones:
                    phones.append(number)
        return phones + [p for p in backend.extra_phones if p not in phones]


def phone_view(backend: TwilioBackend, phone: str) -> dict:
    """One phone: its flags and its thread with the pool, oldest first."""
    with backend.lock:
        thread = []
        for m in backend.messages.values():
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
        line = backend.line_of(phone)
        return {
            "phone": phone,
            "carrier": backend.carriers.carrier_of(phone),
            "opted_out": phone in backend.opted_out,
            "unreachable": phone in backend.unreachable,
            # what Lookup v2 answers of it (the page and the control API set it)
            "line": {"line_type": line.line_type, "carrier": line.carrier, "sms_pumping_risk": line.sms_pumping_risk},
            "thread": thread,
        }


def pool_view(backend: TwilioBackend) -> list[dict]:
    """Each owned number: what it sent and received, its Messaging Service (and campaign
    status) and the URL its inbound SMS are posted to."""
    with backend.lock:
        pool = []
        for number in backend.numbers.values():
            service = backend.service_of(number.phone_number)
            webhook_url, _ = backend.inbound_webhook(number.phone_number)
            pool.append(
                {
                    "phone_number": number.phone_number,
                    "sid": number.sid,
                    "friendly_name": number.friendly_name,
                    "sms_url": number.sms_url,
                    "sent": sum(1 for m in backend.messages.values() if m.from_ == number.phone_number),
                    "received": sum(1 for m in backend.messages.values() if m.to == number.phone_number),
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
        return pool


def services_view(backend: TwilioBackend) -> list[dict]:
    """Each Messaging Service: its campaign as Twilio reports it (status, use case and the
    carriers' rate_limits: AT&T's segments a second, T-Mobile's brand tier) and how many
    numbers are its senders."""
    with backend.lock:
        return [
            {
                "sid": service.sid,
                "friendly_name": service.friendly_name,
                "senders": len(backend.senders(service)),
                "campaign": None
                if service.campaign is None
                else {
                    "sid": service.campaign.sid,
                    "campaign_status": service.campaign.campaign_status,
                    "use_case": service.campaign.us_app_to_person_usecase,
                    "rate_limits": service.campaign.rate_limits,
                },
            }
            for service in backend.services.values()
        ]


def carrier_view(backend: TwilioBackend) -> dict:
    """The carrier side: each campaign's rate and use case with its numbers against their cap
    (49 a campaign, 1 for a sole proprietor, 400 a service), and the day's T-Mobile count
    against the brand's cap."""
    with backend.lock:
        campaigns, cap = [], None
        for service in backend.services.values():
            campaign = service.campaign
            if campaign is None:
                continue
            sole = campaign.us_app_to_person_usecase.upper() == "SOLE_PROPRIETOR"
            brand = carriers.brand_cap(
                campaign.rate_limits, campaign.us_app_to_person_usecase, backend.carriers.daily_cap
            )
            cap = brand if cap is None else max(cap, brand)
            campaigns.append(
                {
                    "service_sid": service.sid,
                    "campaign_status": campaign.campaign_status,
                    "use_case": campaign.us_app_to_person_usecase,
                    "mps": carriers.campaign_mps(campaign.rate_limits),
                    "numbers": len(service.senders),
                    "numbers_cap": 1 if sole else MAX_NUMBERS_PER_CAMPAIGN,
                    "service_numbers_cap": MAX_NUMBERS_PER_SERVICE,
                }
            )
        now = backend.clock()
        return {
            "campaigns": campaigns,
            "tmobile": {"day": carriers.pacific_day(now), "count": backend.carriers.count(now), "daily_cap": cap},
        }


def overview(backend: TwilioBackend, queue_depth: Callable[[], int | None] | None) -> dict:
    """Everything the page shows, with the version it was read at."""
    with backend.lock:
        pool = pool_view(backend)
        services = services_view(backend)
        phones = [phone_view(backend, p) for p in phones_seen(backend)]
        version = backend.version
    return {
        "account_sid": backend.account_sid,
        "version": version,
        "pool": pool,
        "messaging_services": services,
        "phones": phones,
        "queue_depth": read_queue_depth(queue_depth),
        "require_a2p": backend.require_a2p,
        "line_types": list(LINE_TYPES),
        "carriers": carrier_view(backend),
    }


def read_queue_depth(queue_depth: Callable[[], int | None] | None) -> int | None:
    if queue_depth is None:
        return None
    try:
        return queue_depth()
    except Exception as error:  # the page must keep working when SQS is not up yet
        log.debug("queue_depth failed: %s", error)
        return None
