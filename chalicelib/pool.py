"""The pool of Twilio numbers: buy, adopt, place, grow, drain, release, count.

The I/O around chalicelib/autoscaler.py (the decisions, pure) and
chalicelib/costs.py (billing arithmetic, pure): what the pool holds is read
here, decided there, and carried out here. docs/pool.md describes the policy.

Lifecycle of a number: active (takes new sessions) -> draining (keeps its
sessions, takes no new ones; the autoscaler may take it back) -> releasing
(Twilio DELETE under way) -> released (kept as a record of what was rented).

Buying is serialised by a lease on one item (the growth lock), so two API
calls or an API call and the schedule never both buy the last number the
maximum size or the budget allows. Waiting for the lease happens only when
another buy is under way.

Usage counters are per number per day (ADD on an item in the numbers table's
partition "usage#YYYY-MM-DD"): one extra write per SMS sent or received.
"""
from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from datetime import date, datetime, timezone

from chalicelib import autoscaler, clock, costs, phone_numbers, twilio_gateway
from chalicelib.config import pool_settings, settings
from chalicelib.db import get_or_none, update_if
from chalicelib.errors import BridgeError, bad_request, not_found
from chalicelib.logs import logger, mask
from chalicelib.models import POOL, POOL_META, USAGE_PREFIX, PoolNumber

ACTIVE, DRAINING, RELEASING, RELEASED = "active", "draining", "releasing", "released"
HELD = (ACTIVE, DRAINING, RELEASING)  # rented from Twilio
MAX_SEGMENTS_PER_SECOND = 1000
MIN_SEGMENTS_PER_SECOND = 0.001

GROWTH_LOCK, AUTOSCALER_MEMORY = "growth-lock", "autoscaler"
LEASE_SECONDS = 60  # longer than a search and a purchase at Twilio take
LEASE_POLL_SECONDS = 0.1
LEASE_POLLS = 200  # 20 s: an API call gives up before API Gateway's 29 s
# A number's open-session counter is only corrected when no session opened or closed on it this recently
# (the sessions index is eventually consistent).
SETTLED_SECONDS = 60
MAX_REPORT_DAYS = 92
OFFERS_PER_SEARCH = 5


def pool_exhausted(why: str) -> BridgeError:
    return BridgeError("pool_exhausted", why, 503)


def policy() -> autoscaler.Policy:
    return autoscaler.Policy.from_settings(pool_settings(), settings().default_segments_per_second)


def all_numbers() -> list[PoolNumber]:
    """Every number the pool ever had, released ones included."""
    return list(PoolNumber.query(POOL, consistent_read=True))


def candidates(now: float, numbers: list[PoolNumber] | None = None) -> list:
    """Every active number, with the load placement weighs."""
    from chalicelib import allocation

    return [
        allocation.Candidate(
            phone_number=n.phone_number,
            country=n.country or "",
            area_code=n.area_code or "",
            segments_per_second=n.segments_per_second,
            open_sessions=int(n.open_sessions or 0),
            backlog_seconds=max(0.0, (n.limiter_tat or 0) - now),
        )
        for n in (all_numbers() if numbers is None else numbers)
        if n.status == ACTIVE
    ]


def rank_for_session(now: float, *, taken: set[str], country: str, area_code: str, sticky: str | None) -> list[str]:
    """The usable numbers for a new session, best first (autoscaler.placement_order)."""
    return autoscaler.placement_order(
        candidates(now),
        taken=taken,
        country=country,
        area_code=area_code,
        sticky=sticky,
        target_wait=pool_settings().target_wait_seconds,
    )


def pick_for_notice(number: phone_numbers.ParsedNumber) -> str:
    """A number to send a one-off notice (a verification code) from."""
    ranked = rank_for_session(clock.now(), taken=set(), country=number.country, area_code=number.area_code, sticky=None)
    if not ranked:
        raise pool_exhausted("the pool has no active number to send from; add one with POST /numbers")
    return ranked[0]


def describe(number: PoolNumber) -> dict:
    return {
        "phone_number": number.phone_number,
        # 'releasing' is a moment of 'draining' as far as callers are concerned.
        "status": DRAINING if number.status == RELEASING else number.status,
        "open_sessions": int(number.open_sessions or 0),
        "segments_per_second": number.segments_per_second,
    }


def list_numbers() -> dict:
    return {"numbers": [describe(n) for n in all_numbers()]}


# --- adding numbers -----------------------------------------------------------


def add(body: dict) -> dict:
    """POST /numbers: adopt {"phone_number"} the account owns, or buy one {"area_code"?, "country"?}."""
    rate = body.get("segments_per_second", settings().default_segments_per_second)
    # A floor, not just above 0: DynamoDB cannot store a number below 1e-130 (5e-324 was a 500).
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not MIN_SEGMENTS_PER_SECOND <= rate <= MAX_SEGMENTS_PER_SECOND:
        raise bad_request(
            "invalid_segments_per_second",
            f"segments_per_second must be a number from {MIN_SEGMENTS_PER_SECOND} to {MAX_SEGMENTS_PER_SECOND}",
        )
    if "phone_number" in body:
        return describe(adopt(body["phone_number"], rate))
    area_code = body.get("area_code")
    if area_code is not None and not (isinstance(area_code, str) and area_code.isdigit() and 2 <= len(area_code) <= 5):
        raise bad_request("invalid_area_code", "area_code must be a string of digits, e.g. \"415\"")
    country = body.get("country", settings().default_country)
    if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        raise bad_request("invalid_country", "country must be an ISO 3166 alpha-2 code, e.g. \"US\"")
    return describe(buy(area_code, rate, country.upper()))


def adopt(raw_phone: object, rate: float) -> PoolNumber:
    number = phone_numbers.parse(raw_phone, field="phone_number")
    existing = get_or_none(PoolNumber, POOL, number.e164)
    if existing is None or existing.status not in HELD:
        # An adopted number is already rented, so only the size limit applies.
        held = sum(1 for n in all_numbers() if n.status in HELD)
        if held >= pool_settings().max_size:
            raise pool_exhausted(autoscaler.limit_refusal(held, 0, policy()))
    owned = twilio_gateway.find_owned_number(number.e164)
    if owned is None:
        raise bad_request(
            "number_not_owned",
            f"the Twilio account does not own {number.e164}; buy it in Twilio first, or POST {{\"area_code\"}} to buy one",
        )
    urls = _webhook_urls()
    twilio_gateway.point_number_at(owned.sid, **urls)
    return record(number, owned.sid, rate)


def buy(area_code: str | None, rate: float, country: str | None = None, why: str = "requested") -> PoolNumber:
    """Buy a number within the size and budget limits: in the area code first, else
    anywhere in the country. Raises pool_exhausted saying which limit, or why not."""
    now = clock.now()
    country = country or settings().default_country
    with growth_lock(now):
        numbers = all_numbers()
        refusal = autoscaler.limit_refusal(_held_count(numbers), _rentals_this_month(numbers, now), policy())
        if refusal:
            logger.info("pool decision", extra={"action": autoscaler.REFUSE, "reason": refusal, "why": why})
            raise pool_exhausted(refusal)
        return _buy_at_twilio(country, area_code, rate, why)


def _buy_at_twilio(country: str, area_code: str | None, rate: float, why: str) -> PoolNumber:
    searches = []
    if area_code and country in ("US", "CA"):  # Twilio's AreaCode filter is North American only
        searches.append((country, area_code))
    searches.append((country, None))
    default_country = settings().default_country
    if country != default_country:
        searches.append((default_country, None))
    tried = set()
    for search_country, search_area in searches:
        try:
            offered = twilio_gateway.search_local(search_country, search_area, limit=OFFERS_PER_SEARCH)
        except twilio_gateway.TwilioError as error:
            raise pool_exhausted(f"could not search Twilio for a number ({error}); retry later") from None
        for phone in offered:
            if phone in tried:
                continue
            tried.add(phone)
            try:
                owned = twilio_gateway.buy(phone, **_webhook_urls())
            except twilio_gateway.TwilioError as error:
                if error.status == 400:
                    continue  # bought by someone else since the search: try the next offer
                raise pool_exhausted(f"could not buy a number at Twilio ({error}); retry later") from None
            number = record(phone_numbers.parse(owned.phone_number), owned.sid, rate)
            logger.info(
                "pool number bought",
                extra={
                    "pool_number": mask(owned.phone_number),
                    "wanted": f"{country} {area_code or 'any area code'}",
                    "got_area_code": number.area_code,
                    "reason": why,
                },
            )
            return number
        if search_area:
            logger.info("no number in the area code; searching the whole country",
                        extra={"country": search_country, "area_code": search_area})
    where = f"{country} area code {area_code} or any other" if area_code else country
    raise pool_exhausted(f"Twilio offers no local number in {where}; try another country or area code")


def record(number: phone_numbers.ParsedNumber, sid: str, rate: float) -> PoolNumber:
    now = int(clock.now())
    existing = get_or_none(PoolNumber, POOL, number.e164)
    item = existing or PoolNumber(POOL, number.e164, created_at=now, open_sessions=0, limiter_tat=0)
    if existing is None or existing.status == RELEASED:
        item.bought_at = now  # Twilio bills from here (for an adopted number: an estimate)
        item.released_at = None
    item.twilio_sid = sid
    item.status = ACTIVE
    item.changed_at = now
    item.drain_reason = None
    item.country = number.country
    item.area_code = number.area_code
    item.segments_per_second = rate
    item.save()
    logger.info("pool number added", extra={"pool_number": mask(number.e164)})
    return item


def _webhook_urls() -> dict:
    config = settings()
    return {"sms_url": config.webhook_url("/twilio/sms"), "status_callback": config.webhook_url("/twilio/status")}


# --- growing on demand ------------------------------------------------------------


def grow_for_session(user_number: phone_numbers.ParsedNumber, exclude: set[str], claim) -> str:
    """A session of this user cannot be placed on any number outside `exclude`: take
    back a drained number or buy one, within the limits (else 503 pool_exhausted saying
    which limit), and `claim(number)` the session's route on it, all under the growth
    lock, so a racing open never takes the number this one grew the pool by."""
    now = clock.now()
    exclude = set(exclude)
    with growth_lock(now):
        numbers = all_numbers()
        # Another call may have grown the pool while this one waited for the lock.
        for phone in autoscaler.placement_order(
            candidates(now, numbers),
            taken=exclude,
            country=user_number.country,
            area_code=user_number.area_code,
            sticky=None,
            target_wait=pool_settings().target_wait_seconds,
        ):
            if claim(phone):
                return phone
            exclude.add(phone)
        held = [n for n in numbers if n.status in HELD]
        choice = autoscaler.grow_choice(
            [_number_state(n, now) for n in held],
            exclude=exclude,
            country=user_number.country,
            area_code=user_number.area_code,
            policy=policy(),
            rentals_this_month=_rentals_this_month(numbers, now),
        )
        _log_decision(choice, dry_run=False, on_demand=True)
        if choice.action == autoscaler.REFUSE:
            raise pool_exhausted(choice.reason)
        if choice.action == autoscaler.REACTIVATE:
            if not _reactivate(choice.phone_number, now):
                raise pool_exhausted("the pool changed while growing; retry")
            phone = choice.phone_number
        else:
            phone = _buy_at_twilio(
                choice.country, choice.area_code, settings().default_segments_per_second, "session could not be placed"
            ).phone_number
        if not claim(phone):
            raise pool_exhausted("the pool changed while growing; retry")
        return phone


@contextlib.contextmanager
def growth_lock(now: float):
    """Hold the pool's growth lease while buying (a conditional write on one item)."""
    owner = uuid.uuid4().hex
    item = PoolNumber(POOL_META, GROWTH_LOCK)
    for _ in range(LEASE_POLLS):
        taken = update_if(
            item,
            [PoolNumber.lease_owner.set(owner), PoolNumber.lease_expires_at.set(now + LEASE_SECONDS)],
            PoolNumber.lease_owner.does_not_exist() | (PoolNumber.lease_expires_at < clock.now()),
        )
        if taken:
            break
        _pause(LEASE_POLL_SECONDS)
    else:
        raise pool_exhausted("another request is adding a number to the pool right now; retry")
    try:
        yield
    finally:
        update_if(
            PoolNumber(POOL_META, GROWTH_LOCK),
            [PoolNumber.lease_owner.remove(), PoolNumber.lease_expires_at.remove()],
            PoolNumber.lease_owner == owner,
        )


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _reactivate(phone: str, now: float) -> bool:
    taken_back = update_if(
        PoolNumber(POOL, phone),
        [PoolNumber.status.set(ACTIVE), PoolNumber.changed_at.set(int(now)), PoolNumber.drain_reason.remove()],
        (PoolNumber.status == DRAINING) & (PoolNumber.drain_reason == autoscaler.AUTO),
    )
    if taken_back:
        logger.info("pool number taken back", extra={"pool_number": mask(phone)})
    return taken_back


# --- draining and releasing ---------------------------------------------------------


def drain(raw_phone: str) -> dict:
    """DELETE /numbers/{n}: no new sessions; released once empty (never taken back)."""
    number = get(raw_phone)
    if number.status in (ACTIVE, DRAINING):
        now = int(clock.now())
        actions = [PoolNumber.status.set(DRAINING), PoolNumber.drain_reason.set(autoscaler.REQUESTED)]
        if number.status == ACTIVE:
            actions.append(PoolNumber.changed_at.set(now))
        if update_if(number, actions, PoolNumber.status.is_in(ACTIVE, DRAINING)):
            logger.info("pool number draining", extra={"pool_number": mask(number.phone_number), "reason": "requested"})
    return describe(number)


def _drain_auto(phone: str, now: float) -> bool:
    return update_if(
        PoolNumber(POOL, phone),
        [
            PoolNumber.status.set(DRAINING),
            PoolNumber.drain_reason.set(autoscaler.AUTO),
            PoolNumber.changed_at.set(int(now)),
        ],
        PoolNumber.status == ACTIVE,
    )


def release(phone: str, now: float) -> bool:
    """Give a drained number back to Twilio (DELETE) and keep its record."""
    item = get_or_none(PoolNumber, POOL, phone)
    if item is None or item.status not in (DRAINING, RELEASING):
        return False
    if item.status == DRAINING and not update_if(
        item, [PoolNumber.status.set(RELEASING)], PoolNumber.status == DRAINING
    ):
        return False  # taken back meanwhile
    if item.twilio_sid:
        try:
            twilio_gateway.release(item.twilio_sid)
        except twilio_gateway.TwilioError as error:
            if error.status != 404:
                update_if(item, [PoolNumber.status.set(DRAINING)], PoolNumber.status == RELEASING)
                raise
            logger.warning("Twilio no longer has the number (404); recording it released",
                           extra={"pool_number": mask(phone)})
    else:
        logger.warning("pool number has no Twilio sid; marked released without a DELETE",
                       extra={"pool_number": mask(phone)})
    item.update(
        actions=[
            PoolNumber.status.set(RELEASED),
            PoolNumber.released_at.set(int(now)),
            PoolNumber.changed_at.set(int(now)),
        ]
    )
    logger.info("pool number released", extra={"pool_number": mask(phone)})
    return True


def get(raw_phone: str) -> PoolNumber:
    e164 = phone_numbers.parse(raw_phone, field="phone_number").e164
    number = get_or_none(PoolNumber, POOL, e164)
    if number is None:
        raise not_found("number", e164)
    return number


def adjust_open_sessions(phone_number: str, delta: int) -> None:
    PoolNumber(POOL, phone_number).update(
        actions=[PoolNumber.open_sessions.add(delta), PoolNumber.last_used_at.set(int(clock.now()))]
    )


# --- usage counters -------------------------------------------------------------------


def usage_key(day: date) -> str:
    return USAGE_PREFIX + day.isoformat()


def _today(now: float) -> date:
    return datetime.fromtimestamp(now, tz=timezone.utc).date()


def count_sent(phone_number: str, segments: int, messages: int = 1) -> None:
    """SMS Twilio accepted from `phone_number` (the sender calls this once per
    number and batch, so counting costs no write per message)."""
    _count(phone_number, [PoolNumber.segments_out.add(max(1, int(segments or 1))), PoolNumber.messages_out.add(messages)])


def count_received(phone_number: str, segments: int) -> None:
    """One SMS Twilio delivered to `phone_number` (the inbound webhook calls this)."""
    _count(phone_number, [PoolNumber.segments_in.add(max(1, int(segments or 1))), PoolNumber.messages_in.add(1)])


def _count(phone_number: str, actions: list) -> None:
    try:
        PoolNumber(usage_key(_today(clock.now())), phone_number).update(actions=actions)
    except Exception:
        # A counter must never fail the send or the webhook it counts.
        logger.exception("usage counter not updated", extra={"pool_number": mask(phone_number)})


def usage_for_day(day: date) -> dict[str, PoolNumber]:
    return {item.phone_number: item for item in PoolNumber.query(usage_key(day))}


# --- the scheduled autoscaler -------------------------------------------------------------


def autoscale(now: float | None = None) -> dict:
    """The scheduled function: sweep expired sessions, read the pool, decide
    (autoscaler.plan), log every decision with its reason, and carry them out
    unless POOL_DRY_RUN. Returns what it did."""
    now = clock.now() if now is None else now
    config = pool_settings()
    swept, per_user, per_number = sweep_sessions(now)
    numbers = all_numbers()
    repaired = _repair_counters(numbers, per_number, now)
    today = _today(now)
    usage = usage_for_day(today)
    held = [n for n in numbers if n.status in HELD]
    view = autoscaler.PoolView(
        now=now,
        day=today.isoformat(),
        numbers=tuple(_number_state(n, now, usage.get(n.phone_number), per_number.get(n.phone_number, 0)) for n in held),
        max_user_sessions=max(per_user.values(), default=0),
        rentals_this_month=_rentals_this_month(numbers, now),
    )
    memory = _load_memory()
    plan = autoscaler.plan(view, policy(), memory)
    done = []
    for decision in plan.decisions:
        _log_decision(decision, dry_run=config.dry_run, figures=plan.figures)
        outcome = "logged" if config.dry_run or decision.action in (autoscaler.HOLD, autoscaler.REFUSE) else None
        if outcome is None:
            try:
                outcome = _carry_out(decision, now)
            except Exception as error:
                logger.exception("pool decision failed", extra={"action": decision.action,
                                                                "pool_number": mask(decision.phone_number)})
                outcome = f"failed: {type(error).__name__}"
        done.append({"action": decision.action, "phone_number": decision.phone_number, "reason": decision.reason,
                     "outcome": outcome})
    _save_memory(plan.memory)
    return {"dry_run": config.dry_run, "decisions": done, "figures": plan.figures,
            "expired_sessions_closed": swept, "counters_corrected": repaired}


def _carry_out(decision: autoscaler.Decision, now: float) -> str:
    if decision.action == autoscaler.BUY:
        number = buy(decision.area_code, settings().default_segments_per_second, decision.country, why=decision.reason)
        return f"bought {mask(number.phone_number)}"
    if decision.action == autoscaler.REACTIVATE:
        return "taken back" if _reactivate(decision.phone_number, now) else "skipped: no longer drained"
    if decision.action == autoscaler.DRAIN:
        return "draining" if _drain_auto(decision.phone_number, now) else "skipped: no longer active"
    if decision.action == autoscaler.RELEASE:
        return "released" if release(decision.phone_number, now) else "skipped: no longer draining"
    return "logged"


def _log_decision(decision: autoscaler.Decision, *, dry_run: bool, on_demand: bool = False, figures=None) -> None:
    logger.info(
        "pool decision",
        extra={
            "action": decision.action,
            "reason": decision.reason,
            "pool_number": mask(decision.phone_number) if decision.phone_number else None,
            "area_code": decision.area_code,
            "dry_run": dry_run,
            "on_demand": on_demand,
            **({"figures": figures} if figures else {}),
        },
    )


def sweep_sessions(now: float) -> tuple[int, Counter, Counter]:
    """Close sessions that expired without being closed (sessions.get closes them only
    when read), and count the open ones per user and per number.

    Reads the sparse open-by-user index, which holds exactly the open sessions, with a
    Scan: no key names them all, and the read costs what the open sessions are, never the
    sessions ever made. Runs on the schedule only, never on a request path."""
    from chalicelib import sessions
    from chalicelib.models import Session

    closed, per_user, per_number = 0, Counter(), Counter()
    for session in Session.open_sessions_by_user.scan():
        if session.status != sessions.OPEN:
            continue
        if sessions.is_open(session, now):
            per_user[session.user_id] += 1
            per_number[session.pool_number] += 1
        elif sessions.close(session, reason="expired"):
            closed += 1
    if closed:
        logger.info("expired sessions closed", extra={"count": closed})
    return closed, per_user, per_number


def _repair_counters(numbers: list[PoolNumber], per_number: Counter, now: float) -> int:
    """Set a number's open-session counter to the count the sweep found, when they differ
    and nothing opened or closed on the number lately (both conditions in the write)."""
    repaired = 0
    for number in numbers:
        if number.status not in HELD:
            continue
        counted, found = int(number.open_sessions or 0), per_number.get(number.phone_number, 0)
        last_used = number.last_used_at
        if counted == found or (last_used is not None and last_used > now - SETTLED_SECONDS):
            continue
        unchanged = PoolNumber.open_sessions == counted
        unchanged &= PoolNumber.last_used_at.does_not_exist() if last_used is None else PoolNumber.last_used_at == last_used
        if update_if(PoolNumber(POOL, number.phone_number), [PoolNumber.open_sessions.set(found)], unchanged):
            logger.warning("open-session counter corrected",
                           extra={"pool_number": mask(number.phone_number), "counted": counted, "found": found})
            number.open_sessions = found
            repaired += 1
    return repaired


def _number_state(number: PoolNumber, now: float, usage: PoolNumber | None = None,
                  open_sessions: int | None = None) -> autoscaler.NumberState:
    tat = float(number.limiter_tat or 0)
    return autoscaler.NumberState(
        phone_number=number.phone_number,
        status=DRAINING if number.status == RELEASING else number.status,
        segments_per_second=float(number.segments_per_second),
        country=number.country or "",
        area_code=number.area_code or "",
        open_sessions=int(number.open_sessions or 0) if open_sessions is None else open_sessions,
        backlog_seconds=max(0.0, tat - now),
        segments_sent=float(usage.segments_out or 0) if usage else 0.0,
        messages_sent=float(usage.messages_out or 0) if usage else 0.0,
        last_activity=max(float(number.last_used_at or 0), tat),
        changed_at=float(number.changed_at or number.created_at),
        drain_reason=number.drain_reason if number.status != RELEASING else autoscaler.REQUESTED,
        bought_at=float(number.bought_at or number.created_at),
    )


def _held_count(numbers: list[PoolNumber]) -> int:
    return sum(1 for n in numbers if n.status in HELD)


def rentals(numbers: list[PoolNumber]) -> list[costs.Rental]:
    return [
        costs.Rental(n.phone_number, float(n.bought_at or n.created_at), n.released_at)
        for n in numbers
        if n.status in HELD or n.released_at is not None
    ]


def _rentals_this_month(numbers: list[PoolNumber], now: float) -> int:
    return costs.projected_rentals_this_month(rentals(numbers), now)


def _load_memory() -> dict:
    item = get_or_none(PoolNumber, POOL_META, AUTOSCALER_MEMORY)
    if item is None or not item.state_json:
        return {}
    try:
        return json.loads(item.state_json)
    except ValueError:
        logger.warning("autoscaler memory unreadable; starting afresh")
        return {}


def _save_memory(memory: dict) -> None:
    PoolNumber(POOL_META, AUTOSCALER_MEMORY).update(actions=[PoolNumber.state_json.set(json.dumps(memory))])


# --- the report ------------------------------------------------------------------------------


def stats(query: dict) -> dict:
    """GET /numbers/stats?from=YYYY-MM-DD&to=YYYY-MM-DD (default: this month so far)."""
    now = clock.now()
    first, last = _period(query, _today(now))
    numbers = all_numbers()
    usage: dict[str, dict[str, float]] = {}
    for day in costs.days(first, last):
        for phone, item in usage_for_day(day).items():
            totals = usage.setdefault(phone, {"segments_out": 0, "segments_in": 0, "messages_out": 0, "messages_in": 0})
            for field in totals:
                totals[field] += int(getattr(item, field) or 0)
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc).timestamp()
    end = datetime(last.year, last.month, last.day, tzinfo=timezone.utc).timestamp() + costs.DAY
    return costs.report(
        numbers=[
            {"phone_number": n.phone_number, "status": describe(n)["status"], "area_code": n.area_code,
             "bought_at": n.bought_at or n.created_at, "released_at": n.released_at}
            for n in numbers
        ],
        usage=usage,
        rentals=rentals(numbers),
        start=start,
        end=end,
        prices=pool_settings(),
        this_month_rentals=_rentals_this_month(numbers, now),
    ) | {"period": {"from": first.isoformat(), "to": last.isoformat()}}


def _period(query: dict, today: date) -> tuple[date, date]:
    def parse(name: str, default: date) -> date:
        raw = query.get(name)
        if raw is None:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise bad_request("invalid_period", f"{name} must be a date, YYYY-MM-DD") from None

    first = parse("from", today.replace(day=1))
    last = parse("to", today)
    if last < first:
        raise bad_request("invalid_period", "'to' must not be before 'from'")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise bad_request("invalid_period", f"a report covers at most {MAX_REPORT_DAYS} days; ask for a shorter period")
    return first, last

