"""The pool's growth lease: buying a number happens under it (a conditional
write on one GrowthLease item), so two API calls, or an API call and the
schedule, never both buy the last number the maximum size or the budget allows.
Waiting for it happens only when another buy is under way."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from chalicelib.core.errors import pool_exhausted
from chalicelib.store.conditional import update_if
from chalicelib.store.models import GrowthLease

LEASE_SECONDS = 60  # longer than a search and a purchase at Twilio take
LEASE_POLL_SECONDS = 0.1
LEASE_POLLS = 200  # 20 s: an API call gives up before API Gateway's 29 s


@contextlib.contextmanager
def held(clock) -> Iterator[None]:
    """Hold the lease for the `with` block; `clock` gives now() and sleep()."""
    owner = uuid.uuid4().hex
    lease = GrowthLease()
    for _ in range(LEASE_POLLS):
        now = clock.now()
        taken = update_if(
            lease,
            [GrowthLease.lease_owner.set(owner), GrowthLease.lease_expires_at.set(now + LEASE_SECONDS)],
            GrowthLease.lease_owner.does_not_exist() | (GrowthLease.lease_expires_at < now),
        )
        if taken:
            break
        clock.sleep(LEASE_POLL_SECONDS)
    else:
        raise pool_exhausted("another request is adding a number to the pool right now; retry")
    try:
        yield
    finally:
        update_if(
            GrowthLease(),
            [GrowthLease.lease_owner.remove(), GrowthLease.lease_expires_at.remove()],
            GrowthLease.lease_owner == owner,
        )
