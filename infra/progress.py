"""A heartbeat for the long make targets (`make package`, `make lock`).

    with progress.step("building the dependency layer"):
        ...

Prints the step when it starts and, while it runs, how long it has been
running: every 10 s as a line of its own when the output is not a terminal
(CI logs, pipes), in place on one line every second on a terminal. Prints
the step's time when it ends. Writes to stderr, so stdout stays clean.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

LOG_EVERY_SECONDS = 10.0


@contextlib.contextmanager
def step(label: str, stream: TextIO | None = None) -> Iterator[None]:
    out = stream or sys.stderr
    tty = out.isatty()
    every = 1.0 if tty else LOG_EVERY_SECONDS
    start = time.monotonic()
    done = threading.Event()
    print(f"{label} ...", file=out, flush=True)

    def beat() -> None:
        while not done.wait(every):
            elapsed = time.monotonic() - start
            if tty:
                out.write(f"\r  {label}: {elapsed:.0f} s")
            else:
                out.write(f"  {label}: still running, {elapsed:.0f} s\n")
            out.flush()

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    try:
        yield
    finally:
        done.set()
        beater.join()
        elapsed = time.monotonic() - start
        print(f"{chr(13) if tty else ''}  {label}: done in {elapsed:.1f} s", file=out, flush=True)


class Tally:
    """How far a counted job is: `advance(n)` as work is done; see `counted`."""

    def __init__(self, label: str, total: int, out: TextIO, every: float, tty: bool, clock: Callable[[], float]):
        self.label, self.total, self.done = label, max(1, total), 0
        self._out, self._every, self._tty, self.clock = out, every, tty, clock
        self._start = self._last = clock()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self._last >= self._every:
            self._last = now
            self._show(now)

    def _show(self, now: float, end: str = "") -> None:
        share = min(1.0, self.done / self.total)
        elapsed = now - self._start
        eta = f", about {elapsed / share - elapsed:.0f} s left" if 0 < share < 1 else ""
        if self._tty:
            bar = "#" * int(share * 30)
            self._out.write(f"\r  {self.label} [{bar:<30}] {self.done}/{self.total} {elapsed:.0f} s{eta}{end}")
        else:
            self._out.write(f"  {self.label}: {self.done} of {self.total} ({share:.0%}), {elapsed:.0f} s{eta}\n")
        self._out.flush()


@contextlib.contextmanager
def counted(
    label: str, total: int, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
) -> Iterator[Tally]:
    """Progress of a job of `total` steps: a bar on a terminal, else a line every 10 s."""
    out = stream or sys.stderr
    tty = out.isatty()
    tally = Tally(label, total, out, 0.5 if tty else LOG_EVERY_SECONDS, tty, clock)
    try:
        yield tally
    finally:
        tally._show(clock(), end="\n" if tty else "")
