"""The app's `@app.schedule` functions run in `make run`: found on the Chalice app,
invoked as EventBridge would, every LOCAL_SCHEDULE_SECONDS here so a one-minute
schedule shows in well under a second. Its effect is seen over HTTP: with
POOL_IDLE_SECONDS=0 the autoscaler drains the surplus of the three-number pool.
Polled with a deadline, never a fixed sleep."""

from __future__ import annotations

import re

import pytest
import requests
import stack_process

from e2e.conftest import SETTINGS, STARTUP_SECONDS, STOP_SECONDS, _stack_environment, wait_for


@pytest.fixture(scope="module")
def fast_schedule_stack(tmp_path_factory):
    settings = dict(_stack_environment(), LOCAL_SCHEDULE_SECONDS="0.2", POOL_IDLE_SECONDS="0")
    process, summary, log_path = stack_process.start(
        tmp_path_factory.mktemp("schedule-stack"), settings, STARTUP_SECONDS
    )
    try:
        yield summary, log_path
        code = stack_process.stop(process, STOP_SECONDS)
        assert code == 0 and log_path.read_text().rstrip().endswith("stopped"), log_path.read_text()
    finally:
        stack_process.stop(process, 5)


def test_the_scheduled_autoscaler_runs_and_drains_the_surplus(fast_schedule_stack):
    summary, log_path = fast_schedule_stack
    assert summary["schedules"] == [{"name": "autoscale_pool", "expression": "rate(1 minute)"}]
    assert summary["schedule_seconds"] == 0.2
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {SETTINGS['API_TOKENS']}"

    def statuses() -> dict:
        answer = api.get(f"{summary['api_url']}/numbers", timeout=10)
        assert answer.status_code == 200, answer.text
        return {n["phone_number"]: n["status"] for n in answer.json()["numbers"]}

    # POOL_MIN_SIZE 1 + headroom 1 with no sessions: one number is kept, two drain.
    drained = wait_for(
        lambda: (lambda s: s if sorted(s.values()) == ["active", "draining", "draining"] else None)(statuses()),
        "the autoscaler to drain the surplus",
        timeout=20,
    )
    assert set(drained) == set(summary["pool_numbers"])
    # It keeps running on its schedule, and no run failed.
    runs = wait_for(
        lambda: len(re.findall(r"\[schedule\] autoscale_pool ran in", log_path.read_text())) >= 3 or None,
        "three runs of autoscale_pool",
        timeout=20,
    )
    assert runs
    assert "[schedule] autoscale_pool failed" not in log_path.read_text()
