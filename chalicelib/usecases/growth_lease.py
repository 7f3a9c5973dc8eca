"""The pool's growth lease: buying a number happens under it (a conditional write the pool
store owns), so two API calls, or an API call and the schedule, never both buy the last
number the maximum size or the budget allows. Waiting for it happens only when another
buy is under way."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from chalicelib.core.errors import pool_exhausted
from chalicelib.usecases.context import Context

LEASE_SECONDS = 60  # longer than a search and a purchase at Twilio take
LEASE_POLL_SECONDS = 0.1
LEASE_POLLS = 200  # 20 s: an API call gives up before API Gateway's 29 s


@contextlib.contextmanager
def held(ctx: Context) -> Iterator[None]:
    """Hold the lease for the `with` block (waiting by the context's clock)."""
    owner = uuid.uuid4().hex
    for _ in range(LEASE_POLLS):
        now = ctx.now()
        if ctx.store.pool.take_lease(owner, now, now + LEASE_SECONDS):
            break
        ctx.clock.sleep(LEASE_POLL_SECONDS)
    else:
        raise pool_exhausted("another request is adding a number to the pool right now; retry")
    try:
        yield
    finally:
        ctx.store.pool.give_back_lease(owner)
