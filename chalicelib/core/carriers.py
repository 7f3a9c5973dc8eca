"""Which carrier a phone is on, as far as the bridge's rules go (pure).

Lookup v2 names a phone's carrier in `line_type_intelligence.carrier_name` ("T-Mobile USA,
Inc.", "Sprint Spectrum, L.P.", "Metro by T-Mobile", ...); a 30023 from Twilio teaches it as
TMOBILE_CARRIER_NAME. T-Mobile's daily cap covers Sprint and MetroPCS too (Twilio: "T-Mobile
(including Sprint and MetroPCS)"), since T-Mobile runs their networks.
"""

from __future__ import annotations

# What a phone's carrier is recorded as when only a 30023 said it (Lookup's own spelling).
TMOBILE_CARRIER_NAME = "T-Mobile USA, Inc."

_TMOBILE_NETWORKS = ("t-mobile", "tmobile", "sprint", "metropcs", "metro by t-mobile")


def is_tmobile(carrier_name: str | None) -> bool:
    """The carrier is on T-Mobile's network (so T-Mobile's daily cap counts its SMS)."""
    if not carrier_name:
        return False
    name = carrier_name.strip().lower()
    return any(network in name for network in _TMOBILE_NETWORKS)
