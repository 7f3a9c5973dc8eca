"""Fixtures of the use-case tests (helpers in support.py)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.clock import ManualClock
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.wiring import production_context

from .support import T0


@pytest.fixture
def ctx(aws_backend, twilio):
    """A Context of virtual time and the Twilio stand-in, on moto."""
    return production_context(clock=ManualClock(T0), twilio=TwilioGateway())


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


@pytest.fixture
def dynamodb_writes(aws_backend):
    """The DynamoDB writes PynamoDB makes, as (operation, table) in order: each is billed,
    a conditional one that fails included."""
    from pynamodb.signals import pre_dynamodb_send

    seen: list[tuple[str, str]] = []

    def record(sender, operation_name, table_name, req_uuid):
        if operation_name in WRITES:
            seen.append((operation_name, table_name.rsplit("-", 1)[-1]))

    pre_dynamodb_send.connect(record)
    yield seen
    pre_dynamodb_send.disconnect(record)
