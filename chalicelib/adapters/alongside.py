"""Work run alongside a request's own work, so it adds no latency: a read whose
answer is needed later, or bookkeeping nobody waits for.

It runs in a thread while the handler goes on, and is waited for before the
`with` block ends: Lambda freezes the container once the handler returns, so
nothing may outlive the invocation. Its result or exception comes from the
future's `result()`; work whose result nobody reads must handle its own
faults (a counter must never fail the request it counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager

_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alongside")


@contextmanager
def running_alongside(work: Callable, *args: object) -> Iterator[Future]:
    """Run `work(*args)` while the body of the `with` runs; wait for both."""
    done = _threads.submit(work, *args)
    try:
        yield done
    finally:
        wait([done])
