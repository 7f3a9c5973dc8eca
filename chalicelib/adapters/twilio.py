"""The one module that talks to Twilio: `TwilioGateway` (its answers: adapters/twilio_answers.py).

Everything else calls its methods (the context's `twilio`) and sees plain values or
TwilioError; tests give it an HTTP client of their own. `twilio.rest` is imported on first
use only: it costs tens of milliseconds and most invocations never send.
TWILIO_API_BASE_URL points the client at a Twilio-compatible server (the local stand-in)
by rewriting scheme and host.
"""

from __future__ import annotations

import functools
import logging
import math
from urllib.parse import urlsplit, urlunsplit

from chalicelib import config
from chalicelib.adapters.clock import SystemClock
from chalicelib.adapters.secrets import Secrets
from chalicelib.adapters.twilio_answers import (
    A2pCampaign,
    MessagingServiceInfo,
    OwnedNumber,
    SentMessage,
    TwilioError,
    lookup_of,
    owned_of,
    sent_of,
    service_of,
)
from chalicelib.config import Settings
from chalicelib.core.line_types import LookupFacts

# Twilio error codes the service acts on.
OPTED_OUT = 21610
ALREADY_IN_SERVICE = 21710  # the number is already a sender of this Messaging Service

HTTP_TIMEOUT_SECONDS = 10


class TwilioGateway:
    """Twilio's REST API. Without an `http_client` it uses the account of the settings
    (TWILIO_ACCOUNT_SID, TWILIO_API_BASE_URL) and the secret TWILIO_AUTH_TOKEN; with one
    (a test's), every request goes through it. A context configures it with its settings
    and secrets; one made on its own (a script's) reads the configuration when first used."""

    def __init__(self, http_client=None):
        self._http_client = http_client
        self._account: tuple[Settings, Secrets] | None = None

    def configure(self, settings: Settings, secrets: Secrets) -> None:
        self._account = (settings, secrets)

    def _settings(self) -> Settings:
        if self._account is None:  # made on its own (a script's): the configuration as first used
            settings = config.load()
            self.configure(settings, Secrets(SystemClock(), settings.secrets_max_age_seconds))
        return self._account[0]  # type: ignore[index]

    def _auth_token(self) -> str:
        self._settings()
        # The first token listed authenticates (the secondary, during a rotation).
        return self._account[1].get_list("TWILIO_AUTH_TOKEN")[0]  # type: ignore[index]

    def _call(self, action):
        settings = self._settings()
        if self._http_client is not None:
            client = _client_over(settings.twilio_account_sid, self._http_client)
        else:
            client = _client(settings.twilio_account_sid, self._auth_token(), settings.twilio_api_base_url)
        return _call(client, action)

    def send_sms(
        self,
        *,
        from_: str,
        to: str,
        body: str,
        status_callback: str,
        media_urls: list[str] | None = None,
        messaging_service_sid: str | None = None,
    ) -> SentMessage:
        """An SMS, or an MMS when `media_urls` are given (Twilio fetches each). With a
        Messaging Service, both it and From are named: the service's A2P registration and
        opt-out handling apply, and the session's number still sends."""
        extra: dict = {"media_url": media_urls} if media_urls else {}
        if messaging_service_sid:
            extra["messaging_service_sid"] = messaging_service_sid
        message = self._call(
            lambda c: c.messages.create(to=to, from_=from_, body=body, status_callback=status_callback, **extra)
        )
        return sent_of(message)

    def find_sent(self, *, from_: str, to: str, sent_on_or_after: float) -> list[SentMessage]:
        """Messages Twilio has from `from_` to `to`, created since the given time
        (whole seconds): the reconciliation look-up, newest first.

        Not filtered by DateSent: a message Twilio accepted but has not sent yet
        (still queued there) has no DateSent, and such a filter would hide exactly
        the message being looked for, so it would be sent twice. The newest 50 of
        the pair are enough: a number's messages go out in order, so none after
        the one in doubt has been sent."""
        since = math.floor(sent_on_or_after)
        messages = self._call(lambda c: c.messages.list(to=to, from_=from_, limit=50))
        found = [sent_of(message) for message in messages]
        return [sent for sent in found if sent.date_created is None or sent.date_created >= since]

    def find_owned_number(self, phone_number: str) -> OwnedNumber | None:
        numbers = self._call(lambda c: c.incoming_phone_numbers.list(phone_number=phone_number, limit=1))
        for number in numbers:
            return owned_of(number)
        return None

    def owned_numbers(self, limit: int = 1000) -> list[OwnedNumber]:
        """The account's phone numbers with their SMS and status webhooks (make doctor)."""
        return [owned_of(n) for n in self._call(lambda c: c.incoming_phone_numbers.list(limit=limit))]

    def point_number_at(self, sid: str, *, sms_url: str, status_callback: str) -> None:
        self._call(
            lambda c: c.incoming_phone_numbers(sid).update(
                sms_url=sms_url,
                sms_method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
            )
        )

    def search_local(self, country: str, area_code: str | None = None, limit: int = 5) -> list[str]:
        """Local SMS-capable numbers Twilio offers, in the area code when given."""
        kwargs = {"sms_enabled": True, "limit": limit}
        if area_code:
            kwargs["area_code"] = int(area_code)
        numbers = self._call(lambda c: c.available_phone_numbers(country).local.list(**kwargs))
        return [number.phone_number for number in numbers]

    def buy(self, phone_number: str, *, sms_url: str, status_callback: str) -> OwnedNumber:
        number = self._call(
            lambda c: c.incoming_phone_numbers.create(
                phone_number=phone_number,
                sms_url=sms_url,
                sms_method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
            )
        )
        return owned_of(number)

    def release(self, sid: str) -> None:
        self._call(lambda c: c.incoming_phone_numbers(sid).delete())

    def fetch_media(self, url: str, timeout: float = HTTP_TIMEOUT_SECONDS) -> tuple[str, bytes]:
        """The content type and bytes behind an inbound MediaUrl, fetched with the
        account's credentials (Twilio requires them when media auth is on; they go
        to Twilio's own hosts only, and a redirect to its storage drops them)."""
        import requests

        settings = self._settings()
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "https" or not (host == "twilio.com" or host.endswith(".twilio.com")):
            # Only Twilio's own media are fetched (nothing else is sent our credentials).
            raise TwilioError("not a Twilio media URL", status=None, code=None, retryable=False)
        auth = (settings.twilio_account_sid, self._auth_token())
        try:
            response = requests.get(_rebased(url, settings.twilio_api_base_url), auth=auth, timeout=timeout)
        except requests.RequestException as error:
            raise TwilioError(
                f"media unreachable: {type(error).__name__}", status=None, code=None, retryable=True
            ) from None
        if response.status_code != 200:
            retryable = response.status_code == 429 or response.status_code >= 500
            raise TwilioError(
                f"media answered {response.status_code}", status=response.status_code, code=None, retryable=retryable
            )
        kind = (response.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip().lower()
        return kind, response.content

    def delete_media(self, message_sid: str, media_sid: str) -> None:
        """Delete a message's medium at Twilio (its Media resource); gone already is fine."""
        try:
            self._call(lambda c: c.messages(message_sid).media(media_sid).delete())
        except TwilioError as error:
            if error.status != 404:
                raise

    # --- Lookup API v2 (lookups.twilio.com) ------------------------------------

    def lookup(self, phone: str, fields: tuple[str, ...]) -> LookupFacts:
        """What Twilio Lookup v2 says of a phone: its line type and carrier
        (line_type_intelligence), its SMS pumping risk (sms_pumping_risk), as asked in `fields`.
        Rebased like every call: TWILIO_API_BASE_URL names the server (the stand-in locally)."""
        found = self._call(lambda c: c.lookups.v2.phone_numbers(phone).fetch(fields=",".join(fields)))
        return lookup_of(found)

    # --- Messaging API v1 (messaging.twilio.com) ------------------------------

    def fetch_service(self, service_sid: str) -> MessagingServiceInfo:
        return service_of(self._call(lambda c: c.messaging.v1.services(service_sid).fetch()))

    def defer_inbound_to_numbers(self, service_sid: str) -> MessagingServiceInfo:
        """Make the service hand incoming SMS to each number's own SmsUrl."""
        return service_of(
            self._call(lambda c: c.messaging.v1.services(service_sid).update(use_inbound_webhook_on_number=True))
        )

    def join_service(self, service_sid: str, number_sid: str) -> None:
        """Add a number (PN sid) to the service's sender pool; already a member is fine."""
        try:
            self._call(lambda c: c.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=number_sid))
        except TwilioError as error:
            if error.code != ALREADY_IN_SERVICE:
                raise

    def leave_service(self, service_sid: str, number_sid: str) -> None:
        """Take a number out of the service's sender pool; not a member (404) is fine."""
        try:
            self._call(lambda c: c.messaging.v1.services(service_sid).phone_numbers(number_sid).delete())
        except TwilioError as error:
            if error.status != 404:
                raise

    def service_number_sids(self, service_sid: str) -> set[str]:
        """The PN sids in the service's sender pool."""
        members = self._call(lambda c: c.messaging.v1.services(service_sid).phone_numbers.list())
        return {member.sid for member in members}

    def us_campaigns(self, service_sid: str) -> list[A2pCampaign]:
        """The service's US A2P 10DLC campaign(s); Twilio allows one per service."""
        campaigns = self._call(lambda c: c.messaging.v1.services(service_sid).us_app_to_person.list())
        return [
            A2pCampaign(c.sid, (c.campaign_status or "").upper(), c.rate_limits, c.us_app_to_person_usecase)
            for c in campaigns
        ]


def _call(client, action):
    from requests import RequestException
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        return action(client)
    except TwilioRestException as error:
        retryable = error.status == 429 or error.status >= 500
        raise TwilioError(
            f"Twilio answered {error.status} (code {error.code})",
            status=error.status,
            code=error.code,
            retryable=retryable,
        ) from None
    except TwilioException as error:
        # Paging failures arrive as TwilioException("Unable to fetch page", response).
        status = getattr(error.args[1], "status_code", None) if len(error.args) > 1 else None
        raise TwilioError(
            f"Twilio answered {status}",
            status=status,
            code=None,
            retryable=status is None or status == 429 or status >= 500,
        ) from None
    except RequestException as error:
        raise TwilioError(
            f"Twilio unreachable: {type(error).__name__}", status=None, code=None, retryable=True
        ) from None


def _rebased(url: str, base_url: str | None) -> str:
    """`url` on the scheme and host of `base_url` (the stand-in), when one is set."""
    if not base_url:
        return url
    target, parts = urlsplit(base_url), urlsplit(url)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))


@functools.lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, base_url: str | None):
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    class _RebasedHttpClient(TwilioHttpClient):
        """Sends every request to `base_url` instead of *.twilio.com."""

        def request(self, method, url, *args, **kwargs):
            return super().request(method, _rebased(url, base_url), *args, **kwargs)

    # twilio's client logs every request's query (To, From: full phone numbers) at INFO;
    # our logs carry masked numbers only (chalicelib/logs.py), whatever the root level.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    http_client = _RebasedHttpClient(timeout=HTTP_TIMEOUT_SECONDS)
    return Client(account_sid, auth_token, http_client=http_client)


@functools.lru_cache(maxsize=4)
def _client_over(account_sid: str, http_client):
    from twilio.rest import Client

    return Client(account_sid, "unused: the given http_client answers", http_client=http_client)
