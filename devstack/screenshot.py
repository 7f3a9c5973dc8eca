"""Screenshot of the phone page for the README (docs/phone-page.png), taken during
a demo-like conversation against a running `make run`:

    .venv/bin/python -m devstack.screenshot [docs/phone-page.png]

It plays `make demo`, adds a second phone (Dan, chatting with Carol), then queues
a short burst for Alice so the outbound queue is not empty, and shoots the page
while it is. It drives Debian's chromium through playwright (CHROMIUM names
another binary)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

from devstack.demo import ALICE_PHONE, Demo, DemoError
from devstack.stack import ROOT, StackSettings

DAN_PHONE = "+14155550166"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> int:
    from playwright.sync_api import expect, sync_playwright

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "phone-page.png"
    demo = Demo(StackSettings.from_env(), out=lambda line: None)
    demo.run()
    sessions = {s["partner_id"]: s for s in demo._api("GET", "/users/alice/sessions")["sessions"]}

    # A second phone: Dan, away, in a chat with Carol.
    demo._api("PUT", "/users/dan/phone", {"phone": DAN_PHONE}, expect=202)
    code_sms = demo._wait(
        lambda: [m for m in demo._thread(DAN_PHONE) if re.search(r"\b\d{6}\b", m["body"])], "Dan's code"
    )[-1]
    code = re.search(r"\b(\d{6})\b", code_sms["body"])
    if code is None:
        raise DemoError(f"no 6-digit code in Dan's verification SMS {code_sms['body']!r}")
    demo._api("POST", "/users/dan/phone/verify", {"code": code.group(1)})
    dan = demo._api(
        "POST", "/sessions", {"user_id": "dan", "partner_id": "carol", "partner_name": "Carol"}, expect=(200, 201)
    )
    demo._api("POST", f"/sessions/{dan['session_id']}/messages", {"text": "Are the release notes ready?"}, expect=202)
    demo._wait(lambda: any("release notes" in m["body"] for m in demo._thread(DAN_PHONE)), "Carol's SMS to Dan")
    demo.http.post(
        f"{demo.standin_url}/_standin/phones/{quote(DAN_PHONE)}/send",
        json={"to": dan["pool_number"], "body": "Almost, give me 10 minutes"},
        timeout=15,
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(demo.standin_url + "/")
        expect(page.locator("#live-text")).to_have_text("live")
        expect(page.locator(f'.phone[data-phone="{DAN_PHONE}"] .bubble-row.sent')).to_have_count(1)
        # A burst for one number: the limiter (1 segment/s) keeps some in the queue a while.
        for text in ("Also, bring the slides", "And the demo laptop, please", "Thanks!"):
            demo._api("POST", f"/sessions/{sessions['bob']['session_id']}/messages", {"text": text}, expect=202)
        expect(page.locator("#queue")).not_to_have_text("0")
        expect(page.locator(f'.phone[data-phone="{ALICE_PHONE}"] .bubble', has_text="bring the slides")).to_be_visible()
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))
        browser.close()
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
