"""Time, as a seam: the service reads the time and waits only through a Clock
passed in (usecases/context.py), so tests and simulations move it by hand."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time; `sleep` really waits (inside a Lambda invocation)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """Virtual time: `now` is what was set, `sleep` moves it on at once."""

    def __init__(self, start: float):
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += max(0.0, seconds)

    def set(self, moment: float) -> None:
        self._now = moment

    def advance(self, seconds: float) -> None:
        self._now += seconds
