"""`make pool-report`: the pool's cost report (GET /numbers/stats) as a table.

    .venv/bin/python scripts/pool_report.py [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]

The bridge's URL and token come from --url/--token, else BRIDGE_URL and
BRIDGE_TOKEN, else the local stack's defaults (`make run`: http://127.0.0.1:
$API_PORT, the first of $API_TOKENS).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import requests


def fetch(url: str, token: str, first: str | None, last: str | None) -> dict:
    params = {key: value for key, value in (("from", first), ("to", last)) if value}
    try:
        answer = requests.get(
            f"{url.rstrip('/')}/numbers/stats", params=params, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
    except requests.RequestException as error:
        raise SystemExit(
            f"the bridge does not answer at {url} ({type(error).__name__}); start it with `make run`, "
            "or set BRIDGE_URL and BRIDGE_TOKEN"
        ) from None
    if answer.status_code != 200:
        try:
            error = answer.json()["error"]
            detail = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            detail = answer.text[:200]
        raise SystemExit(f"GET /numbers/stats answered {answer.status_code}: {detail}")
    return answer.json()


def _lookups(counts: dict, prices: dict) -> str:
    return ", ".join(f"{n} {field} at ${prices.get(field, 0)}" for field, n in counts.items()) or "none"


def render(report: dict) -> str:
    period, prices, cost = report["period"], report["prices"], report["estimated_cost_usd"]
    states = report["numbers_by_state"]
    lines = [
        f"Pool report {period['from']} .. {period['to']}",
        f"numbers: {states['active']} active, {states['draining']} draining, {states['released']} released",
        "",
        "rentals per month (Twilio bills a full month at purchase and each renewal)",
    ]
    lines += [
        f"  {m['month']}  {m['rentals']:>4} number-months  ${m['cost_usd']:>9.2f}" for m in report["rentals_by_month"]
    ]
    lines += ["", f"  {'number':<16} {'status':<9} {'area':<5} {'rent':>4} {'seg out':>9} {'seg in':>9} {'cost $':>10}"]
    for row in sorted(report["numbers"], key=lambda r: -r["segments_sent"]):
        lines.append(
            f"  {row['phone_number']:<16} {row['status']:<9} {row['area_code'] or '-':<5} {row['rentals']:>4} "
            f"{row['segments_sent']:>9} {row['segments_received']:>9} {row['estimated_cost_usd']:>10.2f}"
        )
    totals = report["totals"]
    lines += [
        f"  {'total':<16} {'':<9} {'':<5} {'':>4} {totals['segments_sent']:>9} {totals['segments_received']:>9} "
        f"{cost['total']:>10.2f}",
        "",
        f"MMS: {totals.get('mms_sent', 0)} sent, {totals.get('mms_received', 0)} received (not in the segments)",
        f"estimated Twilio cost: ${cost['total']:.2f} = rentals ${cost['rentals']:.2f} + segments out "
        f"${cost['segments_sent']:.2f} + segments in ${cost['segments_received']:.2f} + MMS out "
        f"${cost.get('mms_sent', 0):.2f} + MMS in ${cost.get('mms_received', 0):.2f} + lookups "
        f"${cost.get('lookups', 0):.2f} ({_lookups(totals.get('lookups') or {}, prices.get('lookup_usd') or {})})",
        f"prices: ${prices['number_month_usd']}/number-month, ${prices['segment_out_usd']}/segment out, "
        f"${prices['segment_in_usd']}/segment in, ${prices.get('mms_out_usd')}/MMS out, "
        f"${prices.get('mms_in_usd')}/MMS in (carrier fees not included)",
    ]
    month = report["this_month"]
    budget = month["monthly_budget_usd"]
    lines.append(
        f"this month's rental bill if the pool stays as it is: {month['rentals']} number-months, "
        f"${month['rental_usd']:.2f}" + (f" of a ${budget:.2f} budget" if budget is not None else " (no budget set)")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The pool's cost report (GET /numbers/stats).")
    parser.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (default: the 1st of this month)")
    parser.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (default: today)")
    parser.add_argument(
        "--url", default=os.environ.get("BRIDGE_URL") or f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("BRIDGE_TOKEN")
        or (os.environ.get("API_TOKENS") or "local-dev-token").split(",")[0].strip(),
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = fetch(args.url, args.token, args.first, args.last)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
