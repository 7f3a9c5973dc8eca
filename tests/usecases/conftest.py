"""Fixtures of the use-case tests (helpers in support.py)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.clock import ManualClock
from chalicelib.adapters.twilio import TwilioGateway
from chalicelib.usecases.context import Context

from .support import T0


@pytest.fixture
def ctx(aws_backend, twilio):
    """A Context of virtual time and the Twilio stand-in, on moto."""
    return Context(clock=ManualClock(T0), twilio=TwilioGateway())
