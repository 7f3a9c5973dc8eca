"""Run the app's `@app.schedule` functions on their schedule, as EventBridge rules do on AWS.

`chalice local` serves HTTP routes only, so the local stack runs the scheduled
functions with this: every ScheduledEventConfig among the Chalice app's
event_sources, with its Rate or Cron expression (objects or `rate(...)` /
`cron(...)` strings), invoked with a scheduled event shaped as EventBridge sends
it, in one daemon thread that stops when told. A failing run is reported and the
next one happens on time; a run is never started while the previous one of the
same function is still going.

`every_seconds` (LOCAL_SCHEDULE_SECONDS in the stack) runs every scheduled function
that often instead, from `every_seconds` after start: a minute-long schedule can be
watched, or tested, in seconds. Without it a rate runs one period after start and
then every period; a cron at its next matching minute (UTC). Cron's L, W and #
are not supported here: such a schedule runs only with `every_seconds`.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass
class Schedule:
    name: str
    expression: str  # as EventBridge writes it: rate(1 minute), cron(0 12 * * ? *)
    handler: Callable[[dict, object], object]
    runs: int = 0
    failures: int = 0
    next_due: float | None = field(default=None, repr=False)  # time.time() of the next run


def schedules_for(app_module) -> list[Schedule]:
    """One Schedule per `@app.schedule` function of the Chalice app (its event_sources)."""
    from chalice.app import ScheduledEventConfig

    found = []
    for source in app_module.app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            text = expression if isinstance(expression, str) else expression.to_string()
            handler = getattr(app_module, source.handler_string.rsplit(".", 1)[-1])
            found.append(Schedule(source.name, text, handler))
    return found


def rate_seconds(expression: str) -> float | None:
    """rate(5 minutes) -> 300; None for anything else."""
    match = re.fullmatch(r"\s*rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)\s*", expression)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def next_cron(expression: str, after: datetime) -> datetime | None:
    """The first minute after `after` (UTC) that cron(min hour dom month dow year) matches,
    or None when the expression uses what this does not support (L, W, #, names) or
    never matches within ten years. Day of week is 1-7 = SUN-SAT, as in EventBridge."""
    match = re.fullmatch(r"\s*cron\((.*)\)\s*", expression)
    if not match:
        return None
    parts = match.group(1).split()
    if len(parts) != 6:
        return None
    bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)]
    try:
        minutes, hours, days, months, weekdays, years = (
            _cron_field(p, lo, hi) for p, (lo, hi) in zip(parts, bounds, strict=True)
        )
    except ValueError:
        return None
    any_day, any_weekday = parts[2] in ("*", "?"), parts[4] in ("*", "?")
    moment = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = moment + timedelta(days=3660)
    while moment < end:
        if moment.year not in years or moment.month not in months:
            moment = (moment.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        weekday = moment.isoweekday() % 7 + 1  # SUN=1 ... SAT=7
        day_ok = moment.day in days if not any_day else True
        weekday_ok = weekday in weekdays if not any_weekday else True
        if not (day_ok and weekday_ok):
            moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if moment.hour not in hours:
            moment = moment.replace(minute=0) + timedelta(hours=1)
            continue
        if moment.minute not in minutes:
            moment += timedelta(minutes=1)
            continue
        return moment
    return None


def _cron_field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if item in ("*", "?"):
            values.update(range(low, high + 1))
            continue
        base, _, step = item.partition("/")
        if base in ("*", "?"):
            start, stop = low, high
        elif "-" in base:
            start, stop = (int(n) for n in base.split("-", 1))
        else:
            start = int(base)  # ValueError for L, W, #, names: not supported
            stop = high if step else start
        if not (low <= start <= high and low <= stop <= high):
            raise ValueError(item)
        values.update(range(start, stop + 1, int(step) if step else 1))
    return values


def _due(schedule: Schedule) -> float:
    """When a schedule the scheduler runs is next due (each of them has a next run)."""
    if schedule.next_due is None:
        raise RuntimeError(f"schedule {schedule.name} has no next run")
    return schedule.next_due


def scheduled_event(schedule: Schedule, region: str, when: float) -> dict:
    """The event EventBridge hands a scheduled Lambda."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{schedule.name}"],
        "detail": {},
    }


class Scheduler(threading.Thread):
    """Runs the schedules in one daemon thread until stop()."""

    def __init__(
        self,
        schedules: list[Schedule],
        region: str = "us-east-1",
        every_seconds: float | None = None,
        on_run: Callable[[Schedule, float], None] | None = None,
        on_error: Callable[[Schedule, Exception], None] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(daemon=True, name="scheduler")
        self.region = region
        self.every_seconds = every_seconds
        self.on_run = on_run or (lambda schedule, seconds: None)
        self.on_error = on_error or (lambda schedule, error: None)
        self.clock = clock
        self._stopping = threading.Event()
        start = clock()
        self.schedules: list[Schedule] = []
        self.unsupported: list[Schedule] = []
        for schedule in schedules:
            schedule.next_due = self._next(schedule, start)
            (self.schedules if schedule.next_due is not None else self.unsupported).append(schedule)

    def _next(self, schedule: Schedule, after: float) -> float | None:
        if self.every_seconds:
            return after + self.every_seconds
        period = rate_seconds(schedule.expression)
        if period is not None:
            return after + period
        moment = next_cron(schedule.expression, datetime.fromtimestamp(after, UTC))
        return moment.timestamp() if moment else None

    def run(self) -> None:
        while self.schedules and not self._stopping.is_set():
            schedule = min(self.schedules, key=_due)
            due = _due(schedule)
            if self._stopping.wait(max(0.0, due - self.clock())):
                break
            self.run_once(schedule, due)
            # The next run on the schedule's own grid; a run that overran skips what it missed.
            following = self._next(schedule, due)
            now = self.clock()
            while following is not None and following <= now:
                following = self._next(schedule, following)
            if following is None:
                self.schedules.remove(schedule)
            else:
                schedule.next_due = following

    def run_once(self, schedule: Schedule, when: float | None = None) -> None:
        from devstack.poller import _Context

        started = time.monotonic()
        try:
            schedule.handler(scheduled_event(schedule, self.region, self.clock() if when is None else when), _Context())
        except Exception as error:
            schedule.failures += 1
            self.on_error(schedule, error)
        else:
            schedule.runs += 1
            self.on_run(schedule, time.monotonic() - started)

    def stop(self) -> None:
        self._stopping.set()
