"""Twilio's rules for a message the account sends: what a create is refused for, which sender
a Messaging Service picks, which fate it meets (A2P 10DLC, media, the carrier), and the steps
it then moves through (queued -> sent -> delivered | undelivered; or straight to failed /
undelivered). Functions over the backend, without HTTP or timers: the delivery calls
`advance` when a step is due and tells each step to the message's StatusCallback.

`first_step` decides what leaves the queue (a campaign's rate decides when, in the delivery);
`carrier_outcome` what the carrier answers: T-Mobile fails a brand's messages past its daily
cap with 30023 (carriers.py).
"""

from __future__ import annotations

from collections.abc import Callable

from devstack.twilio import carriers
from devstack.twilio.backend import TwilioBackend
from devstack.twilio.errors import (
    ERR_A2P_UNREGISTERED,
    ERR_FROM_NOT_OWNED,
    ERR_INVALID_TO,
    ERR_MESSAGING_SERVICE,
    ERR_NOT_IN_SERVICE,
    ERR_SERVICE_HAS_NO_SENDER,
    ERR_UNREACHABLE,
    ERR_UNSUBSCRIBED,
    ApiError,
)
from devstack.twilio.media import ERR_TOO_MANY_MEDIA, MAX_MEDIA, MediaError, StoredMedia
from devstack.twilio.phone_numbers import US_BOUND_REGIONS, area_code_of, country_of, is_us_long_code, parse_e164
from devstack.twilio.resources import API_VERSION, Message, MessagingService, Step
from devstack.twilio.segments import smart_encode

PRICE_PER_SEGMENT = 0.0079  # USD, what the stand-in bills a US segment
# Fetches an outbound message's MediaUrls (media_fetch.fetch_media over HTTP; a fake in tests).
MediaFetcher = Callable[[list[str]], tuple[list[StoredMedia], MediaError | None]]


def send_message(
    backend: TwilioBackend,
    *,
    to: str,
    from_: str | None,
    messaging_service_sid: str | None,
    body: str,
    smart_encoded: bool,
    status_callback: str | None,
    media_urls: list[str],
    fetch_media: MediaFetcher,
) -> Message:
    """Accept a message as Twilio's Create Message does (queued, its first step chosen), or
    raise the ApiError Twilio answers: 21211 To invalid, 21701 no such service, 21704 no sender
    in its pool, 21606 From not an SMS number of the account, 21711 From not in the service,
    21610 To opted out, 21623 too many media."""
    to_e164 = parse_e164(to)
    if to_e164 is None or to_e164 != to:
        raise ApiError(400, ERR_INVALID_TO, f"The 'To' number {to} is not a valid phone number.")
    service = None
    if messaging_service_sid:
        service = backend.services.get(messaging_service_sid)
        if service is None:
            raise ApiError(
                400,
                ERR_MESSAGING_SERVICE,
                f"The Messaging Service {messaging_service_sid} does not exist or does not belong to this account.",
            )
        if not from_:
            from_ = pick_sender(backend, service, to)
            if from_ is None:
                raise ApiError(
                    400,
                    ERR_SERVICE_HAS_NO_SENDER,
                    f"The Messaging Service {service.sid} has no phone number in its sender pool to send from.",
                )
    number = backend.number_by_phone(from_) if from_ else None
    if from_ is None or number is None or not number.sms_capable:
        raise ApiError(
            400,
            ERR_FROM_NOT_OWNED,
            f"The From phone number {from_} is not a valid, SMS-capable inbound phone number or short code for your account.",
        )
    if service is not None and number.sid not in service.senders:
        raise ApiError(
            400,
            ERR_NOT_IN_SERVICE,
            f"The From phone number {from_} is not associated with the Messaging Service {service.sid}.",
        )
    if to in backend.opted_out:
        raise ApiError(400, ERR_UNSUBSCRIBED, "Attempt to send to unsubscribed recipient")
    if len(media_urls) > MAX_MEDIA:
        raise ApiError(400, ERR_TOO_MANY_MEDIA, "Number of media files exceeds allowed limit")
    media, media_error = fetch_media(media_urls)
    return backend.add_message(
        direction="outbound-api",
        from_=from_,
        to=to,
        body=smart_encode(body) if smart_encoded else body,
        status="queued",
        media_urls=tuple(media_urls),
        media=media,
        status_callback=status_callback or (service.status_callback if service else None),
        messaging_service_sid=service.sid if service else None,
        pending=first_step(backend, from_, to, media_error=media_error),
    )


def send_reply(backend: TwilioBackend, pool_number: str, phone: str, text: str, *, auto: bool = False) -> Message:
    """A reply to a phone's SMS (TwiML <Message>, or Twilio's own keyword answer when auto)."""
    return backend.add_message(
        direction="outbound-reply",
        from_=pool_number,
        to=phone,
        body=text,
        status="queued",
        auto_reply=auto,
        pending=first_step(backend, pool_number, phone, auto_reply=auto),
    )


def pick_sender(backend: TwilioBackend, service: MessagingService, to: str) -> str | None:
    """The sender Twilio would pick from a service's pool: the one that last texted `to`
    (Sticky Sender), else one with the same area code (Area Code Geomatch), else the first."""
    with backend.lock:
        pool = [n.phone_number for n in backend.senders(service) if n.sms_capable]
        if not pool:
            return None
        if service.sticky_sender:
            for message in reversed(list(backend.messages.values())):
                if message.to == to and message.from_ in pool:
                    return message.from_
        if service.area_code_geomatch:
            same = [n for n in pool if area_code_of(n) and area_code_of(n) == area_code_of(to)]
            if same:
                return same[0]
        return pool[0]


def a2p_blocks(backend: TwilioBackend, from_: str, to: str, *, auto_reply: bool = False) -> bool:
    """Would Twilio fail this message with 30034 (enforcement on, a US long code sending to
    the US, not in the sender pool of a service with a VERIFIED campaign)?"""
    if not backend.require_a2p or auto_reply:
        return False
    if not is_us_long_code(from_) or country_of(to) not in US_BOUND_REGIONS:
        return False
    service = backend.service_of(from_)
    return service is None or not service.a2p_verified


def first_step(
    backend: TwilioBackend, from_: str, to: str, *, auto_reply: bool = False, media_error: MediaError | None = None
) -> Step:
    """What an accepted message turns into when it leaves the queue: failed when Twilio could
    not fetch its media; undelivered (30034) when unregistered US 10DLC traffic is blocked
    before any carrier; otherwise sent."""
    if media_error is not None:
        return Step("failed", *media_error)
    if a2p_blocks(backend, from_, to, auto_reply=auto_reply):
        return Step("undelivered", ERR_A2P_UNREGISTERED, "US A2P 10DLC - Message from an Unregistered Number")
    return Step("sent")


def carrier_outcome(backend: TwilioBackend, message: Message) -> Step:
    """What the carrier answers for a sent message: failed (30023) to a T-Mobile phone past the
    brand's daily cap, undelivered (30003) to an unreachable phone, else delivered."""
    if not within_tmobile_cap(backend, message):
        return Step("failed", carriers.ERR_DAILY_CAP, carriers.DAILY_CAP_MESSAGE)
    if message.to in backend.unreachable:
        return Step("undelivered", ERR_UNREACHABLE, "Unreachable destination handset")
    return Step("delivered")


def within_tmobile_cap(backend: TwilioBackend, message: Message) -> bool:
    """T-Mobile counts a campaign's 10DLC message to its phone (segments, or 1 for an MMS) for the
    brand's Pacific day; False once the day's cap is passed."""
    if not is_us_long_code(message.from_) or not carriers.is_tmobile(backend.carriers.carrier_of(message.to)):
        return True
    service = backend.service_of(message.from_)
    if service is None or service.campaign is None:
        return True  # no brand: unregistered traffic (30034 where enforced), not under a brand's cap
    campaign = service.campaign
    cap = carriers.brand_cap(campaign.rate_limits, campaign.us_app_to_person_usecase, backend.carriers.daily_cap)
    units = 1 if message.media else message.num_segments
    return backend.carriers.take(backend.clock(), units, cap)


def advance(backend: TwilioBackend, sid: str) -> Message | None:
    """Apply a message's pending step and choose the next (the carrier's answer after sent);
    the message, or None when it has no step left (or is gone after a reset)."""
    with backend.lock:
        message = backend.messages.get(sid)
        if message is None or message.pending is None:
            return None
        step = message.pending
        message.status = step.status
        message.date_updated = backend.clock()
        if step.error_code is not None:
            message.error_code, message.error_message = step.error_code, step.error_message
        if step.status == "sent":
            message.date_sent = message.date_updated
            message.price = f"-{PRICE_PER_SEGMENT * message.num_segments:.5f}"
            message.pending = carrier_outcome(backend, message)
        else:
            message.pending = None
        backend.notify()
        return message


def status_callback_params(account_sid: str, message: Message) -> dict[str, str]:
    """The form Twilio posts to a message's StatusCallback for its current status."""
    params = {
        "AccountSid": account_sid,
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
    return params
