"""Fault injection: misbehaviours the control API (or a test) asks for, applied to matching
Twilio API calls after auth and spec validation (api/dispatch.py): an error answer (429, 500,
503), a slow answer, or an answer lost after the operation happened. Not Twilio's state, so
not the backend's: `reset` of the stand-in clears them too."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Collection

from devstack.twilio.errors import ERR_INTERNAL, ERR_TOO_MANY_REQUESTS, ERR_UNAVAILABLE

FAULT_CODES = {429: ERR_TOO_MANY_REQUESTS, 500: ERR_INTERNAL, 503: ERR_UNAVAILABLE}
FAULT_MESSAGES = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclasses.dataclass
class Fault:
    """A misbehaviour to apply to matching Twilio API calls (after auth and validation)."""

    operation: str = "CreateMessage"  # Twilio operationId, or "*" for every call
    status: int | None = None  # 429 | 500 | 503; None = answer normally (after delay)
    delay_ms: int = 0
    count: int | None = 1  # calls left; None = until cleared (with `rate`)
    rate: float | None = None  # probability per call instead of a count
    applied: bool = False  # do the operation, then answer the fault (lost answer)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def fault_from_json(payload: dict, operations: Collection[str]) -> Fault:
    """A fault as the control API takes it; ValueError saying what is wrong."""
    try:
        fault = Fault(
            operation=str(payload.get("operation", "CreateMessage")),
            status=int(payload["status"]) if payload.get("status") is not None else None,
            delay_ms=int(payload.get("delay_ms", 0)),
            count=None if payload.get("rate") is not None else int(payload.get("count", 1)),
            rate=float(payload["rate"]) if payload.get("rate") is not None else None,
            applied=bool(payload.get("applied", False)),
        )
    except (TypeError, ValueError) as error:
        raise ValueError(str(error)) from None
    if fault.status is not None and fault.status not in FAULT_CODES:
        raise ValueError("status must be 429, 500 or 503")
    if fault.operation != "*" and fault.operation not in operations:
        raise ValueError(f"operation must be '*' or one of {sorted(operations)}")
    return fault


class FaultInjector:
    """The faults waiting for calls; a seeded random draws the `rate` ones, so a run repeats."""

    def __init__(self, *, notify: Callable[[], None] = lambda: None, seed: int = 0):
        self._lock = threading.Lock()
        self._notify = notify
        self._random = random.Random(seed)
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        self._notify()
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
        self._notify()

    def listed(self) -> list[Fault]:
        with self._lock:
            return list(self.faults)

    def take(self, operation_id: str) -> Fault | None:
        """The first fault that applies to this call (a counted one used up), or None."""
        with self._lock:
            for fault in self.faults:
                if fault.operation not in ("*", operation_id):
                    continue
                if fault.rate is not None:
                    if self._random.random() < fault.rate:
                        return fault
                    continue
                if fault.count is None or fault.count > 0:
                    if fault.count is not None:
                        fault.count -= 1
                    self.faults = [f for f in self.faults if f.count is None or f.count > 0 or f.rate is not None]
                    break
            else:
                return None
        self._notify()
        return fault
