"""devstack.scheduler: the app's scheduled functions found on the Chalice app, their
Rate and Cron expressions, the EventBridge-shaped event, failures that do not stop the
schedule, and a clean stop. Waiting is polling with a deadline."""

from __future__ import annotations

import threading
import types
from datetime import UTC, datetime

import pytest
from chalice import Chalice, Cron, Rate

import app as app_module
from devstack.scheduler import Scheduler, next_cron, rate_seconds, scheduled_event, schedules_for


def test_the_apps_schedules_are_found_on_the_chalice_app():
    found = schedules_for(app_module)
    assert [(s.name, s.expression) for s in found] == [("autoscale_pool", "rate(1 minute)")]
    assert found[0].handler is app_module.autoscale_pool


def fake_app_module():
    app = Chalice(app_name="fake")
    module = types.SimpleNamespace(app=app)

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def every_five(event):
        return event.to_dict()

    @app.schedule(Cron(0, 12, "?", "*", "MON-FRI", "*"), name="noon_report")
    def weekday_noon(event):
        return None

    @app.schedule("rate(2 hours)")
    def by_string(event):
        return None

    @app.on_sqs_message(queue="not-a-schedule")
    def on_message(event):
        return None

    module.every_five, module.weekday_noon, module.by_string, module.on_message = (
        every_five,
        weekday_noon,
        by_string,
        on_message,
    )
    return module


def test_every_kind_of_expression_and_a_custom_name():
    module = fake_app_module()
    found = {s.name: s for s in schedules_for(module)}
    assert {name: s.expression for name, s in found.items()} == {
        "every_five": "rate(5 minutes)",
        "noon_report": "cron(0 12 ? * MON-FRI *)",
        "by_string": "rate(2 hours)",
    }
    assert found["noon_report"].handler is module.weekday_noon


@pytest.mark.parametrize(
    "expression, seconds",
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("cron(0 12 * * ? *)", None),
        ("rate(five minutes)", None),
    ],
)
def test_rate_seconds(expression, seconds):
    assert rate_seconds(expression) == seconds


AFTER = datetime(2026, 12, 2, 0, 45, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("cron(0 12 * * ? *)", datetime(2026, 12, 2, 12, 0, tzinfo=UTC)),
        ("cron(*/15 * * * ? *)", datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        ("cron(0/20 * * * ? *)", datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        ("cron(50 0 * * ? *)", datetime(2026, 12, 2, 0, 50, tzinfo=UTC)),
        ("cron(0 8 ? * 1 *)", datetime(2026, 12, 6, 8, 0, tzinfo=UTC)),  # Sunday is 1
        ("cron(0 8 ? * 2-6 *)", datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),
        ("cron(30 0 ? * 2-6 *)", datetime(2026, 12, 3, 0, 30, tzinfo=UTC)),
        ("cron(0 0 1 1 ? *)", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
        ("cron(0 0 29 2 ? *)", datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
        ("cron(0 0 1 1 ? 2025)", None),
        ("cron(0 12 ? * MON-FRI *)", None),  # names: not supported here
        ("cron(0 12 L * ? *)", None),
        ("rate(1 minute)", None),
    ],
)
def test_next_cron(expression, expected):
    assert next_cron(expression, AFTER) == expected


def test_the_event_is_shaped_as_eventbridge_sends_it():
    module = fake_app_module()
    every_five = next(s for s in schedules_for(module) if s.name == "every_five")
    event = scheduled_event(every_five, "eu-west-1", AFTER.timestamp())
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-12-02T00:45:30Z" and event["detail"] == {}
    assert event["resources"] == ["arn:aws:events:eu-west-1:123456789012:rule/every_five"]
    # The chalice handler accepts it (CloudWatchEvent) and hands the function the same event.
    assert every_five.handler(event, None) == event


def test_a_failing_run_is_reported_and_the_schedule_goes_on_and_stops_cleanly():
    from devstack.scheduler import Schedule

    calls, errors, lock = [], [], threading.Lock()

    def handler(event, context):
        with lock:
            calls.append(event)
            if len(calls) == 1:
                raise RuntimeError("the first run fails")

    schedule = Schedule("flaky", "rate(1 minute)", handler)
    three_runs = threading.Event()
    scheduler = Scheduler(
        [schedule],
        every_seconds=0.01,
        on_error=lambda s, e: errors.append(str(e)),
        on_run=lambda s, seconds: s.runs >= 3 and three_runs.set(),
    )
    scheduler.start()
    try:
        assert three_runs.wait(5), "timed out"
    finally:
        scheduler.stop()
        scheduler.join(timeout=5)
    assert not scheduler.is_alive()
    assert errors == ["the first run fails"] and schedule.failures == 1
    assert all(event["detail-type"] == "Scheduled Event" for event in calls)


def test_without_a_speed_up_a_rate_runs_one_period_after_start_and_unsupported_crons_are_set_aside():
    module = fake_app_module()
    now = AFTER.timestamp()
    scheduler = Scheduler(schedules_for(module), clock=lambda: now)
    due = {s.name: s.next_due for s in scheduler.schedules}
    assert due == {"every_five": now + 300, "by_string": now + 7200}
    assert [s.name for s in scheduler.unsupported] == ["noon_report"]
    # With a speed-up every schedule runs, the unsupported cron too.
    fast = Scheduler(schedules_for(module), every_seconds=2, clock=lambda: now)
    assert {s.name: s.next_due for s in fast.schedules} == {
        "every_five": now + 2,
        "noon_report": now + 2,
        "by_string": now + 2,
    }


@pytest.mark.parametrize(
    "value, seconds", [(None, None), ("", None), ("2", 2.0), ("0.25", 0.25), ("0", 0.0), ("off", 0.0)]
)
def test_local_schedule_seconds(value, seconds):
    from devstack.stack import StackSettings

    env = {} if value is None else {"LOCAL_SCHEDULE_SECONDS": value}
    assert StackSettings.from_env(env).schedule_seconds == seconds


@pytest.mark.parametrize("value", ["-1", "soon", "inf", "nan"])
def test_local_schedule_seconds_refuses_what_is_not_seconds(value):
    from devstack.stack import StackSettings

    with pytest.raises(SystemExit, match="LOCAL_SCHEDULE_SECONDS"):
        StackSettings.from_env({"LOCAL_SCHEDULE_SECONDS": value})
