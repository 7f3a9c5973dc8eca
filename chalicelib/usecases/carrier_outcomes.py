"""What a carrier outcome does beyond the message (core/carrier_errors.py classifies).

Fed by the sender (an error Twilio answered the send with) and by the status
callback (an error the carrier reported later), so both paths have one effect:
- the phone cannot get SMS: its failures in a row are counted on the Phone item; at
  PHONE_FAILURE_THRESHOLD it is unreachable (new sends 409 phone_unreachable, the
  user's queued SMS fail, the chat backend gets `phone.unreachable` with the open
  sessions) until it is verified again; a delivered SMS resets the count;
- the pool number or the account is at fault: metric PoolNumberFaults (alarmed in
  infra/template.py) and the number is held back from new sessions until
  `POST /numbers/{n}/reactivate`;
- opted out (21610): as a STOP.
"""

from __future__ import annotations

from chalicelib.adapters import metrics
from chalicelib.adapters.logs import logger, mask
from chalicelib.config import settings
from chalicelib.core import carrier_errors, events
from chalicelib.core.message_rules import FAILED
from chalicelib.store.conditional import get_or_none, update_if
from chalicelib.store.models import POOL, Phone, PoolNumber, Session
from chalicelib.usecases import chat_events, messages, opt_out
from chalicelib.usecases.context import Context
from chalicelib.usecases.reachability import phone_state

UNREACHABLE_ERROR = "phone_unreachable"


def apply(ctx: Context, error_code: object, *, to_number: str, from_number: str | None, cause: str) -> str:
    """Act on a failed outbound SMS's Twilio error code; returns its class. `cause`
    (the message id) makes the events' ids, so a retried callback repeats nothing new."""
    kind = carrier_errors.classify(error_code)
    if kind == carrier_errors.PHONE:
        phone_failed(ctx, to_number, str(error_code), cause)
    elif kind == carrier_errors.POOL and from_number:
        hold_back(ctx, from_number, str(error_code))
    elif kind == carrier_errors.OPTED_OUT:
        opt_out.set_opted_out(ctx, to_number, True)
    return kind


def delivered(phone: str, now: float) -> None:
    """A delivered SMS: the phone gets SMS, its failures in a row start again. Nearly every
    phone has none to clear, so a read tells first: it costs a fraction of the write that
    the condition would fail."""
    stored = get_or_none(Phone, phone)
    if stored is None or not stored.delivery_failures:
        return
    update_if(stored, [Phone.delivery_failures.set(0), Phone.updated_at.set(int(now))], Phone.delivery_failures > 0)


def phone_failed(ctx: Context, phone: str, code: str, cause: str) -> None:
    now = int(ctx.now())
    item = Phone(phone)
    item.update(actions=[Phone.delivery_failures.add(1), Phone.updated_at.set(now)])
    if int(item.delivery_failures or 0) < settings().phone_failure_threshold or item.unreachable:
        return
    if not update_if(item, [Phone.unreachable.set(True)], ~Phone.unreachable.exists() | (Phone.unreachable == False)):  # noqa: E712
        return  # another failure marked it first
    owner = phone_state(phone)
    user_id = owner.user_id if owner else None
    logger.warning(
        "phone unreachable after repeated carrier failures",
        extra={"phone": mask(phone), "error_code": code, "failures": int(item.delivery_failures)},
    )
    if not user_id:
        return
    messages.cancel_queued_for_user(ctx, user_id, status=FAILED, error_code=UNREACHABLE_ERROR)
    open_sessions = [s.session_id for s in Session.open_sessions_by_user.query(user_id)]
    chat_events.emit(
        ctx,
        events.PHONE_UNREACHABLE,
        cause,
        user_id=user_id,
        session_ids=open_sessions,
        error_code=code,
        error_reason=carrier_errors.reason(code),
    )


def hold_back(ctx: Context, pool_number: str, code: str) -> bool:
    """Keep a pool number from new sessions after a pool/account fault; True when newly held."""
    metrics.count(metrics.POOL_NUMBER_FAULTS)
    held = update_if(
        PoolNumber(POOL, pool_number),
        [PoolNumber.held_back.set(f"{code}: {carrier_errors.reason(code)}"), PoolNumber.held_at.set(int(ctx.now()))],
        PoolNumber.phone_number.exists() & PoolNumber.held_back.does_not_exist(),
    )
    if held:
        logger.error(
            "pool number held back from new sessions: Twilio error %s (%s); fix the cause, then "
            "POST /numbers/%s/reactivate (make doctor says what is wrong)",
            code,
            carrier_errors.reason(code),
            pool_number,
            extra={"pool_number": mask(pool_number)},
        )
    return held
