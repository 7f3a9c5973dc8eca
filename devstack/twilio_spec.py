"""Check a request against Twilio's own OpenAPI descriptions of its 2010 REST API, its
Messaging API v1 and its Lookup API v2.

The descriptions are the cuts committed in twilio_oai/ (see twilio_oai/README.md). A path under
/2010-04-01/ is checked against the 2010 API (host api.twilio.com), a path under /v1/ against
the Messaging API (host messaging.twilio.com), a path under /v2/ against the Lookup API (host
lookups.twilio.com); only the path matters, so a request rebased onto
a local stand-in validates the same as one to Twilio. Tests and the
local Twilio stand-in call `validate_request` so that a request Twilio would reject fails here
first, with an explanation a person can act on.

On top of the spec, this module enforces the rules Twilio applies that the spec does not
express (a message needs a sender and some content, a body is at most 1600 characters), and
rejects form or query parameters the spec does not declare: Twilio silently ignores those,
which would hide a typo such as `StatusCallBack`.

Public API:
    validate_request(method, url, headers, body)   raises TwilioSpecError(message, status, code)
    assert_valid_prepared(prepared_request)        the same for a requests.PreparedRequest
    validate_response(method, url, status, headers, body)   answers shaped as the spec says
    match_operation(method, path)                  -> OperationMatch(operation_id, ...) | None
    recording_http_client(validate=True)           twilio-python HttpClient that records
                                                   (and checks) requests instead of sending
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathError
from openapi_core.validation.request import exceptions as request_errors
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_DIR = Path(__file__).resolve().parent.parent / "twilio_oai"
SPEC_PATH = SPEC_DIR / "twilio_api_v2010.json"
MESSAGING_SPEC_PATH = SPEC_DIR / "twilio_messaging_v1.json"
LOOKUPS_SPEC_PATH = SPEC_DIR / "twilio_lookups_v2.json"
# which spec a path belongs to: (path prefix, spec name, what to call it in errors)
API = "api_v2010"
MESSAGING = "messaging_v1"
LOOKUPS = "lookups_v2"
SPECS = {
    API: (SPEC_PATH, "/2010-04-01/", "Twilio's 2010 API"),
    MESSAGING: (MESSAGING_SPEC_PATH, "/v1/", "Twilio's Messaging API v1"),
    LOOKUPS: (LOOKUPS_SPEC_PATH, "/v2/", "Twilio's Lookup API v2"),
}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_CHARS = 1600  # Twilio error 21617 beyond this
MESSAGES_CREATE_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
LOOKUP_PATH = "/v2/PhoneNumbers/{PhoneNumber}"
# The data packages Lookup v2 knows (its Fields parameter's description); any other is a 60200.
# Lookup v2's data packages (absent from the answer unless asked for in Fields).
LOOKUP_PACKAGES = (
    "caller_name",
    "sim_swap",
    "call_forwarding",
    "line_status",
    "line_type_intelligence",
    "identity_match",
    "reassigned_number",
    "sms_pumping_risk",
    "phone_number_quality_score",
    "pre_fill",
)
LOOKUP_FIELDS = frozenset(("validation", *LOOKUP_PACKAGES))

# Twilio's error codes for what this module detects (https://www.twilio.com/docs/api/errors).
CODE_INVALID_PARAMETER = 20001  # Twilio's generic "invalid/unknown parameter"
CODE_AUTHENTICATE = 20003
CODE_NOT_FOUND = 20404
CODE_METHOD_NOT_ALLOWED = 20004
CODE_BODY_REQUIRED = 21602
CODE_FROM_REQUIRED = 21603
CODE_TO_REQUIRED = 21604
CODE_BODY_TOO_LONG = 21617
CODE_PHONE_NUMBER_INVALID = 21421  # also: an invalid PhoneNumberSid added to a service
CODE_MESSAGING_SERVICE_INVALID = 21705  # a MessagingServiceSid that is not MG + 32 hex
CODE_LOOKUP_INVALID_PARAMETER = 60200  # Lookup: "Invalid parameter"


class TwilioSpecError(ValueError):
    """A request Twilio's API would refuse.

    `status` and `code` are what Twilio would answer (HTTP status, Twilio error code), so a
    stand-in can reply like Twilio; `str(error)` says what was wrong.
    """

    def __init__(self, message: str, *, status: int = 400, code: int = CODE_INVALID_PARAMETER):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


_spec_lock = threading.Lock()
_validation_lock = threading.Lock()
_specs: dict[str, OpenAPI] = {}
_raw_specs: dict[str, dict] = {}


def spec_name_for(path: str) -> str:
    """Which spec describes a path: MESSAGING for /v1/..., LOOKUPS for /v2/..., API (the 2010
    API) otherwise."""
    for name in (MESSAGING, LOOKUPS):
        if path.startswith(SPECS[name][1]):
            return name
    return API


def load_spec(name: str = API) -> OpenAPI:
    """A parsed spec (API, MESSAGING or LOOKUPS), loaded once per process."""
    with _spec_lock:
        if name not in _specs:
            # json.load + from_dict: openapi-core's file loader chokes on the spec's escaped emoji.
            with SPECS[name][0].open(encoding="utf-8") as f:
                raw = json.load(f)
            _specs[name] = OpenAPI.from_dict(raw)
            _raw_specs[name] = raw
        return _specs[name]


def _raw_spec(name: str) -> dict:
    load_spec(name)
    return _raw_specs[name]


def _server_url(name: str = API) -> str:
    return _raw_spec(name)["servers"][0]["url"]


class _SpecRequest:
    """openapi-core's Request protocol for any host: the spec's server stands in for the real
    scheme+host, so a request to the stand-in on http://127.0.0.1:8010 validates the same as
    one to https://api.twilio.com (https://messaging.twilio.com for a /v1/ path,
    https://lookups.twilio.com for a /v2/ one)."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str] | Headers, body: bytes | None):
        parts = urlsplit(url)
        self.method = method.lower()
        self.path = parts.path
        self.spec_name = spec_name_for(self.path)
        self.host_url = _server_url(self.spec_name)
        self.body = body
        header_map = Headers(list(headers.items()))
        self.content_type = (header_map.get("Content-Type") or "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(_pairs(parts.query)),
            header=header_map,
            cookie=ImmutableMultiDict(),
        )


def _pairs(urlencoded: str) -> list[tuple[str, str]]:
    return [(k, v) for k, values in parse_qs(urlencoded, keep_blank_values=True).items() for v in values]


def _as_bytes(body: bytes | str | None) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body if body else None
    return body.encode("utf-8") or None


def validate_request(method: str, url: str, headers: Mapping[str, str] | Headers, body: bytes | str | None) -> None:
    """Raise TwilioSpecError unless Twilio's API would accept this request.

    `url` may point at any host; only its path and query are checked. `body` is the raw form
    body (application/x-www-form-urlencoded) or None.
    """
    raw_body = _as_bytes(body)
    request = _SpecRequest(method, url, headers, raw_body)
    spec = load_spec(request.spec_name)
    where = f"{method.upper()} {request.path}"

    # Validate only (no unmarshalling): openapi-core has no unmarshaller for Twilio's custom
    # formats such as "phone-number", and the stand-in reads the raw form anyway.
    with _validation_lock:  # the stand-in serves threads; openapi-core's caches are shared
        errors = list(spec.iter_request_errors(request))
    for error in errors:
        if isinstance(error, OperationNotFound):
            raise TwilioSpecError(
                f"{where}: Twilio's API has no {method.upper()} on this path", status=405, code=CODE_METHOD_NOT_ALLOWED
            )
        if isinstance(error, PathError):
            raise TwilioSpecError(
                f"{where}: not a path of {SPECS[request.spec_name][2]} that "
                f"this project uses (see twilio_oai/README.md)",
                status=404,
                code=CODE_NOT_FOUND,
            )
        if isinstance(error, request_errors.SecurityValidationError):
            raise TwilioSpecError(f"{where}: {_explain(error)}", status=401, code=CODE_AUTHENTICATE)
    if errors:
        raise TwilioSpecError(f"{where}: " + "; ".join(_explain(e) for e in errors), code=_code_for(errors))

    operation_path = _operation_path(request.path)
    _reject_undeclared_parameters(where, operation_path, method.lower(), request, raw_body)
    form = dict(_pairs(raw_body.decode("utf-8"))) if raw_body else {}
    if operation_path == MESSAGES_CREATE_PATH and method.lower() == "post":
        _check_message_create(where, form)
    if operation_path == LOOKUP_PATH:
        _check_lookup_fields(where, [v for k, v in _pairs(urlsplit(url).query) if k == "Fields"])


def assert_valid_prepared(prepared_request) -> None:
    """validate_request for a requests.PreparedRequest (what twilio-python sends)."""
    validate_request(prepared_request.method, prepared_request.url, prepared_request.headers, prepared_request.body)


class _SpecResponse:
    """openapi-core's Response protocol for a recorded answer."""

    def __init__(self, status_code: int, headers: Mapping[str, str], body: bytes | None):
        self.status_code = status_code
        self.headers = Headers(list(headers.items()))
        self.content_type = (self.headers.get("Content-Type") or "").lower()
        self.data = body


def validate_response(
    method: str, url: str, status_code: int, headers: Mapping[str, str], body: bytes | str | None
) -> None:
    """Raise TwilioSpecError unless the answer matches what the spec says Twilio answers to
    this request (status, content type, JSON schema): how the stand-in's answers are checked
    to be shaped like Twilio's. Error answers (4xx/5xx) are not described by the spec."""
    request = _SpecRequest(method, url, {"Authorization": "Basic eDp5"}, None)
    spec = load_spec(request.spec_name)
    response = _SpecResponse(status_code, headers, _as_bytes(body))
    with _validation_lock:
        errors = list(spec.iter_response_errors(request, response))
    if errors:
        raise TwilioSpecError(
            f"answer {status_code} to {method.upper()} {request.path}: "
            + "; ".join(_explain_response(e) for e in errors)
        )


def _explain_response(error: Exception) -> str:
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if schema_errors:
        return "; ".join(_schema_error_text(e) for e in schema_errors)
    return f"{error} {cause or ''}".strip()


def _explain(error: Exception) -> str:
    """One readable sentence for an openapi-core validation error."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    details = "; ".join(_schema_error_text(e) for e in schema_errors) if schema_errors else ""
    if isinstance(error, request_errors.MissingRequiredParameter):
        return f"missing required {error.name!s} parameter"
    if isinstance(error, request_errors.InvalidParameter):
        return f"invalid {error.location} parameter {error.name}: {details or cause}"
    if isinstance(error, request_errors.MissingRequiredRequestBody):
        return "missing request body (form parameters)"
    if isinstance(error, request_errors.RequestBodyValidationError):
        if details:
            return f"invalid form parameters: {details}"
        if "mimetype" in str(cause):
            return f"request body not accepted: {cause} (Twilio wants {FORM_CONTENT_TYPE})"
        return f"invalid form parameters: {cause or error}"
    if isinstance(error, request_errors.SecurityValidationError):
        return "missing HTTP basic auth (AccountSid:AuthToken)"
    return str(error)


def _schema_error_text(schema_error) -> str:
    where = "/".join(str(p) for p in schema_error.absolute_path)
    return f"{where}: {schema_error.message}" if where else schema_error.message


def _code_for(errors: Iterable[Exception]) -> int:
    text = " ".join(_explain(e) for e in errors)
    if "'To' is a required property" in text:
        return CODE_TO_REQUIRED
    if "PhoneNumberSid:" in text:
        return CODE_PHONE_NUMBER_INVALID
    if "MessagingServiceSid:" in text:
        return CODE_MESSAGING_SERVICE_INVALID
    return CODE_INVALID_PARAMETER


class OperationMatch(NamedTuple):
    operation_id: str  # Twilio's operationId, e.g. "CreateMessage"
    path_template: str  # e.g. "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json"
    path_params: dict  # e.g. {"AccountSid": "AC...", "Sid": "SM..."}
    # which spec (API, MESSAGING, LOOKUPS): operationIds repeat across them (FetchPhoneNumber)
    spec: str = API


def match_operation(method: str, path: str) -> OperationMatch | None:
    """Which of the specs' operations a method and concrete path name, or None."""
    for template, item in _raw_spec(spec_name_for(path))["paths"].items():
        pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        found = re.fullmatch(pattern, path)
        if found and method.lower() in item:
            return OperationMatch(item[method.lower()]["operationId"], template, found.groupdict(), spec_name_for(path))
    return None


def _operation_path(path: str) -> str | None:
    """The spec's path template (e.g. .../Messages/{Sid}.json) that a concrete path matches."""
    for template in _raw_spec(spec_name_for(path))["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return template
    return None


def _operation(operation_path: str, method: str) -> dict:
    return _raw_spec(spec_name_for(operation_path))["paths"][operation_path][method]


def _resolve(operation_path: str, node: dict) -> dict:
    """node, or what its local $ref (e.g. #/components/parameters/X) points at."""
    ref = node.get("$ref")
    if not ref:
        return node
    target = _raw_spec(spec_name_for(operation_path))
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _reject_undeclared_parameters(
    where: str, operation_path: str | None, method: str, request: _SpecRequest, raw_body: bytes | None
) -> None:
    if operation_path is None:
        return
    operation = _operation(operation_path, method)
    parameters = [_resolve(operation_path, p) for p in operation.get("parameters", ())]
    declared_query = {p["name"] for p in parameters if p["in"] == "query"}
    unknown_query = sorted(set(request.parameters.query) - declared_query)
    if unknown_query:
        raise TwilioSpecError(
            f"{where}: query parameter(s) {', '.join(unknown_query)} not in "
            f"Twilio's spec (known: {', '.join(sorted(declared_query))})"
        )
    if raw_body:
        schema = operation.get("requestBody", {}).get("content", {}).get(FORM_CONTENT_TYPE, {}).get("schema", {})
        declared_form = set(schema.get("properties", {}))
        sent = {k for k, _ in _pairs(raw_body.decode("utf-8"))}
        unknown_form = sorted(sent - declared_form)
        if unknown_form:
            raise TwilioSpecError(
                f"{where}: form parameter(s) {', '.join(unknown_form)} not in Twilio's spec for this operation"
            )


def _check_message_create(where: str, form: Mapping[str, str]) -> None:
    """Rules Twilio enforces on Messages create that its spec does not encode."""
    if not form.get("From") and not form.get("MessagingServiceSid"):
        raise TwilioSpecError(
            f"{where}: a 'From' phone number or a 'MessagingServiceSid' is required", code=CODE_FROM_REQUIRED
        )
    if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
        raise TwilioSpecError(
            f"{where}: a message needs a 'Body' (or 'MediaUrl'/'ContentSid')", code=CODE_BODY_REQUIRED
        )
    if len(form.get("Body", "")) > MAX_BODY_CHARS:
        raise TwilioSpecError(
            f"{where}: 'Body' is {len(form['Body'])} characters; Twilio accepts at most {MAX_BODY_CHARS}",
            code=CODE_BODY_TOO_LONG,
        )


def _check_lookup_fields(where: str, fields: list[str]) -> None:
    """Lookup's Fields is a comma-separated list of its data packages (the spec types it as a
    string only)."""
    asked = [name.strip() for value in fields for name in value.split(",")]
    unknown = sorted({name for name in asked if name not in LOOKUP_FIELDS})
    if unknown:
        raise TwilioSpecError(
            f"{where}: Fields names no Lookup data package {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(LOOKUP_FIELDS))})",
            code=CODE_LOOKUP_INVALID_PARAMETER,
        )


def _list_key(path: str) -> str | None:
    """The key twilio-python reads records from in a list page (None for a single resource):
    .../IncomingPhoneNumbers.json -> incoming_phone_numbers, .../Local.json ->
    available_phone_numbers, /v1/Services/MG.../PhoneNumbers -> phone_numbers,
    .../Compliance/Usa2p -> compliance, .../Messages/SM<32 hex>.json -> None."""
    name = path.rsplit("/", 1)[-1].removesuffix(".json")
    if spec_name_for(path) == LOOKUPS:  # a phone number's lookup: one resource
        return None
    if re.fullmatch(r"[A-Z]{2}[0-9a-fA-F]{32}", name):
        return None
    if name == "Local":
        return "available_phone_numbers"
    if name == "Usa2p":
        return "compliance"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _default_twilio_answer(prepared) -> tuple[int, str]:
    """A minimal answer twilio-python can parse, so calls return instead of raising."""
    if prepared.method == "DELETE":
        return 204, ""
    path = urlsplit(prepared.url).path
    list_key = _list_key(path)
    if prepared.method == "GET" and list_key:
        if spec_name_for(path) == MESSAGING:  # v1 pages: records under meta.key
            return 200, json.dumps({list_key: [], "meta": {"key": list_key, "next_page_url": None}})
        return 200, json.dumps({list_key: [], "next_page_uri": None})
    return 200, "{}"


def recording_http_client(validate: bool = True, respond=_default_twilio_answer):
    """A twilio-python HttpClient that sends nothing: it prepares each request exactly as
    TwilioHttpClient does, keeps it in `.requests` (requests.PreparedRequest objects), checks
    it with assert_valid_prepared when `validate` is true (raising TwilioSpecError from the
    twilio call), and answers with respond(prepared) -> (status, body).

        http = recording_http_client()
        Client(account_sid, auth_token, http_client=http).messages.create(to=..., ...)
        http.requests[-1]  # what twilio-python would have sent
    """
    # Imported here: twilio is a runtime dependency, but importing it costs tens of ms.
    import logging

    import requests
    from twilio.http import HttpClient
    from twilio.http.response import Response

    class RecordingHttpClient(HttpClient):
        def __init__(self):
            super().__init__(logging.getLogger("devstack.twilio_spec"), False, None)
            self.requests = []
            self._session = requests.Session()

        def request(
            self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
        ):
            # Same shaping as TwilioHttpClient.request (JSON only for JSON content types).
            kwargs = {"method": method.upper(), "url": url, "params": params, "headers": headers, "auth": auth}
            if headers and headers.get("Content-Type") in ("application/json", "application/scim+json"):
                kwargs["json"] = data
            else:
                kwargs["data"] = data
            prepared = self._session.prepare_request(requests.Request(**kwargs))
            self.requests.append(prepared)
            if validate:
                assert_valid_prepared(prepared)
            status, body = respond(prepared)
            return Response(status, body)

    return RecordingHttpClient()
