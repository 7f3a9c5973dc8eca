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
from collections.abc import Iterator
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
