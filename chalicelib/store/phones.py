"""Phones and users: a chat user's hook-up (User) and the phone as Twilio sees it (Phone).

The Phone is the authority: it names the one user holding a claim on it, whether that
claim is verified, and the claim's nonce (the salt of the code sent with it). Every
move is conditional, and a claim or a verify writes the Phone and the User together,
so under any interleaving a phone has at most one verified owner. `PhoneStore` is the
contract; store/dynamodb/phones.py keeps it in DynamoDB, `MemoryPhones` in memory.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Protocol

from chalicelib.core.line_types import LookupFacts

PENDING, VERIFIED = "pending", "verified"


@dataclass(frozen=True)
class User:
    """A chat user's phone hook-up: which phone, verified or not, away or not."""

    user_id: str
    phone: str
    phone_status: str  # PENDING | VERIFIED
    away: bool = True
    code_salt: str | None = None  # the claim's nonce: the salt of the pending code
    code_hash: str | None = None
    code_expires_at: float | None = None
    updated_at: int = 0


@dataclass(frozen=True)
class Phone:
    """A phone number (E.164): who owns it here, and whether it opted out or cannot get SMS.
    Keyed by the number, so an opt-out outlives the owner's hook-up."""

    phone: str
    user_id: str | None = None
    verified: bool = False
    opted_out: bool = False
    claim: str | None = None  # the salt of the code its owner's claim came with
    delivery_failures: int = 0  # failures in a row meaning it cannot get SMS (core/carrier_errors.PHONE)
    unreachable: bool = False  # at the threshold: until verified again
    updated_at: int = 0
    # Twilio Lookup v2's answer at the last hook-up (usecases/phone_lookup.py); None: not known.
    carrier: str | None = None  # line_type_intelligence.carrier_name, or T-Mobile's learned from a 30023
    line_type: str | None = None  # line_type_intelligence.type (core/line_types.LINE_TYPES)
    looked_up_at: float | None = None
    pumping_risk: int | None = None  # sms_pumping_risk.sms_pumping_risk_score, 0-100

    def owned_by(self, user_id: str) -> bool:
        """`user_id` is the phone's one verified owner."""
        return self.user_id == user_id and self.verified


class PhoneStore(Protocol):
    def user(self, user_id: str) -> User | None: ...

    def phone(self, phone: str) -> Phone | None: ...

    def claim(self, user: User, take_over: str | None) -> bool:
        """Store `user` (pending, with its code) and give it the claim on `user.phone` (its
        salt the claim's nonce, unverified), in one write. The phone must be free or this
        user's (`take_over` None), or held unverified by `take_over`; never opted out.
        False when it was not so (it changed hands since it was read)."""

    def verify(self, user: User, now: int) -> bool:
        """The user's pending claim becomes verified (the phone reachable again, its
        failures forgotten; the user's code gone), while the phone still holds the claim
        the code came with and the user still has that code for that phone. False if not."""

    def remove_user(self, user_id: str, phone: str) -> bool:
        """Forget the user's hook-up while it is still of `phone`."""

    def set_away(self, user_id: str, away: bool, now: int) -> None:
        """Presence of an existing user."""

    def release(self, phone: str, user_id: str, now: int) -> bool:
        """The phone leaves `user_id` (no owner, no claim), if it is theirs."""

    def set_opted_out(self, phone: str, opted_out: bool, now: int) -> Phone:
        """Record STOP or START (the phone is created if unknown); the phone after it."""

    def count_failure(self, phone: str, now: int) -> Phone:
        """One more delivery failure in a row; the phone after it."""

    def mark_unreachable(self, phone: str) -> bool:
        """True when this call marked it (not already unreachable)."""

    def clear_failures(self, phone: str, now: int) -> None:
        """A delivered SMS: the failures in a row start again (nothing written when there
        are none: nearly every phone)."""

    def keep_lookup(self, phone: str, facts: LookupFacts, looked_up_at: float) -> None:
        """What Twilio Lookup said of the phone (the phone is created if unknown: a refused
        phone keeps its answer too); owner and claim stay as they are."""

    def learn_carrier(self, phone: str, carrier: str, now: int) -> bool:
        """Record the phone's carrier while none is known; True when this call recorded it."""


class MemoryPhones:
    """PhoneStore in memory, for use-case tests and simulations."""

    def __init__(self, users: list[User] | None = None, phones: list[Phone] | None = None):
        self._lock = threading.Lock()
        self.users = {u.user_id: u for u in users or []}
        self.phones = {p.phone: p for p in phones or []}

    def user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def phone(self, phone: str) -> Phone | None:
        return self.phones.get(phone)

    def claim(self, user: User, take_over: str | None) -> bool:
        with self._lock:
            held = self.phones.get(user.phone) or Phone(user.phone)
            if take_over is None:
                free = held.user_id in (None, user.user_id)
            else:
                free = held.user_id == take_over and not held.verified
            if not free or held.opted_out:
                return False
            self.phones[user.phone] = dataclasses.replace(
                held, user_id=user.user_id, verified=False, claim=user.code_salt, updated_at=user.updated_at
            )
            self.users[user.user_id] = user
            return True

    def verify(self, user: User, now: int) -> bool:
        with self._lock:
            phone, stored = self.phones.get(user.phone), self.users.get(user.user_id)
            if phone is None or phone.user_id != user.user_id or phone.claim != user.code_salt:
                return False
            if stored is None or stored.code_salt != user.code_salt or stored.phone != user.phone:
                return False
            self.phones[user.phone] = dataclasses.replace(
                phone, verified=True, updated_at=now, unreachable=False, delivery_failures=0
            )
            self.users[user.user_id] = dataclasses.replace(
                stored, phone_status=VERIFIED, code_hash=None, code_salt=None, code_expires_at=None, updated_at=now
            )
            return True

    def remove_user(self, user_id: str, phone: str) -> bool:
        with self._lock:
            stored = self.users.get(user_id)
            if stored is None or stored.phone != phone:
                return False
            del self.users[user_id]
            return True

    def set_away(self, user_id: str, away: bool, now: int) -> None:
        with self._lock:
            self.users[user_id] = dataclasses.replace(self.users[user_id], away=away, updated_at=now)

    def release(self, phone: str, user_id: str, now: int) -> bool:
        with self._lock:
            held = self.phones.get(phone)
            if held is None or held.user_id != user_id:
                return False
            self.phones[phone] = dataclasses.replace(held, user_id=None, verified=False, claim=None, updated_at=now)
            return True

    def set_opted_out(self, phone: str, opted_out: bool, now: int) -> Phone:
        return self._change(phone, opted_out=opted_out, updated_at=now)

    def count_failure(self, phone: str, now: int) -> Phone:
        with self._lock:
            held = self.phones.get(phone) or Phone(phone)
            changed = dataclasses.replace(held, delivery_failures=held.delivery_failures + 1, updated_at=now)
            self.phones[phone] = changed
            return changed

    def mark_unreachable(self, phone: str) -> bool:
        with self._lock:
            held = self.phones.get(phone) or Phone(phone)
            if held.unreachable:
                return False
            self.phones[phone] = dataclasses.replace(held, unreachable=True)
            return True

    def clear_failures(self, phone: str, now: int) -> None:
        held = self.phones.get(phone)
        if held is not None and held.delivery_failures:
            self._change(phone, delivery_failures=0, updated_at=now)

    def keep_lookup(self, phone: str, facts: LookupFacts, looked_up_at: float) -> None:
        self._change(
            phone,
            carrier=facts.carrier,
            line_type=facts.line_type,
            pumping_risk=facts.pumping_risk,
            looked_up_at=looked_up_at,
        )

    def learn_carrier(self, phone: str, carrier: str, now: int) -> bool:
        with self._lock:
            held = self.phones.get(phone)
            if held is None or held.carrier:
                return False
            self.phones[phone] = dataclasses.replace(held, carrier=carrier, updated_at=now)
            return True

    def _change(self, phone: str, **changes: object) -> Phone:
        with self._lock:
            changed = dataclasses.replace(self.phones.get(phone) or Phone(phone), **changes)  # type: ignore[arg-type]
            self.phones[phone] = changed
            return changed
