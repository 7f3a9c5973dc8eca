"""The requests queue: other systems put JSON requests on it instead of
calling the API. Each is carried out exactly as the API would; one that can
never be honoured goes to the dead-letter queue with its reason and the chat
backend hears `request.rejected`. Nothing is dropped silently."""

from __future__ import annotations

from chalicelib.adapters.logs import logger
from chalicelib.config import QUEUE_MAX_RECEIVES
from chalicelib.core import events, request_body
from chalicelib.core.errors import BridgeError, bad_request
from chalicelib.core.message_rules import validate_text
from chalicelib.usecases import chat_events, sessions
from chalicelib.usecases.context import Context

MAX_RECEIVES = QUEUE_MAX_RECEIVES["requests"]  # the queue's redrive policy dead-letters after these
MAX_REQUEST_BYTES = request_body.MAX_BODY_BYTES  # as the API: larger requests are dead-lettered


def carry_out(ctx: Context, request: object, sqs_message_id: str) -> dict:
    if not isinstance(request, dict):
        raise bad_request("invalid_request", "a request must be a JSON object with a 'type'")
    kind = request.get("type")
    if kind == "message.send":
        validate_text(request.get("text"))  # refuse before opening a session for nothing
        session, _ = sessions.open_session(ctx, request)
        # Without a client_message_id the SQS message id keeps a redelivery from sending twice.
        client_id = request.get("client_message_id") or f"sqs:{sqs_message_id}"
        return sessions.send_message(ctx, session["session_id"], request.get("text"), client_id)
    if kind == "session.close":
        user_id = sessions.require_id(request, "user_id")
        partner_id = sessions.require_id(request, "partner_id")
        return {"closed": sessions.close_pair(ctx, user_id, partner_id)}
    raise bad_request("unknown_type", f"type must be 'message.send' or 'session.close', not {kind!r}")


def process_batch(ctx: Context, records: list[dict]) -> list[str]:
    failures = []
    for record in records:
        try:
            request = request_body.parse(record["body"], max_bytes=MAX_REQUEST_BYTES)  # as strict as the API
            carry_out(ctx, request, record["messageId"])
        except BridgeError as error:
            attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            if error.status >= 500 and attempts < MAX_RECEIVES:
                failures.append(record["messageId"])  # may work later (e.g. the pool grows)
                continue
            _reject(ctx, record, error)
        except Exception:
            logger.exception("request failed; it stays queued", extra={"sqs_message_id": record["messageId"]})
            failures.append(record["messageId"])
    return failures


def _reject(ctx: Context, record: dict, error: BridgeError) -> None:
    reason = f"{error.code}: {error.message}"
    ctx.queues.dead_letter_request(record["body"], record["messageId"], reason)
    chat_events.emit(
        ctx,
        events.REQUEST_REJECTED,
        record["messageId"],
        request_id=record["messageId"],
        reason=reason,
        code=error.code,
    )
    logger.info("request rejected", extra={"sqs_message_id": record["messageId"], "code": error.code})
