"""schemathesis against openapi.yaml on the running local stack (`python -m
devstack.run`, as `make run` starts it, on free ports, in its own process):
valid and invalid requests for every documented operation, at least 1,000 in
all. Checks: schemathesis' own (no 5xx, status codes, content types and
bodies as documented) and one more: every error response is
{"error": {"code": "<snake_case>", "message": "..."}} and nothing else."""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
import stack_process
from hypothesis import HealthCheck, settings

ROOT = stack_process.ROOT
EXAMPLES_PER_OPERATION = 80
MIN_CASES = 1000
STACK_SETTINGS = {
    "API_TOKENS": "fuzz-api-token",
    "TWILIO_ACCOUNT_SID": "AC" + "f022" * 8,
    "TWILIO_AUTH_TOKEN": "fuzz-twilio-auth-token",
    "CHAT_WEBHOOK_SECRET": "fuzz-webhook-secret",
    "RESOURCE_PREFIX": "sms-bridge-fuzz-",
    "API_PORT": "0",
    "STANDIN_PORT": "0",
    "CHAT_RECEIVER_PORT": "0",
    "MOTO_PORT": "0",
    "STANDIN_CALLBACK_DELAY": "0.05",
    "PYTHONUNBUFFERED": "1",
}

# The methods chalice's local server (http.server) hands to the app; it answers any other
# (TRACE, CONNECT, QUERY ...) itself with 501, as API Gateway answers them itself on AWS.
DISPATCHED = {"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"}
# positive_data_acceptance wants a 2xx for every schema-valid body, but the document
# cannot say what the domain refuses (a phone number that does not parse, an unknown
# user: 400/404/409 in the error shape, which the other checks still hold to).
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance]
SCHEMA = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
CASES = {"total": 0, "by_status": {}}


@SCHEMA.hook
def filter_query(ctx, query):
    """Query parameters the document does not declare are ignored, as HTTP APIs do, and
    OpenAPI cannot forbid them: a case that adds one says nothing about the contract."""
    if not query or ctx.operation is None:
        return True
    declared = {parameter.name for parameter in ctx.operation.query}
    return set(query) <= declared


@schemathesis.check
def error_in_documented_shape(ctx, response, case):
    """Every 4xx/5xx answer is {"error": {"code", "message"}} (openapi.yaml's Error); an
    answer to HEAD has no body by HTTP's rules (Twilio's HEAD on a media link)."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} without a JSON body: {response.content[:200]!r}") from None
    if not (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and set(body["error"]) == {"code", "message"}
    ):
        raise AssertionError(f"{response.status_code} not in the error shape: {body!r}")
    code, message = body["error"]["code"], body["error"]["message"]
    if not (isinstance(code, str) and re.fullmatch(r"[a-z0-9_]+", code)):
        raise AssertionError(f"error code not snake_case: {code!r}")
    if not (isinstance(message, str) and message.strip()) or "Traceback" in message:
        raise AssertionError(f"error message empty or a stack trace: {message!r}")
    return None


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    process, summary, log_path = stack_process.start(tmp_path_factory.mktemp("fuzz-stack"), STACK_SETTINGS, 90)
    try:
        yield summary
    finally:
        stack_process.stop(process, 20)
    server_errors = [line for line in log_path.read_text(errors="replace").splitlines() if " -> 5" in line]
    assert not server_errors, "the stack logged 5xx answers:\n" + "\n".join(server_errors[:20])


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi_document(case, live_stack):
    if case.method.upper() not in DISPATCHED:
        return  # never reaches the app (see DISPATCHED)
    headers = {"Authorization": f"Bearer {live_stack['api_token']}"}
    response = case.call(base_url=live_stack["api_url"], headers=headers, timeout=30)
    CASES["total"] += 1
    CASES["by_status"][response.status_code] = CASES["by_status"].get(response.status_code, 0) + 1
    case.validate_response(
        response, additional_checks=[error_in_documented_shape], excluded_checks=EXCLUDED_CHECKS, headers=headers
    )


def test_at_least_a_thousand_cases_ran():
    """Runs after the generated tests (same module, defined later)."""
    print(f"\nschemathesis: {CASES['total']} cases, by status {dict(sorted(CASES['by_status'].items()))}")
    assert CASES["total"] >= MIN_CASES, CASES
    assert not any(status >= 500 for status in CASES["by_status"]), CASES
