"""The one place the service reads the time, so tests and simulations can move it."""
from __future__ import annotations

import time


def now() -> float:
    return time.time()
