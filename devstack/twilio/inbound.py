"""Twilio's rules for an SMS a simulated phone sends to a pool number: it is stored, its
keyword (STOP, START, HELP and their synonyms, whole message, any case: Twilio's default
handling with Advanced Opt-Out off) opts the phone out or in, the signed webhook carries it
(with OptOutType as the account's mode says), and the TwiML reply and Twilio's own keyword
answer become outbound replies. Functions over the backend: the delivery posts the webhook."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ElementTree

from devstack.twilio import outbound
from devstack.twilio.backend import TwilioBackend
from devstack.twilio.media import StoredMedia, media_url
from devstack.twilio.phone_numbers import country_of
from devstack.twilio.resources import API_VERSION, Message, MessagingService

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


@dataclasses.dataclass(frozen=True)
class Received:
    """An SMS from a phone as Twilio took it: the stored message, its keyword (the whole body,
    upper case) and the Messaging Service of the pool number, if any."""

    message: Message
    keyword: str
    service: MessagingService | None


def receive(backend: TwilioBackend, phone: str, pool_number: str, body: str, media: list[StoredMedia]) -> Received:
    """Store a phone's SMS to a pool number and apply its opt-out keyword; LookupError if the
    account does not own the number."""
    if backend.number_by_phone(pool_number) is None:
        raise LookupError(f"{pool_number} is not a number of this account")
    keyword = body.strip().upper()
    service = backend.service_of(pool_number)
    message = backend.add_message(
        direction="inbound",
        from_=phone,
        to=pool_number,
        body=body,
        status="received",
        date_sent=backend.clock(),
        media=media,
        messaging_service_sid=service.sid if service else None,
    )
    with backend.lock:
        if keyword in OPT_OUT_KEYWORDS:
            backend.opted_out.add(phone)
        elif keyword in OPT_IN_KEYWORDS:
            backend.opted_out.discard(phone)
        backend.notify()
    return Received(message, keyword, service)


def webhook_params(
    backend: TwilioBackend, inbound: Message, keyword: str, service: MessagingService | None = None
) -> dict[str, str]:
    """The form of Twilio's inbound-SMS webhook for a received message."""
    params = {
        "AccountSid": backend.account_sid,
        "ApiVersion": API_VERSION,
        "Body": inbound.body,
        "From": inbound.from_,
        "FromCountry": country_of(inbound.from_),
        "MessageSid": inbound.sid,
        "NumMedia": str(len(inbound.media)),
        "NumSegments": str(inbound.num_segments),
        "SmsMessageSid": inbound.sid,
        "SmsSid": inbound.sid,
        "SmsStatus": "received",
        "To": inbound.to,
        "ToCountry": country_of(inbound.to),
    }
    for index, medium in enumerate(inbound.media):
        params[f"MediaUrl{index}"] = media_url(backend.account_sid, inbound.sid, medium)
        params[f"MediaContentType{index}"] = medium.content_type
    if service is not None:
        params["MessagingServiceSid"] = service.sid
    if backend.opt_out_type == "advanced" and not (service and service.advanced_opt_out):
        return params
    for keywords, opt_out_type in ((OPT_OUT_KEYWORDS, "STOP"), (OPT_IN_KEYWORDS, "START"), (HELP_KEYWORDS, "HELP")):
        if keyword in keywords:
            params["OptOutType"] = opt_out_type
    return params


def replies(backend: TwilioBackend, received: Received, twiml: str | None) -> tuple[list[Message], list[str]]:
    """The replies Twilio sends to a received SMS: each TwiML <Message> of the webhook's
    answer (None: no successful answer), then its own keyword answer. Returns the replies
    queued and the TwiML texts refused because the phone is opted out (21610)."""
    phone, pool_number, keyword = received.message.from_, received.message.to, received.keyword
    queued, blocked = [], []
    for text in twiml_message_bodies(twiml or ""):
        if phone in backend.opted_out:
            blocked.append(text)
        else:
            queued.append(outbound.send_reply(backend, pool_number, phone, text))
    auto = auto_reply(backend, phone, keyword)
    if auto is not None:
        queued.append(outbound.send_reply(backend, pool_number, phone, auto, auto=True))
    return queued, blocked


def auto_reply(backend: TwilioBackend, phone: str, keyword: str) -> str | None:
    """Twilio's own answer to a keyword (none to HELP from an opted-out phone)."""
    if not backend.keyword_auto_replies:
        return None
    if keyword in OPT_OUT_KEYWORDS:
        return STOP_AUTO_REPLY
    if keyword in OPT_IN_KEYWORDS:
        return START_AUTO_REPLY
    if keyword in HELP_KEYWORDS and phone not in backend.opted_out:
        return HELP_AUTO_REPLY
    return None


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
