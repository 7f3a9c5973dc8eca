"""The use cases' rules on the memory repositories (store/repositories.memory_store): no
moto, no Twilio. The queues are a recording fake; everything else is the production
wiring, never called here."""

from __future__ import annotations

import pytest

from chalicelib import config
from chalicelib.adapters.clock import ManualClock
from chalicelib.adapters.queues import Queues
from chalicelib.core.outbound_job import OutboundJob
from chalicelib.store.pool import PoolNumber
from chalicelib.store.repositories import memory_store
from chalicelib.wiring import production_context

T0 = 1_800_000_000.0
POOL = ("+14155550101", "+14155550102", "+14155550103")
ALICE, BOB_PHONE = "+14155550123", "+14155550124"


class RecordingQueues(Queues):
    """What the use cases put on the queues, kept in lists instead of SQS."""

    def __init__(self):
        super().__init__(config.load().queues, sqs=object())  # no SQS call is ever made
        self.outbound: list[tuple[OutboundJob, str]] = []
        self.events: list[dict] = []

    def send_outbound(self, job: OutboundJob, pool_number: str) -> None:
        self.outbound.append((job, pool_number))

    def queue_event(self, event: dict, usage_in=None) -> dict:
        self.events.append(event)
        return event

    def of_type(self, event_type: str) -> list[dict]:
        return [e for e in self.events if e["type"] == event_type]

    def last_code(self) -> str:
        texts = [job.secret_text for job, _ in self.outbound if job.secret_text]
        return texts[-1].split("code is ")[1][:6]


@pytest.fixture
def queues():
    return RecordingQueues()


@pytest.fixture
def ctx(queues):
    store = memory_store()
    for number in POOL:
        store.pool.record(PoolNumber(number, 1.0, created_at=int(T0), country="US", area_code="415"))
    return production_context(clock=ManualClock(T0), queues=queues, store=store)
