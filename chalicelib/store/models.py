"""The DynamoDB items, as PynamoDB models: the one module that defines them,
one class per kind of item.

Table names are `<RESOURCE_PREFIX><name>`, resolved when a table is used (so a
stage's environment decides them, also under Chalice's test client). The
deployment template and the local stack create the tables from TABLE_MODELS
(infra/resources.py), so there is one definition of every table. The numbers
table holds five kinds of item, each in partitions of its own: the pool's
numbers, their daily usage, the growth lease, the autoscaler's memory and the
campaign's limiter state.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import config


class _FromEnvironment:
    """A Meta attribute read from the environment each time it is used."""

    def __init__(self, read):
        self._read = read

    def __get__(self, instance, owner):
        return self._read()


def _meta(name: str) -> Any:  # a class; Any, as PynamoDB types Model.Meta as an instance protocol
    return type(
        "Meta",
        (),
        {
            "table_name": _FromEnvironment(lambda: config.resource_prefix() + name),
            "region": _FromEnvironment(config.aws_region),
            "table_suffix": name,
            "billing_mode": "PAY_PER_REQUEST",
            # Fail fast and let SQS/Lambda retry rather than hold a request open.
            "connect_timeout_seconds": 2,
            "read_timeout_seconds": 5,
            "max_retry_attempts": 3,
        },
    )


# Name of the attribute DynamoDB's TTL deletes items by (epoch seconds).
TTL_ATTRIBUTE = "ttl"


class User(Model):
    """A chat user's phone hook-up: which phone, verified or not, away or not."""

    Meta = _meta("users")
    user_id = UnicodeAttribute(hash_key=True)
    phone = UnicodeAttribute()
    phone_status = UnicodeAttribute()  # pending | verified
    code_salt = UnicodeAttribute(null=True)
    code_hash = UnicodeAttribute(null=True)
    code_expires_at = NumberAttribute(null=True)
    code_tries = NumberAttribute(default=0)
    away = BooleanAttribute(default=True)
    updated_at = NumberAttribute()


class Phone(Model):
    """A phone number as Twilio sees it: who owns it here, and whether it opted out.

    Keyed by E.164 so an inbound SMS finds its owner without a scan, a phone has
    at most one owner, and an opt-out outlives the owner's hook-up.
    """

    Meta = _meta("phones")
    phone = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(null=True)
    verified = BooleanAttribute(default=False)
    opted_out = BooleanAttribute(default=False)
    # The claim the owner holds: the salt of the code sent with it. A verify commits only
    # while the phone still holds the claim its code came with (usecases/phones.py).
    claim = UnicodeAttribute(null=True)
    updated_at = NumberAttribute()
    # Failures in a row meaning the phone cannot get SMS (core/carrier_errors.PHONE); at the
    # threshold the phone is unreachable until verified again.
    delivery_failures = NumberAttribute(null=True)
    unreachable = BooleanAttribute(null=True)
    carrier = UnicodeAttribute(null=True)


class OpenSessionsByUser(GlobalSecondaryIndex):
    """Sparse: only open sessions carry `open_user_id`."""

    class Meta:
        index_name = "open-by-user"
        projection = AllProjection()

    open_user_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class Session(Model):
    Meta = _meta("sessions")
    session_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    partner_name = UnicodeAttribute(null=True)
    user_phone = UnicodeAttribute()
    pool_number = UnicodeAttribute()
    status = UnicodeAttribute()  # open | closed
    close_reason = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    expires_at = NumberAttribute()  # moves forward with every message
    open_user_id = UnicodeAttribute(null=True)  # kept while `closing`: the close's retry finds it
    # Closed, but its event (and the route's release) not yet done: usecases/sessions.py finishes it.
    closing = BooleanAttribute(null=True)
    open_sessions_by_user = OpenSessionsByUser()
    ttl = NumberAttribute(null=True)


class Pair(Model):
    """(user, partner): its open session, claimed conditionally, and the pool
    number it used last (the sticky preference)."""

    Meta = _meta("pairs")
    user_id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute(range_key=True)
    session_id = UnicodeAttribute(null=True)
    session_expires_at = NumberAttribute(null=True)
    last_pool_number = UnicodeAttribute(null=True)


class Route(Model):
    """(user phone, pool number) -> the one open session on that pair.

    Claimed with a conditional put; an expired route counts as free."""

    Meta = _meta("routes")
    phone = UnicodeAttribute(hash_key=True)
    pool_number = UnicodeAttribute(range_key=True)
    session_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = NumberAttribute()
    ttl = NumberAttribute(null=True)


POOL = "main"
# The numbers table's other partitions: per-day usage counters (USAGE_PREFIX + "YYYY-MM-DD",
# one item per number), the pool's own bookkeeping (POOL_META: the growth lease and the
# autoscaler's memory), and limiter keys that are not pool numbers (LIMITS: a 10DLC campaign).
# Listing the pool (partition POOL) never sees them.
USAGE_PREFIX = "usage#"
USAGE_COUNTED = USAGE_PREFIX + "counted"
POOL_META = "pool-meta"
LIMITS = "limits"
GROWTH_LEASE_ITEM, AUTOSCALER_MEMORY_ITEM = "growth-lock", "autoscaler"


class PoolNumber(Model):
    """A Twilio number of the pool. All numbers share one partition so the
    pool is read with a single Query."""

    Meta = _meta("numbers")
    pool = UnicodeAttribute(hash_key=True, default=POOL)
    phone_number = UnicodeAttribute(range_key=True)
    twilio_sid = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")  # active | draining | releasing | released
    country = UnicodeAttribute(null=True)
    area_code = UnicodeAttribute(null=True)
    segments_per_second = NumberAttribute()
    mms = BooleanAttribute(null=True)  # Twilio's capabilities.mms; None: not known (taken as capable)
    open_sessions = NumberAttribute(default=0)
    # The limiter's theoretical arrival time (epoch seconds) for this number.
    limiter_tat = NumberAttribute(default=0)
    # What the number has sent since it joined the pool (cumulative, moved in the limiter's
    # write that charges the send); the scheduled run adds their deltas to DailyUsage.
    segments_out = NumberAttribute(null=True)
    messages_out = NumberAttribute(null=True)
    # The slots the limiter's last charge booked ahead for the FIFO group's next messages:
    # message id -> "<seconds before limiter_tat> <segments>" (store/limit_states.py).
    limiter_booked: MapAttribute = MapAttribute(null=True)
    created_at = NumberAttribute()
    last_used_at = NumberAttribute(null=True)
    # Twilio bills from bought_at, monthly (usecases/pool_numbers.py).
    bought_at = NumberAttribute(null=True)
    changed_at = NumberAttribute(null=True)  # bought, taken back, drained or released
    drain_reason = UnicodeAttribute(null=True)  # auto | requested
    # Set by a pool/account fault (core/carrier_errors.POOL): "<code>: <reason>"; no new
    # sessions until an operator reactivates the number.
    held_back = UnicodeAttribute(null=True)
    held_at = NumberAttribute(null=True)
    released_at = NumberAttribute(null=True)


class DailyUsage(Model):
    """What one pool number sent and received on one (UTC) day: ADD counters. The item of
    partition USAGE_COUNTED instead holds how much of the number's cumulative sent counters
    (PoolNumber.segments_out/messages_out) the days already have."""

    Meta = _meta("numbers")
    day_key = UnicodeAttribute(hash_key=True, attr_name="pool")  # USAGE_PREFIX + "YYYY-MM-DD"
    phone_number = UnicodeAttribute(range_key=True)
    segments_out = NumberAttribute(null=True)
    messages_out = NumberAttribute(null=True)
    segments_in = NumberAttribute(null=True)
    messages_in = NumberAttribute(null=True)
    mms_out = NumberAttribute(null=True)  # MMS among the messages (each also one segment above)
    mms_in = NumberAttribute(null=True)


class GrowthLease(Model):
    """The one lease that serialises buying numbers (usecases/pool_growth.py)."""

    Meta = _meta("numbers")
    partition = UnicodeAttribute(hash_key=True, attr_name="pool", default=POOL_META)
    item = UnicodeAttribute(range_key=True, attr_name="phone_number", default=GROWTH_LEASE_ITEM)
    lease_owner = UnicodeAttribute(null=True)
    lease_expires_at = NumberAttribute(null=True)


class AutoscalerMemory(Model):
    """What the scheduled autoscaler remembers between runs (JSON)."""

    Meta = _meta("numbers")
    partition = UnicodeAttribute(hash_key=True, attr_name="pool", default=POOL_META)
    item = UnicodeAttribute(range_key=True, attr_name="phone_number", default=AUTOSCALER_MEMORY_ITEM)
    state_json = UnicodeAttribute(null=True)


class CampaignLimit(Model):
    """The send limiter's state of a 10DLC campaign, shared by every number."""

    Meta = _meta("numbers")
    partition = UnicodeAttribute(hash_key=True, attr_name="pool", default=LIMITS)
    campaign_key = UnicodeAttribute(range_key=True, attr_name="phone_number")  # "campaign#<id>"
    limiter_tat = NumberAttribute(default=0)
    segments_per_second = NumberAttribute(null=True)


class MessagesBySession(GlobalSecondaryIndex):
    """Keys only: a message moves four times or more, and an index projecting its attributes
    is written again at each move (a write unit per KB, each time); pages and reconciliation
    read the items themselves (usecases/message_views.py, usecases/sending/reconcile.py).
    Renamed from "by-session" (all attributes) when it became keys only: DynamoDB cannot
    change an index's projection (README, "Deploy")."""

    class Meta:
        index_name = "by-session-keys"
        projection = KeysOnlyProjection()

    session_id = UnicodeAttribute(hash_key=True)
    order_key = UnicodeAttribute(range_key=True)


class QueuedByUser(GlobalSecondaryIndex):
    """Sparse: only messages still waiting to be sent carry `queued_user_id`."""

    class Meta:
        index_name = "queued-by-user"
        projection = KeysOnlyProjection()

    queued_user_id = UnicodeAttribute(hash_key=True)
    order_key = UnicodeAttribute(range_key=True)


class Message(Model):
    Meta = _meta("messages")
    message_id = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute(null=True)  # none for verification codes
    user_id = UnicodeAttribute(null=True)
    direction = UnicodeAttribute()  # outbound | inbound
    kind = UnicodeAttribute(default="chat")  # chat | verification
    text = UnicodeAttribute(null=True)  # as the chat backend sent it (or the SMS received)
    body = UnicodeAttribute(null=True)  # outbound: exactly what goes to the phone
    status = UnicodeAttribute()
    error_code = UnicodeAttribute(null=True)
    segments = NumberAttribute(default=1)
    encoding = UnicodeAttribute(null=True)
    from_number = UnicodeAttribute()
    to_number = UnicodeAttribute()
    twilio_sid = UnicodeAttribute(null=True)
    media_urls = UnicodeAttribute(null=True)  # JSON list, inbound only
    media = UnicodeAttribute(null=True)  # JSON [{"key", "content_type", "size"}] in the media bucket
    media_delivery = UnicodeAttribute(null=True)  # outbound with media: mms | links (where MMS cannot go)
    created_at = NumberAttribute()
    sent_at = NumberAttribute(null=True)
    claimed_at = NumberAttribute(null=True)  # when a sender last took it (reconciliation looks from here)
    attempts = NumberAttribute(default=0)
    order_key = UnicodeAttribute()
    queued_user_id = UnicodeAttribute(null=True)  # kept after a cancel until its event is queued
    # Statuses whose message.status event is owed to the chat backend: added in the write that
    # makes the move, removed once the event is queued (usecases/messages.py: an outbox on the item).
    events_owed = UnicodeSetAttribute(null=True)
    by_session = MessagesBySession()
    queued_by_user = QueuedByUser()
    ttl = NumberAttribute(null=True)


class RateCounter(Model):
    """What a verification limit remembers for one key (usecases/verification_limits.py):
    the times of recent events (a phone's or a user's code SMS, a phone's code tries),
    or one fixed window's count (the global budget). Written conditionally on
    `version` (or the count); DynamoDB's TTL deletes it once its window has passed."""

    Meta = _meta("counters")
    key = UnicodeAttribute(hash_key=True)  # "<kind>#<phone, user id or window start>"
    times = ListAttribute(of=NumberAttribute, null=True)
    # Shadows Model.count (the classmethod that counts a table's items), which this
    # model never calls; the attribute keeps its stored name.
    count = NumberAttribute(null=True)  # type: ignore[assignment]
    version = NumberAttribute(default=0)
    ttl = NumberAttribute(null=True)


# One model per table: what infra/resources.py creates the tables from.
TABLE_MODELS = (User, Phone, Session, Pair, Route, PoolNumber, Message, RateCounter)
