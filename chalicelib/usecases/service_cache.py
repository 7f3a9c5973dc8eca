"""What a process remembers of the Messaging Service between invocations (the context's
`service_cache`): the services checked to hand inbound SMS to the numbers, the A2P
campaign last read with when, and whether the missing service was announced. Kept in
the context, not in a module, so each test or simulation starts with its own."""

from __future__ import annotations

import threading

from chalicelib.adapters.twilio import A2pCampaign


class ServiceCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: set[str] = set()
        self._campaigns: dict[str, tuple[float, A2pCampaign | None]] = {}
        self._announced = False

    def is_checked(self, service_sid: str) -> bool:
        return service_sid in self._checked

    def checked(self, service_sid: str) -> None:
        with self._lock:
            self._checked.add(service_sid)

    def campaign(self, service_sid: str, now: float, max_age: float) -> tuple[bool, A2pCampaign | None]:
        """(found, the campaign read less than `max_age` ago)."""
        cached = self._campaigns.get(service_sid)
        if cached is None or now - cached[0] >= max_age:
            return False, None
        return True, cached[1]

    def keep_campaign(self, service_sid: str, now: float, campaign: A2pCampaign | None) -> None:
        with self._lock:
            self._campaigns[service_sid] = (now, campaign)

    def forget_campaign(self, service_sid: str) -> None:
        with self._lock:
            self._campaigns.pop(service_sid, None)

    def first_announcement(self) -> bool:
        """True once: the first time a process says the service is missing."""
        with self._lock:
            first, self._announced = not self._announced, True
            return first
