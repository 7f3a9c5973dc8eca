"""Secrets by name: the environment variable itself, or the SSM Parameter Store
SecureString that `<name>_PARAM` names, fetched through Powertools Parameters
and kept at most SECRETS_MAX_AGE_SECONDS (default 5 minutes), so a rotated
secret is picked up by every function without a redeploy.

The context's `secrets`; the cache's clock is the context's, so tests rotate a
secret and move time on instead of waiting."""

from __future__ import annotations

from datetime import datetime, timedelta

from aws_lambda_powertools.utilities.parameters.base import ExpirableValue
from aws_lambda_powertools.utilities.parameters.ssm import SSMProvider

from chalicelib import config
from chalicelib.adapters import aws
from chalicelib.adapters.clock import Clock
from chalicelib.config import Settings


class _ClockedSSMProvider(SSMProvider):
    """Powertools' SSM provider, its cache expiring by the given clock."""

    def __init__(self, clock: Clock):
        super().__init__(boto3_client=aws.client("ssm"))
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now())

    def has_not_expired_in_cache(self, key: tuple) -> bool:
        return key in self.store and self.store[key].ttl >= self._now()

    def add_to_cache(self, key: tuple, value, max_age: int) -> None:
        if max_age > 0:
            self.store[key] = ExpirableValue(value, self._now() + timedelta(seconds=max_age))


class Secrets:
    def __init__(self, clock: Clock, max_age_seconds: int):
        self._clock = clock
        self.max_age_seconds = max_age_seconds  # SECRETS_MAX_AGE_SECONDS
        self._provider: _ClockedSSMProvider | None = None

    def configure(self, settings: Settings) -> None:
        self.max_age_seconds = settings.secrets_max_age_seconds

    def get(self, name: str) -> str:
        value, parameter = config.secret_source(name)
        if value:
            return value
        if not parameter:
            raise RuntimeError(f"configuration: set {name} or {name}_PARAM")
        if self._provider is None:
            self._provider = _ClockedSSMProvider(self._clock)
        secret = self._provider.get(parameter, decrypt=True, max_age=self.max_age_seconds)
        if not isinstance(secret, str):  # no transform asked for, so SSM's text
            raise RuntimeError(f"configuration: {name}_PARAM {parameter} read as {type(secret).__name__}, not text")
        return secret

    def get_list(self, name: str) -> list[str]:
        """A comma-separated secret (API tokens, webhook secrets during rotation)."""
        return [item.strip() for item in self.get(name).split(",") if item.strip()]
