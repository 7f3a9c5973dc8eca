"""`make doctor`: does what real SMS traffic needs hold? A checklist, with the fix for each failure.

    .venv/bin/python scripts/doctor.py              # against `make run` (the local stack)
    .venv/bin/python scripts/doctor.py --stage dev  # against a deployed stage (AWS credentials needed)

Checks, in order (README "make doctor"):
 1. Twilio credentials: the account answers an authenticated request.
 2. TWILIO_MESSAGING_SERVICE_SID is set, and the Messaging Service exists.
 3. The service defers incoming SMS to the numbers' webhooks (no inbound_request_url of its own
    while use_inbound_webhook_on_number is false).
 4. The service has an approved (VERIFIED) US A2P 10DLC campaign when the pool has US long codes;
    its carrier side (scripts/doctor_carriers.py): the use case, AT&T's rate and T-Mobile's tier
    with the daily cap they mean, today's count against that cap, the numbers in the campaign
    against their cap (49, 1 for a sole proprietor, 400 a service), and that a pool of proxy
    numbers past 49 needs an approved Number Pool.
 5. PUBLIC_BASE_URL reaches this stage's API (Twilio signs webhooks against it; numbers point at it).
 6. Every pool number is owned by the account, a sender of the service, not held back by a
    carrier fault, and its SmsUrl and StatusCallback point at TWILIO_WEBHOOK_BASE_URL (the
    stage's webhook endpoint; PUBLIC_BASE_URL unless set).
 7. The stage's AWS resources (tables, queues) exist.
Exit status: 0 when every check passed, 1 when something would fail real traffic.

Local: Twilio is the stand-in at TWILIO_API_BASE_URL (default http://127.0.0.1:$STANDIN_PORT),
the API at PUBLIC_BASE_URL (default http://127.0.0.1:$API_PORT) with the first of API_TOKENS,
AWS is moto at AWS_ENDPOINT_URL (default http://127.0.0.1:$MOTO_PORT). A stage: its stack's
EndpointURL, the API function's environment, the SSM parameters under /sms-bridge/<stage>/.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.adapters.twilio import TwilioError
from scripts import doctor_carriers, doctor_targets
from scripts.doctor_targets import Target

APPROVED = "VERIFIED"
CONSOLE_SERVICES = "Twilio Console > Messaging > Services"
CONSOLE_A2P = "Twilio Console > Messaging > Regulatory Compliance > A2P 10DLC"


@dataclass
class Check:
    title: str
    ok: bool
    detail: str = ""
    fix: str = ""


def examine(target: Target) -> list[Check]:
    checks: list[Check] = []
    owned = _credentials(target, checks)
    service = _service(target, checks)
    numbers = _api(target, checks)
    if service is not None:
        _inbound(service, checks)
        _campaign(target, numbers, checks)
    if numbers is not None and owned is not None:
        _pool_numbers(target, numbers, owned, checks)
    _aws(target, checks)
    return checks


def _credentials(target: Target, checks: list[Check]):
    try:
        owned = {n.phone_number: n for n in target.twilio.owned_numbers()}
    except TwilioError as error:
        checks.append(
            Check(
                "Twilio credentials",
                False,
                str(error),
                "set TWILIO_ACCOUNT_SID and the auth token (SSM /sms-bridge/<stage>/twilio-auth-token; "
                "locally TWILIO_AUTH_TOKEN) to the account's values (Twilio Console > Account > API keys & tokens)",
            )
        )
        return None
    checks.append(Check("Twilio credentials", True, f"the account answers ({len(owned)} numbers)"))
    return owned


def _service(target: Target, checks: list[Check]):
    title = "Messaging Service exists"
    if not target.service_sid:
        checks.append(
            Check(
                title,
                False,
                "TWILIO_MESSAGING_SERVICE_SID is not set: numbers send outside any "
                "service and US carriers block them (30034)",
                f"create a service ({CONSOLE_SERVICES} > Create), register its A2P 10DLC campaign, then "
                "set TWILIO_MESSAGING_SERVICE_SID=MG... (make deploy TWILIO_MESSAGING_SERVICE_SID=MG...)",
            )
        )
        return None
    try:
        service = target.twilio.fetch_service(target.service_sid)
    except TwilioError as error:
        checks.append(
            Check(
                title,
                False,
                f"{target.service_sid}: {error}",
                f"TWILIO_MESSAGING_SERVICE_SID must name a service of this account ({CONSOLE_SERVICES})",
            )
        )
        return None
    checks.append(Check(title, True, f"{service.sid} ({service.friendly_name})"))
    return service


def _inbound(service, checks: list[Check]) -> None:
    title = "service defers incoming SMS to the numbers' webhooks"
    if service.inbound_request_url and not service.use_inbound_webhook_on_number:
        checks.append(
            Check(
                title,
                False,
                f"the service sends incoming SMS to {service.inbound_request_url}, so replies never reach /twilio/sms",
                f"{CONSOLE_SERVICES} > {service.friendly_name} > Integration > Incoming Messages: "
                "'Defer to sender's webhook' (the bridge also sets it when it adds a number, "
                "unless TWILIO_SERVICE_CONFIGURE_INBOUND=false)",
            )
        )
    else:
        checks.append(Check(title, True))


def _campaign(target: Target, numbers: list[dict] | None, checks: list[Check]) -> None:
    title = "approved US A2P 10DLC campaign"
    try:
        campaigns = target.twilio.us_campaigns(target.service_sid)
    except TwilioError as error:
        checks.append(Check(title, False, str(error), "retry; check the credentials"))
        return
    approved = [c for c in campaigns if c.campaign_status == APPROVED]
    if approved:
        checks.append(Check(title, True, f"{approved[0].sid} is {APPROVED}"))
        doctor_carriers.examine(target, approved[0], lambda *fields: checks.append(Check(*fields)))
        return
    us_long_codes = [
        n for n in numbers or [] if n["phone_number"].startswith("+1") and not _toll_free(n["phone_number"])
    ]
    detail = (
        f"the campaign is {campaigns[0].campaign_status}, not approved"
        if campaigns
        else "the service has no US A2P 10DLC campaign"
    )
    checks.append(
        Check(
            title,
            False,
            f"{detail}: SMS from its US numbers fail with 30034, and US numbers are "
            f"not bought ({len(us_long_codes)} US long codes in the pool)",
            f"register a brand and a campaign for this service in {CONSOLE_A2P}; wait for VERIFIED "
            "(docs/deploy.md, 'Twilio side')",
        )
    )


def _toll_free(phone: str) -> bool:
    return phone[2:5] in ("800", "833", "844", "855", "866", "877", "888")


def _api(target: Target, checks: list[Check]) -> list[dict] | None:
    title = "PUBLIC_BASE_URL reaches this stage's API"
    try:
        numbers = target.list_numbers()
    except Exception as error:  # unreachable, refused, not our API
        fix = (
            "start the bridge (make run)"
            if target.api_url is None
            else (
                f"set PUBLIC_BASE_URL to the stage's API URL ({target.api_url}) or a domain in front of it, "
                "then make deploy (numbers follow when adopted again)"
            )
        )
        checks.append(Check(title, False, f"{target.public_base_url}: {error}", fix))
        return None
    checks.append(Check(title, True, target.public_base_url))
    return numbers


def _pool_numbers(target: Target, numbers: list[dict], owned: dict, checks: list[Check]) -> None:
    base = (target.webhook_base_url or target.public_base_url).rstrip("/")
    want = {"SmsUrl": base + "/twilio/sms", "StatusCallback": base + "/twilio/status"}
    members = set()
    if target.service_sid:
        try:
            members = target.twilio.service_number_sids(target.service_sid)
        except TwilioError:
            members = set()
    held = [n for n in numbers if n["status"] != "released"]
    for number in held:
        phone = number["phone_number"]
        title = f"pool number {phone}"
        twilio_number = owned.get(phone)
        problems, fixes = [], []
        if twilio_number is None:
            problems.append("the Twilio account does not own it")
            fixes.append(f"DELETE /numbers/{phone} (it is gone), or adopt a number the account owns")
        else:
            if target.service_sid and twilio_number.sid not in members:
                problems.append("not a sender of the Messaging Service (its SMS fail with 30034)")
                fixes.append(f'adopt it again: POST /numbers {{"phone_number": "{phone}"}} (joins the service)')
            for label, got in (("SmsUrl", twilio_number.sms_url), ("StatusCallback", twilio_number.status_callback)):
                if (got or "") != want[label]:
                    problems.append(f"{label} is {got or 'empty'}, not {want[label]}")
            if any("Url" in p or "Callback" in p for p in problems) and not any("adopt it again" in f for f in fixes):
                fixes.append(f'adopt it again: POST /numbers {{"phone_number": "{phone}"}} (re-points its webhooks)')
        if number.get("held_back"):
            problems.append(f"held back from new sessions ({number['held_back']})")
            fixes.append(f"fix the cause, then POST /numbers/{phone}/reactivate")
        checks.append(
            Check(
                title,
                not problems,
                "; ".join(problems) or ("in the service, " if target.service_sid else "") + "webhooks right",
                "; ".join(fixes),
            )
        )
    if not held:
        checks.append(Check("pool numbers", True, "none yet: the first phone's code buys one"))


def _aws(target: Target, checks: list[Check]) -> None:
    title = "AWS resources of the stage"
    try:
        missing = target.missing_aws_resources()
    except Exception as error:
        checks.append(
            Check(
                title, False, f"{type(error).__name__}: {error}", "check AWS credentials and region (locally: make run)"
            )
        )
        return
    checks.append(
        Check(
            title,
            not missing,
            ("missing: " + ", ".join(missing)) if missing else "tables and queues exist",
            "make deploy STAGE=<stage> (locally: make run creates them)" if missing else "",
        )
    )


def render(target: Target, checks: list[Check]) -> str:
    lines = [f"make doctor: {target.name}"] + [f"  note: {note}" for note in target.notes]
    for check in checks:
        lines.append(
            f"  [{'ok' if check.ok else 'FAIL'}] {check.title}" + (f": {check.detail}" if check.detail else "")
        )
        if not check.ok and check.fix:
            lines.append(f"         fix: {check.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append(f"{len(checks) - failed} passed, {failed} failed" if failed else f"all {len(checks)} checks passed")
    return "\n".join(lines)


def main(argv: list[str] | None = None, target: doctor_targets.Target | None = None) -> int:
    """Runs the checks against `target`, else the stage the arguments name (the local stack by default)."""
    parser = argparse.ArgumentParser(prog="make doctor", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--stage",
        default=os.environ.get("DOCTOR_STAGE") or None,
        help="a deployed stage (dev, prod); default: the local stack of `make run`",
    )
    args = parser.parse_args(argv)
    if target is None:
        target = doctor_targets.stage(args.stage) if args.stage and args.stage != "local" else doctor_targets.local()
    checks = examine(target)
    print(render(target, checks))
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
