"""The published list prices every harness bills with (prices.json: AWS in US East, Twilio's
US SMS), with the assumptions a bill needs that no run measures."""

from __future__ import annotations

import json
from pathlib import Path

PRICES: dict = json.loads(Path(__file__).with_name("prices.json").read_text())
