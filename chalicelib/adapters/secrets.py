"""Secrets by name: the environment variable itself, or the SSM Parameter Store
SecureString that `<name>_PARAM` names (decrypted, cached for the life of the process)."""

from __future__ import annotations

import functools

from chalicelib import config
from chalicelib.adapters import aws


def secret(name: str) -> str:
    value, parameter = config.secret_source(name)
    if value:
        return value
    if not parameter:
        raise RuntimeError(f"configuration: set {name} or {name}_PARAM")
    return _ssm_parameter(parameter)


def secret_list(name: str) -> list[str]:
    """A comma-separated secret (API tokens, webhook secrets during rotation)."""
    return [item.strip() for item in secret(name).split(",") if item.strip()]


@functools.lru_cache(maxsize=16)
def _ssm_parameter(parameter: str) -> str:
    answer = aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)
    return answer["Parameter"]["Value"]
