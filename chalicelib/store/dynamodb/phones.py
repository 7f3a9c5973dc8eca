"""PhoneStore (store/phones.py) in DynamoDB: the User and Phone items (store/models.py).
A claim and a verify are one transaction over both; every other move is conditional."""

from __future__ import annotations

from pynamodb.expressions.update import Action

from chalicelib.core.line_types import LookupFacts
from chalicelib.store import models
from chalicelib.store.conditional import delete_if, get_or_none, transact_if, update_if
from chalicelib.store.phones import PENDING, VERIFIED, Phone, User

U, P = models.User, models.Phone


def user_of(item: models.User) -> User:
    return User(
        user_id=item.user_id,
        phone=item.phone,
        phone_status=item.phone_status,
        away=bool(item.away),
        code_salt=item.code_salt,
        code_hash=item.code_hash,
        code_expires_at=item.code_expires_at,
        updated_at=int(item.updated_at or 0),
    )


def phone_of(item: models.Phone) -> Phone:
    return Phone(
        phone=item.phone,
        user_id=item.user_id,
        verified=bool(item.verified),
        opted_out=bool(item.opted_out),
        claim=item.claim,
        delivery_failures=int(item.delivery_failures or 0),
        unreachable=bool(item.unreachable),
        updated_at=int(item.updated_at or 0),
        carrier=item.carrier,
        line_type=item.line_type,
        looked_up_at=item.looked_up_at,
        pumping_risk=None if item.pumping_risk is None else int(item.pumping_risk),
    )


class DynamoPhones:
    def user(self, user_id: str) -> User | None:
        item = get_or_none(U, user_id)
        return user_of(item) if item is not None else None

    def phone(self, phone: str) -> Phone | None:
        item = get_or_none(P, phone)
        return phone_of(item) if item is not None else None

    def claim(self, user: User, take_over: str | None) -> bool:
        if take_over is None:
            held = P.user_id.does_not_exist() | (P.user_id == user.user_id)
        else:  # exactly the pending claim that was read
            held = (P.user_id == take_over) & (P.verified == False)  # noqa: E712
        not_opted_out = P.opted_out.does_not_exist() | (P.opted_out == False)  # noqa: E712
        item = U(
            user_id=user.user_id,
            phone=user.phone,
            phone_status=PENDING,
            code_salt=user.code_salt,
            code_hash=user.code_hash,
            code_expires_at=user.code_expires_at,
            code_tries=0,
            away=user.away,
            updated_at=user.updated_at,
        )
        claimed = [P.user_id.set(user.user_id), P.verified.set(False), P.claim.set(user.code_salt or "")]
        claimed.append(P.updated_at.set(user.updated_at))
        return transact_if(("update", P(user.phone), claimed, held & not_opted_out), ("save", item, None, None)) is None

    def verify(self, user: User, now: int) -> bool:
        phone = [P.verified.set(True), P.updated_at.set(now), P.unreachable.remove(), P.delivery_failures.remove()]
        done = [
            U.phone_status.set(VERIFIED),
            U.code_hash.remove(),
            U.code_salt.remove(),
            U.code_expires_at.remove(),
            U.updated_at.set(now),
        ]
        lost = transact_if(
            ("update", P(user.phone), phone, (P.user_id == user.user_id) & (P.claim == user.code_salt)),
            ("update", U(user.user_id), done, (U.code_salt == user.code_salt) & (U.phone == user.phone)),
        )
        return lost is None

    def remove_user(self, user_id: str, phone: str) -> bool:
        return delete_if(U(user_id), U.phone == phone)

    def set_away(self, user_id: str, away: bool, now: int) -> None:
        U(user_id).update(actions=[U.away.set(away), U.updated_at.set(now)])

    def release(self, phone: str, user_id: str, now: int) -> bool:
        released = [P.user_id.remove(), P.verified.set(False), P.claim.remove(), P.updated_at.set(now)]
        return update_if(P(phone), released, P.user_id == user_id)

    def set_opted_out(self, phone: str, opted_out: bool, now: int) -> Phone:
        item = P(phone)
        item.update(actions=[P.opted_out.set(opted_out), P.updated_at.set(now)])
        return phone_of(item)

    def count_failure(self, phone: str, now: int) -> Phone:
        item = P(phone)
        item.update(actions=[P.delivery_failures.add(1), P.updated_at.set(now)])
        return phone_of(item)

    def mark_unreachable(self, phone: str) -> bool:
        return update_if(P(phone), [P.unreachable.set(True)], ~P.unreachable.exists() | (P.unreachable == False))  # noqa: E712

    def clear_failures(self, phone: str, now: int) -> None:
        # A read first: nearly every phone has none to clear, and a read costs a fraction of
        # the write whose condition would fail.
        stored = get_or_none(P, phone)
        if stored is None or not stored.delivery_failures:
            return
        update_if(stored, [P.delivery_failures.set(0), P.updated_at.set(now)], P.delivery_failures > 0)

    def keep_lookup(self, phone: str, facts: LookupFacts, looked_up_at: float) -> None:
        # An update, not a put: the owner, the claim and the opt-out stay as they are.
        kept: list[Action] = [P.looked_up_at.set(looked_up_at)]
        for attribute, value in ((P.carrier, facts.carrier), (P.line_type, facts.line_type)):
            kept.append(attribute.remove() if value is None else attribute.set(value))
        kept.append(P.pumping_risk.remove() if facts.pumping_risk is None else P.pumping_risk.set(facts.pumping_risk))
        kept.append(P.updated_at.set(int(looked_up_at)))
        P(phone).update(actions=kept)

    def learn_carrier(self, phone: str, carrier: str, now: int) -> bool:
        known = P.phone.exists() & (P.carrier.does_not_exist() | (P.carrier == ""))
        return update_if(P(phone), [P.carrier.set(carrier), P.updated_at.set(now)], known)
