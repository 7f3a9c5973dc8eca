"""Whether a fault strikes, the same way every run (the fault run: bench/service/fault_run.py).

Each kind of fault draws from a stream of its own, seeded by the run's seed and the kind's
name, so the n-th chance of a kind gets the same answer whatever happened before it: how many
Twilio calls a round made, how the sender's batches fell, which callbacks came late (all of
which move with the machine's timing). With `first_chances_strike`, the first chance of every
kind strikes, and a kind that fails in several ways (Twilio: 500 before, 429, a reset after
...) strikes at its first chances once per way, each way in turn: a run too small for its rates
to make each fault likely still has every one, at the same place every time.
"""

from __future__ import annotations

import random
import threading


class FaultDice:
    def __init__(self, seed: int, first_chances_strike: bool = False):
        self.seed, self.first_chances_strike = seed, first_chances_strike
        self._streams: dict[str, random.Random] = {}
        self._chances: dict[str, int] = {}
        self._lock = threading.Lock()  # botocore's hooks may draw from several threads

    def _stream(self, name: str) -> random.Random:
        if name not in self._streams:
            self._streams[name] = random.Random(f"{self.seed}/{name}")  # a str seed: the same on every run
        return self._streams[name]

    def strikes(self, kind: str, rate: float, ways: int = 1) -> bool:
        """Whether this chance of `kind` faults: its first `ways` chances do when the first
        chances strike; every other at `rate`, from the kind's own stream."""
        if rate <= 0:
            return False
        with self._lock:
            chance = self._chances[kind] = self._chances.get(kind, 0) + 1
            if self.first_chances_strike and chance <= ways:
                return True
            return self._stream(kind).random() < rate

    def way(self, kind: str, weights: dict[str, float]) -> str:
        """How a fault of `kind` that struck fails: the ways in turn for its first chances
        (when those strike), then drawn by weight from the kind's own stream."""
        with self._lock:
            chance = self._chances.get(kind, 0)
            names = list(weights)
            if self.first_chances_strike and 1 <= chance <= len(names):
                return names[chance - 1]
            return self._stream(f"{kind}: way").choices(names, [weights[n] for n in names])[0]
