"""The stand-in's parts, as one value the responses, the control API and the phone page are
handed: the backend (Twilio's state and rules), the delivery (timer, callbacks, webhooks), the
faults, and the seams passed in (the media fetcher, the bridge's queue depth for the page)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from devstack.twilio.backend import TwilioBackend
from devstack.twilio.delivery import Delivery
from devstack.twilio.faults import FaultInjector
from devstack.twilio.outbound import MediaFetcher


@dataclasses.dataclass
class Standin:
    backend: TwilioBackend
    delivery: Delivery
    faults: FaultInjector
    fetch_media: MediaFetcher
    # how many SMS wait in the bridge's outbound queue (None if unknown), for the page
    queue_depth: Callable[[], int | None] | None = None
    chat_page_url: str | None = None  # the local stack's chat page, linked from the phone page

    def reset(self) -> None:
        """Forget everything (the options stay): resources, phones, logs and faults."""
        self.faults.clear()
        self.backend.reset()
