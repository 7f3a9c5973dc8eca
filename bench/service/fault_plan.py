"""What a fault run is (`Plan`: how many messages, users, numbers, and how often each thing
fails), what it counts (`Counts`), and a split run's figures merged back into one run's.
"""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass, field


@dataclass
class Plan:
    messages: int = 10_000
    users: int = 25
    partners_per_user: int = 4
    pool_size: int = 8
    replies_per_100: int = 5  # phone -> chat replies per 100 outbound messages
    per_round: int = 200  # messages submitted per round
    twilio_fault_rate: float = 0.10
    crash_rate: float = 0.02  # of successful Twilio sends
    lost_delete_rate: float = 0.05  # of batches
    duplicate_event_rate: float = 0.05  # of delivery batches: each event sent once more
    dynamodb_throttle_rate: float = 0.02
    chat_down: tuple = (0.2, 12)  # down from this share of the submission rounds, for this many rounds
    # (more rounds than delivery_max_receives: events get dead-lettered)
    # The delivery queue's maxReceiveCount in this run: each round ends every wait, so a
    # round is one receive, and the days of the deployed queue's receives
    # (core/delivery_retry.py) would need hundreds of rounds; this plays a short retention.
    delivery_max_receives: int = 8
    max_rounds: int = 2000
    seed: int = 7
    # The first chance of each fault strikes (each way of Twilio's in turn), then the rates
    # decide (bench/kit/fault_dice.py): a small run sure to see every fault (the test's).
    first_chances_strike: bool = False
    # Segments per second of each pool number: fast here, as this run is about faults, not
    # rate limits (the per-message run, bench/service/per_message.py, sends at a long code's 1).
    number_rate: float = 1000.0
    # Where this run's users, pool numbers and message ids start (a shard of a split run).
    first_user: int = 0
    first_number: int = 0
    first_message: int = 0

    def split(self, shards: int) -> list[Plan]:
        """The same run as `shards` independent services, each with its share of the
        users, pool numbers and messages, and of each round's submissions (so every
        shard has as many rounds and the chat outage lasts as many of them); seeds
        differ. The fault rates are the plan's in every shard."""
        if shards <= 1:
            return [self]

        def share(total: int, i: int) -> int:
            return total // shards + (1 if i < total % shards else 0)

        plans = []
        for i in range(shards):
            plan = dataclasses.replace(
                self,
                messages=share(self.messages, i),
                users=share(self.users, i),
                pool_size=share(self.pool_size, i),
                per_round=share(self.per_round, i),
                seed=self.seed + 1000 * i,
                first_user=self.first_user + sum(share(self.users, j) for j in range(i)),
                first_number=self.first_number + sum(share(self.pool_size, j) for j in range(i)),
                first_message=self.first_message + sum(share(self.messages, j) for j in range(i)),
            )
            if plan.pool_size < plan.partners_per_user or plan.users < 1 or plan.per_round < 1:
                raise ValueError(
                    f"{shards} shards leave a shard {plan.users} users, {plan.pool_size} pool numbers "
                    f"(a user needs {plan.partners_per_user}) and {plan.per_round} messages a round"
                )
            plans.append(plan)
        return plans


@dataclass
class Counts:
    twilio_calls: int = 0
    twilio_faults: collections.Counter = field(default_factory=collections.Counter)
    crashes: int = 0
    lost_deletes: int = 0
    duplicated_events: int = 0
    api_retries: int = 0
    invocation_errors: int = 0
    webhook_retries: int = 0
    callbacks_posted: int = 0
    rounds: int = 0
    dead_lettered: dict = field(default_factory=dict)
    replayed: dict = field(default_factory=dict)


def merge_figures(parts: list[dict]) -> dict:
    """The figures of a split run's shards as one run's: counts added, rounds and
    seconds the longest shard's (they ran side by side)."""
    if len(parts) == 1:
        return parts[0]
    summed = [
        "messages",
        "replies",
        "lost",
        "sent_twice",
        "not_final",
        "replies_lost",
        "chat_events_expected",
        "chat_events_missing",
        "chat_events_delivered",
        "chat_events_received_all_types",
    ]
    merged: dict = {key: sum(part[key] for part in parts) for key in summed}
    merged["examples"] = {
        kind: [e for part in parts for e in part["examples"][kind]][:5] for kind in parts[0]["examples"]
    }
    faults: dict = {}
    for key, value in parts[0]["faults"].items():
        if isinstance(value, dict):
            total: collections.Counter = collections.Counter()
            for part in parts:
                total.update(part["faults"][key])
            faults[key] = dict(total)
        elif key != "twilio_fault_share":
            faults[key] = sum(part["faults"][key] for part in parts)
    faults["twilio_fault_share"] = round(sum(faults["twilio_faults"].values()) / max(1, faults["twilio_calls"]), 4)
    merged["faults"] = {key: faults[key] for key in parts[0]["faults"]}
    merged["rounds"] = max(part["rounds"] for part in parts)
    merged["seconds"] = {key: max(part["seconds"][key] for part in parts) for key in parts[0]["seconds"]}
    merged["shards"] = [
        {"messages": part["messages"], "rounds": part["rounds"], "seconds": part["seconds"]} for part in parts
    ]
    return merged
