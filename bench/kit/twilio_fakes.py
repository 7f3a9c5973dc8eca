"""The benches' Twilio, and the faults it and the network produce.

- `VirtualTwilio`: Twilio at the level of the gateway's two calls (`send_sms`, `find_sent`),
  in the kernel's virtual time, with log-normal latency and a `FaultMix`; `accepted` is the
  ground truth of what it took and when (the sender's simulation).
- `TwilioFaults`: the real gateway's HTTP client, failing a share of its requests as a
  network and Twilio do, before or after Twilio acted (the fault run, over the stand-in).
- `crashing_gateway`: the real gateway, whose invocation dies just after Twilio accepted.
Both a simulated and a played invocation die by `SimulatedCrash`.
"""

from __future__ import annotations

import collections
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import requests
from twilio.http.response import Response

from bench.kit.fault_dice import FaultDice
from bench.kit.kernel import Kernel
from chalicelib.adapters.twilio import SentMessage, TwilioError, TwilioGateway
from chalicelib.core import segments


class SimulatedCrash(BaseException):
    """The function dies (timeout, out of memory) after Twilio accepted a message and
    before the sender recorded it (BaseException, so the code under test cannot catch it)."""


# --- in virtual time (the sender's simulation) ---------------------------------------------


@dataclass(frozen=True)
class FaultMix:
    """Probabilities per Twilio send (they add up to the fault rate)."""

    rate_limited: float = 0.0  # 429, not accepted
    server_error: float = 0.0  # 500/503; half of them after Twilio accepted the message
    timeout: float = 0.0  # no answer within the HTTP timeout; half accepted
    crash: float = 0.0  # accepted, then the function dies before recording
    refused: float = 0.0  # 400 with code 21211 (invalid To): final

    @classmethod
    def total(cls, rate: float) -> FaultMix:
        return cls(rate * 0.25, rate * 0.25, rate * 0.2, rate * 0.2, rate * 0.1)

    def draw(self, rng: random.Random) -> str | None:
        x = rng.random()
        for name in ("rate_limited", "server_error", "timeout", "crash", "refused"):
            x -= getattr(self, name)
            if x < 0:
                return name
        return None


@dataclass(frozen=True)
class TwilioLatency:
    median: float = 0.180  # log-normal, seconds
    sigma: float = 0.35
    timeout: float = 10.0  # the gateway's HTTP timeout


@dataclass
class Accepted:
    at: float
    from_: str
    to: str
    body: str
    sid: str
    message_id: str
    segments: int


class VirtualTwilio:
    """Twilio at the level of the gateway's two calls, with latency and faults, in the
    kernel's time. `on_accepted(record)` hears of each message it takes."""

    def __init__(
        self,
        kernel: Kernel,
        rng: random.Random,
        faults: FaultMix,
        latency: TwilioLatency,
        on_accepted: Callable[[Accepted], None],
    ):
        self.kernel, self.rng, self.faults, self.latency = kernel, rng, faults, latency
        self.on_accepted = on_accepted
        self.accepted: list[Accepted] = []
        self.by_pair: dict[tuple[str, str], list[Accepted]] = collections.defaultdict(list)
        self.calls: collections.Counter = collections.Counter()

    def _latency(self) -> float:
        return self.rng.lognormvariate(math.log(self.latency.median), self.latency.sigma)

    def _accept(self, from_: str, to: str, body: str, status_callback: str) -> Accepted:
        message_id = re.search(r"message_id=([^&]+)", status_callback).group(1)
        sid = f"SM{self.rng.getrandbits(128):032x}"
        record = Accepted(self.kernel.now, from_, to, body, sid, message_id, segments.segment(body).segments)
        self.accepted.append(record)
        self.by_pair[(from_, to)].append(record)
        self.on_accepted(record)
        return record

    def send_sms(
        self, *, from_: str, to: str, body: str, status_callback: str, messaging_service_sid: str | None = None
    ) -> SentMessage:
        kernel = self.kernel
        self.calls["send"] += 1
        fault = self.faults.draw(self.rng)
        self.calls[fault or "ok"] += 1
        if fault == "rate_limited":
            kernel.sleep(self._latency())
            raise TwilioError("Twilio answered 429 (code 20429)", status=429, code=20429, retryable=True)
        if fault == "refused":
            kernel.sleep(self._latency())
            raise TwilioError("Twilio answered 400 (code 21211)", status=400, code=21211, retryable=False)
        if fault == "server_error":
            if self.rng.random() < 0.5:
                self._accept(from_, to, body, status_callback)
            kernel.sleep(self._latency())
            raise TwilioError("Twilio answered 500", status=500, code=20500, retryable=True)
        if fault == "timeout":
            if self.rng.random() < 0.5:
                self._accept(from_, to, body, status_callback)
            kernel.sleep(self.latency.timeout)
            raise TwilioError("Twilio unreachable: ReadTimeout", status=None, code=None, retryable=True)
        record = self._accept(from_, to, body, status_callback)
        kernel.sleep(self._latency())
        if fault == "crash":
            raise SimulatedCrash()
        return SentMessage(
            sid=record.sid,
            status="queued",
            segments=record.segments,
            body=body,
            date_created=float(math.floor(record.at)),
        )

    def find_sent(self, *, from_: str, to: str, sent_on_or_after: float) -> list[SentMessage]:
        self.calls["list"] += 1
        self.kernel.sleep(self._latency())
        day = math.floor(sent_on_or_after / 86400) * 86400
        found = [a for a in self.by_pair.get((from_, to), []) if a.at >= day]
        return [
            SentMessage(
                sid=a.sid, status="sent", segments=a.segments, body=a.body, date_created=float(math.floor(a.at))
            )
            for a in reversed(found[-50:])
        ]


# --- over HTTP (the fault run) -----------------------------------------------------------------

TWILIO_FAULTS = {
    # name: share of the fault rate ("before": Twilio never saw the request; "after": it acted,
    # and its answer was lost)
    "500 before": 0.20,
    "500 after": 0.20,
    "503 before": 0.10,
    "429": 0.20,
    "timeout before": 0.075,
    "timeout after": 0.075,
    "reset before": 0.075,
    "reset after": 0.075,
}


class TwilioFaults:
    """Wraps twilio's HTTP client's `request` (bench/kit/seams.py installs it): while
    `active`, a share `rate` of all requests fail in one of the ways of TWILIO_FAULTS, as
    `dice` (bench/kit/fault_dice.py) says. `counts` has `twilio_calls` (an int) and
    `twilio_faults` (a Counter by kind)."""

    KIND = "twilio request"

    def __init__(self, rate: float, dice: FaultDice, counts):
        self.rate, self.dice, self.counts = rate, dice, counts
        self.active = False

    def wrap(self, real: Callable) -> Callable:
        faults = self

        def request(client, method, url, *args, **kwargs):
            if not faults.active:
                return real(client, method, url, *args, **kwargs)
            faults.counts.twilio_calls += 1
            kind = faults.draw()
            if kind is None:
                return real(client, method, url, *args, **kwargs)
            faults.counts.twilio_faults[kind] += 1
            if kind.endswith("after"):
                real(client, method, url, *args, **kwargs)  # Twilio did it; the answer is lost
            return faults.answer(kind)

        return request

    def draw(self) -> str | None:
        if not self.dice.strikes(self.KIND, self.rate, ways=len(TWILIO_FAULTS)):
            return None
        return self.dice.way(self.KIND, TWILIO_FAULTS)

    @staticmethod
    def answer(kind: str) -> Response:
        if kind.startswith("timeout"):
            raise requests.exceptions.ReadTimeout("injected: read timed out")
        if kind.startswith("reset"):
            raise requests.exceptions.ConnectionError(ConnectionResetError(104, "injected: connection reset by peer"))
        status = int(kind.split()[0])
        code = {500: 20500, 503: 20503, 429: 20429}[status]
        return Response(status, json.dumps({"code": code, "message": "injected", "status": status}))


def crashing_gateway(crashes: Callable[[], bool]) -> TwilioGateway:
    """The service's Twilio gateway, whose send takes the invocation down just after Twilio
    accepted the message whenever `crashes()` says so."""

    class CrashingGateway(TwilioGateway):
        def send_sms(self, **kwargs):
            sent = super().send_sms(**kwargs)
            if crashes():
                raise SimulatedCrash()
            return sent

    return CrashingGateway()
