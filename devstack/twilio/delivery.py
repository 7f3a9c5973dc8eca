"""Delivery: what the stand-in does over time and over HTTP. A timer moves each accepted
message through its steps (outbound.advance) and tells each one to the message's
StatusCallback; a phone's SMS is posted to its webhook and the TwiML answer becomes replies.
The rules are the backend's (outbound.py, inbound.py); this module only schedules and posts.

`Delivery.step_delay` says how long a message waits before its next step: `callback_delay`, and
a 10DLC message leaving Twilio's queue also its turn in its campaign's queue (the campaign's
rate, shared by all its numbers: carriers.py).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from devstack.twilio import carriers, inbound, outbound
from devstack.twilio.backend import TwilioBackend
from devstack.twilio.media import StoredMedia
from devstack.twilio.phone_numbers import is_us_long_code
from devstack.twilio.resources import Message
from devstack.twilio.webhooks import SignedWebhookClient

log = logging.getLogger("devstack.twilio.delivery")


class Timer(Protocol):
    """Runs callables later (CallbackTimer on a thread; a test's own timer runs them when told)."""

    def call_later(self, delay: float, fn: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...


class CallbackTimer:
    """One background thread running callables at due times, in due order."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._heap: list = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (self._monotonic() + delay, next(self._seq), fn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="standin-callbacks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap and self._heap[0][0] <= self._monotonic():
                        break
                    timeout = self._heap[0][0] - self._monotonic() if self._heap else None
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


@dataclasses.dataclass(frozen=True)
class PhoneTexted:
    """What came of a phone's SMS: the stored SMS, the webhook call's record (None: no URL to
    post to), the replies queued and the TwiML texts refused (opted-out phone)."""

    message: Message
    webhook: dict | None
    replies: list[Message]
    blocked_replies: list[str]


class Delivery:
    """Timed steps and status callbacks of outbound messages; webhooks of inbound ones."""

    def __init__(
        self,
        backend: TwilioBackend,
        webhooks: SignedWebhookClient,
        *,
        callback_delay: float,
        timer: Timer,
    ):
        self.backend = backend
        self.webhooks = webhooks
        self.callback_delay = callback_delay  # seconds between a message's steps
        self.timer = timer

    def close(self) -> None:
        """Stop the timer: steps not yet due never happen."""
        self.timer.stop()

    def step_delay(self, message: Message) -> float:
        """How long a message waits before its pending step (leaving the queue: after the
        campaign's earlier messages, at its rate)."""
        if message.status != "queued" or not is_us_long_code(message.from_):
            return self.callback_delay
        with self.backend.lock:
            service = self.backend.service_of(message.from_)
            if service is None or service.campaign is None:
                return self.callback_delay
            mps = carriers.campaign_mps(service.campaign.rate_limits)
            now = self.backend.clock().timestamp()
            wait = self.backend.carriers.queue_wait(service.campaign.sid, mps, now, message.num_segments)
        return self.callback_delay + wait

    def start(self, message: Message) -> None:
        """Schedule an accepted message's steps, each told to its StatusCallback."""
        self.timer.call_later(self.step_delay(message), lambda: self._step(message.sid))

    def _step(self, sid: str) -> None:
        message = outbound.advance(self.backend, sid)
        if message is None:
            return
        if message.status_callback:
            params = outbound.status_callback_params(self.backend.account_sid, message)
            self.webhooks.post("status", message.status_callback, params)
        if message.pending is not None:
            self.start(message)

    def text_from_phone(
        self, phone: str, pool_number: str, body: str, media: list[StoredMedia] | None = None
    ) -> PhoneTexted:
        """A simulated phone texts a pool number: the SMS is stored, the signed webhook posted
        (to the number's SmsUrl or its Messaging Service's inbound_request_url), and the TwiML
        <Message> replies and Twilio's own keyword answer are sent. LookupError: not a number of
        this account."""
        received = inbound.receive(self.backend, phone, pool_number, body, media or [])
        webhook = None
        url, method = self.backend.inbound_webhook(pool_number)
        if url:
            params = inbound.webhook_params(self.backend, received.message, received.keyword, received.service)
            webhook = self.webhooks.post("sms", url, params, method)
        status = webhook["status"] if webhook else None
        twiml = webhook["body"] if webhook and status and 200 <= status < 300 else None
        replies, blocked = inbound.replies(self.backend, received, twiml)
        for reply in replies:
            self.start(reply)
        return PhoneTexted(received.message, webhook, replies, blocked)
