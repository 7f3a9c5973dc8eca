"""The local stack's view of the stand-in's traffic: a thread that prints each SMS it sees
(the bridge's sends and the phones' texts) and each Twilio API request it refused, woken by
the backend's change notifications."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from devstack.twilio.backend import TwilioBackend


def print_traffic(backend: TwilioBackend, say: Callable[[str], None]) -> Callable[[], None]:
    """Start printing through `say`; returns the function that stops it."""
    seen: set[str] = set()
    requests_seen = 0
    stopping = threading.Event()

    def watch() -> None:
        nonlocal requests_seen
        version = -1

        def moved() -> bool:
            return backend.version != version or stopping.is_set()

        while not stopping.is_set():
            with backend.changed:
                backend.changed.wait_for(moved, 0.5)
                version = backend.version
                new = [m for sid, m in backend.messages.items() if sid not in seen]
                seen.update(m.sid for m in new)
                if len(backend.requests) < requests_seen:  # the log was cleared
                    requests_seen = 0
                refused = [r for r in backend.requests[requests_seen:] if (r["status"] or 0) >= 400]
                requests_seen = len(backend.requests)
            for r in refused:
                reason = r.get("spec_error") or (r.get("fault") and "fault injected") or ""
                say(f"[twilio] {r['method']} {r['path']} -> {r['status']} {reason}".rstrip())
            for m in new:
                arrow = "phone -> pool" if m.direction == "inbound" else "pool -> phone"
                say(f"[sms]  {m.from_} -> {m.to}  {json.dumps(m.body, ensure_ascii=False)}  ({arrow})")

    thread = threading.Thread(target=watch, name="sms-printer", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        with backend.changed:
            backend.changed.notify_all()
        thread.join(timeout=2)

    return stop
