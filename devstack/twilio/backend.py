"""The stand-in's Twilio account: its state and Twilio's rules for numbers, Messaging Services
and their A2P campaigns, messages and the simulated phones, with the account's logs (API
requests received, webhooks sent: what Twilio's Console shows under Monitor).

No HTTP and no threads of its own: the responses, the delivery and the control API call it;
the clock is passed in. It is shared by the server's threads, so every change happens under
`lock` and notifies `changed`: tests `wait_for(predicate)` instead of sleeping. The sending
rules are in outbound.py, a phone's SMS to the pool in inbound.py, both over this backend.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devstack.twilio.carriers import Carriers
from devstack.twilio.errors import (
    ERR_IN_ANOTHER_SERVICE,
    ERR_NO_NUMBERS_IN_AREA_CODE,
    ERR_NOT_MESSAGING_CAPABLE,
    ERR_PHONE_NUMBER_INVALID,
    ERR_PHONE_NUMBER_UNAVAILABLE,
    ApiError,
    not_found,
)
from devstack.twilio.phone_numbers import area_code_of, candidate_numbers, national_format, parse_e164
from devstack.twilio.resources import (
    CAMPAIGN_STATUSES,
    DEFAULT_RATE_LIMITS,
    Campaign,
    IncomingNumber,
    Message,
    MessagingService,
    PhoneLine,
    default_line,
)
from devstack.twilio.segments import count_segments

# When the inbound webhook carries OptOutType: "always" (every keyword, the stand-in's
# historical behaviour) or "advanced" (as Twilio: only for a number in a Messaging Service
# with Advanced Opt-Out on).
OPT_OUT_TYPE_MODES = ("always", "advanced")


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


class TwilioBackend:
    """Everything the stand-in's Twilio account holds, and Twilio's rules on it."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        clock: Callable[[], datetime],
        require_a2p: bool = False,
        opt_out_type: str = "always",
        keyword_auto_replies: bool = True,
    ):
        if opt_out_type not in OPT_OUT_TYPE_MODES:
            raise ValueError(f"opt_out_type must be one of {OPT_OUT_TYPE_MODES}")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.clock = clock
        # A2P 10DLC enforcement: a US long code outside a VERIFIED campaign's sender pool gets
        # its US-bound messages accepted, then failed with 30034.
        self.require_a2p = require_a2p
        self.opt_out_type = opt_out_type
        self.keyword_auto_replies = keyword_auto_replies  # Twilio's own STOP/START/HELP replies
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.reset()

    def reset(self) -> None:
        """Forget every resource, phone and log entry (the options stay)."""
        with self.lock:
            self.numbers: dict[str, IncomingNumber] = {}  # by sid
            self.services: dict[str, MessagingService] = {}  # by sid, oldest first
            self.messages: dict[str, Message] = {}  # by sid, oldest first
            self.ever_owned: set[str] = set()  # pool numbers, for the page
            self.extra_phones: list[str] = []  # phones added on the page
            self.opted_out: set[str] = set()
            self.unreachable: set[str] = set()
            self.phone_lines: dict[str, PhoneLine] = {}  # Lookup's answers set for phones (else default_line)
            self.unavailable_area_codes: set[str] = set()
            self.carriers = Carriers()  # each phone's carrier; T-Mobile's count of the day (carriers.py)
            self.requests: list[dict] = []  # Twilio API requests received
            self.callbacks: list[dict] = []  # status callbacks and webhooks sent
            self.notify()

    def notify(self) -> None:
        """Something changed: wake whoever waits on `changed`."""
        with self.lock:
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

    # -- numbers --------------------------------------------------------------------------

    def number_by_phone(self, phone: str) -> IncomingNumber | None:
        with self.lock:
            return next((n for n in self.numbers.values() if n.phone_number == phone), None)

    def number(self, phone_or_sid: str) -> IncomingNumber | None:
        with self.lock:
            return self.numbers.get(phone_or_sid) or self.number_by_phone(phone_or_sid)

    def available_numbers(self, country: str, area_code: str | None = None) -> list[str]:
        """Numbers a search or a purchase can get: in stock, not owned, area code not
        marked unavailable."""
        with self.lock:
            owned = {n.phone_number for n in self.numbers.values()}
            unavailable = set(self.unavailable_area_codes)
        return [
            n for n in candidate_numbers(country, area_code) if n not in owned and area_code_of(n) not in unavailable
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
            self.notify()
        return number

    def buy_number(self, phone_number: str | None, area_code: str | None, **fields) -> IncomingNumber:
        """A purchase as Twilio answers it: the number asked for (21421 invalid, 21422 owned or
        unavailable), else the first in stock in the area code (21452 none), one of the two
        required (21421)."""
        with self.lock:
            if phone_number:
                phone = parse_e164(phone_number)
                if phone is None:
                    raise ApiError(400, ERR_PHONE_NUMBER_INVALID, f"PhoneNumber {phone_number} is invalid.")
                if self.number_by_phone(phone) or area_code_of(phone) in self.unavailable_area_codes:
                    raise ApiError(400, ERR_PHONE_NUMBER_UNAVAILABLE, f"PhoneNumber {phone} is not available.")
            elif area_code:
                available = self.available_numbers("US", area_code)
                if not available:
                    raise ApiError(
                        400, ERR_NO_NUMBERS_IN_AREA_CODE, f"No phone numbers found in area code {area_code}."
                    )
                phone = available[0]
            else:
                raise ApiError(400, ERR_PHONE_NUMBER_INVALID, "A PhoneNumber or AreaCode is required.")
            return self.add_number(phone, **fields)

    def update_number(self, sid: str, fields: dict[str, str | None]) -> IncomingNumber | None:
        """Change a number's settings (attribute -> value); None if the account has no such sid."""
        with self.lock:
            number = self.numbers.get(sid)
            if number is None:
                return None
            for attr, value in fields.items():
                setattr(number, attr, value)
            number.date_updated = self.clock()
            self.notify()
            return number

    def remove_number(self, sid: str) -> IncomingNumber | None:
        """Release a number: it also leaves its Messaging Service's sender pool, as on Twilio."""
        with self.lock:
            number = self.numbers.pop(sid, None)
            if number is not None:
                for service in self.services.values():
                    service.senders.pop(sid, None)
                self.notify()
            return number

    def set_area_code_available(self, area_code: str, available: bool) -> None:
        with self.lock:
            (self.unavailable_area_codes.discard if available else self.unavailable_area_codes.add)(area_code)
            self.notify()

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
            self.notify()
        return service

    def service(self, sid: str) -> MessagingService:
        with self.lock:
            service = self.services.get(sid)
        if service is None:
            raise not_found(f"/v1/Services/{sid}")
        return service

    def update_service(self, sid: str, fields: dict[str, Any]) -> MessagingService:
        with self.lock:
            service = self.service(sid)
            for attr, value in fields.items():
                setattr(service, attr, value)
            service.date_updated = self.clock()
            self.notify()
            return service

    def senders(self, service: MessagingService) -> list[IncomingNumber]:
        """The numbers in a service's sender pool, in the order they joined."""
        with self.lock:
            return [self.numbers[sid] for sid in service.senders if sid in self.numbers]

    def add_to_service(self, service_sid: str, phone_or_sid: str) -> IncomingNumber:
        """Put an owned number (E.164 or PN sid) in a service's sender pool, with Twilio's
        errors: 404/20404 unknown service or a number the account does not own, 400/21712
        already in another service, 400/21715 not SMS/MMS-capable. Adding it to the service it
        is already in changes nothing."""
        with self.lock:
            service = self.service(service_sid)
            number = self.number(phone_or_sid)
            if number is None:
                raise not_found(phone_or_sid)
            other = self.service_of(number.phone_number)
            if other is not None and other.sid != service.sid:
                raise ApiError(
                    400,
                    ERR_IN_ANOTHER_SERVICE,
                    f"Phone Number or Short Code is associated with another Messaging Service ({other.sid}).",
                )
            if not number.sms_capable:
                raise ApiError(
                    400,
                    ERR_NOT_MESSAGING_CAPABLE,
                    "Phone Number Does Not Have Correct Messaging Service Capabilities (SMS or MMS).",
                )
            service.senders.setdefault(number.sid, self.clock())
            self.notify()
            return number

    def remove_from_service(self, service_sid: str, number_sid: str) -> None:
        with self.lock:
            service = self.service(service_sid)
            if service.senders.pop(number_sid, None) is None:
                raise not_found(f"/v1/Services/{service_sid}/PhoneNumbers/{number_sid}")
            self.notify()

    def service_of(self, phone_number: str) -> MessagingService | None:
        """The Messaging Service whose sender pool holds this number, if any."""
        with self.lock:
            number = self.number_by_phone(phone_number)
            if number is None:
                return None
            return next((s for s in self.services.values() if number.sid in s.senders), None)

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
            self.notify()
            return service.campaign

    def clear_campaign(self, service_sid: str) -> None:
        with self.lock:
            self.service(service_sid).campaign = None
            self.notify()

    # -- messages -------------------------------------------------------------------------

    def add_message(self, **fields) -> Message:
        """Store a message (fields: Message attributes; dates default to now, segments are
        counted from the body)."""
        now = self.clock()
        fields.setdefault("date_created", now)
        fields.setdefault("date_updated", now)
        fields.setdefault("num_segments", count_segments(fields.get("body", "")))
        message = Message(sid=new_sid("SM"), **fields)
        with self.lock:
            self.messages[message.sid] = message
            self.notify()
        return message

    def delete_media(self, message: Message, media_sid: str) -> bool:
        """Twilio's copy of a medium removed (the phone keeps its own); False if none."""
        with self.lock:
            found = next((m for m in message.media if m.sid == media_sid), None)
            if found is None:
                return False
            message.media.remove(found)
            self.notify()
            return True

    # -- simulated phones -----------------------------------------------------------------

    def set_phone(
        self,
        phone: str,
        *,
        opted_out: bool | None = None,
        unreachable: bool | None = None,
        line: dict[str, object] | None = None,
    ) -> None:
        """A simulated phone shown on the page (added if new): opted out of the pool's SMS,
        or unreachable (its SMS end undelivered, 30003); `line` changes what Lookup answers of
        it (PhoneLine's fields: line_type, carrier, sms_pumping_risk). The carrier is kept in
        `carriers`, which the carriers' rules (T-Mobile's cap) read too."""
        with self.lock:
            line = dict(line or {})
            if "carrier" in line:
                self.carriers.set_carrier(phone, line.pop("carrier"))  # type: ignore[arg-type]
            if line:
                self.phone_lines[phone] = dataclasses.replace(self.line_of(phone), **line)  # type: ignore[arg-type]
            seen = {n for m in self.messages.values() for n in (m.from_, m.to) if n not in self.ever_owned}
            if phone not in self.extra_phones and phone not in seen:
                self.extra_phones.append(phone)
            for flag, members in ((opted_out, self.opted_out), (unreachable, self.unreachable)):
                if flag is not None:
                    (members.add if flag else members.discard)(phone)
            self.notify()

    def line_of(self, phone: str) -> PhoneLine:
        """What Lookup v2 answers of a phone: its carrier is the one the carriers' rules use."""
        with self.lock:
            line = self.phone_lines.get(phone) or default_line(phone)
            return dataclasses.replace(line, carrier=self.carriers.carrier_of(phone))

    # -- the account's logs ---------------------------------------------------------------

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)
            self.notify()

    def log_callback(self, record: dict) -> None:
        with self.lock:
            self.callbacks.append(record)
            self.notify()

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()
            self.notify()
