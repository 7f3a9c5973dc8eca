"""What a carrier outcome does beyond the message (core/carrier_errors.py classifies).

Fed by the sender (an error Twilio answered the send with) and by the status
callback (an error the carrier reported later), so both paths have one effect:
- the phone cannot get SMS: its failures in a row are counted with the phone; at
  PHONE_FAILURE_THRESHOLD it is unreachable (new sends 409 phone_unreachable, the
  user's queued SMS fail, the chat backend gets `phone.unreachable` with the open
  sessions) until it is verified again; a delivered SMS resets the count;
- the pool number or the account is at fault: metric PoolNumberFaults (alarmed in
  infra/template.py) and the number is held back from new sessions until
  `POST /numbers/{n}/reactivate`;
- opted out (21610): as a STOP;
- T-Mobile's daily cap reached (30023): the phone is learned as T-Mobile's when its carrier
  was unknown, and the day's count is full (usecases/tmobile_cap.py).
"""

from __future__ import annotations

from chalicelib.adapters.logs import logger, mask
from chalicelib.adapters.metrics import POOL_NUMBER_FAULTS
from chalicelib.core import carrier_errors, events
from chalicelib.core.message_rules import FAILED
from chalicelib.usecases import chat_events, messages, opt_out, tmobile_cap
from chalicelib.usecases.context import Context

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
    elif kind == carrier_errors.TMOBILE_CAP:
        tmobile_cap.learned(ctx, to_number, ctx.now())
    return kind


def delivered(ctx: Context, phone: str) -> None:
    """A delivered SMS: the phone gets SMS, its failures in a row start again."""
    ctx.store.phones.clear_failures(phone, int(ctx.now()))


def phone_failed(ctx: Context, phone: str, code: str, cause: str) -> None:
    failed = ctx.store.phones.count_failure(phone, int(ctx.now()))
    if failed.delivery_failures < ctx.settings.phone_failure_threshold or failed.unreachable:
        return
    if not ctx.store.phones.mark_unreachable(phone):
        return  # another failure marked it first
    owner = ctx.store.phones.phone(phone)
    user_id = owner.user_id if owner else None
    logger.warning(
        "phone unreachable after repeated carrier failures",
        extra={"phone": mask(phone), "error_code": code, "failures": failed.delivery_failures},
    )
    if not user_id:
        return
    messages.cancel_queued_for_user(ctx, user_id, status=FAILED, error_code=UNREACHABLE_ERROR)
    open_sessions = [s.session_id for s in ctx.store.sessions.open_of_user(user_id)]
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
    ctx.metrics.count(POOL_NUMBER_FAULTS)
    held = ctx.store.pool.hold_back(pool_number, f"{code}: {carrier_errors.reason(code)}", int(ctx.now()))
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
