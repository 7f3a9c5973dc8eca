"""The benches' process environment: fake AWS credentials (moto takes any; fake ones make
sure real ones never leave), the service's settings, quiet logs.

Each entry point calls `prepare` before anything imports boto3, PynamoDB or the app, so
this module imports nothing of them (devstack/offline.py imports nothing either).
"""

from __future__ import annotations

import os

from devstack.offline import fake_aws_environment

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
PREFIX = "sms-bridge-dev-"  # the dev stage's resource prefix (.chalice/config.json)
ACCOUNT_SID = "AC" + "1" * 32
PUBLIC_BASE_URL = "https://bridge.example.test/api"
# Set by the local stack or a shell; here they would point the service elsewhere.
_NOT_HERE = ("AWS_ENDPOINT_URL", "OUTBOUND_QUEUE", "DELIVERY_QUEUE", "REQUESTS_QUEUE", "REQUESTS_DLQ_QUEUE")


def prepare(log_level: str = "ERROR", **settings: str) -> None:
    """The environment of a bench process: `settings` on top of the common ones."""
    os.environ.update(
        {
            **fake_aws_environment(REGION),
            "RESOURCE_PREFIX": PREFIX,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": "bench",
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "POWERTOOLS_LOG_LEVEL": log_level,
            "POWERTOOLS_METRICS_DISABLED": "true",
            **settings,
        }
    )
    for name in _NOT_HERE:
        os.environ.pop(name, None)
