"""LimitStore (store/limit_states.py) in DynamoDB: a pool number's TAT on its PoolNumber
item (placement reads it as the number's backlog), a campaign's on a CampaignLimit item;
every write conditional on the TAT that was read."""

from __future__ import annotations

from pynamodb.attributes import MapAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.store.conditional import update_if
from chalicelib.store.limit_states import NUMBER, Booked, LimitKey, StoredLimit
from chalicelib.store.models import LIMITS, POOL, CampaignLimit, PoolNumber


class DynamoLimitStore:
    def read(self, key: LimitKey) -> StoredLimit | None:
        model = PoolNumber if key.kind == NUMBER else CampaignLimit
        try:
            item = model.get(
                POOL if key.kind == NUMBER else LIMITS,
                key.name,
                consistent_read=True,
                attributes_to_get=["limiter_tat", "segments_per_second", "limiter_booked"],
            )
        except model.DoesNotExist:
            return None if key.kind == NUMBER else StoredLimit(0.0, None)
        booked = getattr(item, "limiter_booked", None)
        return StoredLimit(float(item.limiter_tat or 0), item.segments_per_second, _parse(booked))

    def write(
        self,
        key: LimitKey,
        expected_tat: float,
        new_tat: float,
        segments_per_second: float,
        sent: int = 0,
        messages: int = 1,
        booked: Booked | None = None,
    ) -> bool:
        model = PoolNumber if key.kind == NUMBER else CampaignLimit
        condition = model.limiter_tat == expected_tat
        if not expected_tat:
            # Never charged: the attribute may be missing (PynamoDB reads its default, 0).
            condition = condition | model.limiter_tat.does_not_exist()
        actions: list[Action] = [model.limiter_tat.set(new_tat)]
        item: PoolNumber | CampaignLimit
        if key.kind == NUMBER:
            item = PoolNumber(POOL, key.name)
            condition = condition & PoolNumber.phone_number.exists()  # never create a number
            if sent:
                actions += [PoolNumber.segments_out.add(sent), PoolNumber.messages_out.add(messages)]
            if booked:
                actions.append(PoolNumber.limiter_booked.set({k: f"{o!r} {n}" for k, (o, n) in booked.items()}))
            elif booked is not None:
                actions.append(PoolNumber.limiter_booked.remove())
        else:
            item = CampaignLimit(LIMITS, key.name)
            actions.append(CampaignLimit.segments_per_second.set(segments_per_second))
        return update_if(item, actions, condition)

    def release(self, number: str, slots: dict[str, int]) -> bool:
        if not slots:
            return True
        condition: Condition = PoolNumber.phone_number.exists()
        actions: list[Action] = [
            PoolNumber.segments_out.add(-sum(slots.values())),
            PoolNumber.messages_out.add(-len(slots)),
        ]
        for message_id in slots:
            condition = condition & PoolNumber.limiter_booked[message_id].exists()
            actions.append(PoolNumber.limiter_booked[message_id].remove())
        return update_if(PoolNumber(POOL, number), actions, condition)


def _parse(booked) -> Booked:
    """The stored slots booked ahead; an entry that does not parse is left out (never used)."""
    parsed: Booked = {}
    for message_id, value in (booked.as_dict() if isinstance(booked, MapAttribute) else booked or {}).items():
        try:
            offset, segments = str(value).split()
            parsed[message_id] = (float(offset), int(segments))
        except ValueError:
            continue
    return parsed
