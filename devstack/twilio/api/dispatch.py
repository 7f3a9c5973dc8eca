"""Every Twilio API request, answered as Twilio does: HTTP basic auth with the account's
credentials, then validation against Twilio's OpenAPI description (devstack.twilio_spec), then
the handler named by the request's operationId, with any fault injected around it. Each
request is logged in the backend (what it asked, what it got, and why it was refused)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from flask import Response, request
from werkzeug.datastructures import MultiDict

from devstack.twilio.api import lookups_v2, messages, messaging_v1, numbers
from devstack.twilio.api.envelope import error_answer, twilio_error
from devstack.twilio.backend import TwilioBackend
from devstack.twilio.context import Standin
from devstack.twilio.errors import ERR_AUTHENTICATE, ERR_INTERNAL, ApiError, not_found
from devstack.twilio.faults import FAULT_CODES, FAULT_MESSAGES, Fault
from devstack.twilio_spec import API, LOOKUPS, MESSAGING, TwilioSpecError, match_operation, validate_request

Handler = Callable[[Standin, dict, MultiDict, MultiDict], Response]
# Each API's handlers by operationId (operationIds repeat across APIs: FetchPhoneNumber).
HANDLERS: dict[str, dict[str, Handler]] = {
    API: {**messages.OPERATIONS, **numbers.OPERATIONS},
    MESSAGING: {**messaging_v1.OPERATIONS},
    LOOKUPS: {**lookups_v2.OPERATIONS},
}
# What a fault may name: an operationId (of whichever API has it).
OPERATIONS = frozenset(name for handlers in HANDLERS.values() for name in handlers)
# The path prefix of each API served (api.twilio.com's 2010 API, messaging.twilio.com's v1,
# lookups.twilio.com's v2).
API_PREFIXES = ("/2010-04-01", "/v1", "/v2")


def authorized(backend: TwilioBackend) -> bool:
    auth = request.authorization
    return bool(
        auth
        and auth.type == "basic"
        and hmac.compare_digest(auth.username or "", backend.account_sid)
        and hmac.compare_digest(auth.password or "", backend.auth_token)
    )


def unauthorized() -> Response:
    response = twilio_error(401, ERR_AUTHENTICATE, "Authenticate", detail="Your AccountSid or AuthToken was incorrect.")
    response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def handle(ctx: Standin) -> Response:
    """Answer the Flask request being served, and log it."""
    raw_body = request.get_data(cache=True)
    query = request.query_string.decode("utf-8")
    form = (
        MultiDict(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
        if request.mimetype == "application/x-www-form-urlencoded"
        else MultiDict()
    )
    args = MultiDict(parse_qsl(query, keep_blank_values=True))
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": args.to_dict(flat=False),
        "form": form.to_dict(flat=False),
        "status": None,
        "at": ctx.backend.clock().isoformat(),
        # Who asked: twilio-python (the bridge) or a test's own client, told apart by tests.
        "user_agent": request.headers.get("User-Agent", ""),
    }
    response = _answer(ctx, raw_body, query, args, form, entry)
    entry["status"] = response.status_code
    ctx.backend.log_request(entry)
    return response


def _answer(ctx: Standin, raw_body: bytes, query: str, args: MultiDict, form: MultiDict, entry: dict) -> Response:
    if not authorized(ctx.backend):
        return unauthorized()
    url = request.path + (f"?{query}" if query else "")
    try:
        validate_request(request.method, url, request.headers, raw_body)
    except TwilioSpecError as error:
        entry["spec_error"] = error.message
        return twilio_error(error.status, error.code, error.message)
    operation = match_operation(request.method, request.path)
    if operation is None:  # validate_request has answered 404/405 for those
        raise RuntimeError(f"{request.method} {request.path}: no operation matches a validated request")
    entry["operation"] = operation.operation_id
    # 2010 API paths name the account; Messaging API paths do not (auth alone decides)
    if operation.path_params.get("AccountSid", ctx.backend.account_sid) != ctx.backend.account_sid:
        return error_answer(not_found(request.path))

    fault = ctx.faults.take(operation.operation_id)
    if fault is not None:
        entry["fault"] = fault.to_json()
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)  # a slow Twilio, on purpose
        if fault.status and not fault.applied:
            return fault_answer(fault)
    try:
        response = HANDLERS[operation.spec][operation.operation_id](ctx, operation.path_params, args, form)
    except ApiError as error:
        response = error_answer(error)
    if fault is not None and fault.status and fault.applied:
        return fault_answer(fault)  # the operation happened, the caller never learns it
    return response


def fault_answer(fault: Fault) -> Response:
    status = fault.status
    if status is None:
        raise ValueError(f"fault {fault.to_json()} has no status to answer with")
    response = twilio_error(status, FAULT_CODES.get(status, ERR_INTERNAL), FAULT_MESSAGES.get(status, "Error"))
    if status == 429:
        response.headers["Retry-After"] = "1"
    return response
