"""Virtual time for running real, blocking code: a discrete-event kernel whose
processes are threads, of which exactly one runs at any moment.

A process gives control back only where it waits: `sleep` (virtual seconds)
or `wait` (until woken, or a timeout). The kernel then resumes whichever
process is due first, setting `now` to its time. The code under test never
notices: it reads the clock through `now` and waits through `sleep`, both
patched to this kernel by the harness. Ties are broken by scheduling order,
so a run is a pure function of its seed.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable


class Stopped(BaseException):
    """Raised inside a process when the kernel shuts down (BaseException, so the
    code under test cannot swallow it)."""


class Process:
    def __init__(self, kernel: Kernel, fn: Callable, args: tuple, name: str, role: str):
        self.kernel = kernel
        self.fn = fn
        self.args = args
        self.name = name
        self.role = role
        self.token = 0
        self.woken = False
        self.waiting = False
        self.finished = False
        self._resume = threading.Semaphore(0)
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)

    def _main(self) -> None:
        self._resume.acquire()
        try:
            if not self.kernel.stopping:
                self.fn(*self.args)
        except Stopped:
            pass
        except BaseException as error:
            self.kernel.error = error
        finally:
            self.finished = True
            self.kernel._yield_to_kernel()


class Kernel:
    def __init__(self, start: float = 0.0):
        self.now = start
        self.current: Process | None = None
        self.stopping = False
        self.error: BaseException | None = None
        self._heap: list = []
        self._seq = itertools.count()
        self._back = threading.Semaphore(0)
        self._processes: list[Process] = []
        self.switches = 0

    # --- inside processes -----------------------------------------------------

    def spawn(self, fn: Callable, *args, at: float | None = None, name: str = "", role: str = "") -> Process:
        process = Process(self, fn, args, name or getattr(fn, "__name__", "process"), role)
        self._processes.append(process)
        process.thread.start()
        self._schedule(process, self.now if at is None else at)
        return process

    def sleep(self, seconds: float) -> None:
        process = self._require_current()
        self._schedule(process, self.now + max(0.0, seconds))
        self._switch_out(process)

    def wait(self, timeout: float | None) -> bool:
        """Block until `wake` (True) or `timeout` virtual seconds pass (False)."""
        process = self._require_current()
        process.woken = False
        process.waiting = True
        if timeout is None:
            process.token += 1  # nothing scheduled: only a wake resumes it
        else:
            self._schedule(process, self.now + max(0.0, timeout))
        self._switch_out(process)
        process.waiting = False
        return process.woken

    def wake(self, process: Process) -> bool:
        """Resume a process blocked in `wait` now; False if it was not waiting."""
        if not process.waiting or process.woken:
            return False
        process.woken = True
        self._schedule(process, self.now)
        return True

    @property
    def in_process(self) -> bool:
        return self.current is not None and threading.current_thread() is self.current.thread

    # --- the loop -------------------------------------------------------------

    def run(self, until: float | None = None, done: Callable[[], bool] | None = None) -> None:
        while self._heap:
            at, _, process, token = heapq.heappop(self._heap)
            if token != process.token or process.finished:
                continue
            if until is not None and at > until:
                heapq.heappush(self._heap, (at, next(self._seq), process, token))
                break
            self.now = max(self.now, at)
            self.current = process
            self.switches += 1
            process._resume.release()
            self._back.acquire()
            self.current = None
            if self.error is not None:
                error, self.error = self.error, None
                raise error
            if done is not None and done():
                break

    def shutdown(self) -> None:
        self.stopping = True
        for process in self._processes:
            if not process.finished:
                process._resume.release()
                self._back.acquire()
        for process in self._processes:
            process.thread.join(timeout=5)
        self._processes.clear()

    # --- plumbing ---------------------------------------------------------------

    def _require_current(self) -> Process:
        if not self.in_process:
            raise RuntimeError("only a kernel process can wait in virtual time")
        return self.current

    def _schedule(self, process: Process, at: float) -> None:
        process.token += 1
        heapq.heappush(self._heap, (at, next(self._seq), process, process.token))

    def _switch_out(self, process: Process) -> None:
        self._yield_to_kernel()
        process._resume.acquire()
        if self.stopping:
            raise Stopped()

    def _yield_to_kernel(self) -> None:
        self._back.release()
