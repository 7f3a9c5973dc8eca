"""Each repository's contract, run on both of its implementations: the memory twin and
DynamoDB (on moto). A test here asks for `impl` and builds the one it is about."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["memory", "dynamodb"])
def impl(request) -> str:
    if request.param == "dynamodb":
        request.getfixturevalue("aws_backend")
    return request.param
