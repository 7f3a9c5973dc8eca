"""`make demo`: a short HipChat-style exchange against a running `make run`.

Alice hooks up her phone and goes away; Bob and Carol each start a one-on-one
chat with her, so their messages reach her phone by SMS from two different pool
numbers; she replies to each from the simulated phone, and each reply comes
back to the right chat. Everything goes through the public API, the Twilio
stand-in's phone controls (/_standin/...) and the chat receiver (GET /events),
over HTTP, as a chat backend and a person with a phone would. Then it prints
what each side saw.

It finds the stack with the same environment variables as `make run` (API_PORT,
STANDIN_PORT, CHAT_RECEIVER_PORT, API_TOKENS), so give both the same ones.
Run it again as often as you like: it reuses the same users and sessions.
"""

from __future__ import annotations

import base64
import contextlib
import re
import sys
import time
from collections.abc import Callable
from urllib.parse import quote

import requests

from devstack.stack import HOST, StackSettings

ALICE_PHONE = "+14155550188"
PARTNERS = (
    ("bob", "Bob", "Lunch at noon? The taco place on 3rd."),
    ("carol", "Carol", "Could you review PR #42 before the release? It's small."),
)
REPLIES = {
    "bob": "Sounds great, see you at 12!",
    "carol": "Sure, I'll look at it this afternoon.",
}
TIMEOUT = 20.0
# Two 1x1 PNGs (a red and a blue pixel): a picture each way.
BOB_PICTURE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
ALICE_PICTURE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPj/HwADBwIAMCbHYQAAAABJRU5ErkJggg=="
)


class DemoError(RuntimeError):
    pass


class Demo:
    def __init__(self, settings: StackSettings, out: Callable[[str], None] = print):
        self.api_url = f"http://{HOST}:{settings.api_port}"
        self.standin_url = f"http://{HOST}:{settings.standin_port}"
        self.receiver_url = f"http://{HOST}:{settings.chat_receiver_port}/events"
        self.http = requests.Session()  # the stand-in's controls: no token for them
        self.api_http = requests.Session()
        self.api_http.headers["Authorization"] = f"Bearer {settings.api_token}"
        self.out = out

    # -- the story ---------------------------------------------------------------------

    def run(self) -> None:
        self._check_stack()
        # Earlier runs left messages in the same sessions; this run shows its own.
        self.since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
        known_sms = {m["sid"] for m in self._thread(ALICE_PHONE)}
        known_events = {e["event_id"] for e in self._events() or []}

        self._step(f"Alice hooks up her phone {ALICE_PHONE}")
        self._api("PUT", "/users/alice/phone", {"phone": ALICE_PHONE}, expect=202)
        code_sms = self._wait(
            lambda: self._new_sms(known_sms, lambda m: re.search(r"\b\d{6}\b", m["body"])),
            "the verification SMS on Alice's phone",
        )
        code_match = re.search(r"\b(\d{6})\b", code_sms["body"])
        if code_match is None:
            raise DemoError(f"no 6-digit code in the verification SMS {code_sms['body']!r}")
        code = code_match.group(1)
        self.out(f"  her phone got: {code_sms['body']!r}")
        self._api("POST", "/users/alice/phone/verify", {"code": code}, expect=200)
        self._api("PUT", "/users/alice/presence", {"away": True}, expect=200)
        self.out("  verified; she steps away from her desk, so chats now reach her by SMS")

        self._step("Bob and Carol each start a chat with her")
        sessions = {}
        for partner_id, name, _ in PARTNERS:
            session = self._api(
                "POST",
                "/sessions",
                {"user_id": "alice", "partner_id": partner_id, "partner_name": name},
                expect=(200, 201),
            )
            sessions[partner_id] = session
            self.out(f"  {name:6} session {session['session_id']} on pool number {session['pool_number']}")

        self._step("They write")
        sent = {}
        for partner_id, name, text in PARTNERS:
            sent[partner_id] = self._api(
                "POST", f"/sessions/{sessions[partner_id]['session_id']}/messages", {"text": text}, expect=202
            )
            self.out(f"  {name}: {text}")
        for partner_id, name, text in PARTNERS:
            pool = sessions[partner_id]["pool_number"]
            self._wait(
                lambda pool=pool, text=text: self._new_sms(
                    known_sms, lambda m: m["pool_number"] == pool and text in m["body"]
                ),
                f"{name}'s SMS on Alice's phone",
            )
        self.out("  both SMS reached Alice's phone, each from its own pool number")

        self._step("Alice replies to each from her phone")
        for partner_id, _, _ in PARTNERS:
            pool = sessions[partner_id]["pool_number"]
            answer = self.http.post(
                f"{self.standin_url}/_standin/phones/{quote(ALICE_PHONE)}/send",
                json={"to": pool, "body": REPLIES[partner_id]},
                timeout=15,
            )
            _expect(answer, 200)
            self.out(f"  to {pool}: {REPLIES[partner_id]}")
        for partner_id, name, _ in PARTNERS:
            session_id = sessions[partner_id]["session_id"]
            self._wait(
                lambda partner_id=partner_id, session_id=session_id: any(
                    m["direction"] == "inbound" and m["text"] == REPLIES[partner_id]
                    for m in self._new_messages(session_id)
                ),
                f"Alice's reply in {name}'s session",
            )
        for partner_id, _, _ in PARTNERS:
            message_id = sent[partner_id]["message_id"]
            with contextlib.suppress(DemoError):  # shown as it stands
                self._wait(
                    lambda message_id=message_id: (
                        self._api("GET", f"/messages/{message_id}")["status"] in ("delivered", "undelivered", "failed")
                    ),
                    "the delivery receipt",
                    timeout=5,
                )
        if self._events() is not None:
            self._wait(
                lambda: (
                    len(
                        [
                            e
                            for e in self._events() or []
                            if e["event_id"] not in known_events and e["type"] == "message.received"
                        ]
                    )
                    >= len(PARTNERS)
                ),
                "the replies at the chat receiver",
            )

        self._pictures(sessions["bob"], known_sms)
        self._report(sessions, known_sms, known_events)

    def _pictures(self, session: dict, known_sms: set) -> None:
        """A picture each way: Bob's upload reaches Alice's phone by MMS, and the one
        she sends back reaches Bob's chat as the bridge's own URL, gone from Twilio."""
        self._step("Bob sends a picture; Alice answers with one")
        upload = self._api("POST", "/media", {"content_type": "image/png", "size": len(BOB_PICTURE)}, expect=201)
        _expect(requests.put(upload["upload_url"], data=BOB_PICTURE, headers=upload["upload_headers"], timeout=15), 200)
        self._api(
            "POST",
            f"/sessions/{session['session_id']}/messages",
            {"text": "The menu:", "media_ids": [upload["media_id"]]},
            expect=202,
        )
        mms = self._wait(
            lambda: self._new_sms(known_sms, lambda m: m["pool_number"] == session["pool_number"] and m.get("media")),
            "Bob's picture on Alice's phone",
        )
        got = self.http.get(self.standin_url + mms["media"][0]["url"], timeout=15).content
        if got != BOB_PICTURE:
            raise DemoError("the picture on Alice's phone is not the one Bob uploaded")
        self.out(
            f"  Alice's phone got an MMS: {mms['body']!r} with a {mms['media'][0]['content_type']} "
            f"of {len(got)} bytes, the same bytes Bob uploaded"
        )
        answer = self.http.post(
            f"{self.standin_url}/_standin/phones/{quote(ALICE_PHONE)}/send",
            json={
                "to": session["pool_number"],
                "body": "Mine:",
                "media": [{"content_type": "image/png", "data_base64": base64.b64encode(ALICE_PICTURE).decode()}],
            },
            timeout=15,
        )
        _expect(answer, 200)
        twilio_message = answer.json()["message"]["sid"]
        reply = self._wait(
            lambda: next(
                (
                    m
                    for m in self._new_messages(session["session_id"])
                    if m["direction"] == "inbound" and m.get("media")
                ),
                None,
            ),
            "Alice's picture in Bob's chat",
        )
        url = reply["media"][0]["url"]
        if requests.get(url, timeout=15).content != ALICE_PICTURE:
            raise DemoError("the picture in Bob's chat is not the one Alice sent")
        left = self.http.get(f"{self.standin_url}/_standin/messages", timeout=15).json()["messages"]
        at_twilio = next((m["num_media"] for m in left if m["sid"] == twilio_message), "?")
        self.out(
            f"  Bob's chat got {reply['text']!r} with {url.split('?')[0]} (the bridge's bucket, a presigned GET); "
            f"the same bytes; Twilio's copy deleted ({at_twilio} of its media listed there now)"
        )

    def _report(self, sessions: dict, known_sms: set, known_events: set) -> None:
        self._step("What each side saw")
        self.out(f"  Alice's phone {ALICE_PHONE}:")
        for m in self._thread(ALICE_PHONE):
            if m["sid"] in known_sms:
                continue
            pictures = f" + {len(m['media'])} picture(s)" if m.get("media") else ""
            if m["direction"] == "received":
                self.out(f"    <- from {m['pool_number']}  {m['body']!r}{pictures}  ({m['status']})")
            else:
                self.out(f"    -> to   {m['pool_number']}  {m['body']!r}{pictures}")
        for partner_id, name, _ in PARTNERS:
            session = sessions[partner_id]
            self.out(f"  {name}'s chat with Alice (session {session['session_id']}):")
            for m in self._new_messages(session["session_id"]):
                pictures = f" + {len(m['media'])} picture(s)" if m.get("media") else ""
                if m["direction"] == "outbound":
                    self.out(f"    {name}: {m['text']}{pictures}  [{m['status']}]")
                else:
                    self.out(f"    Alice (by SMS): {m['text']}{pictures}")
        events = self._events()
        if events is None:
            self.out("  (the chat backend is your CHAT_WEBHOOK_URL: its events are there)")
            return
        self.out("  Events the chat backend received (signatures checked):")
        partner_of = {session["session_id"]: partner_id for partner_id, session in sessions.items()}
        for event in events:
            if event["event_id"] in known_events:
                continue
            partner = event.get("partner_id") or partner_of.get(event.get("session_id"), "")
            text = f"  {event['text']!r}" if event.get("text") else ""
            status = f"  {event['status']}" if event.get("status") else ""
            self.out(f"    {event['type']:17} {partner:6}{status}{text}")

    # -- plumbing ----------------------------------------------------------------------

    def _check_stack(self) -> None:
        try:
            self.api_http.get(f"{self.api_url}/numbers", timeout=5).raise_for_status()
        except requests.RequestException as error:
            raise DemoError(
                f"the bridge does not answer at {self.api_url} ({type(error).__name__}); "
                f"start `make run` in another terminal first (same environment)"
            ) from None
        try:
            self.http.get(f"{self.standin_url}/_standin/overview", timeout=5).raise_for_status()
        except requests.RequestException:
            raise DemoError(
                f"no Twilio stand-in at {self.standin_url}: the demo texts from its simulated "
                f"phones, so run `make run` without TWILIO_API_BASE_URL"
            ) from None

    def _api(self, method: str, path: str, body: dict | None = None, expect=200) -> dict:
        answer = self.api_http.request(method, self.api_url + path, json=body, timeout=15)
        _expect(answer, expect)
        return answer.json() if answer.content else {}

    def _thread(self, phone: str) -> list[dict]:
        answer = self.http.get(f"{self.standin_url}/_standin/phones", timeout=5)
        _expect(answer, 200)
        for view in answer.json()["phones"]:
            if view["phone"] == phone:
                return view["thread"]
        return []

    def _new_sms(self, known: set, matches) -> dict | None:
        for m in reversed(self._thread(ALICE_PHONE)):
            if m["sid"] not in known and m["direction"] == "received" and matches(m):
                return m
        return None

    def _new_messages(self, session_id: str) -> list[dict]:
        """The session's messages since this run started (ISO-8601 UTC times sort as text)."""
        found, cursor = [], None
        while True:
            page = self._api(
                "GET", f"/sessions/{session_id}/messages?limit=100" + (f"&cursor={quote(cursor)}" if cursor else "")
            )
            found += [m for m in page["messages"] if m["created_at"] >= self.since]
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    def _events(self) -> list[dict] | None:
        """Events at the local chat receiver; None when `make run` has none (CHAT_WEBHOOK_URL)."""
        try:
            answer = requests.get(self.receiver_url, timeout=5)
        except requests.RequestException:
            return None
        return answer.json()["events"] if answer.ok else None

    def _wait(self, condition, what: str, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"gave up waiting for {what} after {timeout:.0f}s; see `make run`'s output")
            time.sleep(0.1)

    def _step(self, title: str) -> None:
        self.out(f"\n== {title}")


def _expect(answer: requests.Response, expect) -> None:
    wanted = expect if isinstance(expect, tuple) else (expect,)
    if answer.status_code not in wanted:
        raise DemoError(f"{answer.request.method} {answer.url} answered {answer.status_code}: {answer.text[:300]}")


def main() -> int:
    try:
        Demo(StackSettings.from_env()).run()
    except DemoError as error:
        print(f"\nmake demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
