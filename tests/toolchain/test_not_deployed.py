"""The packages infra/package.py leaves out of the Lambda layer (NOT_DEPLOYED:
twilio's asyncio client's aiohttp and its dependencies) are never imported by
the code: `import app` and every Twilio call the service makes run in a fresh
interpreter in which those packages cannot be imported (a meta-path finder
refuses them, as if they were not installed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.package import NOT_DEPLOYED

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = sorted({module for modules in NOT_DEPLOYED.values() for module in modules})

_PROBE = r"""
import importlib.abc, json, sys

BLOCKED = set(json.loads(sys.argv[1]))


class NotDeployed(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the Lambda layer)", name=name)
        return None


sys.meta_path.insert(0, NotDeployed())
try:
    import aiohttp  # noqa: F401
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("the blocker does not block")

import app  # noqa: F401  every function's cold start

import re
import responses
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

SID = "AC" + "0" * 32
MESSAGE = {"sid": "SM" + "0" * 32, "account_sid": SID, "status": "queued", "num_segments": "1", "body": "hi",
           "error_code": None, "date_created": "Tue, 01 Dec 2026 10:00:00 +0000", "to": "+14155550100",
           "from": "+14155550101"}
NUMBER = {"sid": "PN" + "0" * 32, "account_sid": SID, "phone_number": "+14155550101", "sms_url": "https://x.test/sms"}
PAGE = {"next_page_uri": None, "page": 0, "page_size": 50, "uri": "/x", "first_page_uri": "/x"}


def answer(request):
    path = request.path_url.split("?")[0]
    if request.method == "DELETE":
        return 204, {}, ""
    if path.endswith("/Messages.json"):
        body = MESSAGE if request.method == "POST" else {**PAGE, "messages": [MESSAGE]}
    elif path.endswith("/Local.json"):
        body = {**PAGE, "available_phone_numbers": [{"phone_number": "+14155550199"}]}
    elif path.endswith("/IncomingPhoneNumbers.json") and request.method == "GET":
        body = {**PAGE, "incoming_phone_numbers": [NUMBER]}
    else:
        body = NUMBER
    return (201 if request.method == "POST" and "PN" not in path else 200), {}, json.dumps(body)


with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
    for method in ("GET", "POST", "DELETE"):
        mock.add_callback(method, re.compile(r"https://api\.twilio\.com/.*"), callback=answer)
    # What chalicelib's Twilio gateway does, through the same public API.
    client = Client(SID, "token", http_client=TwilioHttpClient(timeout=10))
    sent = client.messages.create(to="+14155550100", from_="+14155550101", body="hi",
                                  status_callback="https://x.test/status")
    assert sent.sid == MESSAGE["sid"] and sent.date_created is not None
    assert [m.sid for m in client.messages.list(to="+14155550100", from_="+14155550101", limit=50)] == [sent.sid]
    assert client.incoming_phone_numbers.list(phone_number="+14155550101", limit=1)[0].sid == NUMBER["sid"]
    client.incoming_phone_numbers(NUMBER["sid"]).update(sms_url="https://x.test/sms", sms_method="POST")
    assert client.available_phone_numbers("US").local.list(sms_enabled=True, area_code=415, limit=5)
    client.incoming_phone_numbers.create(phone_number="+14155550199", sms_url="https://x.test/sms")
    client.incoming_phone_numbers(NUMBER["sid"]).delete()
    assert len(mock.calls) == 7

validator = RequestValidator("token")
params = {"From": "+14155550100", "Body": "hi"}
assert validator.validate("https://x.test/sms", params, validator.compute_signature("https://x.test/sms", params))

print(json.dumps(sorted(name for name in sys.modules if name.partition(".")[0] in BLOCKED)))
"""


def test_app_and_its_twilio_calls_import_none_of_the_packages_left_out():
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(BLOCKED)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_packages_left_out_are_only_twilios_asyncio_client():
    """Each is in requirements.lock only through twilio or another of them: if a package
    the code uses starts to need one, it must go back into the layer."""
    from infra import lock

    text = (ROOT / "requirements.lock").read_text()
    entries = lock.entries(text)
    assert set(NOT_DEPLOYED) <= set(entries), "NOT_DEPLOYED names a package the lock does not have"
    for name in NOT_DEPLOYED:
        via = _via(entries[name][1])
        assert via and via <= set(NOT_DEPLOYED) | {"twilio"}, f"{name} is needed by {sorted(via)}"


def _via(entry: str) -> set[str]:
    """The packages a uv lock entry says require it (`# via a` or `# via` and one per line)."""
    names, started = set(), False
    for line in entry.splitlines():
        comment = line.strip()
        if comment.startswith("# via"):
            started = True
            rest = comment[len("# via") :].strip()
            if rest:
                names.add(rest)
        elif started and comment.startswith("#   "):
            names.add(comment[1:].strip())
    return {n.split(" ")[0].lower() for n in names}
