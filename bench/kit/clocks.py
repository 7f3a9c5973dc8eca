"""The benches' clocks: each says what its time is and whether it can go back.

The sender's simulation runs in virtual time (`VirtualClock` over bench/kit/kernel.py).
The service bench and the fault run play the real service in real time with its waits
skipped: the run has one timeline (`Timeline`), and an invocation that on AWS would run
beside others has a timeline of its own forked from the run's (`Lane`). Neither ever goes
back. What the service and its neighbours read is `PlayedClock`: the time of whichever
timeline is being played, which does go back when a lane ends (see its docstring).

The pool month needs none of these: its events carry their time and hand it to the
pool's cores as an argument, as the cores take it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from bench.kit.kernel import Kernel


class VirtualClock:
    """The service's clock inside the kernel: its virtual time; a sleep yields to the other
    processes until then. Never goes back (the kernel only moves time forward)."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel

    def now(self) -> float:
        return self.kernel.now

    def sleep(self, seconds: float) -> None:
        self.kernel.sleep(seconds)


class Lane:
    """One invocation's timeline: it starts at the run's time when the invocation starts,
    then real time passes on it and its waits are skipped. Never goes back."""

    def __init__(self, start: float, real: Callable[[], float] = time.time):
        self.start = start
        self._real = real
        self.real_start = real()
        self.skipped = 0.0

    def now(self) -> float:
        return self.start + (self._real() - self.real_start) + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)


class Timeline:
    """The run's timeline: real time plus every wait skipped, standing still while a lane is
    played (the lane's real time is the lane's, not the run's). Never goes back."""

    def __init__(self, real: Callable[[], float] = time.time) -> None:
        """real: the wall clock whose seconds pass on the timelines (a test passes its own)."""
        self._real = real
        self.skipped = 0.0
        self._stood = 0.0  # real seconds during which lanes were played
        self._forked: Lane | None = None

    def now(self) -> float:
        if self._forked is not None:
            return self._forked.start
        return self._real() - self._stood + self.skipped

    def sleep(self, seconds: float) -> None:
        if self._forked is not None:
            raise RuntimeError("the run's time stands still while a lane is played")
        self.skipped += max(0.0, seconds)

    def fork(self) -> Lane:
        if self._forked is not None:
            raise RuntimeError("one lane at a time: lanes are played one after another")
        self._forked = Lane(self.now(), self._real)
        return self._forked

    def join(self, lane: Lane) -> None:
        """The lane was played: the run's time goes on from where it stood."""
        if lane is not self._forked:
            raise RuntimeError("join the lane forked last")
        self._stood += self._real() - lane.real_start
        self._forked = None


class PlayedClock:
    """The clock the played service reads (through its Context), and moto's SQS, the Twilio
    stand-in and the chat receiver with it: the time of the timeline being played, the
    current lane's inside `lane()`, the run's outside.

    It goes back when a lane ends: to the run's time, which stood still meanwhile, so the
    next invocation starts then too, as Lambda runs one invocation per message group at
    once; played one after another, one number's invocation would hold up another's slots.
    A reader that compares times across lanes sees that: what a lane made visible again in
    its own time is still in flight at the run's (bench/kit/sqs_feeding.py's
    `invocation_lane` tells moto's FIFO queue so)."""

    def __init__(self, real: Callable[[], float] = time.time) -> None:
        self.run = Timeline(real)
        self.lane_seconds_skipped = 0.0  # the lanes' waits, which the run's time never took
        self._lane: Lane | None = None

    def now(self) -> float:
        return (self._lane or self.run).now()

    def sleep(self, seconds: float) -> None:
        (self._lane or self.run).sleep(seconds)

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def skipped(self) -> float:
        """Seconds of waits skipped, on the run's timeline and every lane's."""
        return self.run.skipped + self.lane_seconds_skipped

    @contextlib.contextmanager
    def lane(self) -> Iterator[Lane]:
        """Play one invocation in a lane of its own, forked from the run's time."""
        self._lane = self.run.fork()
        try:
            yield self._lane
        finally:
            lane, self._lane = self._lane, None
            self.lane_seconds_skipped += lane.skipped
            self.run.join(lane)
