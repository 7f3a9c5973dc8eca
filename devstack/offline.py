"""The environment that keeps AWS calls on this machine: fake credentials
(moto takes any; fake ones make sure real ones never leave) and a region.

Imports nothing, so it can run before boto3, PynamoDB or the app are imported."""

from __future__ import annotations


def fake_aws_environment(region: str = "us-east-1", secret: str = "testing") -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": secret,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": secret,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
