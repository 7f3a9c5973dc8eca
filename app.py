"""sms-bridge: routes and event handlers only. Each parses its input, calls one
domain function in chalicelib/ and shapes the answer."""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from chalice import Chalice, Rate, Response
from chalice.app import Request

from chalicelib import config
from chalicelib.adapters import aws, twilio_signature
from chalicelib.adapters.logs import correlated, logger
from chalicelib.core import identifiers, request_body
from chalicelib.core.errors import BridgeError, bad_request, unavailable
from chalicelib.usecases import (
    api_auth,
    autoscale,
    delivery,
    inbound,
    media,
    message_views,
    phones,
    pool_numbers,
    pool_usage,
    requests_consumer,
    sessions,
)
from chalicelib.usecases.context import Context
from chalicelib.usecases.sending import batch as sender
from chalicelib.wiring import production_context

app = Chalice(app_name="sms-bridge")

# Queue names are needed when Chalice reads the decorators (deploy and import),
# so they are read at import; the stage config sets them.
_QUEUES = config.load().queues
OUTBOUND_QUEUE = _QUEUES.outbound
DELIVERY_QUEUE = _QUEUES.delivery
REQUESTS_QUEUE = _QUEUES.requests

# Every dependency the handlers' use cases work with (usecases/context.py); its settings
# are taken again at the start of each invocation (`refresh_settings`).
context = production_context()


def configure(new_context: Context) -> None:
    """Use another context from now on (tests and simulations: a ManualClock, a fake Twilio)."""
    global context
    context = new_context


FORM = ["application/x-www-form-urlencoded"]
JSON_TYPES = ["application/json"]
# Chalice's own error codes, in openapi.yaml's error shape.
_CHALICE_ERRORS = {
    "BadRequestError": "bad_request",
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


@app.middleware("all")
def refresh_settings(event, get_response):
    """The settings of this invocation: Chalice's test client applies a stage's
    environment only while it runs one (config.py)."""
    context.refresh()
    return get_response(event)


@app.middleware("all")
def correlate_logs(event, get_response):
    """Every log line of an invocation carries the Lambda request id, and for an API
    call API Gateway's request id and the session or message it names."""
    lambda_context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    keys = {"lambda_request_id": getattr(lambda_context, "aws_request_id", None)}
    request_context = getattr(event, "context", None)
    if isinstance(request_context, dict):
        params = {**(getattr(event, "query_params", None) or {}), **(getattr(event, "uri_params", None) or {})}
        keys.update(
            api_request_id=request_context.get("requestId"),
            session_id=params.get("session_id"),
            message_id=params.get("message_id"),
        )
    with correlated(**keys):
        return get_response(event)


@app.middleware("http")
def authenticate_and_shape_errors(event, get_response):
    """Bearer token on every route but Twilio's and picture links; every error as {"error": {...}}."""
    try:
        if not event.path.startswith(("/twilio/", "/l/")):
            api_auth.require_bearer(context, event.headers.get("authorization"))
            _require_user_id((event.uri_params or {}).get("user_id"))
        response = get_response(event)
    except BridgeError as error:
        return Response(body=error.body(), status_code=error.status, headers=error.headers)
    except Exception:
        logger.exception("unhandled error")
        return _error(500, "internal_error", "the bridge failed to handle this request; it is safe to retry")
    if response.status_code >= 400 and isinstance(response.body, dict) and "Code" in response.body:
        code = _CHALICE_ERRORS.get(response.body["Code"], "bad_request")
        message = response.body.get("Message", "")
        if code == "unsupported_media_type":
            message += "; send a JSON body with Content-Type: application/json"
        if code == "internal_error":
            message = "the bridge failed to handle this request; it is safe to retry"
        return _error(response.status_code, code, message, response.headers)
    return response


def _require_user_id(user_id: str | None) -> None:
    """A user_id in the path follows the rule of one in a body (core/identifiers.py),
    checked on the segment as the handler got it: encoded or decoded, an odd one is refused."""
    if user_id is not None:
        identifiers.require_id(user_id, "user_id")


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return Response(body={"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _request() -> Request:
    """The request being handled (Chalice sets current_request before it calls a route)."""
    request = app.current_request
    if request is None:
        raise RuntimeError("no current request: only a route may read it")
    return request


def _json() -> dict:
    body = request_body.parse(_request().raw_body)  # strict, and held to its limits first
    if not isinstance(body, dict):
        raise bad_request("invalid_json", "the body must be a JSON object")
    return body


# --- phones -----------------------------------------------------------------


@app.route("/users/{user_id}/phone", methods=["PUT"], content_types=JSON_TYPES)
def put_phone(user_id):
    return Response(body=phones.hook_up(context, user_id, _json().get("phone")), status_code=202)


@app.route("/users/{user_id}/phone/verify", methods=["POST"], content_types=JSON_TYPES)
def verify_phone(user_id):
    return phones.verify(context, user_id, _json().get("code"))


@app.route("/users/{user_id}/phone", methods=["GET"])
def get_phone(user_id):
    return phones.describe(context, phones.get_user(context, user_id))


@app.route("/users/{user_id}/phone", methods=["DELETE"])
def delete_phone(user_id):
    phones.remove(context, user_id)
    return Response(body="", status_code=204)


@app.route("/users/{user_id}/presence", methods=["PUT"], content_types=JSON_TYPES)
def put_presence(user_id):
    return phones.set_presence(context, user_id, _json().get("away"))


# --- sessions -----------------------------------------------------------------


@app.route("/sessions", methods=["POST"], content_types=JSON_TYPES)
def open_session():
    session, created = sessions.open_session(context, _json())
    return Response(body=session, status_code=201 if created else 200)


@app.route("/sessions/{session_id}", methods=["GET"])
def get_session(session_id):
    # An expired session read here is closed now (and told), before the schedule's sweep.
    return sessions.describe(sessions.settle_expired(context, sessions.get(context, session_id)))


@app.route("/sessions/{session_id}", methods=["DELETE"])
def close_session(session_id):
    return sessions.describe(sessions.end(context, session_id))


@app.route("/users/{user_id}/sessions", methods=["GET"])
def list_sessions(user_id):
    return sessions.list_open(context, user_id)


# --- messages -----------------------------------------------------------------


@app.route("/sessions/{session_id}/messages", methods=["POST"], content_types=JSON_TYPES)
def send_message(session_id):
    body = _json()
    return Response(
        body=sessions.send_message(
            context, session_id, body.get("text"), body.get("client_message_id"), body.get("media_ids")
        ),
        status_code=202,
    )


@app.route("/media", methods=["POST"], content_types=JSON_TYPES)
def create_media():
    body = _json()
    return Response(body=media.create_upload(context, body.get("content_type"), body.get("size")), status_code=201)


@app.route("/l/{token}", methods=["GET", "HEAD"])
def open_media_link(token):
    """A picture's link (Twilio's MediaUrl; in an SMS where MMS cannot go): signed, short-lived, no token."""
    location = media.open_link(context, token, _request().method)
    return Response(body="", status_code=302, headers={"Location": location})


@app.route("/sessions/{session_id}/messages", methods=["GET"])
def list_messages(session_id):
    sessions.settle_expired(context, sessions.get(context, session_id))  # 404 for no such session
    query = app.current_request.query_params or {}
    return message_views.list_for_session(context, session_id, query.get("limit"), query.get("cursor"))


@app.route("/messages/{message_id}", methods=["GET"])
def get_message(message_id):
    return message_views.describe(context, message_views.get(context, message_id))


# --- pool ---------------------------------------------------------------------


@app.route("/numbers", methods=["GET"])
def list_numbers():
    return pool_numbers.list_numbers(context)


@app.route("/numbers", methods=["POST"], content_types=JSON_TYPES)
def add_number():
    return Response(body=pool_numbers.add(context, _json()), status_code=201)


@app.route("/numbers/{phone_number}/reactivate", methods=["POST"])
def reactivate_number(phone_number):
    return pool_numbers.clear_hold(context, phone_number)


@app.route("/numbers/{phone_number}", methods=["DELETE"])
def drain_number(phone_number):
    return Response(body=pool_numbers.drain(context, phone_number), status_code=202)


@app.route("/numbers/stats", methods=["GET"])
def number_stats():
    return pool_usage.stats(context, app.current_request.query_params or {})


@app.schedule(Rate(1, unit=Rate.MINUTES))
def autoscale_pool(event):
    """Every minute: sweep expired sessions, then grow or shrink the pool (docs/pool.md)."""
    return autoscale.autoscale(context)


# --- Twilio webhooks ----------------------------------------------------------


def _twilio_form() -> dict:
    request = _request()
    raw = request.raw_body or b""  # bytes, though Chalice annotates it str | bytes
    params = dict(parse_qsl(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"), keep_blank_values=True))
    query = dict(request.query_params or {})
    twilio_signature.require_valid_signature(
        context.settings.webhook_url(request.path),
        query,
        params,
        request.headers.get("x-twilio-signature"),
        context.secrets.get_list("TWILIO_AUTH_TOKEN"),
    )
    return params


@app.route("/twilio/sms", methods=["POST"], content_types=FORM)
def twilio_sms():
    twiml = inbound.receive_sms(context, _twilio_form())
    return Response(body=twiml, status_code=200, headers={"Content-Type": "text/xml"})


@app.route("/twilio/status", methods=["POST"], content_types=FORM)
def twilio_status():
    params = _twilio_form()
    inbound.delivery_status(context, (app.current_request.query_params or {}).get("message_id"), params)
    return Response(body="", status_code=204)


def _errors_as_responses(view):
    """Chalice answers any exception from a view with 500: a BridgeError becomes its
    own answer, and an AWS fault worth retrying becomes 503 + Retry-After (Twilio
    retries its webhooks on it)."""

    @functools.wraps(view)
    def answer(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except BridgeError as error:
            return Response(body=error.body(), status_code=error.status, headers=error.headers)
        except Exception as error:
            if not aws.is_transient_fault(error):
                raise
            logger.warning("AWS fault; answered 503", extra={"error": type(error).__name__})
            busy = unavailable()
            return Response(body=busy.body(), status_code=busy.status, headers=busy.headers)

    return answer


for _methods in app.routes.values():
    for _route in _methods.values():
        _route.view_function = _errors_as_responses(_route.view_function)


# --- queues -------------------------------------------------------------------


def _batch_result(failed_ids: list[str]) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed_ids]}


@app.on_sqs_message(queue=OUTBOUND_QUEUE, batch_size=10)
def send_outbound(event):
    return _batch_result(sender.process_batch(context, event.to_dict()["Records"], event.context))


@app.on_sqs_message(queue=DELIVERY_QUEUE, batch_size=10)
def deliver_events(event):
    return _batch_result(delivery.process_batch(context, event.to_dict()["Records"]))


@app.on_sqs_message(queue=REQUESTS_QUEUE, batch_size=10)
def handle_requests(event):
    return _batch_result(requests_consumer.process_batch(context, event.to_dict()["Records"]))
