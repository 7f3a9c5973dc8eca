"""What a Twilio error code on an outbound SMS means for the message, the phone and
the pool (pure; README "Carrier outcomes" is the same table for operators).

- PHONE: the phone cannot get SMS; after PHONE_FAILURE_THRESHOLD such failures in a
  row it is unreachable until verified again (usecases/carrier_outcomes.py).
- POOL: the pool number or the account is at fault: a metric and an alarm, and the
  number gets no new sessions until an operator reactivates it.
- OPTED_OUT: the phone texted STOP (21610).
- TMOBILE_CAP: T-Mobile's daily cap on the brand is reached (30023): the phone is on
  T-Mobile (learned when unknown) and the day's count is full (core/tmobile_cap.py).
- UNKNOWN: the carrier said nothing useful (30008): the message is final; the chat
  backend decides whether to send it again (the bridge never resends on its own: a
  resend could reach the phone twice).
- OTHER: a code with no effect beyond the message's own failure.
"""

from __future__ import annotations

from chalicelib.core import tmobile_cap

PHONE, POOL, OPTED_OUT, UNKNOWN, OTHER = "phone", "pool", "opted_out", "unknown", "other"
TMOBILE_CAP = "tmobile_cap"

# code -> (class, short reason for the chat backend's message.status event)
OUTCOMES: dict[str, tuple[str, str]] = {
    "30003": (PHONE, "phone unreachable (off or out of coverage)"),
    "30005": (PHONE, "unknown or inactive phone number"),
    "30006": (PHONE, "landline or carrier cannot receive SMS"),
    "30007": (POOL, "carrier filtered the message as spam"),
    "30034": (POOL, "sending number not registered to an approved A2P 10DLC campaign"),
    "30032": (POOL, "toll-free sending number not verified"),
    "21408": (POOL, "sending to this region is not enabled on the Twilio account"),
    "21610": (OPTED_OUT, "phone opted out (texted STOP)"),
    "30008": (UNKNOWN, "unknown carrier error"),
    "30023": (TMOBILE_CAP, "T-Mobile's daily cap for the brand is reached (resets at midnight Pacific)"),
}

# The bridge's own reasons a message failed (not Twilio codes).
BRIDGE_REASONS = {
    "expired": "not sent within MESSAGE_VALIDITY_SECONDS",
    "phone_unreachable": "phone unreachable after repeated carrier failures; verify it again",
    "no_body": "nothing to send",
}


def classify(code: object) -> str:
    return OUTCOMES.get(str(code), (OTHER, ""))[0] if code else OTHER


def reason(code: object, at: float | None = None) -> str | None:
    """A short reason for a Twilio error code, None without one; a 30023 failed at epoch `at`
    says when the cap resets."""
    if not code:
        return None
    if at is not None and str(code) == tmobile_cap.DAILY_CAP_ERROR:
        return tmobile_cap.reason(at)
    known = OUTCOMES.get(str(code)) or BRIDGE_REASONS.get(str(code))
    if known:
        return known[1] if isinstance(known, tuple) else known
    return f"Twilio error {code}" if str(code).isdigit() else str(code).replace("_", " ")
