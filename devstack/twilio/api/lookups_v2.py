"""The Lookup API v2 (host lookups.twilio.com, rebased like api.twilio.com: paths under /v2/):
a phone number's basic lookup, with its line type and carrier (line_type_intelligence) and its
SMS pumping risk (sms_pumping_risk) when asked in Fields; each phone's answers are set through
the control API or the phone page (TwilioBackend.set_phone), else a mobile phone by default."""

from __future__ import annotations

from flask import Response, jsonify
from werkzeug.datastructures import MultiDict

from devstack.twilio.context import Standin
from devstack.twilio.phone_numbers import parse_e164
from devstack.twilio.render import lookup_json


def fetch_phone_number(ctx: Standin, params: dict, args: MultiDict, form: MultiDict) -> Response:
    asked = {name.strip() for value in args.getlist("Fields") for name in value.split(",")}
    phone = parse_e164(params["PhoneNumber"], args.get("CountryCode") or "US")
    line = ctx.backend.line_of(phone) if phone else None
    return jsonify(lookup_json(phone or params["PhoneNumber"], line, asked))


OPERATIONS = {"FetchPhoneNumber": fetch_phone_number}
