"""`make screenshots`: the README's pictures of the local stack, taken in a stack of their own
(every port free, nothing shared with a running `make run`):

    .venv/bin/python -m devstack.screenshot [DIRECTORY]   (default docs/)

writes both-pages.png (the chat page beside the phone page, the README's first screen),
chat-page.png and phone-page.png. It plays a short conversation through the API and the
phone page's controls: Alice away, chatting with Bob and Carol, Dan with Carol; then, with
the pages open, Alice answers Carol (an unread reply in Carol's chat) and Bob sends a burst
that is still moving through queued, sent and delivered when the pages are shot. It drives
Debian's chromium through playwright (CHROMIUM names another binary)."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests

from devstack.stack import ROOT, Stack, StackSettings

ALICE, DAN = "+14155550188", "+14155550166"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
TIMEOUT = 20.0


class Conversation:
    """The story, through the API (as the chat backend) and the stand-in's phone controls."""

    def __init__(self, stack: Stack):
        api_url, standin_url = stack.api_url, stack.standin_url
        if api_url is None or standin_url is None:
            raise RuntimeError("the stack has no API or no Twilio stand-in (TWILIO_API_BASE_URL is not for this tool)")
        self.api_url, self.standin_url = api_url, standin_url
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {stack.settings.api_token}"
        self.http = requests.Session()

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        answer = self.api.request(method, self.api_url + path, json=body, timeout=15)
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else {}

    def thread(self, phone: str) -> list[dict]:
        phones = self.http.get(f"{self.standin_url}/_standin/phones", timeout=10).json()["phones"]
        return next((view["thread"] for view in phones if view["phone"] == phone), [])

    def wait(self, condition, what: str):
        deadline = time.monotonic() + TIMEOUT
        while not (found := condition()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.1)
        return found

    def verified(self, user_id: str, phone: str) -> None:
        self.call("PUT", f"/users/{user_id}/phone", {"phone": phone})
        sms = self.wait(lambda: [m for m in self.thread(phone) if re.search(r"\b\d{6}\b", m["body"])], "the code")
        code = re.search(r"\b(\d{6})\b", sms[-1]["body"])
        self.call("POST", f"/users/{user_id}/phone/verify", {"code": code.group(1) if code else ""})

    def chat(self, user_id: str, partner_id: str, name: str) -> dict:
        return self.call("POST", "/sessions", {"user_id": user_id, "partner_id": partner_id, "partner_name": name})

    def say(self, session: dict, text: str, phone: str) -> None:
        self.call("POST", f"/sessions/{session['session_id']}/messages", {"text": text})
        self.wait(lambda: any(text in m["body"] for m in self.thread(phone)), f"{text!r} on {phone}")

    def reply(self, phone: str, session: dict, text: str) -> None:
        answer = self.http.post(
            f"{self.standin_url}/_standin/phones/{quote(phone)}/send",
            json={"to": session["pool_number"], "body": text},
            timeout=15,
        )
        answer.raise_for_status()
        self.wait(
            lambda: any(
                m["text"] == text for m in self.call("GET", f"/sessions/{session['session_id']}/messages")["messages"]
            ),
            f"the reply {text!r} in its chat",
        )


def main() -> int:
    from playwright.sync_api import expect, sync_playwright

    # The stack's own lines (the app's JSON logs and metrics) are not this tool's output.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    shown, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 (the process's stdout until it exits)
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    target.mkdir(parents=True, exist_ok=True)
    settings = StackSettings(
        api_port=0,
        standin_port=0,
        chat_receiver_port=0,
        moto_port=0,
        resource_prefix="sms-bridge-shots-",
        standin_callback_delay=0.9,  # slow enough that the burst is seen moving
        schedule_seconds=0,
    )
    stack = Stack(settings, out=lambda line: None).start()
    try:
        talk = Conversation(stack)
        talk.verified("alice", ALICE)
        talk.verified("dan", DAN)
        bob, carol = talk.chat("alice", "bob", "Bob"), talk.chat("alice", "carol", "Carol")
        dan_carol = talk.chat("dan", "carol", "Carol")
        talk.say(bob, "Lunch at noon? The taco place on 3rd.", ALICE)
        talk.reply(ALICE, bob, "Sounds great, see you at 12!")
        talk.say(carol, "Could you review PR #42 before the release? It's small.", ALICE)
        talk.say(dan_carol, "Are the release notes ready?", DAN)
        talk.reply(DAN, dan_carol, "Almost, give me 10 minutes")

        chat_url = stack.chat_receiver.base_url if stack.chat_receiver else ""
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=FLAGS
            )
            both = browser.new_page(viewport={"width": 1680, "height": 900})
            both.goto(f"{chat_url}/both")
            left, right = both.frame_locator("#chat"), both.frame_locator("#phones")
            left.locator("#user-id").fill("alice")
            left.get_by_role("button", name="Open").click()
            left.locator('.chat-item[data-partner-id="bob"]').click()
            chat = browser.new_page(viewport={"width": 1400, "height": 820})
            chat.goto(f"{chat_url}/?user=alice")
            expect(chat.locator('.chat-item[data-partner-id="bob"]')).to_have_count(1)
            chat.locator('.chat-item[data-partner-id="bob"]').click()
            phones = browser.new_page(viewport={"width": 1280, "height": 760})
            phones.goto(talk.standin_url + "/")
            expect(phones.locator("#live-text")).to_have_text("live")

            talk.reply(ALICE, carol, "Sure, I'll look at it this afternoon.")  # unread in Carol's chat
            for text in ("Also, bring the slides", "And the demo laptop, please", "Thanks!"):
                talk.call("POST", f"/sessions/{bob['session_id']}/messages", {"text": text})
            for page in (left, chat):
                expect(page.locator('.chat-item[data-partner-id="carol"] .unread')).to_have_text("1")
                expect(page.locator(".message", has_text="Thanks!")).to_have_count(1)
            expect(chat.locator(".message.outbound .status[data-status=delivered]").first).to_be_visible()
            expect(right.locator(".bubble", has_text="bring the slides")).to_be_visible()
            expect(phones.locator(".bubble", has_text="bring the slides")).to_be_visible()
            expect(phones.locator("#queue")).not_to_have_text("0")
            # All three at one moment: the burst part delivered, part still queued.
            phones.screenshot(path=str(target / "phone-page.png"))
            chat.screenshot(path=str(target / "chat-page.png"))
            both.screenshot(path=str(target / "both-pages.png"))
            browser.close()
    finally:
        stack.stop()
    for name in ("both-pages.png", "chat-page.png", "phone-page.png"):
        print(f"wrote {target / name}", file=shown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
