"""Attack a running local stack over HTTP as someone holding an API token would (issue 25,
item 5): every limit and refusal, with 40 concurrent requests where a race could matter.
Prints one row per class tried: requests, what should happen, what did; exits 1 when any
answer was a 5xx, a dropped connection, or a limit was exceeded.

    .venv/bin/python -m devstack.run --ready-file /tmp/stack.json   # API_PORT=0 etc. (README)
    .venv/bin/python -m scripts.attack_stack --ready-file /tmp/stack.json [--budget N]

--twilio-auth-token is the stack's TWILIO_AUTH_TOKEN (the stand-in's dev one by default): a
captured webhook is replayed with the signature Twilio gave it, and forged ones are signed
with other keys. --budget N (the stack's VERIFY_GLOBAL_MAX_PER_HOUR, on a stack of its own
that sent no code this hour) adds the global budget class. Uses phones +1415555 8xxx and
users attacker-*: run it on a fresh stack.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import requests
from twilio.request_validator import RequestValidator

from devstack.stack import DEFAULT_AUTH_TOKEN

RACERS = 40
CODE = re.compile(r"verification code is (\d{6})")


@dataclass
class Row:
    name: str
    requests: int
    expected: str
    observed: str
    ok: bool


class Target:
    """The running stack, from its ready file."""

    def __init__(self, summary: dict, auth_token: str):
        self.api_url = summary["api_url"]
        self.public_url = summary["public_base_url"]
        self.standin_url = summary["standin_url"]
        self.receiver_url = summary["chat_receiver_url"]
        self.account = summary["twilio_account_sid"]
        self.token = summary["api_token"]
        self.auth_token = auth_token
        self.pool = summary["pool_numbers"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, body=None, **kw) -> requests.Response:
        return self.http.request(method, self.api_url + path, json=body, timeout=30, **kw)

    def race(self, call: Callable[[requests.Session, int], requests.Response], n: int = RACERS) -> list:
        """`call(session, i)` from n threads released at once, each on its own connection;
        an exception stands for the answer it prevented."""
        start = threading.Barrier(n, timeout=60)
        answers: list = [None] * n

        def racer(i: int) -> None:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {self.token}"
                start.wait()
                try:
                    answers[i] = call(session, i)
                except requests.RequestException as error:
                    answers[i] = error

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return answers

    # -- Twilio's side, through the stand-in ---------------------------------------------

    def sms_to(self, phone: str) -> list[dict]:
        url = f"{self.standin_url}/2010-04-01/Accounts/{self.account}/Messages.json"
        answer = requests.get(
            url, params={"To": phone, "PageSize": 1000}, auth=(self.account, self.auth_token), timeout=10
        )
        return answer.json()["messages"]

    def codes_to(self, phone: str) -> list[str]:
        return [m.group(1) for sms in reversed(self.sms_to(phone)) if (m := CODE.search(sms["body"]))]

    def settled(self) -> None:
        """The outbound queue is empty: every SMS the bridge queued reached the stand-in."""
        wait(lambda: requests.get(f"{self.standin_url}/_standin/overview", timeout=10).json()["queue_depth"] == 0)

    def callbacks(self) -> list[dict]:
        return requests.get(f"{self.standin_url}/_standin/callbacks", timeout=10).json()["callbacks"]

    def text_from(self, phone: str, pool_number: str, body: str) -> None:
        requests.post(
            f"{self.standin_url}/_standin/phones/{quote(phone)}/send",
            json={"to": pool_number, "body": body},
            timeout=15,
        )

    def post_webhook(self, session: requests.Session, url: str, params: dict, key: str | None = None, **kw):
        signature = RequestValidator(key or self.auth_token).compute_signature(url, params)
        return session.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30, **kw)

    def deliveries(self) -> dict:
        return requests.get(self.receiver_url, timeout=10).json()["deliveries"]

    # -- the bridge's state ----------------------------------------------------------------

    def verified(self, user: str, phone: str) -> None:
        assert self.call("PUT", f"/users/{user}/phone", {"phone": phone}).status_code == 202
        code = wait(lambda: self.codes_to(phone))[-1]
        answer = self.call("POST", f"/users/{user}/phone/verify", {"code": code})
        assert answer.status_code == 200, answer.text


def wait(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("the stack did not settle")
        time.sleep(0.05)
    return value


def outcomes(answers: list) -> Counter:
    def outcome(answer) -> tuple:
        if not isinstance(answer, requests.Response):
            return ("no answer", type(answer).__name__)
        try:
            body = answer.json() if answer.content else {}
        except ValueError:
            body = {}
        code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
        return (answer.status_code, code)

    return Counter(outcome(answer) for answer in answers)


def clean(answers: list) -> bool:
    """No 5xx and no answer missing."""
    return all(isinstance(a, requests.Response) and a.status_code < 500 for a in answers)


def shown(counted: Counter) -> str:
    return ", ".join(f"{n}x {status}{' ' + code if code else ''}" for (status, code), n in counted.most_common())


def server_errors(answers: list) -> str:
    """What each distinct 5xx said, and its Retry-After: the finding to report."""
    said = {
        f'"{a.json()["error"]["message"]}" (Retry-After {a.headers.get("Retry-After")})'
        for a in answers
        if isinstance(a, requests.Response) and a.status_code >= 500
    }
    return f"; 5xx: {', '.join(sorted(said))}" if said else ""


# -- the classes ---------------------------------------------------------------------------


def wrong_codes(t: Target) -> Row:
    phone = "+14155558001"
    t.call("PUT", "/users/attacker-guess/phone", {"phone": phone})
    right = wait(lambda: t.codes_to(phone))[0]
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    answers = t.race(lambda s, i: s.post(f"{t.api_url}/users/attacker-guess/phone/verify", json={"code": wrong}))
    counted = outcomes(answers)
    right_after = t.call("POST", "/users/attacker-guess/phone/verify", {"code": right}).status_code
    ok = clean(answers) and counted == {(400, "wrong_code"): 5, (429, "too_many_tries"): 35} and right_after == 429
    return Row(
        "wrong codes for one phone, at once",
        RACERS + 1,
        "5 wrong_code, 35 too_many_tries; then the right code 429",
        f"{shown(counted)}; right code {right_after}",
        ok,
    )


def codes_per_phone(t: Target) -> Row:
    phone = "+14155558002"
    answers = t.race(lambda s, i: s.put(f"{t.api_url}/users/attacker-claim-{i}/phone", json={"phone": phone}))
    t.settled()
    codes = len(t.codes_to(phone))
    counted = outcomes(answers)
    ok = clean(answers) and counted[(202, None)] == 1 and codes == 1
    return Row(
        "one phone hooked up by 40 users at once",
        RACERS,
        "1 code SMS (30 s apart)",
        f"{shown(counted)}; {codes} SMS",
        ok,
    )


def codes_per_user(t: Target) -> Row:
    phones = [f"+141555581{i:02d}" for i in range(RACERS)]
    answers = t.race(lambda s, i: s.put(f"{t.api_url}/users/attacker-collect/phone", json={"phone": phones[i]}))
    t.settled()
    codes = sum(len(t.codes_to(p)) for p in phones)
    counted = outcomes(answers)
    ok = clean(answers) and counted[(202, None)] == 10 and codes <= 10
    return Row(
        "one user hooking up 40 phones at once", RACERS, "10 admitted, <= 10 SMS", f"{shown(counted)}; {codes} SMS", ok
    )


def ownership(t: Target) -> Row:
    phone = "+14155558003"
    t.verified("attacker-owner", phone)
    answers = t.race(lambda s, i: s.put(f"{t.api_url}/users/attacker-thief-{i}/phone", json={"phone": phone}))
    t.settled()
    counted = outcomes(answers)
    still = t.call("GET", "/users/attacker-owner/phone").json().get("status")
    ok = (
        clean(answers)
        and set(counted) == {(409, "phone_in_use")}
        and len(t.codes_to(phone)) == 1
        and still == "verified"
    )
    return Row(
        "40 users taking a verified phone at once",
        RACERS,
        "all 409 phone_in_use, no SMS, owner kept",
        f"{shown(counted)}; owner {still}",
        ok,
    )


def session_opens(t: Target) -> list[Row]:
    t.verified("attacker-hub", "+14155558004")
    body = lambda i: {"user_id": "attacker-hub", "partner_id": f"p{i}", "partner_name": f"P{i}"}  # noqa: E731
    answers = t.race(lambda s, i: s.post(f"{t.api_url}/sessions", json=body(i)))
    counted = outcomes(answers)
    numbers = [a.json()["pool_number"] for a in answers if isinstance(a, requests.Response) and a.status_code == 201]
    distinct = len(set(numbers)) == len(numbers)
    first = Row(
        "40 sessions of one user opened at once",
        RACERS,
        "each 201 on its own number, or a clear 4xx/503",
        f"{shown(counted)}; {len(set(numbers))} numbers for {len(numbers)} sessions{server_errors(answers)}",
        clean(answers) and distinct and bool(numbers),
    )
    pair = {"user_id": "attacker-hub", "partner_id": "same", "partner_name": "Same"}
    answers = t.race(lambda s, i: s.post(f"{t.api_url}/sessions", json=pair))
    ids = {
        a.json().get("session_id") for a in answers if isinstance(a, requests.Response) and a.status_code in (200, 201)
    }
    counted = outcomes(answers)
    second = Row(
        "40 opens of one pair at once",
        RACERS,
        "one session (one 201, the rest 200)",
        f"{shown(counted)}; {len(ids)} session id(s)",
        clean(answers) and len(ids) == 1 and counted[(201, None)] == 1,
    )
    return [first, second]


def replays(t: Target) -> list[Row]:
    phone = "+14155558005"
    t.verified("attacker-replay", phone)
    session = t.call(
        "POST", "/sessions", {"user_id": "attacker-replay", "partner_id": "bob", "partner_name": "Bob"}
    ).json()
    t.text_from(phone, session["pool_number"], "captured reply")
    inbound = wait(
        lambda: [c for c in t.callbacks() if c["kind"] == "sms" and c["params"].get("Body") == "captured reply"]
    )[0]
    sent = t.call("POST", f"/sessions/{session['session_id']}/messages", {"text": "captured status"}).json()[
        "message_id"
    ]
    wait(lambda: t.call("GET", f"/messages/{sent}").json()["status"] == "delivered")
    statuses = [c for c in t.callbacks() if c["kind"] == "status" and f"message_id={sent}" in c["url"]]
    wait(lambda: len(t.deliveries()) and all(n >= 1 for n in t.deliveries().values()))
    before = t.deliveries()
    stored_before = len(t.call("GET", f"/sessions/{session['session_id']}/messages?limit=100").json()["messages"])
    captured = [inbound, *statuses]
    answers = t.race(
        lambda s, i: t.post_webhook(s, captured[i % len(captured)]["url"], captured[i % len(captured)]["params"])
    )
    t.text_from(phone, session["pool_number"], "marker")  # once its event is in, the replays' would be too
    wait(lambda: len(t.deliveries()) > len(before))
    after = t.deliveries()
    status = t.call("GET", f"/messages/{sent}").json()["status"]
    stored = len(t.call("GET", f"/sessions/{session['session_id']}/messages?limit=100").json()["messages"])
    again = {k: after[k] for k in before if after[k] != before[k]}
    ok = (
        clean(answers)
        and status == "delivered"
        and not again
        and len(after) == len(before) + 1
        and stored == stored_before + 1
    )
    return [
        Row(
            "captured inbound + status webhooks replayed at once",
            RACERS,
            "200/204; nothing stored or POSTed again, status stays delivered",
            f"{shown(outcomes(answers))}; status {status}; events re-POSTed {len(again)}; new messages {stored - stored_before} (the marker)",
            ok,
        )
    ]


def forged(t: Target) -> Row:
    url = f"{t.public_url}/twilio/sms"
    params = {
        "From": "+14155558005",
        "To": t.pool[0],
        "Body": "forged",
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": t.account,
        "NumMedia": "0",
    }
    tampered = dict(params, Body="tampered")
    signature_for_status = RequestValidator(t.auth_token).compute_signature(f"{t.public_url}/twilio/status", params)
    kinds: list[Callable[[requests.Session], requests.Response]] = [
        lambda s: s.post(url, data=params, timeout=30),  # no signature
        lambda s: t.post_webhook(s, url, params, key="not-the-auth-token"),
        lambda s: s.post(
            url,
            data=tampered,
            headers={"X-Twilio-Signature": RequestValidator(t.auth_token).compute_signature(url, params)},
            timeout=30,
        ),
        lambda s: s.post(url, data=params, headers={"X-Twilio-Signature": signature_for_status}, timeout=30),
        lambda s: s.post(url, data=params, headers={"X-Twilio-Signature": "A" * 10_000}, timeout=30),
    ]
    answers = t.race(lambda s, i: kinds[i % len(kinds)](s))
    counted = outcomes(answers)
    ok = clean(answers) and {status for status, _ in counted} == {403}
    return Row(
        "forged webhooks (none, wrong key, tampered, another URL's, 10 KB)", RACERS, "all 403", shown(counted), ok
    )


ODD_PHONES = [
    "\uff0b\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff18\uff12\uff10\uff10",  # full-width
    "+1 415 555 8201",
    " +1 (415) 555-8202 ",
    "+00 1 415 555 8203",
    "00 1 415 555 8204",
    "+1" + "4" * 1000,
    "1" * 100_00,
    "+1415555\U0001f4f1",
    "\U0001f4f1\U0001f4f1\U0001f4f1",
    "+19005558205",  # premium rate
    "+18005558206",  # toll-free
    "12345",  # short code
    "+1415555820\u0667",  # an Arabic-Indic digit
    "\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0668\u0662\u0661\u0662",  # all Arabic-Indic
    "+1-415-FLOWERS",
    "+447700900123",  # a UK mobile: not an allowed country
    "+14155558207\x00",
    "+1415\u200b5558208",  # zero-width space
    "\u202e+14155558209",  # right-to-left override
    "",
    "+",
    "+1 415 555 8210 ext. 5",
    "tel:+14155558211",
    "+1415555821%32",
]


def odd_phones(t: Target) -> Row:
    answers = t.race(
        lambda s, i: s.put(f"{t.api_url}/users/attacker-odd-{i}/phone", json={"phone": ODD_PHONES[i]}),
        n=len(ODD_PHONES),
    )
    counted = outcomes(answers)
    accepted = sorted(
        ODD_PHONES[i] for i, a in enumerate(answers) if isinstance(a, requests.Response) and a.status_code == 202
    )
    # 429: two spellings of one number within its 30 s (the per-phone limit, as it should).
    ok = clean(answers) and all(
        a.status_code in (202, 400, 413, 429) for a in answers if isinstance(a, requests.Response)
    )
    return Row(
        "odd phone numbers (full-width, spaces, +00, 1,000 digits, emoji, premium, toll-free, short, ...)",
        len(ODD_PHONES),
        "400 invalid_phone, or 202 (429 for a repeat) when it is a valid mobile once normalised",
        f"{shown(counted)}; 202 for {[p[:24] for p in accepted]}",
        ok,
    )


def odd_json(t: Target) -> Row:
    headers = {"Content-Type": "application/json"}
    bodies = [
        b'{"phone": "' + b"1" * 40_000 + b'"}',
        b"[" * 10_000 + b"]" * 10_000,
        b'{"phone": ' + b"{" * 50 + b"}" * 50 + b"}",
        b'{"phone": 14155558301}',
        b'{"phone": null}',
        b'{"phone": ["+14155558302"]}',
        b'{"phone": true}',
        b'{"phone": 1e999}',
        b'{"phone": NaN}',
        b"[]",
        b'"+14155558303"',
        b"not json",
        b"",
        b"\xff\xfe\x00{",
        b'{"phone": "+14155558304", "phone": "+14155558305"}',
        b'{"phone": "\\ud800"}',
        b'{"text": {"nested": 1}}',
    ]
    paths = ["/users/attacker-json/phone"] * (len(bodies) - 1) + ["/sessions/ses_none/messages"]
    methods = ["PUT"] * (len(bodies) - 1) + ["POST"]
    answers = t.race(
        lambda s, i: s.request(methods[i], t.api_url + paths[i], data=bodies[i], headers=headers, timeout=30),
        n=len(bodies),
    )
    counted = outcomes(answers)
    # No 2xx at all: a key given twice is refused too.
    shaped = all(isinstance(a, requests.Response) and a.status_code >= 400 and "error" in a.json() for a in answers)
    ok = clean(answers) and shaped
    return Row(
        "odd JSON (40 KB, 10,000 deep, wrong types, NaN, not UTF-8, duplicate keys, ...)",
        len(bodies),
        "4xx in the error shape",
        shown(counted),
        ok,
    )


def budget(t: Target, allowed: int) -> Row:
    phones = [f"+141555584{i:02d}" for i in range(RACERS)]
    hour = time.gmtime().tm_hour
    answers = t.race(lambda s, i: s.put(f"{t.api_url}/users/attacker-spend-{i}/phone", json={"phone": phones[i]}))
    limit = allowed if time.gmtime().tm_hour == hour else 2 * allowed  # a burst across the hour's turn
    t.settled()
    codes = sum(len(t.codes_to(p)) for p in phones)
    counted = outcomes(answers)
    ok = clean(answers) and counted[(202, None)] <= limit and codes <= limit
    return Row(
        f"40 hook-ups at once against the hourly budget of {allowed}",
        RACERS,
        f"<= {allowed} codes",
        f"{shown(counted)}; {codes} SMS",
        ok,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--twilio-auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--budget", type=int, help="the stack's VERIFY_GLOBAL_MAX_PER_HOUR: only the budget class")
    args = parser.parse_args(argv)
    with open(args.ready_file) as f:
        target = Target(json.load(f), args.twilio_auth_token)
    if args.budget:
        rows = [budget(target, args.budget)]
    else:
        rows = [wrong_codes(target), codes_per_phone(target), codes_per_user(target), ownership(target)]
        rows += [*session_opens(target), *replays(target), forged(target), odd_phones(target), odd_json(target)]
    print("| class tried | requests | expected | observed | |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.requests} | {row.expected} | {row.observed} | {'ok' if row.ok else 'FINDING'} |")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
