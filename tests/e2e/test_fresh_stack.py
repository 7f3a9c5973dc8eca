"""A fresh `make run` with no numbers (POOL_NUMBERS empty) and its Messaging Service turned
off (STANDIN_MESSAGING_SERVICE=off): hooking up the first phone buys a number and the code
arrives; then `make doctor` (scripts/doctor.py, as a process) against that stack, with and
without a good Messaging Service on the stand-in."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
import stack_process

from e2e.conftest import STARTUP_SECONDS, STOP_SECONDS, LiveStack, _stack_environment

ALICE = "+14155552671"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    settings = dict(
        _stack_environment(), POOL_NUMBERS="", RESOURCE_PREFIX="sms-bridge-fresh-", STANDIN_MESSAGING_SERVICE="off"
    )
    process, summary, log_path = stack_process.start(tmp_path_factory.mktemp("fresh"), settings, STARTUP_SECONDS)
    try:
        yield LiveStack(process, summary, log_path)
    finally:
        stack_process.stop(process, STOP_SECONDS)


def doctor(stack: LiveStack, **extra) -> subprocess.CompletedProcess:
    s = stack.summary
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_MESSAGING_SERVICE_SID"}
    env.update(
        API_TOKENS=s["api_token"],
        PUBLIC_BASE_URL=s["public_base_url"],
        TWILIO_API_BASE_URL=s["twilio_api_base_url"],
        TWILIO_ACCOUNT_SID=s["twilio_account_sid"],
        TWILIO_AUTH_TOKEN=_stack_environment()["TWILIO_AUTH_TOKEN"],
        AWS_ENDPOINT_URL=s["aws_endpoint_url"],
        RESOURCE_PREFIX=s["resource_prefix"],
        **extra,
    )
    return subprocess.run(
        [sys.executable, "scripts/doctor.py"],
        cwd=stack_process.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_first_phone_buys_the_first_number_and_doctor_checks_the_setup(fresh):
    assert fresh.call("GET", "/numbers", expect=200).json() == {"numbers": []}

    fresh.verified_user("alice", ALICE)  # the code arrives from a number bought for it

    (number,) = fresh.call("GET", "/numbers", expect=200).json()["numbers"]
    assert [m["from"] for m in fresh.sms(to=ALICE)] == [number["phone_number"]]

    assert "TWILIO_MESSAGING_SERVICE_SID is not set" in fresh.log()  # the 30034 warning, once it is off
    no_service = doctor(fresh)
    assert no_service.returncode == 1, no_service.stdout + no_service.stderr
    assert "[FAIL] Messaging Service exists" in no_service.stdout
    assert f"[ok] pool number {number['phone_number']}" in no_service.stdout

    created = requests.post(
        f"{fresh.standin_url}/_standin/services",
        timeout=10,
        json={"friendly_name": "sms-bridge", "numbers": [number["phone_number"]], "campaign_status": "VERIFIED"},
    )
    assert created.status_code == 201, created.text
    sid = created.json()["sid"]
    good = doctor(fresh, TWILIO_MESSAGING_SERVICE_SID=sid)
    assert good.returncode == 0 and "all 10 checks passed" in good.stdout, good.stdout + good.stderr

    requests.put(f"{fresh.standin_url}/_standin/services/{sid}", json={"campaign_status": "PENDING"}, timeout=10)
    pending = doctor(fresh, TWILIO_MESSAGING_SERVICE_SID=sid)
    assert pending.returncode == 1 and "[FAIL] approved US A2P 10DLC campaign" in pending.stdout
    assert "Regulatory Compliance > A2P 10DLC" in pending.stdout
