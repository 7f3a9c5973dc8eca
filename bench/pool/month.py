"""A month of the number pool in virtual time.

A synthetic month of chats goes through the pool's own decision code: new
sessions are placed with `placement.rank` (core/placement.py: the preferences and the
load rule), a session that cannot be placed grows the pool with
`pool_policy.grow_choice`, and every minute `pool_plan.plan` decides buys,
drains, take-backs and releases, exactly as the scheduled function does. Each
number sends at its rate through the sender's limiter arithmetic
(`gcra.decide`, no burst), one FIFO per number as the outbound queue's
message groups are; a message's wait is from submit to the moment its number
may send it.

Workload (seeded, so a run is repeatable):
- users whose chat intensity is Pareto-distributed (heavy tail: a few users
  carry tens of concurrent chats), in four area codes, one of them sold out at
  Twilio (buying there falls back to another area code);
- session arrivals follow a weekday day/night cycle (quieter weekends) and
  bursts (everyone on SMS for half an hour: 2.5x sessions, 1.5x messages);
- a session is a conversation of lognormal length; its partner's messages
  (the SMS the pool sends) come in bursts of 1-4, 1-4 segments each; most
  sessions are closed when the chat ends, the rest expire after the session
  TTL of inactivity (the scheduled sweep closes them).

Figures (goals from issue 5):
- peak pool (numbers held: active + draining) against the peak lower bound
  LB(t) = max(largest per-user open sessions, ceil(segments submitted per
  second in that minute / per-number rate))  [<= peak LB + headroom]
- number-months paid against the lower bound  [<= 1.10x]: paid as Twilio
  bills (a full month at purchase and at each renewal, no proration), so the
  lower bound summed over the month is the peak LB: every number any policy
  holds at the peak is billed that month. Printed beside it, not a goal:
  number-months held pro rata against LB summed per minute, which no policy
  keeping a headroom can bring near 1 (at night LB is 1 or 2) and which
  Twilio does not bill
- p95 wait from submit to send  [<= target wait], and the p95 of the hour
  with the longest waits (not a goal: the scheduled run reacts in minutes)
- sessions refused while under the size cap and budget  [0]
- flapping: a number bought within the idle time after a release, or
  released within the idle time of being bought  [0]

Both release policies run (POOL_RELEASE_AT): 'renewal' (the default, whose
figures decide the exit status) and 'empty', for comparison.

Run: .venv/bin/python -m bench.pool [--days 30] [--seed 5] [--release-at renewal|empty] [--log]
(bench/pool/__main__.py; the figures against their goals: bench/pool/report.py)
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from array import array
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.kit.stats import percentile, percentiles
from chalicelib.core import billing as costs
from chalicelib.core import pool_plan, pool_policy
from chalicelib.core.gcra import cost_seconds, decide
from chalicelib.core.placement import Candidate, rank
from chalicelib.core.pool_policy import ACTIVE, AUTO, DRAINING, NumberState, Policy, PoolView
from infra import progress

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
START = datetime(2026, 6, 1, tzinfo=UTC).timestamp()  # a Monday
UTC_OFFSET_HOURS = -5  # the users' local time (US Eastern)
PRICE_NUMBER_MONTH, PRICE_SEGMENT = 1.15, 0.0083  # the settings' defaults


@dataclass(frozen=True)
class Workload:
    users: int = 6000
    pareto_alpha: float = 1.1
    max_weight: float = 3000.0
    sessions_per_hour_at_peak: float = 1300.0  # all users together, weekday afternoon
    night_floor: float = 0.06  # share of the peak rate at night
    weekend_factor: float = 0.5
    bursts: int = 8  # in the month
    burst_session_factor: float = 2.5
    burst_message_factor: float = 1.5
    conversation_median_minutes: float = 12.0
    conversation_sigma: float = 0.9
    seconds_between_message_bursts: float = 150.0
    closed_share: float = 0.97  # closed by the chat backend when the chat ends; the rest expire
    session_ttl_seconds: float = 12 * HOUR
    partners_per_user: int = 40
    area_codes: tuple = (("415", 0.4), ("212", 0.3), ("312", 0.2), ("617", 0.1))
    sold_out_area_codes: tuple = ("617",)
    segments_per_second: float = 1.0


@dataclass
class Number:
    phone: str
    area_code: str
    status: str
    bought_at: float
    changed_at: float
    drain_reason: str | None = None
    tat: float = 0.0
    open_sessions: int = 0
    last_activity: float = 0.0
    day_segments: int = 0
    day_messages: int = 0
    released_at: float | None = None

    def state(self, now: float, rate: float) -> NumberState:
        return NumberState(
            phone_number=self.phone,
            status=self.status,
            segments_per_second=rate,
            country="US",
            area_code=self.area_code,
            open_sessions=self.open_sessions,
            backlog_seconds=max(0.0, self.tat - now),
            segments_sent=self.day_segments,
            messages_sent=self.day_messages,
            last_activity=max(self.last_activity, self.tat),
            changed_at=self.changed_at,
            drain_reason=self.drain_reason,
            bought_at=self.bought_at,
        )


@dataclass
class Session:
    user: int
    partner: int
    number: Number
    ends_at: float
    closes: bool
    message_factor: float
    last_message: float = 0.0
    open: bool = True


class Month:
    def __init__(self, workload: Workload, policy: Policy, days: int, seed: int):
        self.w, self.policy, self.days, self.seed = workload, policy, days, seed
        self.random = random.Random(seed)
        self.finish = START + days * DAY
        self.events: list = []
        self.sequence = 0
        self.numbers: list[Number] = []
        self.memory: dict = {}
        self.next_number = 0
        # users
        self.user_area = [self._area() for _ in range(workload.users)]
        weights = [
            min(workload.max_weight, self.random.paretovariate(workload.pareto_alpha)) for _ in range(workload.users)
        ]
        self.cumulative = list(_accumulate(weights))
        self.open_by_user: dict[int, dict[int, Session]] = defaultdict(dict)  # user -> partner -> session
        self.count_histogram: dict[int, int] = defaultdict(int)  # open-session count -> users with it
        self.max_user_sessions = 0
        self.last_number: dict[tuple[int, int], str] = {}
        self.bursts = sorted(
            (START + self.random.uniform(0, days * DAY), self.random.uniform(20, 45) * MINUTE)
            for _ in range(round(workload.bursts * days / 30))
        )
        # figures
        self.waits = array("d")
        self.hour_waits: dict[int, array] = defaultdict(lambda: array("d"))  # by hour of the month
        self.minute_segments = 0
        self.minute_peak_user = 0
        self.lb_minutes = 0.0
        self.held_minutes = 0.0
        self.peak_lb = 0
        self.peak_held = 0
        self.peak_user = 0
        self.peak_rate_bound = 0
        self.peak_lb_at = START
        self.refused = 0
        self.refused_under_cap = 0
        self.counts = defaultdict(int)
        self.buys: list[float] = []
        self.releases: list[float] = []
        self.flaps = 0
        self.segments_out = 0
        self.segments_in = 0
        self.sessions = 0
        self.decision_log: list[tuple[float, str, str]] = []

    # -- workload ------------------------------------------------------------------

    def _area(self) -> str:
        x, total = self.random.random(), 0.0
        for code, share in self.w.area_codes:
            total += share
            if x < total:
                return code
        return self.w.area_codes[-1][0]

    def in_burst(self, t: float) -> bool:
        i = bisect.bisect_right(self.bursts, (t, math.inf)) - 1
        return i >= 0 and t <= self.bursts[i][0] + self.bursts[i][1]

    def activity(self, t: float) -> float:
        """Share of the peak session rate at time t."""
        local = t + UTC_OFFSET_HOURS * HOUR
        hour = (local % DAY) / HOUR
        weekday = int(((local - START) // DAY) % 7)  # 0 = Monday
        shape = math.cos(math.pi * (hour - 14.5) / 16) ** 2 if abs(hour - 14.5) < 8 else 0.0
        level = self.w.night_floor + (1 - self.w.night_floor) * shape
        if weekday >= 5:
            level *= self.w.weekend_factor
        if self.in_burst(t):
            level *= self.w.burst_session_factor
        return level

    def _push(self, t: float, kind: str, payload=None) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (t, self.sequence, kind, payload))

    def _segments(self) -> int:
        x = self.random.random()
        return 1 if x < 0.72 else 2 if x < 0.9 else 3 if x < 0.97 else 4

    # -- pool ---------------------------------------------------------------------------

    def held(self) -> list[Number]:
        return [n for n in self.numbers if n.status in (ACTIVE, DRAINING)]

    def _rentals_this_month(self, now: float) -> int:
        rentals = [costs.Rental(n.phone, n.bought_at, n.released_at) for n in self.numbers]
        return costs.projected_rentals_this_month(rentals, now)

    def buy(self, now: float, area_code: str | None, why: str) -> Number:
        if area_code in self.w.sold_out_area_codes or area_code is None:
            area_code = "415"  # Twilio's search in the area code came back empty: any in the country
        self.next_number += 1
        number = Number(f"+1{area_code}555{self.next_number:04d}", area_code, ACTIVE, now, now)
        self.numbers.append(number)
        if any(now - released < self.policy.idle_seconds for released in self.releases):
            self.flaps += 1
        self.buys.append(now)
        self.counts["buy " + why] += 1
        return number

    def release(self, number: Number, now: float) -> None:
        number.status, number.released_at = "released", now
        if now - number.bought_at < self.policy.idle_seconds:
            self.flaps += 1
        self.releases.append(now)
        self.counts["release"] += 1

    def candidates(self, now: float) -> list[Candidate]:
        return [
            Candidate(n.phone, "US", n.area_code, self.w.segments_per_second, n.open_sessions, max(0.0, n.tat - now))
            for n in self.numbers
            if n.status == ACTIVE
        ]

    def place(self, user: int, partner: int, now: float) -> Number | None:
        taken = {s.number.phone for s in self.open_by_user[user].values()}
        ranked = rank(
            self.candidates(now),
            taken=taken,
            country="US",
            area_code=self.user_area[user],
            sticky=self.last_number.get((user, partner)),
            target_wait=self.policy.target_wait_seconds,
        )
        by_phone = {n.phone: n for n in self.numbers}
        if ranked:
            return by_phone[ranked[0]]
        held = self.held()
        choice = pool_policy.grow_choice(
            [n.state(now, self.w.segments_per_second) for n in held],
            exclude=taken,
            country="US",
            area_code=self.user_area[user],
            policy=self.policy,
            rentals_this_month=self._rentals_this_month(now),
        )
        if choice.action == pool_policy.REACTIVATE:
            number = by_phone[choice.phone_number]
            number.status, number.changed_at, number.drain_reason = ACTIVE, now, None
            self.counts["reactivate on demand"] += 1
            return number
        if choice.action == pool_policy.BUY:
            return self.buy(now, choice.area_code, "on demand")
        self.refused += 1
        if "POOL_MAX_SIZE" not in choice.reason and "POOL_MONTHLY_BUDGET_USD" not in choice.reason:
            self.refused_under_cap += 1
        return None

    # -- events ---------------------------------------------------------------------------

    def open_session(self, now: float) -> None:
        user = bisect.bisect_left(self.cumulative, self.random.random() * self.cumulative[-1])
        partner = min(int(self.random.paretovariate(1.2)) - 1, self.w.partners_per_user - 1)
        open_sessions = self.open_by_user[user]
        if partner in open_sessions:
            return  # the pair already has a session: the API returns it
        number = self.place(user, partner, now)
        if number is None:
            return
        self.sessions += 1
        length = self.w.conversation_median_minutes * MINUTE * math.exp(self.random.gauss(0, self.w.conversation_sigma))
        closes = self.random.random() < self.w.closed_share
        factor = self.w.burst_message_factor if self.in_burst(now) else 1.0
        session = Session(user, partner, number, now + length, closes, factor, now)
        self._count_user(user, +1)
        open_sessions[partner] = session
        self.last_number[(user, partner)] = number.phone
        number.open_sessions += 1
        number.last_activity = now
        self._message_burst(session, now)

    def _count_user(self, user: int, delta: int) -> None:
        count = len(self.open_by_user[user])
        if count:
            self.count_histogram[count] -= 1
        count += delta
        if count:
            self.count_histogram[count] += 1
        if delta > 0 and count > self.max_user_sessions:
            self.max_user_sessions = count
        elif delta < 0:
            while self.max_user_sessions and self.count_histogram[self.max_user_sessions] <= 0:
                self.max_user_sessions -= 1
        self.minute_peak_user = max(self.minute_peak_user, self.max_user_sessions)

    def _message_burst(self, session: Session, now: float) -> None:
        t = now
        for _ in range(1 + min(3, int(self.random.expovariate(1.0)))):
            self._push(t, "message", session)
            t += self.random.uniform(2, 8)
        gap = self.random.expovariate(session.message_factor / self.w.seconds_between_message_bursts)
        if now + gap < session.ends_at:
            self._push(now + gap, "burst", session)
        else:
            self._push(session.ends_at, "end", session)

    def message(self, session: Session, now: float) -> None:
        if not session.open:
            return
        number = session.number
        segments = self._segments()
        send_at = max(now, number.tat)
        verdict = decide(number.tat, send_at, cost_seconds(segments, self.w.segments_per_second))
        number.tat = verdict.new_tat
        self.waits.append(send_at - now)
        self.hour_waits[int((now - START) // HOUR)].append(send_at - now)
        number.day_segments += segments
        number.day_messages += 1
        self.minute_segments += segments
        self.segments_out += segments
        if self.random.random() < 0.25:
            self.segments_in += 1  # the user's reply
        session.last_message = now

    def end(self, session: Session, now: float) -> None:
        if not session.open:
            return
        if session.closes:
            self.close(session, now)
        else:
            # Never closed: expires after the TTL of inactivity; the minute's sweep closes it.
            expires = session.last_message + self.w.session_ttl_seconds
            self._push(expires + self.random.uniform(0, MINUTE), "expire", session)

    def close(self, session: Session, now: float) -> None:
        session.open = False
        self._count_user(session.user, -1)
        del self.open_by_user[session.user][session.partner]
        session.number.open_sessions -= 1
        session.number.last_activity = now

    def tick(self, now: float) -> None:
        # Figures for the minute that ended.
        rate_bound = math.ceil(self.minute_segments / MINUTE / self.w.segments_per_second - 1e-9)
        lb = max(self.minute_peak_user, rate_bound)
        held = len(self.held())
        self.lb_minutes += lb
        self.held_minutes += held
        if lb > self.peak_lb:
            self.peak_lb, self.peak_lb_at = lb, now
        self.peak_held = max(self.peak_held, held)
        self.peak_user = max(self.peak_user, self.minute_peak_user)
        self.peak_rate_bound = max(self.peak_rate_bound, rate_bound)
        self.minute_segments = 0
        self.minute_peak_user = self.max_user_sessions
        # Counters restart each day, as the daily usage items do.
        day = datetime.fromtimestamp(now, tz=UTC).date().isoformat()
        if self.memory.get("day") not in (None, day):
            for number in self.numbers:
                number.day_segments = number.day_messages = 0
        rate = self.w.segments_per_second
        view = PoolView(
            now=now,
            day=day,
            numbers=tuple(n.state(now, rate) for n in self.held()),
            max_user_sessions=self.max_user_sessions,
            rentals_this_month=self._rentals_this_month(now),
        )
        plan = pool_plan.plan(view, self.policy, self.memory)
        self.memory = plan.memory
        by_phone = {n.phone: n for n in self.numbers}
        for decision in plan.decisions:
            if decision.action != pool_policy.HOLD:
                self.decision_log.append((now, decision.action, decision.reason))
            if decision.action == pool_policy.BUY:
                self.buy(now, decision.area_code, "scheduled")
            elif decision.action == pool_policy.REACTIVATE:
                number = by_phone[decision.phone_number]
                number.status, number.changed_at, number.drain_reason = ACTIVE, now, None
                self.counts["reactivate scheduled"] += 1
            elif decision.action == pool_policy.DRAIN:
                number = by_phone[decision.phone_number]
                number.status, number.changed_at, number.drain_reason = DRAINING, now, AUTO
                self.counts["drain"] += 1
            elif decision.action == pool_policy.RELEASE:
                self.release(by_phone[decision.phone_number], now)
            elif decision.action == pool_policy.REFUSE:
                self.counts["scheduled buy refused"] += 1

    def run(self) -> Month:
        self.buy(START, "415", "initial")
        peak_rate = self.w.sessions_per_hour_at_peak / HOUR * self.w.burst_session_factor
        t = START
        while True:  # session arrivals by thinning a Poisson process at the highest rate
            t += self.random.expovariate(peak_rate)
            if t >= self.finish:
                break
            if self.random.random() * self.w.burst_session_factor < self.activity(t):
                self._push(t, "open")
        minute = START + MINUTE
        while minute < self.finish:
            self._push(minute, "tick")
            minute += MINUTE
        handlers = {
            "open": lambda s, now: self.open_session(now),
            "message": self.message,
            "burst": self._message_burst,
            "end": self.end,
            "expire": lambda s, now: self.close(s, now) if s.open else None,
            "tick": lambda s, now: self.tick(now),
        }
        days_done = 0
        with progress.counted(f"simulated days ({self.policy.release_at})", round((self.finish - START) / DAY)) as days:
            while self.events:
                now, _, kind, payload = heapq.heappop(self.events)
                if now >= self.finish:
                    break
                handlers[kind](payload, now)
                if int((now - START) // DAY) > days_done:
                    days.advance(int((now - START) // DAY) - days_done)
                    days_done = int((now - START) // DAY)
        return self

    # -- report -------------------------------------------------------------------------

    def figures(self) -> dict:
        p50, p95, p99, longest = (p or 0.0 for p in percentiles(self.waits, 50, 95, 99, 100))
        month_minutes = self.days * DAY / MINUTE
        rentals = [costs.Rental(n.phone, n.bought_at, n.released_at) for n in self.numbers]
        billed = costs.rentals_in_month(rentals, START, self.finish)
        return {
            "peak_pool": self.peak_held,
            "peak_lower_bound": self.peak_lb,
            "number_months": self.held_minutes / month_minutes,
            "lower_bound_months": self.lb_minutes / month_minutes,
            "twilio_billed_months": billed,
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "max_wait": longest,
            "worst_hour": max(((percentile(w, 95), hour) for hour, w in self.hour_waits.items()), default=(0.0, 0)),
            "messages": len(self.waits),
            "refused": self.refused,
            "refused_under_cap": self.refused_under_cap,
            "flaps": self.flaps,
        }


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total
