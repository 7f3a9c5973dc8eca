"""The Messaging API v1 (host messaging.twilio.com, rebased like api.twilio.com: paths under
/v1/): Services create, list, fetch, update; a service's PhoneNumbers (its sender pool) add,
list, fetch, remove; its Compliance/Usa2p campaign list and fetch (read only: tests and the
control API set it through TwilioBackend.set_campaign)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request
from werkzeug.datastructures import MultiDict

from devstack.twilio.api.envelope import created, page_v1
from devstack.twilio.context import Standin
from devstack.twilio.errors import ERR_PHONE_NUMBER_INVALID, ApiError, not_found
from devstack.twilio.render import campaign_json, service_json, service_phone_number_json


def _form_bool(value: str) -> bool:
    return value.strip().lower() == "true"


# form parameter -> (attribute, conversion); an empty URL clears it, as on Twilio
_SERVICE_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "FriendlyName": ("friendly_name", str),
    "InboundRequestUrl": ("inbound_request_url", lambda v: v or None),
    "InboundMethod": ("inbound_method", str),
    "FallbackUrl": ("fallback_url", lambda v: v or None),
    "FallbackMethod": ("fallback_method", str),
    "StatusCallback": ("status_callback", lambda v: v or None),
    "StickySender": ("sticky_sender", _form_bool),
    "MmsConverter": ("mms_converter", _form_bool),
    "SmartEncoding": ("smart_encoding", _form_bool),
    "ScanMessageContent": ("scan_message_content", str),
    "FallbackToLongCode": ("fallback_to_long_code", _form_bool),
    "AreaCodeGeomatch": ("area_code_geomatch", _form_bool),
    "ValidityPeriod": ("validity_period", int),
    "SynchronousValidation": ("synchronous_validation", _form_bool),
    "Usecase": ("usecase", str),
    "UseInboundWebhookOnNumber": ("use_inbound_webhook_on_number", _form_bool),
}


def _service_fields(form: MultiDict) -> dict:
    return {attr: convert(form[key]) for key, (attr, convert) in _SERVICE_FIELDS.items() if key in form}


def create_service(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    fields = _service_fields(form)
    service = ctx.backend.add_service(fields.pop("friendly_name"), **fields)
    return created(service_json(ctx.backend.account_sid, service))


def list_services(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    with ctx.backend.lock:
        items = [service_json(ctx.backend.account_sid, s) for s in ctx.backend.services.values()]
    return jsonify(page_v1("services", items, args, request.path))


def fetch_service(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    return jsonify(service_json(ctx.backend.account_sid, ctx.backend.service(params["Sid"])))


def update_service(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    service = ctx.backend.update_service(params["Sid"], _service_fields(form))
    return jsonify(service_json(ctx.backend.account_sid, service))


def create_service_phone_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    backend, sid = ctx.backend, form.get("PhoneNumberSid", "")
    if not re.fullmatch(r"PN[0-9a-fA-F]{32}", sid):
        raise ApiError(400, ERR_PHONE_NUMBER_INVALID, f"Phone Number Sid {sid} is invalid.")
    if sid not in backend.numbers:  # a PN sid the account does not own
        raise not_found(f"/2010-04-01/Accounts/{backend.account_sid}/IncomingPhoneNumbers/{sid}.json")
    with backend.lock:
        number = backend.add_to_service(params["ServiceSid"], sid)
        service = backend.services[params["ServiceSid"]]
        return created(service_phone_number_json(backend.account_sid, service, number))


def list_service_phone_numbers(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    backend = ctx.backend
    with backend.lock:
        service = backend.service(params["ServiceSid"])
        items = [service_phone_number_json(backend.account_sid, service, n) for n in backend.senders(service)]
    return jsonify(page_v1("phone_numbers", items, args, request.path))


def fetch_service_phone_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    backend = ctx.backend
    with backend.lock:
        service = backend.service(params["ServiceSid"])
        number = backend.numbers.get(params["Sid"])
        if number is None or number.sid not in service.senders:
            raise not_found(request.path)
        return jsonify(service_phone_number_json(backend.account_sid, service, number))


def delete_service_phone_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    ctx.backend.remove_from_service(params["ServiceSid"], params["Sid"])
    return Response(status=204)


def list_us_app_to_person(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    backend = ctx.backend
    with backend.lock:
        service = backend.service(params["MessagingServiceSid"])
        items = [campaign_json(backend.account_sid, service.sid, service.campaign)] if service.campaign else []
    return jsonify(page_v1("compliance", items, args, request.path))


def fetch_us_app_to_person(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    backend = ctx.backend
    with backend.lock:
        service = backend.service(params["MessagingServiceSid"])
        if service.campaign is None or service.campaign.sid != params["Sid"]:
            raise not_found(request.path)
        return jsonify(campaign_json(backend.account_sid, service.sid, service.campaign))


OPERATIONS = {
    "CreateService": create_service,
    "ListService": list_services,
    "FetchService": fetch_service,
    "UpdateService": update_service,
    "CreatePhoneNumber": create_service_phone_number,
    "ListPhoneNumber": list_service_phone_numbers,
    "FetchPhoneNumber": fetch_service_phone_number,
    "DeletePhoneNumber": delete_service_phone_number,
    "ListUsAppToPerson": list_us_app_to_person,
    "FetchUsAppToPerson": fetch_us_app_to_person,
}
