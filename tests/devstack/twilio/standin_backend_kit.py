"""What the stand-in's backend tests share: a virtual clock, a backend on it, a media fetcher
that fetches nothing, and a timer that runs its callables only when told (no thread, no HTTP).

Not a conftest.py: other test directories import their constants with `from conftest import`,
which a second conftest module here would shadow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devstack.twilio.backend import TwilioBackend

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "backend-test-token"
POOL_NUMBER = "+14155550100"
SECOND_NUMBER = "+14155550101"
USER_PHONE = "+14155550123"
UK_PHONE = "+442079460958"
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class VirtualClock:
    def __init__(self, start: datetime = START):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def new_backend(clock: VirtualClock | None = None, **options) -> TwilioBackend:
    return TwilioBackend(ACCOUNT_SID, AUTH_TOKEN, clock=clock or VirtualClock(), **options)


def no_media(urls):
    assert urls == [], "this test fetches no media"
    return [], None


class ManualTimer:
    """call_later remembers (delay, fn); run_all runs what is due, in order, until none is left."""

    def __init__(self):
        self.waiting: list = []
        self.delays: list[float] = []
        self.stopped = False

    def call_later(self, delay, fn):
        self.delays.append(delay)
        self.waiting.append(fn)

    def run_all(self) -> int:
        ran = 0
        while self.waiting:
            self.waiting.pop(0)()
            ran += 1
        return ran

    def stop(self):
        self.stopped = True
        self.waiting.clear()
