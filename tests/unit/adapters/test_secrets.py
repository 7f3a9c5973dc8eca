"""adapters/secrets.py: a secret rotated in SSM is picked up once its max age
has passed, without a redeploy (virtual time), and not before."""

from __future__ import annotations

import boto3
import pytest

from chalicelib import config
from chalicelib.adapters import aws
from chalicelib.adapters.clock import ManualClock
from chalicelib.adapters.secrets import Secrets

T0 = 1_800_000_000.0
PARAMETER = "/sms-bridge/dev/api-tokens"


@pytest.fixture
def ssm(aws_backend, monkeypatch):
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.setenv("API_TOKENS_PARAM", PARAMETER)
    monkeypatch.setenv("SECRETS_MAX_AGE_SECONDS", "300")
    aws.reset()
    client = boto3.client("ssm")
    client.put_parameter(Name=PARAMETER, Value="old-token", Type="SecureString")
    yield client
    aws.reset()


def rotate(ssm, value: str) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True)


def test_a_rotated_secret_is_used_once_its_max_age_has_passed(ssm):
    clock = ManualClock(T0)
    secrets = Secrets(clock, config.load().secrets_max_age_seconds)
    assert secrets.get_list("API_TOKENS") == ["old-token"]
    rotate(ssm, "old-token,new-token")
    clock.advance(299)
    assert secrets.get_list("API_TOKENS") == ["old-token"], "still within the max age: no SSM read"
    clock.advance(2)
    assert secrets.get_list("API_TOKENS") == ["old-token", "new-token"]
    rotate(ssm, "new-token")
    clock.advance(301)
    assert secrets.get_list("API_TOKENS") == ["new-token"]


def test_the_max_age_is_a_setting(ssm, monkeypatch):
    monkeypatch.setenv("SECRETS_MAX_AGE_SECONDS", "10")
    clock = ManualClock(T0)
    secrets = Secrets(clock, config.load().secrets_max_age_seconds)
    assert secrets.get("API_TOKENS") == "old-token"
    rotate(ssm, "new-token")
    clock.advance(11)
    assert secrets.get("API_TOKENS") == "new-token"


def test_a_secret_in_the_environment_wins_and_a_missing_one_says_what_to_set(ssm, monkeypatch):
    monkeypatch.setenv("API_TOKENS", "from-env")
    assert Secrets(ManualClock(T0), config.load().secrets_max_age_seconds).get("API_TOKENS") == "from-env"
    monkeypatch.delenv("API_TOKENS")
    monkeypatch.delenv("API_TOKENS_PARAM")
    with pytest.raises(RuntimeError, match="set API_TOKENS or API_TOKENS_PARAM"):
        Secrets(ManualClock(T0), config.load().secrets_max_age_seconds).get("API_TOKENS")
