"""Opt-out: the words that change it, where it is kept, and what follows.

STOP and its synonyms opt a phone out of every SMS from the bridge, START and
its synonyms back in (Twilio's own opt-out handling answers them on long
codes; Twilio also reports 21610 for a send to an opted-out phone). The state
lives with the phone (store/phones.py), so it outlives the owner's hook-up. Opting out fails
every message still queued for the owner with 21610, and the chat backend is
told.
"""

from __future__ import annotations

from chalicelib.adapters.logs import logger, mask
from chalicelib.core.message_rules import FAILED
from chalicelib.usecases import messages
from chalicelib.usecases.context import Context

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
OPTED_OUT_ERROR = "21610"  # Twilio's code for a send to a phone that texted STOP


def keyword_choice(text: str, opt_out_type: str | None = None) -> bool | None:
    """True: the SMS opts out; False: it opts back in; None: neither. Twilio's
    OptOutType (STOP, START, HELP), when the webhook carries it, decides: with
    Advanced Opt-Out the service's own keywords (in any language) count too."""
    kind = (opt_out_type or "").strip().upper()
    if kind:
        return True if kind == "STOP" else False if kind == "START" else None
    keyword = text.strip().upper()
    if keyword in OPT_OUT_WORDS:
        return True
    if keyword in OPT_IN_WORDS:
        return False
    return None


def set_opted_out(ctx: Context, phone: str, opted_out: bool) -> str | None:
    """Record a STOP/START (or Twilio's 21610); returns the owning user's id, if any."""
    user_id = ctx.store.phones.set_opted_out(phone, opted_out, int(ctx.now())).user_id
    if opted_out and user_id:
        messages.cancel_queued_for_user(ctx, user_id, status=FAILED, error_code=OPTED_OUT_ERROR)
    logger.info("phone opt-out changed", extra={"phone": mask(phone), "opted_out": opted_out})
    return user_id
