"""The 2010 API's IncomingPhoneNumbers (buy, list, fetch, update, release) and
AvailablePhoneNumbers/Local (search)."""

from __future__ import annotations

import re

from flask import Response, jsonify, request
from werkzeug.datastructures import MultiDict

from devstack.twilio.api.envelope import created, page_2010
from devstack.twilio.context import Standin
from devstack.twilio.errors import not_found
from devstack.twilio.phone_numbers import contains_pattern
from devstack.twilio.render import available_number_json, incoming_number_json

# form parameter -> IncomingNumber attribute
_NUMBER_FIELDS = {
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
}


def list_incoming_numbers(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    filters = [(k, args[k]) for k in ("PhoneNumber", "FriendlyName") if k in args]
    digits = re.sub(r"\D", "", args.get("PhoneNumber", ""))
    with ctx.backend.lock:
        numbers = list(ctx.backend.numbers.values())
    selected = [
        n
        for n in numbers
        if digits in re.sub(r"\D", "", n.phone_number) and args.get("FriendlyName", n.friendly_name) == n.friendly_name
    ]
    items = [incoming_number_json(ctx.backend.account_sid, n) for n in selected]
    return jsonify(page_2010("incoming_phone_numbers", items, args, request.path, filters))


def create_incoming_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    fields = {attr: form[key] for key, attr in _NUMBER_FIELDS.items() if key in form}
    number = ctx.backend.buy_number(form.get("PhoneNumber"), form.get("AreaCode"), **fields)
    return created(incoming_number_json(ctx.backend.account_sid, number))


def fetch_incoming_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    number = ctx.backend.numbers.get(params["Sid"])
    if number is None:
        raise not_found(request.path)
    return jsonify(incoming_number_json(ctx.backend.account_sid, number))


def update_incoming_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    # An empty SmsUrl/StatusCallback clears it, as on Twilio.
    fields = {attr: form[key] or None for key, attr in _NUMBER_FIELDS.items() if key in form}
    number = ctx.backend.update_number(params["Sid"], fields)
    if number is None:
        raise not_found(request.path)
    return jsonify(incoming_number_json(ctx.backend.account_sid, number))


def delete_incoming_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    if ctx.backend.remove_number(params["Sid"]) is None:
        raise not_found(request.path)
    return Response(status=204)


def list_available_local(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    numbers = ctx.backend.available_numbers(params["CountryCode"].upper(), args.get("AreaCode"))
    if args.get("SmsEnabled", "true").lower() == "false":
        numbers = []  # every stand-in number can do SMS
    if "Contains" in args:
        pattern = contains_pattern(args["Contains"])
        numbers = [n for n in numbers if pattern.search(n.lstrip("+"))]
    page_size = int(args.get("PageSize", 50))
    return jsonify(
        {
            "available_phone_numbers": [available_number_json(n) for n in numbers[:page_size]],
            "uri": request.full_path.rstrip("?"),
        }
    )


OPERATIONS = {
    "ListIncomingPhoneNumber": list_incoming_numbers,
    "CreateIncomingPhoneNumber": create_incoming_number,
    "FetchIncomingPhoneNumber": fetch_incoming_number,
    "UpdateIncomingPhoneNumber": update_incoming_number,
    "DeleteIncomingPhoneNumber": delete_incoming_number,
    "ListAvailablePhoneNumberLocal": list_available_local,
}
