"""PoolStore (store/pool.py) in DynamoDB: the numbers table's partitions (store/models.py):
the pool's numbers, their usage per day, the growth lease and the autoscaler's memory.
An SMS received is counted under a mark (a RateCounter item, removed by TTL) written in
the same transaction as its count, so a retried count adds nothing."""

from __future__ import annotations

import json
from datetime import date

from pynamodb.expressions.update import Action

from chalicelib.store import models
from chalicelib.store.conditional import get_or_none, transact_if, update_if, update_together
from chalicelib.store.models import POOL, USAGE_COUNTED, USAGE_PREFIX, AutoscalerMemory, DailyUsage, GrowthLease
from chalicelib.store.pool import ACTIVE, DRAINING, RELEASED, RELEASING, PoolNumber, Received
from chalicelib.store.pool import DailyUsage as Usage

N = models.PoolNumber
_NEW_MARK = models.RateCounter.key.does_not_exist()
_COUNT_TRIES = 4  # transactions a count may lose to racing ones before it is retried later
# A received SMS's mark outlives every retry of its count: the delivery queue keeps a message 14 days.
RECEIVED_MARK_SECONDS = 15 * 86400
_RECORD = [
    "twilio_sid",
    "status",
    "country",
    "area_code",
    "segments_per_second",
    "mms",
    "created_at",
    "bought_at",
    "changed_at",
    "drain_reason",
    "released_at",
]


def number_of(item: models.PoolNumber) -> PoolNumber:
    return PoolNumber(
        phone_number=item.phone_number,
        segments_per_second=float(item.segments_per_second),
        created_at=int(item.created_at),
        status=item.status,
        twilio_sid=item.twilio_sid,
        country=item.country,
        area_code=item.area_code,
        mms=item.mms,
        open_sessions=int(item.open_sessions or 0),
        limiter_tat=float(item.limiter_tat or 0),
        segments_out=int(item.segments_out or 0),
        messages_out=int(item.messages_out or 0),
        last_used_at=_int(item.last_used_at),
        bought_at=_int(item.bought_at),
        changed_at=_int(item.changed_at),
        drain_reason=item.drain_reason,
        held_back=item.held_back,
        held_at=_int(item.held_at),
        released_at=_int(item.released_at),
    )


def _int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _usage(item: DailyUsage) -> Usage:
    fields = ("segments_out", "messages_out", "segments_in", "messages_in", "mms_out", "mms_in")
    return Usage(item.phone_number, **{name: int(getattr(item, name) or 0) for name in fields})


def _day(day: date) -> str:
    return USAGE_PREFIX + day.isoformat()


class DynamoPool:
    def numbers(self) -> list[PoolNumber]:
        return [number_of(item) for item in N.query(POOL, consistent_read=True)]

    def number(self, phone_number: str) -> PoolNumber | None:
        item = get_or_none(N, POOL, phone_number)
        return number_of(item) if item is not None else None

    def record(self, number: PoolNumber) -> None:
        actions: list[Action] = []
        for name in _RECORD:
            value, attribute = getattr(number, name), getattr(N, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        N(POOL, number.phone_number).update(actions=actions)

    def adjust_open_sessions(self, phone_number: str, delta: int, now: int) -> None:
        N(POOL, phone_number).update(actions=[N.open_sessions.add(delta), N.last_used_at.set(now)])

    def correct_open_sessions(self, phone_number: str, counted: int, last_used_at: int | None, found: int) -> bool:
        unchanged = N.open_sessions == counted
        unchanged &= N.last_used_at.does_not_exist() if last_used_at is None else N.last_used_at == last_used_at
        return update_if(N(POOL, phone_number), [N.open_sessions.set(found)], unchanged)

    def take_back(self, phone_number: str, now: int) -> bool:
        return update_if(
            N(POOL, phone_number),
            [N.status.set(ACTIVE), N.changed_at.set(now), N.drain_reason.remove()],
            (N.status == DRAINING) & (N.drain_reason == "auto"),
        )

    def drain(self, number: PoolNumber, reason: str, now: int) -> PoolNumber | None:
        item = N(POOL, number.phone_number)
        actions = [N.status.set(DRAINING), N.drain_reason.set(reason)]
        if number.status == ACTIVE:
            actions.append(N.changed_at.set(now))
        return number_of(item) if update_if(item, actions, N.status.is_in(ACTIVE, DRAINING)) else None

    def drain_auto(self, phone_number: str, reason: str, now: int) -> bool:
        actions = [N.status.set(DRAINING), N.drain_reason.set(reason), N.changed_at.set(now)]
        return update_if(N(POOL, phone_number), actions, N.status == ACTIVE)

    def start_release(self, phone_number: str) -> bool:
        return update_if(N(POOL, phone_number), [N.status.set(RELEASING)], N.status == DRAINING)

    def undo_release(self, phone_number: str) -> None:
        update_if(N(POOL, phone_number), [N.status.set(DRAINING)], N.status == RELEASING)

    def released(self, phone_number: str, now: int) -> None:
        N(POOL, phone_number).update(actions=[N.status.set(RELEASED), N.released_at.set(now), N.changed_at.set(now)])

    def hold_back(self, phone_number: str, reason: str, now: int) -> bool:
        return update_if(
            N(POOL, phone_number),
            [N.held_back.set(reason), N.held_at.set(now)],
            N.phone_number.exists() & N.held_back.does_not_exist(),
        )

    def clear_hold(self, phone_number: str) -> bool:
        return update_if(N(POOL, phone_number), [N.held_back.remove(), N.held_at.remove()], N.held_back.exists())

    def uncount_sent(self, phone_number: str, segments: int, messages: int) -> None:
        update_if(
            N(POOL, phone_number),
            [N.segments_out.add(-segments), N.messages_out.add(-messages)],
            N.phone_number.exists(),
        )

    def folded(self) -> dict[str, tuple[int, int]]:
        return {
            item.phone_number: (int(item.segments_out or 0), int(item.messages_out or 0))
            for item in DailyUsage.query(USAGE_COUNTED)
        }

    def fold(self, phone_number: str, day: date, before: tuple[int, int] | None, totals: tuple[int, int]) -> bool:
        was = before or (0, 0)
        unchanged = (
            DailyUsage.phone_number.does_not_exist()
            if before is None
            else (DailyUsage.segments_out == was[0]) & (DailyUsage.messages_out == was[1])
        )
        added = [DailyUsage.segments_out.add(totals[0] - was[0]), DailyUsage.messages_out.add(totals[1] - was[1])]
        mark = [DailyUsage.segments_out.set(totals[0]), DailyUsage.messages_out.set(totals[1])]
        return update_together(
            [
                (DailyUsage(_day(day), phone_number), added, None),
                (DailyUsage(USAGE_COUNTED, phone_number), mark, unchanged),
            ]
        )

    def count_received(self, day: date, received: list[Received], now: float) -> None:
        pending = list({item.key: item for item in received}.values())
        for _ in range(_COUNT_TRIES):
            if not pending:
                return
            expires = int(now) + RECEIVED_MARK_SECONDS
            marks = [
                ("save", models.RateCounter(key=f"received#{r.key}", ttl=expires), None, _NEW_MARK) for r in pending
            ]
            failed = transact_if(*marks, *self._counts(day, pending))
            if failed is None:
                return
            # Those whose mark exists were counted before (a retry): count the others.
            pending = [item for item, lost in zip(pending, failed, strict=False) if not lost]
        raise RuntimeError("received SMS not counted: other writes kept racing the count; it is retried")

    @staticmethod
    def _counts(day: date, received: list[Received]) -> list[tuple]:
        totals: dict[str, list[int]] = {}
        for item in received:
            counted = totals.setdefault(item.pool_number, [0, 0, 0])
            counted[0] += 0 if item.mms else item.segments
            counted[1] += 1
            counted[2] += item.mms
        updates = []
        for number, (segments, messages, mms) in totals.items():
            added = [DailyUsage.messages_in.add(messages)]
            if segments:
                added.append(DailyUsage.segments_in.add(segments))
            if mms:
                added.append(DailyUsage.mms_in.add(mms))
            updates.append(("update", DailyUsage(_day(day), number), added, None))
        return updates

    def count_mms_sent(self, phone_number: str, day: date) -> None:
        DailyUsage(_day(day), phone_number).update(actions=[DailyUsage.mms_out.add(1)])

    def usage(self, day: date) -> dict[str, Usage]:
        return {item.phone_number: _usage(item) for item in DailyUsage.query(_day(day))}

    def take_lease(self, owner: str, now: float, until: float) -> bool:
        return update_if(
            GrowthLease(),
            [GrowthLease.lease_owner.set(owner), GrowthLease.lease_expires_at.set(until)],
            GrowthLease.lease_owner.does_not_exist() | (GrowthLease.lease_expires_at < now),
        )

    def give_back_lease(self, owner: str) -> None:
        update_if(
            GrowthLease(),
            [GrowthLease.lease_owner.remove(), GrowthLease.lease_expires_at.remove()],
            GrowthLease.lease_owner == owner,
        )

    def autoscaler_memory(self) -> dict:
        item = get_or_none(AutoscalerMemory, models.POOL_META, models.AUTOSCALER_MEMORY_ITEM)
        if item is None or not item.state_json:
            return {}
        return json.loads(item.state_json)

    def keep_autoscaler_memory(self, memory: dict) -> None:
        AutoscalerMemory().update(actions=[AutoscalerMemory.state_json.set(json.dumps(memory))])
