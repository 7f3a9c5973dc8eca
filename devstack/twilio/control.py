"""The control API under /_standin/ (JSON in and out; errors as {"error": {"code", "message"}}):
what tests, the local stack, the demo and the phone page use to set the stand-in up, look
inside it, text from a simulated phone and inject faults. Routes in the module docstring of
devstack.twilio."""

from __future__ import annotations

import base64

from flask import Flask, Response, jsonify, request

from devstack.twilio import phone_page
from devstack.twilio.api.dispatch import OPERATIONS
from devstack.twilio.api.envelope import created
from devstack.twilio.context import Standin
from devstack.twilio.delivery import PhoneTexted
from devstack.twilio.errors import ApiError
from devstack.twilio.faults import fault_from_json
from devstack.twilio.media import new_media
from devstack.twilio.phone_numbers import parse_e164
from devstack.twilio.render import campaign_json, incoming_number_json, message_json, service_json
from devstack.twilio.resources import LINE_TYPES, MessagingService

# what POST /_standin/services takes of a service's own settings
_SERVICE_SETTINGS = (
    "inbound_request_url",
    "inbound_method",
    "status_callback",
    "use_inbound_webhook_on_number",
    "advanced_opt_out",
    "sticky_sender",
)


def control_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _json_body() -> dict:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


def service_view(ctx: Standin, service: MessagingService) -> dict:
    """A service for the control API: Twilio's JSON plus its pool, campaign and the stand-in's
    own advanced_opt_out flag."""
    sid = ctx.backend.account_sid
    view = service_json(sid, service)
    view["phone_numbers"] = [n.phone_number for n in ctx.backend.senders(service)]
    view["campaign"] = campaign_json(sid, service.sid, service.campaign) if service.campaign else None
    view["advanced_opt_out"] = service.advanced_opt_out
    return view


def texted_view(ctx: Standin, texted: PhoneTexted) -> dict:
    sid, webhook = ctx.backend.account_sid, texted.webhook
    return {
        "message": message_json(sid, texted.message),
        "webhook": None if webhook is None else {k: webhook[k] for k in ("url", "status", "body", "error")},
        "replies": [message_json(sid, r) for r in texted.replies],
        "blocked_replies": texted.blocked_replies,
    }


def register_control_api(app: Flask, ctx: Standin) -> None:
    _register_numbers_and_services(app, ctx)
    _register_phones(app, ctx)
    _register_faults_and_logs(app, ctx)


def _register_numbers_and_services(app: Flask, ctx: Standin) -> None:
    backend = ctx.backend

    @app.get("/_standin/numbers")
    def list_numbers():
        with backend.lock:
            return jsonify(
                {"numbers": [incoming_number_json(backend.account_sid, n) for n in backend.numbers.values()]}
            )

    @app.post("/_standin/numbers")
    def seed_number():
        payload = _json_body()
        if payload.get("phone_number"):
            phone = parse_e164(payload["phone_number"], "US")
            if phone is None:
                return control_error(400, "invalid_phone", f"{payload['phone_number']!r} is not a valid phone number")
        else:
            available = backend.available_numbers(payload.get("country", "US"), payload.get("area_code"))
            if not available:
                return control_error(409, "no_numbers", "no number available for that search")
            phone = available[0]
        existing = backend.number_by_phone(phone)
        if existing is not None:
            return control_error(409, "already_owned", f"{phone} is already owned ({existing.sid})")
        number = backend.add_number(
            phone,
            sms_url=payload.get("sms_url"),
            sms_method=payload.get("sms_method", "POST"),
            status_callback=payload.get("status_callback"),
            friendly_name=payload.get("friendly_name"),
        )
        return created(incoming_number_json(backend.account_sid, number))

    @app.put("/_standin/area_codes/<area_code>")
    def set_area_code(area_code):
        available = bool(_json_body().get("available", True))
        backend.set_area_code_available(area_code, available)
        return jsonify({"area_code": area_code, "available": available})

    @app.get("/_standin/services")
    def list_services_control():
        with backend.lock:
            return jsonify({"services": [service_view(ctx, s) for s in backend.services.values()]})

    @app.post("/_standin/services")
    def add_service_control():
        payload = _json_body()
        fields = {key: payload[key] for key in _SERVICE_SETTINGS if key in payload}
        service = backend.add_service(str(payload.get("friendly_name", "sms-bridge")), **fields)
        try:
            for phone in payload.get("numbers", ()):
                backend.add_to_service(service.sid, parse_e164(phone, "US") or phone)
            if payload.get("campaign_status"):
                backend.set_campaign(
                    service.sid, payload["campaign_status"], payload.get("rate_limits"), **_use_case(payload)
                )
        except ApiError as error:
            return control_error(error.status, str(error.code), error.message)
        except ValueError as error:
            return control_error(400, "invalid_campaign", str(error))
        with backend.lock:
            return created(service_view(ctx, service))

    @app.put("/_standin/services/<sid>")
    def update_service_control(sid):
        payload = _json_body()
        try:
            with backend.lock:
                service = backend.service(sid)
                for phone in payload.get("add_numbers", ()):
                    backend.add_to_service(sid, parse_e164(phone, "US") or phone)
                if "advanced_opt_out" in payload:
                    service.advanced_opt_out = bool(payload["advanced_opt_out"])
                if "campaign_status" in payload:
                    if payload["campaign_status"] is None:
                        backend.clear_campaign(sid)
                    else:
                        backend.set_campaign(
                            sid, payload["campaign_status"], payload.get("rate_limits"), **_use_case(payload)
                        )
                backend.notify()
                return jsonify(service_view(ctx, service))
        except ApiError as error:
            return control_error(error.status, str(error.code), error.message)
        except ValueError as error:
            return control_error(400, "invalid_campaign", str(error))

    @app.put("/_standin/tmobile")
    def set_tmobile():
        """T-Mobile's daily cap on the brand (null: the campaign's tier's)."""
        cap = _json_body().get("daily_cap")
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap <= 0):
            return control_error(400, "invalid_cap", 'send {"daily_cap": <a positive whole number> or null}')
        with backend.lock:
            backend.carriers.daily_cap = cap
            backend.notify()
            return jsonify(phone_page.carrier_view(backend))

    @app.put("/_standin/a2p")
    def set_a2p():
        with backend.lock:
            backend.require_a2p = bool(_json_body().get("required", True))
            backend.notify()
            return jsonify({"required": backend.require_a2p})


def _register_phones(app: Flask, ctx: Standin) -> None:
    backend = ctx.backend

    @app.get("/_standin/overview")
    def overview():
        return jsonify(dict(phone_page.overview(backend, ctx.queue_depth), chat_page_url=ctx.chat_page_url))

    @app.get("/_standin/phones")
    def list_phones():
        return jsonify({"phones": [phone_page.phone_view(backend, p) for p in phone_page.phones_seen(backend)]})

    @app.put("/_standin/phones/<phone>")
    def update_phone(phone):
        e164 = parse_e164(phone, "US")
        if e164 is None:
            return control_error(400, "invalid_phone", f"{phone!r} is not a valid phone number")
        payload = _json_body()
        try:
            line = _phone_line(payload)
        except ValueError as error:
            return control_error(400, "invalid_line", str(error))
        backend.set_phone(
            e164, opted_out=_flag(payload, "opted_out"), unreachable=_flag(payload, "unreachable"), line=line
        )
        return jsonify(phone_page.phone_view(backend, e164))

    @app.post("/_standin/phones/<phone>/send")
    def send_from_phone(phone):
        payload = _json_body()
        e164 = parse_e164(phone, "US")
        if e164 is None:
            return control_error(400, "invalid_phone", f"{phone!r} is not a valid phone number")
        to = parse_e164(str(payload.get("to", "")), "US")
        body = payload.get("body", "")
        try:
            media = [
                new_media(m["content_type"], base64.b64decode(m["data_base64"])) for m in payload.get("media") or []
            ]
        except (KeyError, TypeError, ValueError):
            media = None
        if to is None or not isinstance(body, str) or media is None or not (body or media):
            return control_error(
                400,
                "invalid_request",
                'send {"to": "<pool number>", "body": "<text>", "media": [{"content_type", "data_base64"}]}',
            )
        try:
            return jsonify(texted_view(ctx, ctx.delivery.text_from_phone(e164, to, body, media)))
        except LookupError as error:
            return control_error(404, "unknown_pool_number", str(error))

    @app.get("/_standin/media/<message_sid>/<media_sid>")
    def media_for_page(message_sid, media_sid):
        """A medium's bytes for the phone page (a local control, like the page itself)."""
        message = backend.messages.get(message_sid)
        found = next((m for m in message.phone_media if m.sid == media_sid), None) if message else None
        if found is None:
            return control_error(404, "not_found", "no such media")
        return Response(found.content, mimetype=found.content_type)


def _use_case(payload: dict) -> dict:
    """The campaign's us_app_to_person_usecase, when the control API sets it (`use_case`)."""
    return {"us_app_to_person_usecase": str(payload["use_case"])} if payload.get("use_case") else {}


def _flag(payload: dict, key: str) -> bool | None:
    return bool(payload[key]) if key in payload else None


def _phone_line(payload: dict) -> dict[str, object]:
    """What Lookup is to answer of the phone, as PUT /_standin/phones/<phone> takes it."""
    line: dict[str, object] = {}
    if "line_type" in payload:
        if payload["line_type"] not in LINE_TYPES:
            raise ValueError(f"line_type must be one of Twilio's: {', '.join(LINE_TYPES)}")
        line["line_type"] = payload["line_type"]
    if "carrier" in payload:
        if payload["carrier"] is not None and not isinstance(payload["carrier"], str):
            raise ValueError("carrier must be a carrier's name or null")
        line["carrier"] = payload["carrier"]
    if "sms_pumping_risk" in payload:
        risk = payload["sms_pumping_risk"]
        if not isinstance(risk, int) or isinstance(risk, bool) or not 0 <= risk <= 100:
            raise ValueError("sms_pumping_risk must be a whole number from 0 to 100")
        line["sms_pumping_risk"] = risk
    return line


def _register_faults_and_logs(app: Flask, ctx: Standin) -> None:
    backend = ctx.backend

    @app.get("/_standin/faults")
    def list_faults():
        return jsonify({"faults": [f.to_json() for f in ctx.faults.listed()]})

    @app.post("/_standin/faults")
    def add_fault():
        try:
            fault = fault_from_json(_json_body(), OPERATIONS)
        except ValueError as error:
            return control_error(400, "invalid_fault", str(error))
        return created({"fault": ctx.faults.add(fault).to_json()})

    @app.delete("/_standin/faults")
    def clear_faults():
        ctx.faults.clear()
        return Response(status=204)

    @app.get("/_standin/messages")
    def all_messages():
        with backend.lock:
            return jsonify({"messages": [message_json(backend.account_sid, m) for m in backend.messages.values()]})

    @app.get("/_standin/requests")
    def list_requests():
        with backend.lock:
            return jsonify({"requests": list(backend.requests)})

    @app.delete("/_standin/requests")
    def clear_requests():
        backend.clear_requests()
        return Response(status=204)

    @app.get("/_standin/callbacks")
    def list_callbacks():
        with backend.lock:
            return jsonify({"callbacks": list(backend.callbacks)})

    @app.post("/_standin/reset")
    def reset():
        ctx.reset()
        return Response(status=204)
