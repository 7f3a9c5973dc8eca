"""TMobileCounts (store/tmobile_counts.py) in DynamoDB: RateCounter items (store/models.py),
`tmobile#<day>` the day's count and `tmobile#<day>#<message id>` a message's mark (its units,
0 once given back), each admission one transaction over both; DynamoDB's TTL deletes them."""

from __future__ import annotations

from chalicelib.store.conditional import get_or_none, transact_if, update_if
from chalicelib.store.models import RateCounter
from chalicelib.store.tmobile_counts import Admission

C = RateCounter


def _day_key(day: str) -> str:
    return f"tmobile#{day}"


def _mark_key(day: str, message_id: str) -> str:
    return f"tmobile#{day}#{message_id}"


class DynamoTMobileCounts:
    def admit(self, day: str, message_id: str, units: int, cap: int, expires_at: int) -> Admission:
        mark = C(key=_mark_key(day, message_id), count=units, ttl=expires_at)
        uncounted = C.key.does_not_exist() | (C.count == 0)
        within = C.count.does_not_exist() | (C.count <= cap - units)
        added = [C.count.add(units), C.ttl.set(expires_at)]
        lost = transact_if(("save", mark, None, uncounted), ("update", C(key=_day_key(day)), added, within))
        if lost is None:
            return Admission(True, self.count(day))
        # The mark's condition failed: counted before (a retry); else the cap would be passed.
        return Admission(bool(lost[0]), self.count(day))

    def give_back(self, day: str, message_id: str) -> bool:
        counted = get_or_none(C, _mark_key(day, message_id))
        if counted is None or not counted.count:
            return False
        given = int(counted.count)
        lost = transact_if(
            ("update", C(key=_mark_key(day, message_id)), [C.count.set(0)], C.count == given),
            ("update", C(key=_day_key(day)), [C.count.add(-given)], C.count >= given),
        )
        return lost is None

    def fill(self, day: str, cap: int, expires_at: int) -> None:
        update_if(
            C(key=_day_key(day)),
            [C.count.set(cap), C.ttl.set(expires_at)],
            C.count.does_not_exist() | (C.count < cap),
        )

    def count(self, day: str) -> int:
        item = get_or_none(C, _day_key(day))
        return int(item.count or 0) if item is not None else 0
