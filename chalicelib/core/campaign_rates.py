"""The send rate of a US A2P 10DLC campaign, from what Twilio reports of it (pure)."""

from __future__ import annotations

from collections.abc import Mapping


def campaign_segments_per_second(rate_limits: Mapping[str, object] | None) -> float | None:
    """The campaign's rate Twilio reports (the campaign's `rate_limits`, by carrier): the
    smallest per-second figure of a carrier (AT&T's 'mps'), or None when Twilio reports
    none (T-Mobile has a daily cap instead)."""
    rates = []
    for limits in (rate_limits or {}).values():
        if isinstance(limits, Mapping):
            mps = limits.get("mps")
            if isinstance(mps, (int, float)) and not isinstance(mps, bool) and mps > 0:
                rates.append(float(mps))
    return min(rates) if rates else None
