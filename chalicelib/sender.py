"""The outbound sender, fed by the FIFO queue (one group per pool number).

Each message goes through four steps: claim (queued -> sending, a conditional
write, so a second delivery of the same SQS message finds it taken), decide
(cancelled, expired, or go), send (Twilio), record (sid and status). A
message found in 'sending' was claimed by a sender that died; it is
reconciled with what Twilio has before anything is sent again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from chalicelib import clock, messages, phones, twilio_gateway
from chalicelib.config import settings
from chalicelib.db import condition_failed, get_or_none
from chalicelib.logs import logger, mask
from chalicelib.models import Message

DONE, RETRY = "done", "retry"


@dataclass(frozen=True)
class Job:
    message_id: str
    secret_text: str | None = None

    @classmethod
    def parse(cls, body: str) -> "Job":
        data = json.loads(body)
        return cls(message_id=data["message_id"], secret_text=data.get("secret_text"))


def process_batch(records: list[dict]) -> list[str]:
    """Handle one SQS batch; returns the messageIds to leave on the queue.

    Once a message of a group must wait, the rest of that group in the batch
    waits too, so a number's messages never overtake each other."""
    held_groups: set[str] = set()
    failures: list[str] = []
    for record in records:
        group = record.get("attributes", {}).get("MessageGroupId", "")
        if group in held_groups:
            failures.append(record["messageId"])
            continue
        try:
            outcome = send(Job.parse(record["body"]))
        except Exception:
            logger.exception("sender failed; the message stays queued", extra={"sqs_message_id": record["messageId"]})
            outcome = RETRY
        if outcome == RETRY:
            held_groups.add(group)
            failures.append(record["messageId"])
    return failures


def send(job: Job) -> str:
    message = _claim(job.message_id)
    if message is None:
        current = get_or_none(Message, job.message_id)
        if current is None or current.status != messages.SENDING:
            return DONE  # a duplicate delivery, or a message cancelled while queued
        message = current
        if _reconcile(message):
            return DONE
    body = job.secret_text or message.body
    if clock.now() - message.created_at > settings().message_validity_seconds:
        _finish(message, messages.FAILED, error_code="expired")
        return DONE
    try:
        sent = twilio_gateway.send_sms(
            from_=message.from_number,
            to=message.to_number,
            body=body,
            status_callback=settings().webhook_url(f"/twilio/status?message_id={message.message_id}"),
        )
    except twilio_gateway.TwilioError as error:
        if error.retryable:
            _unclaim(message)
            logger.warning("twilio send will be retried", extra={"message_id": message.message_id, "status": error.status})
            return RETRY
        _finish(message, messages.FAILED, error_code=str(error.code or error.status))
        if error.code == twilio_gateway.OPTED_OUT:
            phones.set_opted_out(message.to_number, True)
        return DONE
    _record_sent(message, sent)
    return DONE


def _claim(message_id: str) -> Message | None:
    message = Message(message_id=message_id)
    try:
        message.update(
            actions=[
                Message.status.set(messages.SENDING),
                Message.claimed_at.set(clock.now()),
                Message.attempts.add(1),
                Message.queued_user_id.remove(),
            ],
            condition=Message.status == messages.QUEUED,
        )
    except UpdateError as error:
        if condition_failed(error):
            return None
        raise
    return message


def _unclaim(message: Message) -> None:
    """Give a message back to the queue after a retryable failure."""
    actions = [Message.status.set(messages.QUEUED)]
    if message.user_id and message.kind == "chat":
        actions.append(Message.queued_user_id.set(message.user_id))
    message.update(actions=actions, condition=Message.status == messages.SENDING)


def _reconcile(message: Message) -> bool:
    """A message left in 'sending': record what Twilio has, if anything.
    True when Twilio had it (nothing more to send)."""
    since = message.claimed_at or message.created_at
    for sent in twilio_gateway.find_sent(from_=message.from_number, to=message.to_number, sent_on_or_after=since):
        if message.body is not None and sent.body == message.body:
            _record_sent(message, sent)
            logger.info("reconciled a send Twilio already had", extra={"message_id": message.message_id})
            return True
    return False


def _record_sent(message: Message, sent: twilio_gateway.SentMessage) -> None:
    recorded = [Message.twilio_sid.set(sent.sid), Message.sent_at.set(clock.now())]
    try:
        message.update(actions=[Message.status.set(messages.SENT), *recorded], condition=Message.status == messages.SENDING)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        # Twilio's status callback got here first and moved the status on: keep it.
        message.update(actions=recorded)
        return
    logger.info("sms sent", extra={"message_id": message.message_id, "to": mask(message.to_number)})
    messages.notify_status(message)


def _finish(message: Message, status: str, error_code: str) -> None:
    message.update(
        actions=[Message.status.set(status), Message.error_code.set(error_code)],
        condition=Message.status == messages.SENDING,
    )
    logger.info("sms not sent", extra={"message_id": message.message_id, "error_code": error_code})
    messages.notify_status(message)
