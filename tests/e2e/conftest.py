"""End-to-end fixtures: the whole stack as `make run` starts it (`python -m
devstack.run`, in its own process, on free ports), and clients that reach it
only over HTTP: the API with `requests`, the Twilio stand-in's REST API and its
phone controls, the chat receiver's GET /events.

The stack is started once for this package's tests; each test uses its own users and
phones. Waiting is polling on a condition with a deadline, never a fixed sleep."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import stack_process

ROOT = stack_process.ROOT
STARTUP_SECONDS = 60
STOP_SECONDS = 20
# The tests' own credentials and names, overriding make run's defaults (so the overrides are tested).
SETTINGS = {
    "API_TOKENS": "e2e-api-token",
    "TWILIO_ACCOUNT_SID": "AC" + "e2e0" * 8,
    "TWILIO_AUTH_TOKEN": "e2e-twilio-auth-token",
    "CHAT_WEBHOOK_SECRET": "e2e-webhook-secret",
    "RESOURCE_PREFIX": "sms-bridge-e2e-",
}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def wait_for(condition, what: str, timeout: float = 15.0, interval: float = 0.05):
    """condition()'s first truthy value, polled until the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class LiveStack:
    """A running `python -m devstack.run`, reached over HTTP only."""

    def __init__(self, process: subprocess.Popen, summary: dict, log_path: Path):
        self.process = process
        self.summary = summary
        self.log_path = log_path
        self.api_url = summary["api_url"]
        self.standin_url = summary["standin_url"]
        self.receiver_url = summary["chat_receiver_url"]
        self.account_sid = summary["twilio_account_sid"]
        self.pool = summary["pool_numbers"]
        self.api = requests.Session()
        assert summary["api_token"] == SETTINGS["API_TOKENS"]
        self.api.headers["Authorization"] = f"Bearer {summary['api_token']}"
        self.http = requests.Session()
        self.twilio_auth = (self.account_sid, SETTINGS["TWILIO_AUTH_TOKEN"])

    wait_for = staticmethod(wait_for)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    # -- the bridge's API ----------------------------------------------------------------

    def call(self, method: str, path: str, body=None, expect=None) -> requests.Response:
        response = self.api.request(method, self.api_url + path, json=body, timeout=15)
        if expect is not None:
            wanted = expect if isinstance(expect, tuple) else (expect,)
            assert response.status_code in wanted, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def verified_user(self, user_id: str, phone: str) -> None:
        self.call("PUT", f"/users/{user_id}/phone", {"phone": phone}, expect=202)
        code_sms = wait_for(
            lambda: [m for m in self.sms(to=phone) if "code" in m["body"]], f"the verification SMS to {phone}"
        )
        code = next(word.strip(".") for word in code_sms[0]["body"].split() if word.strip(".").isdigit())
        assert self.call("POST", f"/users/{user_id}/phone/verify", {"code": code}, expect=200).json() == {
            "status": "verified"
        }

    def open_session(self, user_id: str, partner_id: str, partner_name: str) -> dict:
        body = {"user_id": user_id, "partner_id": partner_id, "partner_name": partner_name}
        return self.call("POST", "/sessions", body, expect=(200, 201)).json()

    def send(self, session_id: str, text: str) -> dict:
        return self.call("POST", f"/sessions/{session_id}/messages", {"text": text}, expect=202).json()

    def session_messages(self, session_id: str) -> list[dict]:
        return self.call("GET", f"/sessions/{session_id}/messages?limit=100", expect=200).json()["messages"]

    # -- Twilio, as the stand-in's REST API and its simulated phones show it --------------

    def sms(self, to: str | None = None, from_: str | None = None) -> list[dict]:
        """Messages from Twilio's Messages list (ListMessage, newest first), every page."""
        params = {"PageSize": 100}
        if to:
            params["To"] = to
        if from_:
            params["From"] = from_
        url = f"{self.standin_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        found = []
        while url:
            answer = self.http.get(url, params=params, auth=self.twilio_auth, timeout=10)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            found += page["messages"]
            url, params = (self.standin_url + page["next_page_uri"], None) if page["next_page_uri"] else (None, None)
        return found

    def send_from_phone(self, phone: str, pool_number: str, body: str) -> dict:
        """A simulated phone texts a pool number: the stand-in posts the signed webhook."""
        answer = self.http.post(
            f"{self.standin_url}/_standin/phones/{quote(phone)}/send",
            json={"to": pool_number, "body": body},
            timeout=15,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def phone_thread(self, phone: str) -> list[dict]:
        phones = self.http.get(f"{self.standin_url}/_standin/phones", timeout=10).json()["phones"]
        return next((view["thread"] for view in phones if view["phone"] == phone), [])

    def twilio_requests(self) -> list[dict]:
        return self.http.get(f"{self.standin_url}/_standin/requests", timeout=10).json()["requests"]

    def callbacks(self) -> list[dict]:
        return self.http.get(f"{self.standin_url}/_standin/callbacks", timeout=10).json()["callbacks"]

    # -- the chat backend's side -----------------------------------------------------------

    def events(self) -> list[dict]:
        answer = self.http.get(self.receiver_url, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]

    def wait_for_event(self, predicate, what: str, timeout: float = 15.0) -> dict:
        return wait_for(lambda: next((e for e in self.events() if predicate(e)), None), what, timeout)


def _stack_environment() -> dict:
    return dict(
        SETTINGS,
        API_PORT="0",
        STANDIN_PORT="0",
        CHAT_RECEIVER_PORT="0",
        MOTO_PORT="0",
        # Quicker receipts than a person watching the page needs.
        STANDIN_CALLBACK_DELAY="0.05",
        # The scheduled autoscaler off: these tests assert the pool as adopted at start (it
        # would buy a fourth number for alice's three sessions at its first run, a minute in).
        # test_schedules.py runs it, in a stack of its own.
        LOCAL_SCHEDULE_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    process, summary, log_path = stack_process.start(
        tmp_path_factory.mktemp("stack"), _stack_environment(), STARTUP_SECONDS
    )
    live = LiveStack(process, summary, log_path)
    try:
        yield live
        # Ctrl-C, as a person stops `make run`: every part stops and it exits 0.
        code = stack_process.stop(process, STOP_SECONDS)
        assert code == 0 and live.log().rstrip().endswith("stopped"), live.log()
        assert not (log_path.parent / "ready.json").exists()
    finally:
        stack_process.stop(process, 5)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's package) driven by playwright."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(
            "chromium is not installed and could not be: `apt-get install chromium` "
            "(.ci/run does it when it is missing)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
