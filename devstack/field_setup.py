"""The field setup of the local stack (issue 26): at the Twilio stand-in, a Messaging Service
whose US A2P 10DLC campaign is VERIFIED, with the rate limits Twilio reports for it, so the
pool's numbers join its sender pool when the bridge adopts them, as in production. Without it
(STANDIN_MESSAGING_SERVICE=off) the numbers send as plain numbers, which US carriers block."""

from __future__ import annotations

# The campaign Twilio reports for a low-volume standard brand: AT&T allows 4 message
# segments a second (class E), T-Mobile caps the brand's day by its tier (LOW: 2,000).
FIELD_CAMPAIGN_RATE_LIMITS: dict[str, dict[str, object]] = {
    "att": {"mps": 4, "msg_class": "E"},
    "tmobile": {"brand_tier": "LOW"},
}
FIELD_SERVICE_NAME = "sms-bridge (local)"


def set_up_service(backend) -> str:
    """Create the service and its VERIFIED campaign at the stand-in's backend; its sid."""
    service = backend.add_service(FIELD_SERVICE_NAME)
    backend.set_campaign(service.sid, "VERIFIED", FIELD_CAMPAIGN_RATE_LIMITS)
    return service.sid


def describe(own_sid: str | None, configured_sid: str | None) -> str:
    """The banner's line: the stand-in's own service, one the operator named, or none."""
    if own_sid:
        mps = FIELD_CAMPAIGN_RATE_LIMITS["att"]["mps"]
        tier = FIELD_CAMPAIGN_RATE_LIMITS["tmobile"]["brand_tier"]
        return (
            f"{own_sid}, A2P 10DLC campaign VERIFIED (AT&T {mps} segments/s, "
            f"T-Mobile tier {tier}): the pool's numbers are its senders"
        )
    if configured_sid:
        return f"{configured_sid} (TWILIO_MESSAGING_SERVICE_SID)"
    return "none (STANDIN_MESSAGING_SERVICE=off): plain numbers, which US carriers block (30034)"
