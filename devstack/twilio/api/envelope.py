"""What every Twilio API answer is wrapped in: the error JSON, 201 Created, and each API's
paging envelope (the 2010 API's uris, the Messaging API's meta)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, jsonify
from werkzeug.datastructures import MultiDict

from devstack.twilio.errors import ApiError
from devstack.twilio.render import MESSAGING_BASE_URL


def twilio_error(status: int, code: int, message: str, **extra) -> Response:
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    payload.update(extra)
    response = jsonify(payload)
    response.status_code = status
    return response


def error_answer(error: ApiError) -> Response:
    return twilio_error(error.status, error.code, error.message)


def created(payload: dict) -> Response:
    response = jsonify(payload)
    response.status_code = 201
    return response


def page_2010(key: str, items: list[dict], args: MultiDict, path: str, filters: list[tuple[str, str]]) -> dict:
    """The 2010 API's paging envelope around items (already filtered, in answer order)."""
    page_size = int(args.get("PageSize", 50))
    page = int(args.get("Page", 0))
    start = page * page_size
    chunk = items[start : start + page_size]

    def uri(page_number: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
        if token:
            query.append(("PageToken", token))
        return f"{path}?{urlencode(query)}"

    has_next = start + page_size < len(items)
    return {
        key: chunk,
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if has_next else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": uri(page),
    }


def page_v1(key: str, items: list[dict], args: MultiDict, path: str) -> dict:
    """The Messaging API's paging envelope (records under `key`, links under meta)."""
    page_size = int(args.get("PageSize", 50))
    page = int(args.get("Page", 0))
    start = page * page_size
    chunk = items[start : start + page_size]

    def url(page_number: int) -> str:
        query = urlencode([("PageSize", page_size), ("Page", page_number)])
        return f"{MESSAGING_BASE_URL}{path}?{query}"

    return {
        key: chunk,
        "meta": {
            "first_page_url": url(0),
            "key": key,
            "next_page_url": url(page + 1) if start + page_size < len(items) else None,
            "page": page,
            "page_size": page_size,
            "previous_page_url": url(page - 1) if page > 0 else None,
            "url": url(page),
        },
    }
